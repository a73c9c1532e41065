// LibTorch first: Qt's `slots` macro must not be defined while torch headers are read.
#include <torch/torch.h>

#include "app/figures/figure_data.h"
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/stats.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/lens_job.h"
#include "core/mad/tasks.h"
#include "core/model/config.h"
#include "core/store/run_store.h"

namespace fs = std::filesystem;

namespace dm::figures {
namespace {

QStringList toQt(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& s : v) out << QString::fromStdString(s);
  return out;
}

plotting::Matrix toMatrix(const torch::Tensor& t, const std::vector<std::string>& tasks,
                          const std::vector<std::string>& lengths, const std::string& origin) {
  if (t.dim() != 2 || t.size(0) != static_cast<int64_t>(tasks.size()) || t.size(1) != static_cast<int64_t>(lengths.size())) {
    std::string shape;
    for (auto s : t.sizes()) shape += (shape.empty() ? "" : " × ") + std::to_string(s);
    throw FileError(origin, "holds a [" + shape + "] array, but " + std::to_string(tasks.size()) + " tasks × " +
                                std::to_string(lengths.size()) +
                                " lengths were asked for (pass --tasks / --lengths matching the file)");
  }
  auto d = t.to(torch::kDouble).contiguous();
  plotting::Matrix m;
  m.rows = static_cast<int>(tasks.size());
  m.cols = static_cast<int>(lengths.size());
  m.values.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  m.rowLabels = toQt(tasks);
  m.colLabels = toQt(lengths);
  return m;
}

bool isDir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool isFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Length in tokens for ordering: "16k" → 16384, "1M" → 1048576, plain numbers as they are; -1 if unknown.
double lengthValue(const std::string& s) {
  if (s.empty()) return -1;
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception&) {
    return -1;
  }
  const std::string unit = s.substr(pos);
  if (unit.empty()) return v;
  if (unit == "k" || unit == "K") return v * 1024;
  if (unit == "m" || unit == "M") return v * 1024 * 1024;
  return -1;
}

// The layers both models have, in order.
plotting::LensLayers joinLayers(const std::map<int64_t, double>& diff, const std::map<int64_t, double>& mamba) {
  plotting::LensLayers out;
  for (const auto& [layer, avg] : diff) {
    auto it = mamba.find(layer);
    if (it == mamba.end()) continue;
    out.layers.push_back(static_cast<int>(layer));
    out.diff.push_back(avg);
    out.mamba.push_back(it->second);
  }
  return out;
}

void requireRun(const store::RunStore& db, int64_t run) {
  if (!db.run(run)) throw ConfigError("run", std::to_string(run), "no such run in " + db.path() + " (see `diffmamba runs list`)");
}

}  // namespace

std::vector<std::string> defaultTasks() { return {"qa1", "qa2", "qa3", "qa4", "qa5"}; }
std::vector<std::string> defaultLengths() { return {"0k", "1k", "2k", "4k", "8k", "16k", "32k", "64k"}; }

void sortLengths(std::vector<std::string>& lengths) {
  std::stable_sort(lengths.begin(), lengths.end(), [](const std::string& a, const std::string& b) {
    const double va = lengthValue(a), vb = lengthValue(b);
    if ((va < 0) != (vb < 0)) return vb < 0;  // known sizes first
    if (va < 0) return a < b;
    return va < vb;
  });
}

std::string baselineName(const std::string& modelName) {
  if (auto p = modelName.find("diffmamba"); p != std::string::npos)
    return modelName.substr(0, p) + "mamba" + modelName.substr(p + 9);
  if (auto p = modelName.find("mamba"); p != std::string::npos)
    return modelName.substr(0, p) + "diffmamba" + modelName.substr(p + 5);
  throw ConfigError("--model_name", modelName,
                    "the baseline is found by swapping 'diffmamba' and 'mamba' in the name; give --baseline_name");
}

plotting::Matrix accuracyFromNpy(const std::string& path, const std::vector<std::string>& tasks,
                                 const std::vector<std::string>& lengths) {
  return toMatrix(io::read_npy(path), tasks, lengths, path);
}

