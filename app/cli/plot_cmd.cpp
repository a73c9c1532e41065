// `diffmamba plot heatmap|compare|ratio|lens|curves|per-token-loss|mad|attention`: the seed's plot.py, plot_compare.py,
// plot_tuned_lens.py and plot_per_token_loss.py (and training curves, MAD scores) rendered offscreen from the seed's result files or a
// workspace's runs, written as PDF / PNG / SVG plus the CSV of the numbers drawn.
// LibTorch (through the attention files) before Qt: Qt's `slots` macro breaks its headers.
#include "app/figures/attention_data.h"

#include <QApplication>
#include <QDir>
#include <QFileInfo>
#include <cctype>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <qcustomplot.h>

#include "app/cli/commands.h"
#include "app/figures/figure_data.h"
#include "core/babilong/babilong.h"
#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/jobs/train_job.h"
#include "core/store/run_store.h"
#include "plotting/attention_chart.h"
#include "plotting/csv.h"
#include "plotting/curve_plot.h"
#include "plotting/errors.h"
#include "plotting/export.h"
#include "plotting/heatmap.h"
#include "plotting/lens_chart.h"
#include "plotting/mad_chart.h"
#include "plotting/per_token_chart.h"
#include "plotting/seed_bands.h"

namespace fs = std::filesystem;

namespace dm::cli {
namespace {

using plotting::Matrix;

QString q(const std::string& s) { return QString::fromStdString(s); }

// Qt's note that XDG_RUNTIME_DIR is unset (usual on servers) says nothing about the figure.
void quietHandler(QtMsgType type, const QMessageLogContext&, const QString& msg) {
  if (msg.startsWith(QStringLiteral("QStandardPaths: XDG_RUNTIME_DIR"))) return;
  if (type != QtDebugMsg) std::fprintf(stderr, "%s\n", qPrintable(msg));
}

// Rendering needs a QApplication but never a display.
std::unique_ptr<QApplication> offscreenApp() {
  qInstallMessageHandler(quietHandler);
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  static int argc = 1;
  static char name[] = "diffmamba";
  static char* argv[] = {name, nullptr};
  return std::make_unique<QApplication>(argc, argv);
}

std::unique_ptr<store::RunStore> openStore(const std::string& workspace) {
  const auto ws = workspace.empty() ? jobs::Workspace::default_location() : jobs::Workspace{workspace};
  std::error_code ec;
  if (!fs::exists(ws.db_path(), ec))
    throw FileError(ws.db_path(), "no workspace database here (give --workspace, or run a job first)");
  return std::make_unique<store::RunStore>(ws.db_path());
}

std::string joinSeeds(const std::vector<std::string>& seeds) {
  std::string s;
  for (const auto& x : seeds) s += "-" + x;
  return s;
}

// The tasks / lengths of a seed-file source: given, or the seed's qa1 … qa5 × 0k … 64k.
std::vector<std::string> orDefault(const std::vector<std::string>& v, std::vector<std::string> (*def)()) {
  return v.empty() ? def() : v;
}

// One model from the seed's files: a single matrix, or the mean (± sd) of its `-seed<N>` variants.
Matrix seedModel(const PlotArgs& a, const std::string& name, const std::vector<std::string>& seeds,
                 std::vector<Matrix>* perSeed = nullptr) {
  const auto tasks = orDefault(a.tasks, figures::defaultTasks), lengths = orDefault(a.lengths, figures::defaultLengths);
  const auto prompt = a.prompt_name.empty() ? babilong::prompt_name() : a.prompt_name;
  std::vector<Matrix> ms;
  for (const auto& s : seeds.empty() ? std::vector<std::string>{""} : seeds) {
    const auto full = s.empty() ? name : name + "-seed" + s;
    std::string note;
    ms.push_back(figures::seedAccuracy(a.results_folder, full, tasks, lengths, prompt, !a.no_npy, &note));
    std::printf("%s: %s\n", full.c_str(), note.c_str());
  }
  if (perSeed) *perSeed = ms;
  return plotting::meanOverSeeds(ms);
}

Matrix runsModel(const store::RunStore& db, const std::vector<int64_t>& runs, const PlotArgs& a) {
  std::vector<Matrix> ms;
  for (auto id : runs) {
    std::vector<std::string> missing;
    ms.push_back(figures::runAccuracy(db, id, a.tasks, a.lengths, &missing));
    if (!missing.empty())
      std::printf("run %lld lacks %zu cells (drawn as 0), e.g. %s\n", static_cast<long long>(id), missing.size(),
                  missing[0].c_str());
  }
  return plotting::meanOverSeeds(ms);
}

std::string runsTag(const std::vector<int64_t>& runs) {
  std::string s = "run";
  for (size_t i = 0; i < runs.size(); ++i) s += (i ? "+" : "") + std::to_string(runs[i]);
  return s;
}

plotting::FigureSize sizeFor(const PlotArgs& a, double w, double h, double dpi) {
  plotting::FigureSize s;
  s.widthIn = a.width_in > 0 ? a.width_in : w;
  s.heightIn = a.height_in > 0 ? a.height_in : h;
  s.dpi = a.dpi > 0 ? a.dpi : dpi;
  return s;
}

std::string csvPathFor(const PlotArgs& a, const std::string& output) {
  if (!a.csv.empty()) return a.csv;
  return (fs::path(output).parent_path() / fs::path(output).stem()).string() + ".csv";
}

// The figure's CSV beside it (or at --csv), unless --no-csv: `write` writes the file it is given.
void writeCsvFor(const PlotArgs& a, const std::string& output, const std::function<void(const QString&)>& write) {
  if (a.no_csv) return;
  const auto path = csvPathFor(a, output);
  write(q(path));
  std::printf("wrote %s\n", path.c_str());
}

void ensureParent(const std::string& path) {
  const auto parent = fs::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw FileError(parent.string(), "cannot create the output folder: " + ec.message());
}

// Checks the output's format before any work, so a typo fails at once.
void checkSuffix(const std::string& output) {
  const auto ext = QFileInfo(q(output)).suffix().toLower();
  if (ext != "pdf" && ext != "png" && ext != "svg")
    throw ConfigError("--output_file", output, "must end in .pdf, .png or .svg");
}

plotting::Palette paletteOf(const PlotArgs& a) {
  plotting::Palette p;
  if (!plotting::paletteFromName(q(a.palette), &p)) throw ConfigError("--palette", a.palette, "colorblind or seed");
  return p;
}

// The figure's title: --title, none with --title none, else `fallback`.
QString titleOf(const PlotArgs& a, const std::string& fallback) {
  if (a.title == "none") return QString();
  return q(a.title.empty() ? fallback : a.title);
}

std::string runNames(const store::RunStore& db, const std::vector<int64_t>& runs) {
  std::string s;
  for (auto id : runs) {
    const auto rec = db.run(id);
    s += (s.empty() ? "" : ", ") + (rec && !rec->name.empty() ? rec->name + " (run " + std::to_string(id) + ")" : "run " + std::to_string(id));
  }
  return s;
}

void save(QCustomPlot& plot, const std::string& output, const plotting::FigureSize& size) {
  ensureParent(output);
  plotting::exportFigure(&plot, q(output), size);
  std::printf("wrote %s\n", output.c_str());
}

int plotHeatmap(const PlotArgs& a) {
  Matrix m;
  std::string output = a.output_file, title;
  if (!a.runs.empty()) {
    auto db = openStore(a.workspace);
    m = runsModel(*db, a.runs, a);
    title = "BABILong accuracy: " + runNames(*db, a.runs) + (a.runs.size() > 1 ? ", mean" : "");
    if (output.empty()) output = "babilong-" + runsTag(a.runs) + ".pdf";
  } else {
    if (a.model_name.empty()) throw ConfigError("--model_name", "", "give the model's name (or --run ID)");
    m = seedModel(a, a.model_name, a.seeds);
    title = "BABILong accuracy: " + a.model_name + (a.seeds.empty() ? "" : ", mean of seeds" + joinSeeds(a.seeds));
    if (output.empty()) {
      fs::path parent = a.results_folder;
      if (a.seeds.empty() && fs::path(a.results_folder).filename() == a.model_name) parent = parent.parent_path();
      output = a.seeds.empty() ? (parent / a.model_name / (a.model_name + ".pdf")).string()
                               : (parent / (a.model_name + "-seeds" + joinSeeds(a.seeds) + ".pdf")).string();
    }
  }
  checkSuffix(output);
  QCustomPlot plot;
  plotting::HeatmapOptions o;
  o.showStd = a.std_line && m.hasStddev();
  o.palette = paletteOf(a);
  o.title = titleOf(a, title);
  plotting::drawHeatmap(&plot, m, o);
  save(plot, output, sizeFor(a, 8, 5, 300));
  writeCsvFor(a, output, [&](const QString& path) { plotting::writeCsv(m, path); });
  return 0;
}

int plotCompare(const PlotArgs& a, bool ratio) {
  Matrix model, base;
  std::optional<plotting::DifferenceIntervals> ci;
  std::string output = a.output_file, modelName, baseName;
  const std::string suffix = ratio ? "-ratio.pdf" : ".pdf";
  if (!a.runs.empty()) {
    if (a.baseline_runs.empty()) throw ConfigError("--baseline-run", "", "compare needs the baseline's run(s) too");
    auto db = openStore(a.workspace);
    model = runsModel(*db, a.runs, a);
    base = runsModel(*db, a.baseline_runs, a);
    if (a.ci) ci = figures::bootstrapFromRuns(*db, a.runs, a.baseline_runs, model);
    modelName = db->run(a.runs[0])->name;
    baseName = db->run(a.baseline_runs[0])->name;
    if (output.empty()) output = "compare-" + runsTag(a.runs) + "-vs-" + runsTag(a.baseline_runs) + suffix;
  } else {
    if (a.model_name.empty()) throw ConfigError("--model_name", "", "give the model's name (or --run / --baseline-run)");
    modelName = a.model_name;
    baseName = a.baseline_name.empty() ? figures::baselineName(a.model_name) : a.baseline_name;
    auto seeds = a.seeds;
    // plot_compare.py: needle models are the mean of seeds 0, 42 and 77.
    if (seeds.empty() && a.model_name.find("needle") != std::string::npos) seeds = {"0", "42", "77"};
    std::vector<Matrix> modelSeeds, baseSeeds;
    model = seedModel(a, modelName, seeds, &modelSeeds);
    base = seedModel(a, baseName, seeds, &baseSeeds);
    if (a.ci && modelSeeds.size() >= 2) {
      ci = figures::bootstrapFromSeeds(modelSeeds, baseSeeds);
    } else if (a.ci) {
      std::printf("no interval is possible: the seed's result files hold no per-sample data, and one seed has no spread "
                  "(--seeds with at least 2 gives a bootstrap over seeds); drawn without intervals\n");
    }
    if (output.empty()) {
      // compare-<third dash-separated token of the name>[-seeds-…][-ratio].pdf in the results folder
      std::string token = modelName;
      size_t start = 0;
      for (int i = 0; i < 2 && start != std::string::npos; ++i) {
        start = modelName.find('-', start);
        if (start != std::string::npos) ++start;
      }
      if (start != std::string::npos) token = modelName.substr(start, modelName.find('-', start) - start);
      output = (fs::path(a.results_folder) / ("compare-" + token + (seeds.empty() ? "" : "-seeds" + joinSeeds(seeds)) + suffix))
                   .string();
    }
  }
  checkSuffix(output);
  QCustomPlot plot;
  plotting::CompareOptions o;
  o.modelName = q(modelName);
  o.baselineName = q(baseName);
  o.showStd = a.std_line && model.hasStddev() && base.hasStddev();
  o.palette = paletteOf(a);
  o.title = titleOf(a, modelName + " vs " + baseName + (ratio ? ": BABILong accuracy ratio" : ": BABILong accuracy"));
  o.differences = ci;
  if (ci) {
    int with = 0, clear = 0;
    for (int r = 0; r < ci->rows; ++r)
      for (int c = 0; c < ci->cols; ++c) with += ci->has(r, c), clear += ci->excludesZero(r, c);
    std::printf("95 %% intervals of %s − %s (%s): %d of %d cells, %d exclude 0\n", modelName.c_str(), baseName.c_str(),
                qPrintable(ci->method), with, ci->rows * ci->cols, clear);
  }
  if (ratio)
    plotting::drawRatio(&plot, model, base, o);
  else
    plotting::drawCompare(&plot, model, base, o);
  save(plot, output, sizeFor(a, 10, 6, 150));
  writeCsvFor(a, output, [&](const QString& path) {
    plotting::writeCompareCsv(model, base, path, o.modelName, o.baselineName, QStringLiteral("task"),
                              QStringLiteral("length"), ci ? &*ci : nullptr);
  });
  return 0;
}

int plotLens(const PlotArgs& a) {
  plotting::LensLayers lens;
  std::string output = a.output_file;
  if (a.diff_run > 0 || a.mamba_run > 0) {
    if (a.diff_run <= 0 || a.mamba_run <= 0) throw ConfigError("--diff-run/--mamba-run", "", "give both runs");
    auto db = openStore(a.workspace);
    lens = figures::lensFromRuns(*db, a.diff_run, a.mamba_run);
    if (output.empty())
      output = "compared-lens-run" + std::to_string(a.diff_run) + "-run" + std::to_string(a.mamba_run) +
               (a.log ? "-log" : "") + ".pdf";
  } else {
    if (a.diff_results_path.empty() || a.mamba_results_path.empty())
      throw ConfigError("--diff_results_path/--mamba_results_path", "", "give both result files (or --diff-run and --mamba-run)");
    lens = figures::lensFromFiles(a.diff_results_path, a.mamba_results_path);
    if (output.empty()) {
      // plot_tuned_lens.py: outputs/compared-lens-{needle|pg19}[-seed<N>][-log].pdf, parsed from the Diff path
      const std::string d = fs::path(a.diff_results_path).filename().string();
      std::string name = "outputs/compared-lens-" + std::string(d.find("needle") != std::string::npos ? "needle" : "pg19");
      if (auto p = d.find("seed"); p != std::string::npos) {
        size_t e = p + 4;
        while (e < d.size() && std::isdigit(static_cast<unsigned char>(d[e]))) ++e;
        if (e > p + 4) name += "-" + d.substr(p, e - p);
      }
      output = name + (a.log ? "-log" : "") + ".pdf";
    }
  }
  checkSuffix(output);
  plotting::LensOptions o;
  if (a.start_layer > 0) o.startLayer = a.start_layer;
  if (a.end_layer > 0) o.endLayer = a.end_layer;
  o.logY = a.log;
  o.percent = !a.raw_lens;
  o.kind = a.lines ? plotting::LensChartKind::Lines : plotting::LensChartKind::Bars;
  QCustomPlot plot;
  plotting::drawLensLayers(&plot, lens, o);
  save(plot, output, sizeFor(a, 14, 6, 300));
  writeCsvFor(a, output, [&](const QString& path) { plotting::writeCsv(lens.select(o.startLayer, o.endLayer), path); });
  return 0;
}

int plotCurves(const PlotArgs& a) {
  if (a.runs.empty()) throw ConfigError("--run", "", "give the run(s) whose curves to draw");
  auto db = openStore(a.workspace);
  const std::string metric = figures::resolveMetric(*db, a.runs, a.metric);
  std::string tag = metric;
  std::replace(tag.begin(), tag.end(), '/', '-');
  std::string output = a.output_file.empty() ? "curves-" + tag + "-" + runsTag(a.runs) + ".pdf" : a.output_file;
  checkSuffix(output);
  const auto curves = figures::runCurves(*db, a.runs, metric);
  if (!a.band.empty()) {
    // Seeds of one configuration: the mean and a band per group, on the steps every seed reached.
    if (a.x == "time") throw ConfigError("--x", "time", "seed bands are drawn against steps (seeds' wall times differ)");
    const auto kind = a.band == "minmax" ? plotting::BandKind::MinMax : plotting::BandKind::StdDev;
    std::vector<plotting::SeedBand> bands;
    for (const auto& g : figures::seedGroups(*db, a.runs)) {
      std::vector<plotting::Series> runs;
      for (auto id : g.runs) {
        const auto& c = curves[static_cast<size_t>(std::find(a.runs.begin(), a.runs.end(), id) - a.runs.begin())];
        runs.push_back({c.steps, c.values, c.label});
      }
      bands.push_back(plotting::aggregateSeeds(g.label, runs, kind, a.smoothing));
      std::printf("%s: %zu seed(s), %zu common steps\n", qPrintable(g.label), g.runs.size(), bands.back().x.size());
    }
    plotting::SeedBandOptions o;
    o.yLabel = q(metric);
    o.logY = a.log;
    if (!a.title.empty() && a.title != "none") o.title = q(a.title);
    QCustomPlot plot;
    plotting::drawSeedBands(&plot, bands, o);
    save(plot, output, sizeFor(a, 8, 5, 300));
    writeCsvFor(a, output, [&](const QString& path) { plotting::writeSeedBandsCsv(bands, kind, path); });
    return 0;
  }
  QCustomPlot plot;
  plotting::CurvePlot cp(&plot);
  cp.setYLabel(q(metric));
  for (const auto& c : curves) {
    const int i = cp.addCurve(c.label);
    cp.appendPoints(i, c.steps, c.values, c.wallSeconds);
  }
  cp.setSmoothing(a.smoothing);
  cp.setXAxis(a.x == "time" ? plotting::CurvePlot::XAxis::WallTime : plotting::CurvePlot::XAxis::Step);
  cp.setLogX(a.log_x);
  cp.setLogY(a.log);
  cp.replot();
  save(plot, output, sizeFor(a, 8, 5, 300));
  writeCsvFor(a, output, [&](const QString& path) { cp.writeCsv(path); });
  return 0;
}

int plotPerToken(const PlotArgs& a) {
  if (a.runs.empty() && a.results.empty()) throw ConfigError("--run/--results", "", "give per-token-loss runs or results.json files");
  std::vector<plotting::PerTokenSeries> series;
  std::string tag;
  if (!a.runs.empty()) {
    auto db = openStore(a.workspace);
    for (auto id : a.runs) series.push_back(figures::perTokenFromRun(*db, id));
    tag = runsTag(a.runs);
  }
  for (const auto& f : a.results) series.push_back(figures::perTokenFromResults(f, fs::path(f).parent_path().filename().string()));
  std::string output = a.output_file.empty() ? "per-token-loss-" + (tag.empty() ? std::string("results") : tag) + ".pdf" : a.output_file;
  checkSuffix(output);
  plotting::PerTokenOptions o;
  o.trainingLength = a.training_length;
  o.window = a.window;
  if (!a.title.empty() && a.title != "none") o.title = q(a.title);
  QCustomPlot plot;
  plotting::drawPerTokenLoss(&plot, series, o);
  save(plot, output, sizeFor(a, 8, 7, 300));
  writeCsvFor(a, output, [&](const QString& path) { plotting::writePerTokenCsv(series, o, path); });
  return 0;
}

// The MAD scores: of runs, of a sweep, of the seed's mad_scores CSVs, or (none given) of the newest MAD sweep.
int plotMad(const PlotArgs& a) {
  plotting::MadScores scores;
  std::string tag;
  if (!a.results.empty()) {
    if (!a.runs.empty() || a.sweep) throw ConfigError("--results", a.results.front(), "give --results or --run / --sweep, not both");
    for (const auto& f : a.results) {
      const auto s = plotting::readMadCsv(q(f));
      if (scores.models.isEmpty()) {
        scores = s;
      } else {  // further files: their models as more rows, on the first file's tasks
        for (int m = 0; m < s.models.size(); ++m) {
          std::vector<double> row;
          for (const auto& t : scores.tasks) row.push_back(s.tasks.contains(t) ? s.at(m, static_cast<int>(s.tasks.indexOf(t))) : std::nan(""));
          scores.models << s.models[m];
          scores.scores.push_back(row);
          scores.total.push_back(s.total[static_cast<size_t>(m)]);
        }
      }
      std::printf("%s: %lld model(s), %lld task(s)\n", f.c_str(), static_cast<long long>(s.models.size()),
                  static_cast<long long>(s.tasks.size()));
    }
    tag = fs::path(a.results.front()).stem().string();
  } else {
    auto db = openStore(a.workspace);
    std::vector<int64_t> runs = a.runs;
    int64_t sweep = a.sweep;
    if (runs.empty() && !sweep) {
      for (const auto& sw : db->sweeps())  // newest first
        if (sw.kind == "mad") {
          sweep = sw.id;
          break;
        }
      if (!sweep) throw ConfigError("--run/--sweep/--results", "", "this workspace has no MAD sweep yet (run `diffmamba mad run --quick`)");
    }
    if (sweep) {
      const auto more = figures::madScoreRunsOfSweep(*db, sweep);
      runs.insert(runs.end(), more.begin(), more.end());
    }
    scores = figures::madScoresFromRuns(*db, runs);
    tag = sweep && a.runs.empty() ? "sweep" + std::to_string(sweep) : runsTag(runs);
  }
  std::string output = a.output_file.empty() ? "mad-scores-" + tag + ".pdf" : a.output_file;
  checkSuffix(output);
  plotting::MadChartOptions o;
  o.showTotal = !a.no_total;
  if (!a.title.empty() && a.title != "none") o.title = q(a.title);
  QCustomPlot plot;
  plotting::drawMadScores(&plot, scores, o);
  save(plot, output, sizeFor(a, 10, 5, 300));
  // The table, as the seed prints it, and beside the figure as the seed's CSV.
  std::printf("%-16s", "model");
  for (const auto& t : scores.tasks) std::printf("  %-24s", qPrintable(t));
  std::printf("  %s\n", "total");
  for (int m = 0; m < scores.models.size(); ++m) {
    std::printf("%-16s", qPrintable(scores.models[m]));
    for (int t = 0; t < scores.tasks.size(); ++t) std::printf("  %-24.4f", scores.at(m, t));
    std::printf("  %.4f\n", scores.total[static_cast<size_t>(m)]);
  }
  writeCsvFor(a, output, [&](const QString& path) { plotting::writeMadCsv(scores, path); });
  return 0;
}

// Implicit attention maps of `diffmamba attention` files side by side (same block, head and map), the
// needle and question marked, and the per-block metric of every file below.
int plotAttention(const PlotArgs& a) {
  if (a.maps.empty()) throw ConfigError("--maps", "(none)", "give one or more .npz files of `diffmamba attention`");
  std::vector<figures::AttentionFile> files;
  for (const auto& m : a.maps) files.push_back(figures::openAttentionFile(m));
  int64_t block = a.block;
  if (block < 0) {  // the last block every file holds
    for (auto b : files.front().blocks) {
      bool all = true;
      for (const auto& f : files) all = all && std::find(f.blocks.begin(), f.blocks.end(), b) != f.blocks.end();
      if (all) block = b;
    }
    if (block < 0) throw ConfigError("--block", "(default)", "the files share no block; name one with --block");
  }
  int i0 = 0, i1 = 0;
  if (!a.range.empty()) {
    const auto colon = a.range.find(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      i0 = colon == 0 ? 0 : std::stoi(a.range.substr(0, colon));
      i1 = colon + 1 == a.range.size() ? 0 : std::stoi(a.range.substr(colon + 1));
    } catch (const std::exception&) {
      throw ConfigError("--range", a.range, "must be FIRST:END token positions (either may be left out), e.g. 0:512");
    }
    if (i0 < 0 || (i1 > 0 && i1 <= i0)) throw ConfigError("--range", a.range, "must be a non-empty range FIRST < END");
  }
  std::vector<plotting::AttentionPanel> panels;
  std::vector<plotting::AttentionCurve> curves;
  for (const auto& f : files) {
    if (f.length() != files.front().length())
      std::printf("note: %s has %d tokens, %s %d: the maps are of different samples\n", f.path.c_str(), f.length(),
                  files.front().path.c_str(), files.front().length());
    panels.push_back(figures::attentionPanel(f, block, a.head, a.map, i0, i1, i0, i1));
    curves.push_back(figures::attentionCurve(f, a.att_metric));
  }
  plotting::AttentionFigureOptions o;
  o.scale = a.log_abs ? plotting::AttentionScale::LogAbs : plotting::AttentionScale::Signed;
  o.curveLabel = a.att_metric == "snr" ? QStringLiteral("Needle signal-to-noise") : q(a.att_metric);
  o.logCurve = a.att_metric.find("snr") != std::string::npos;
  if (!a.title.empty() && a.title != "none") o.title = q(a.title);
  QCustomPlot plot;
  plotting::drawAttentionFigure(&plot, panels, curves, o);
  std::string tag = "block" + std::to_string(block) + "-head" + std::to_string(a.head) + (a.map == "combined" ? "" : "-" + a.map);
  const std::string output = a.output_file.empty() ? "attention-" + tag + ".pdf" : a.output_file;
  checkSuffix(output);
  save(plot, output, sizeFor(a, 6.0 * static_cast<double>(panels.size()) + 1.5, 8, 200));
  std::printf("block %lld, head %lld, %s map; %s per block:\n", static_cast<long long>(block), static_cast<long long>(a.head),
              a.map.c_str(), a.att_metric.c_str());
  for (const auto& c : curves) {
    std::printf("  %-24s", qPrintable(c.label));
    for (size_t i = 0; i < c.blocks.size(); ++i) std::printf(" %d:%.4g", c.blocks[i], c.values[i]);
    std::printf("\n");
  }
  // Every entry of the window: large for whole long samples, so only on request past 2^20 entries.
  const auto entries = static_cast<int64_t>(panels.front().rows()) * panels.front().cols();
  if (entries <= (int64_t{1} << 20) || !a.csv.empty())
    writeCsvFor(a, output, [&](const QString& path) { plotting::writeAttentionCsv(panels, curves, path); });
  else if (!a.no_csv)
    std::printf("no CSV: the window has %lld entries per map (name --csv to write them, or narrow it with --range)\n",
                static_cast<long long>(entries));
  return 0;
}

int plotOne(const PlotArgs& a) {
  try {
    if (a.action == "heatmap") return plotHeatmap(a);
    if (a.action == "compare") return plotCompare(a, a.ratio);
    if (a.action == "ratio") return plotCompare(a, true);
    if (a.action == "lens") return plotLens(a);
    if (a.action == "curves") return plotCurves(a);
    if (a.action == "per-token-loss") return plotPerToken(a);
    if (a.action == "mad") return plotMad(a);
    if (a.action == "attention") return plotAttention(a);
  } catch (const plotting::PlotError& e) {
    throw Error(e.what());
  }
  throw ConfigError("plot", a.action, "one of heatmap, compare, ratio, lens, curves, per-token-loss, mad, attention");
}

}  // namespace

int run_plot(const PlotArgs& a) { return run_plots({a}); }

int run_plots(const std::vector<PlotArgs>& all) {
  for (const auto& a : all)
    if (!a.output_file.empty()) checkSuffix(a.output_file);
  auto app = offscreenApp();
  for (const auto& a : all)
    if (const int rc = plotOne(a)) return rc;
  return 0;
}

}  // namespace dm::cli