plotting::Matrix seedAccuracy(const std::string& folder, const std::string& name, const std::vector<std::string>& tasks,
                              const std::vector<std::string>& lengths, const std::string& promptName, bool writeNpy,
                              std::string* note) {
  // plot.py reads folder/name/…; the seed README passes a folder that already ends in the name.
  fs::path parent = folder;
  if (!isDir(parent / name) && fs::path(folder).filename() == name) parent = fs::path(folder).parent_path();
  const fs::path dir = parent / name;
  const fs::path npy = dir / ("acc_" + name + ".npy");
  std::vector<std::string> missing;
  auto scored = jobs::score_seed_results(parent.string(), name, tasks, lengths, promptName, &missing);
  const size_t cells = tasks.size() * lengths.size();
  if (missing.size() < cells) {
    if (writeNpy) io::write_npy(npy.string(), scored);
    if (note) {
      *note = "scored " + std::to_string(cells - missing.size()) + " of " + std::to_string(cells) + " result files in " +
              dir.string();
      if (!missing.empty()) *note += " (" + std::to_string(missing.size()) + " missing count as 0, e.g. " + missing[0] + ")";
      if (writeNpy) *note += "; wrote " + npy.string();
    }
    return toMatrix(scored, tasks, lengths, dir.string());
  }
  if (isFile(npy)) {
    if (note) *note = "read " + npy.string();
    return accuracyFromNpy(npy.string(), tasks, lengths);
  }
  if (isFile(parent / ("acc_" + name + ".npy"))) {
    const auto p = (parent / ("acc_" + name + ".npy")).string();
    if (note) *note = "read " + p;
    return accuracyFromNpy(p, tasks, lengths);
  }
  throw FileError(dir.string(), "has neither result files (e.g. " + missing.at(0) + ") nor acc_" + name +
                                    ".npy (also looked for " + (parent / ("acc_" + name + ".npy")).string() + ")");
}

plotting::Matrix runAccuracy(const store::RunStore& db, int64_t run, std::vector<std::string> tasks,
                             std::vector<std::string> lengths, std::vector<std::string>* missing) {
  requireRun(db, run);
  std::map<std::pair<std::string, std::string>, std::pair<double, int64_t>> cells;  // value, samples
  std::set<std::string> haveTasks, haveLengths;
  for (const auto& c : db.eval_cells(run)) {
    if (c.metric != "accuracy") continue;
    cells[{c.task, c.length}] = {c.value, c.samples};
    haveTasks.insert(c.task);
    haveLengths.insert(c.length);
  }
  if (cells.empty())
    throw ConfigError("run", std::to_string(run), "has no BABILong accuracy cells (runs of `diffmamba eval-babilong` have)");
  if (tasks.empty()) tasks.assign(haveTasks.begin(), haveTasks.end());
  if (lengths.empty()) {
    lengths.assign(haveLengths.begin(), haveLengths.end());
    sortLengths(lengths);
  }
  plotting::Matrix m;
  m.rows = static_cast<int>(tasks.size());
  m.cols = static_cast<int>(lengths.size());
  m.rowLabels = toQt(tasks);
  m.colLabels = toQt(lengths);
  for (const auto& t : tasks)
    for (const auto& l : lengths) {
      auto it = cells.find({t, l});
      m.values.push_back(it == cells.end() ? 0.0 : it->second.first);
      m.samples.push_back(it == cells.end() ? 0.0 : static_cast<double>(it->second.second));
      if (it == cells.end() && missing) missing->push_back(t + " · " + l);
    }
  return m;
}

plotting::LensLayers lensFromFiles(const std::string& diffPath, const std::string& mambaPath) {
  auto out = joinLayers(jobs::parse_seed_lens_results(io::read_file(diffPath), diffPath),
                        jobs::parse_seed_lens_results(io::read_file(mambaPath), mambaPath));
  if (out.layers.empty()) throw FileError(mambaPath, "shares no layer with " + diffPath);
  return out;
}

plotting::LensLayers lensFromRuns(const store::RunStore& db, int64_t diffRun, int64_t mambaRun) {
  auto layersOf = [&](int64_t run) {
    requireRun(db, run);
    std::map<int64_t, double> v;
    for (const auto& p : db.lens_points(run))
      if (p.task == "all" && p.metric == "avg_prob" && p.layer >= 1) v[p.layer] = p.value;
    if (v.empty()) throw ConfigError("run", std::to_string(run), "has no tuned-lens results (runs of `diffmamba lens eval` or `lens import` have)");
    return v;
  };
  auto out = joinLayers(layersOf(diffRun), layersOf(mambaRun));
  if (out.layers.empty())
    throw ConfigError("run", std::to_string(mambaRun), "shares no lens layer with run " + std::to_string(diffRun));
  out.diffLabel = QString::fromStdString(db.run(diffRun)->name);
  out.mambaLabel = QString::fromStdString(db.run(mambaRun)->name);
  if (out.diffLabel == out.mambaLabel) {
    out.diffLabel += QStringLiteral(" (#%1)").arg(diffRun);
    out.mambaLabel += QStringLiteral(" (#%1)").arg(mambaRun);
  }
  return out;
}

std::string resolveMetric(const store::RunStore& db, const std::vector<int64_t>& runs, const std::string& metric) {
  if (runs.empty()) return metric;
  requireRun(db, runs.front());
  const auto names = db.metric_names(runs.front());
  if (std::find(names.begin(), names.end(), metric) != names.end() || metric.find('/') != std::string::npos) return metric;
  std::vector<std::string> candidates;
  for (const auto& n : names)
    if (n.size() > metric.size() && n.compare(n.size() - metric.size() - 1, std::string::npos, "/" + metric) == 0)
      candidates.push_back(n);
  if (std::find(candidates.begin(), candidates.end(), "train/" + metric) != candidates.end()) return "train/" + metric;
  if (candidates.size() == 1) return candidates.front();
  std::string list;
  for (const auto& n : candidates.empty() ? names : candidates) list += (list.empty() ? "" : ", ") + n;
  throw ConfigError("--metric", metric, std::string(candidates.empty() ? "run " + std::to_string(runs.front()) +
                                                                             " has no such metric (it has: "
                                                                       : "is ambiguous (name one of: ") +
                                            (list.empty() ? std::string("none") : list) + ")");
}

std::vector<RunCurve> runCurves(const store::RunStore& db, const std::vector<int64_t>& runs, const std::string& metric,
                                bool requireMetric) {
  std::vector<RunCurve> out;
  for (int64_t run : runs) {
    requireRun(db, run);
    auto rows = db.metrics(run, metric);
    if (rows.empty() && requireMetric) {
      std::string have;
      for (const auto& n : db.metric_names(run)) have += (have.empty() ? "" : ", ") + n;
      throw ConfigError("--metric", metric, "run " + std::to_string(run) + " has no such metric (it has: " +
                                                (have.empty() ? std::string("none") : have) + ")");
    }
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
    RunCurve c;
    const auto rec = db.run(run);
    c.label = QStringLiteral("%1 (#%2)").arg(QString::fromStdString(rec->name)).arg(run);
    // Wall times are seconds since the job started; a resumed run restarts its clock, so each restart
    // continues from where the previous part ended.
    double offset = 0, lastRaw = 0;
    for (const auto& r : rows) {
      if (r.wall_time < lastRaw) offset += lastRaw;
      lastRaw = r.wall_time;
      c.steps.push_back(static_cast<double>(r.step));
      c.values.push_back(r.value);
      c.wallSeconds.push_back(offset + r.wall_time);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace dm::figures

namespace dm::figures {

plotting::PerTokenSeries perTokenFromResults(const std::string& path, const std::string& label) {
  constexpr int64_t kMaxBytes = int64_t{64} << 20;  // 65,536 positions take about 1.5 MB
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && static_cast<int64_t>(size) > kMaxBytes)
    throw FileError(path, std::to_string(size) + " bytes; a per-token-loss results.json is under 64 MiB");
  const auto text = io::read_file(path);  // regular files only
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("is not JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("val/loss_per_token") || !j.at("val/loss_per_token").is_array())
    throw FileError(path, "has no val/loss_per_token array (is it a per-token-loss results.json?)");
  plotting::PerTokenSeries s;
  s.label = QString::fromStdString(label);
  for (const auto& v : j.at("val/loss_per_token")) {
    if (!v.is_number()) throw FileError(path, "val/loss_per_token holds a non-number");
    s.loss.push_back(v.get<double>());
  }
  return s;
}

plotting::PerTokenSeries perTokenFromRun(const store::RunStore& db, int64_t run) {
  const auto rec = db.run(run);
  if (!rec || rec->kind != "per-token-loss")
    throw ConfigError("--run", std::to_string(run), "is not a per-token-loss run of this workspace");
  std::string path;
  for (const auto& [kind, p] : db.artifacts(run))
    if (kind == "results") path = p;
  if (path.empty()) throw ConfigError("--run", std::to_string(run), "has no results (it did not finish)");
  return perTokenFromResults(path, rec->name + " (run " + std::to_string(run) + ")");
}

plotting::MadScores madScoresFromRuns(const store::RunStore& db, const std::vector<int64_t>& runs) {
  if (runs.empty()) throw ConfigError("--run", "", "give one or more mad-score runs");
  struct Row {
    std::string family;
    int64_t sweep = 0;
    std::map<std::string, double> task;
    double total = std::nan("");
  };
  std::vector<Row> rows;
  std::set<std::string> seen;
  for (auto id : runs) {
    const auto rec = db.run(id);
    if (!rec || rec->kind != "mad-score")
      throw ConfigError("--run", std::to_string(id), "is not a mad-score run of this workspace (see `diffmamba mad run`)");
    Row r;
    r.family = rec->family;
    r.sweep = rec->sweep_id;
    for (const auto& c : db.eval_cells(id)) {
      if (c.metric != "mad_score") continue;
      if (c.task == "total")
        r.total = c.value;
      else
        r.task[c.task] = c.value;
      seen.insert(c.task);
    }
    if (r.task.empty()) throw ConfigError("--run", std::to_string(id), "holds no MAD scores");
    rows.push_back(std::move(r));
  }
  plotting::MadScores s;
  for (const auto& t : mad::task_names())
    if (seen.count(t)) s.tasks << QString::fromStdString(t);
  for (const auto& t : seen)  // tasks this build does not know, after, by name
    if (t != "total" && !s.tasks.contains(QString::fromStdString(t))) s.tasks << QString::fromStdString(t);
  std::map<std::string, int> perFamily;
  for (const auto& r : rows) ++perFamily[r.family];
  for (const auto& r : rows) {
    std::string label = r.family;
    try {
      label = model::display_name(model::family_from_string(r.family));
    } catch (const std::exception&) {
    }
    if (perFamily[r.family] > 1) label += " (sweep " + std::to_string(r.sweep) + ")";
    s.models << QString::fromStdString(label);
    std::vector<double> v;
    for (const auto& t : s.tasks) {
      const auto it = r.task.find(t.toStdString());
      v.push_back(it == r.task.end() ? std::nan("") : it->second);
    }
    s.scores.push_back(std::move(v));
    s.total.push_back(r.total);
  }
  s.validate();
  return s;
}

std::vector<int64_t> madScoreRunsOfSweep(const store::RunStore& db, int64_t sweep) {
  std::vector<int64_t> out;
  for (const auto& r : db.runs_of_sweep(sweep))
    if (r.kind == "mad-score" && r.status == "finished") out.push_back(r.id);
  if (out.empty())
    throw ConfigError("--sweep", std::to_string(sweep), "has no MAD scores (not a MAD sweep, or its benchmark did not finish)");
  return out;
}

namespace {

plotting::DifferenceIntervals emptyIntervals(const plotting::Matrix& like, const QString& method) {
  plotting::DifferenceIntervals d;
  d.rows = like.rows, d.cols = like.cols;
  const size_t n = static_cast<size_t>(like.rows) * static_cast<size_t>(like.cols);
  d.delta.assign(n, std::nan("")), d.low.assign(n, std::nan("")), d.high.assign(n, std::nan(""));
  d.samples.assign(n, 0), d.seeds.assign(n, 0);
  d.method = method;
  return d;
}

}  // namespace

plotting::DifferenceIntervals bootstrapFromRuns(const store::RunStore& db, const std::vector<int64_t>& modelRuns,
                                                const std::vector<int64_t>& baselineRuns, const plotting::Matrix& like,
                                                int replicates) {
  if (modelRuns.empty() || modelRuns.size() != baselineRuns.size())
    throw ConfigError("--run/--baseline-run", std::to_string(modelRuns.size()) + " / " + std::to_string(baselineRuns.size()),
                      "intervals pair the model's runs with the baseline's, seed by seed: give as many of each");
  auto d = emptyIntervals(like, modelRuns.size() > 1 ? QStringLiteral("two-level bootstrap: seeds, then samples")
                                                     : QStringLiteral("paired bootstrap over samples"));
  // Per run: (task, length) → index → (correct, prompt hash).
  using Cell = std::map<int64_t, std::pair<double, std::string>>;
  auto load = [&](int64_t run) {
    requireRun(db, run);
    std::map<std::pair<std::string, std::string>, Cell> cells;
    for (const auto& s : db.eval_samples(run)) cells[{s.task, s.length}][s.index] = {s.correct ? 1.0 : 0.0, s.prompt_hash};
    return cells;
  };
  std::vector<std::map<std::pair<std::string, std::string>, Cell>> ms, bs;
  for (size_t k = 0; k < modelRuns.size(); ++k) ms.push_back(load(modelRuns[k])), bs.push_back(load(baselineRuns[k]));
  for (int r = 0; r < like.rows; ++r)
    for (int c = 0; c < like.cols; ++c) {
      const std::pair<std::string, std::string> key{like.rowLabel(r).toStdString(), like.colLabel(c).toStdString()};
      std::vector<std::vector<double>> x, y;
      bool complete = true;
      for (size_t k = 0; k < ms.size() && complete; ++k) {
        const auto mi = ms[k].find(key), bi = bs[k].find(key);
        if (mi == ms[k].end() || bi == bs[k].end() || mi->second.empty()) {
          complete = false;
          break;
        }
        std::vector<double> xs, ys;
        for (const auto& [index, mv] : mi->second) {
          const auto bj = bi->second.find(index);
          if (bj == bi->second.end() || bj->second.second != mv.second)
            throw ConfigError("--run/--baseline-run",
                              std::to_string(modelRuns[k]) + " / " + std::to_string(baselineRuns[k]),
                              "evaluated different samples in " + key.first + " · " + key.second + " (sample " +
                                  std::to_string(index) + "): a paired interval needs the same questions (same eval "
                                                          "seed, samples and tokenizer)");
          xs.push_back(mv.first), ys.push_back(bj->second.first);
        }
        if (xs.size() != bi->second.size())
          throw ConfigError("--run/--baseline-run", std::to_string(modelRuns[k]) + " / " + std::to_string(baselineRuns[k]),
                            "have different sample counts in " + key.first + " · " + key.second);
        x.push_back(std::move(xs)), y.push_back(std::move(ys));
      }
      if (!complete) continue;
      const auto b = stats::paired_bootstrap(x, y, replicates, /*rng_seed=*/static_cast<uint64_t>(r * 1000 + c));
      const auto i = d.index(r, c);
      d.delta[i] = 100.0 * b.delta, d.low[i] = 100.0 * b.ci.low, d.high[i] = 100.0 * b.ci.high;
      d.samples[i] = static_cast<int64_t>(x.front().size()), d.seeds[i] = b.seeds;
    }
  return d;
}

plotting::DifferenceIntervals bootstrapFromSeeds(const std::vector<plotting::Matrix>& model,
                                                 const std::vector<plotting::Matrix>& baseline, int replicates) {
  if (model.size() < 2 || model.size() != baseline.size())
    throw ConfigError("--ci", std::to_string(model.size()) + " seed(s)",
                      "the seed's result files hold no per-sample data, so an interval needs at least 2 seeds of each "
                      "model (--seeds); with one seed no interval is possible");
  auto d = emptyIntervals(model.front(), QStringLiteral("bootstrap over %1 seeds (no per-sample data)").arg(model.size()));
  for (int r = 0; r < d.rows; ++r)
    for (int c = 0; c < d.cols; ++c) {
      std::vector<double> x, y;
      for (size_t k = 0; k < model.size(); ++k) x.push_back(model[k].at(r, c)), y.push_back(baseline[k].at(r, c));
      const auto b = stats::seed_bootstrap(x, y, replicates, static_cast<uint64_t>(r * 1000 + c));
      const auto i = d.index(r, c);
      d.delta[i] = b.delta, d.low[i] = b.ci.low, d.high[i] = b.ci.high;
      d.seeds[i] = b.seeds;
    }
  return d;
}

std::vector<SeedGroup> seedGroups(const store::RunStore& db, const std::vector<int64_t>& runs) {
  std::vector<std::pair<std::string, SeedGroup>> groups;  // key → group, in first-seen order
  for (auto id : runs) {
    requireRun(db, id);
    const auto r = db.run(id);
    nlohmann::json cfg = nlohmann::json::parse(r->config_json.empty() ? "{}" : r->config_json, nullptr, false);
    if (cfg.is_discarded()) cfg = nlohmann::json::object();
    // Leave out every "seed" key, at any depth (an explicit stack: no recursion on stored input).
    std::vector<nlohmann::json*> stack{&cfg};
    while (!stack.empty()) {
      auto* j = stack.back();
      stack.pop_back();
      if (!j->is_object()) continue;
      j->erase("seed");
      for (auto& [k, v] : j->items())
        if (v.is_object()) stack.push_back(&v);
    }
    const std::string key = r->kind + "|" + r->family + "|" + cfg.dump();
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      QString label = QString::fromStdString(r->name);
      label.remove(QRegularExpression(QStringLiteral("[-_ ]*seed[-_ =]*\\d+$"), QRegularExpression::CaseInsensitiveOption));
      groups.push_back({key, SeedGroup{label.isEmpty() ? QString::fromStdString(r->name) : label, {}}});
      it = std::prev(groups.end());
    }
    it->second.runs.push_back(id);
  }
  std::vector<SeedGroup> out;
  for (auto& [_, g] : groups) out.push_back(std::move(g));
  return out;
}

}  // namespace dm::figures
