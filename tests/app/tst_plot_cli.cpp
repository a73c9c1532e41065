// `diffmamba plot` as a user runs it (QProcess, offscreen): the seed's plot.py / plot_compare.py /
// plot_tuned_lens.py command lines on the seed's own result files, figures of workspace runs, and bad
// input. Numbers are checked through the CSV written beside each figure and the acc_*.npy plot.py writes.
#include <torch/torch.h>

#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>
#include <map>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/common/stats.h"
#include "core/io/model_file.h"
#include "core/io/npy.h"
#include "core/model/language_model.h"
#include "core/store/run_store.h"
#include "plotting/csv.h"
#include "plotting/heatmap.h"
#include "app/figures/figure_data.h"
#include "plotting/mad_chart.h"

#include "tests/app/cli_runner.h"
#include "tests/store_util.h"

namespace {

dm::test::CliResult run(const QStringList& args, const QString& cwd = QString()) {
  return dm::test::run_cli(args, cwd);
}

QByteArray head(const QString& path, int n) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.read(n);
}

// A seed-format result CSV (",target,output,question") with `correct` of `rows` answers right.
void write_seed_csv(const QString& path, int correct, int rows) {
  std::ofstream f(path.toStdString());
  f << ",target,output,question\n";
  for (int i = 0; i < rows; ++i)
    f << i << ",kitchen," << (i < correct ? "kitchen" : "garden") << ",Where is Mary?\n";
}

// The seed's lens result text: {k: {'sum': …, 'total': n, 'avg': …}}.
void write_lens(const QString& path, const std::vector<double>& avg) {
  std::ofstream f(path.toStdString());
  f << "{";
  for (size_t k = 0; k < avg.size(); ++k)
    f << (k ? ", " : "") << k + 1 << ": {'sum': " << avg[k] * 10 << ", 'total': 10, 'avg': " << avg[k] << "}";
  f << "}\n";
}

bool has_pixel(const QImage& img, bool (*pred)(QColor)) {
  for (int y = 0; y < img.height(); y += 2)
    for (int x = 0; x < img.width(); x += 2)
      if (pred(img.pixelColor(x, y))) return true;
  return false;
}

}  // namespace

class TestPlotCli : public QObject {
  Q_OBJECT

 private slots:
  void heatmap_from_seed_csvs();
  void compare_and_ratio_over_seeds();
  void lens_from_seed_files();
  void figures_of_runs();
  void compare_intervals();
  void curves_seed_bands();
  void bad_input();
  void quick_comparison_headless();
  void per_token_loss_figure();
  void mad_scores_figure();
};

void TestPlotCli::heatmap_from_seed_csvs() {
  QTemporaryDir d;
  const QString model = "diffmamba2-tiny-needle-seed0", dir = d.filePath("evals/" + model);
  QVERIFY(QDir().mkpath(dir));
  const QString prompt = "p";
  write_seed_csv(dir + "/qa1_0k_p.csv", 4, 4);
  write_seed_csv(dir + "/qa1_1k_p.csv", 1, 4);
  write_seed_csv(dir + "/qa2_0k_p.csv", 2, 4);
  write_seed_csv(dir + "/qa2_1k_p.csv", 0, 4);
  auto r = run({"plot", "heatmap", "--results_folder", d.filePath("evals"), "--model_name", model, "--prompt_name", prompt,
                "--tasks", "qa1", "qa2", "--lengths", "0k", "1k", "--output_file", d.filePath("h.png"), "--width", "4",
                "--height", "2.5", "--dpi", "100"});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  // plot.py's side effect: acc_<model>.npy beside the CSVs, [tasks, lengths] percent.
  const auto acc = dm::io::read_npy((dir + "/acc_" + model + ".npy").toStdString());
  QVERIFY(torch::equal(acc, torch::tensor({100.0, 25.0, 50.0, 0.0}, torch::kDouble).reshape({2, 2})));
  const auto m = dm::plotting::readMatrixCsv(d.filePath("h.csv"));
  QCOMPARE(m.values, (std::vector<double>{100, 25, 50, 0}));
  QCOMPARE(m.rowLabels, (QStringList{"qa1", "qa2"}));
  QCOMPARE(m.colLabels, (QStringList{"0k", "1k"}));
  QCOMPARE(QImage(d.filePath("h.png")).size(), QSize(400, 250));  // cell colours: tst_plotting
  // The seed README's spelling passes the model's own folder: same numbers, plot.py's default file name.
  QVERIFY(QFile::remove(dir + "/acc_" + model + ".npy"));
  auto q = run({"plot", "heatmap", "--results_folder", dir, "--model_name", model, "--prompt_name", prompt, "--tasks", "qa1",
                "qa2", "--lengths", "0k", "1k"});
  QVERIFY2(q.code == 0, qPrintable(q.out + q.err));
  QCOMPARE(head(dir + "/" + model + ".pdf", 5), QByteArray("%PDF-"));
  QCOMPARE(dm::plotting::readMatrixCsv(dir + "/" + model + ".csv").values, m.values);
  // Without CSVs the acc_*.npy is read instead (here: the one just written).
  for (const auto& f : QDir(dir).entryList({"*_p.csv"})) QVERIFY(QFile::remove(dir + "/" + f));
  auto n = run({"plot", "heatmap", "--results_folder", d.filePath("evals"), "--model_name", model, "--tasks", "qa1", "qa2",
                "--lengths", "0k", "1k", "--output_file", d.filePath("n.svg")});
  QVERIFY2(n.code == 0, qPrintable(n.out + n.err));
  QVERIFY2(n.out.contains("read ") && n.out.contains("acc_" + model + ".npy"), qPrintable(n.out));
  QVERIFY(head(d.filePath("n.svg"), 400).contains("<svg"));
  QCOMPARE(dm::plotting::readMatrixCsv(d.filePath("n.csv")).values, m.values);
}

void TestPlotCli::compare_and_ratio_over_seeds() {
  QTemporaryDir d;
  // Three seeds per model in plot.py's layout; plot_compare.py averages seeds 0/42/77 for needle models.
  const std::vector<std::string> seeds = {"0", "42", "77"};
  std::vector<torch::Tensor> diff, mamba;
  for (size_t i = 0; i < seeds.size(); ++i) {
    diff.push_back(torch::tensor({30.0 + 3.0 * static_cast<double>(i), 10.0, 0.0, 40.0}, torch::kDouble).reshape({1, 4}));
    mamba.push_back(torch::tensor({15.0, 20.0 + static_cast<double>(i), 5.0, 40.0}, torch::kDouble).reshape({1, 4}));
    for (auto [name, t] : {std::pair{std::string("diffmamba2-370m-needle-finetune"), diff.back()},
                           std::pair{std::string("mamba2-370m-needle-finetune"), mamba.back()}}) {
      const auto full = name + "-seed" + seeds[i];
      QVERIFY(QDir().mkpath(d.filePath("evals/" + QString::fromStdString(full))));
      dm::io::write_npy(d.filePath("evals/" + QString::fromStdString(full + "/acc_" + full + ".npy")).toStdString(), t);
    }
  }
  const QStringList common = {"--results_folder", d.filePath("evals"), "--model_name", "diffmamba2-370m-needle-finetune",
                              "--tasks", "qa1", "--lengths", "0k", "1k", "2k", "4k"};
  auto r = run(QStringList{"plot", "compare"} + common + QStringList{"--ratio"});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  const QString pdf = d.filePath("evals/compare-needle-seeds-0-42-77-ratio.pdf");  // plot_compare.py's name
  QCOMPARE(head(pdf, 5), QByteArray("%PDF-"));
  QFile csv(d.filePath("evals/compare-needle-seeds-0-42-77-ratio.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(lines.size(), 5);
  QVERIFY2(lines[0].contains("ratio") && lines[0].contains("outcome"), qPrintable(lines[0]));
  const auto mean_d = torch::stack(diff).mean(0), mean_m = torch::stack(mamba).mean(0);
  const auto sd_d = torch::stack(diff).std(0);
  const char* outcome[] = {"win", "lose", "lose", "tie"};
  for (int c = 0; c < 4; ++c) {
    const auto f = dm::plotting::parseCsvLine(lines[c + 1]);
    const double md = mean_d[0][c].item<double>(), mm = mean_m[0][c].item<double>();
    QCOMPARE(f[2].toDouble(), md);
    QCOMPARE(f[3].toDouble(), mm);
    const double ratio = (md == 0 || mm == 0) ? 0.0 : std::max(md, mm) / std::min(md, mm);
    QVERIFY2(std::abs(f[4].toDouble() - ratio) < 1e-12, qPrintable(lines[c + 1]));
    QCOMPARE(f[5], QString(outcome[c]));
    QVERIFY2(std::abs(f[6].toDouble() - sd_d[0][c].item<double>()) < 1e-12, qPrintable(lines[c + 1]));
  }
  // `plot ratio` is the same figure; `compare` without --ratio the tinted one. Both as SVG here.
  auto q = run(QStringList{"plot", "ratio"} + common + QStringList{"--output_file", d.filePath("r.svg"), "--std"});
  QVERIFY2(q.code == 0, qPrintable(q.out + q.err));
  QVERIFY(head(d.filePath("r.svg"), 400).contains("<svg"));
  auto c = run(QStringList{"plot", "compare"} + common + QStringList{"--output_file", d.filePath("c.png"), "--dpi", "96",
                                                                     "--width", "5", "--height", "3"});
  QVERIFY2(c.code == 0, qPrintable(c.out + c.err));
  QImage img(d.filePath("c.png"));
  QCOMPARE(img.size(), QSize(480, 288));
  // By default colour-blind safe: pale blue (209, 229, 250) where the model wins, pale orange (253, 226, 190)
  // where it loses; no red or green.
  QVERIFY(has_pixel(img, [](QColor x) { return std::abs(x.red() - 209) <= 1 && std::abs(x.green() - 229) <= 1 && std::abs(x.blue() - 250) <= 1; }));
  QVERIFY(has_pixel(img, [](QColor x) { return std::abs(x.red() - 253) <= 1 && std::abs(x.green() - 226) <= 1 && std::abs(x.blue() - 190) <= 1; }));
  QVERIFY(!has_pixel(img, [](QColor x) { return std::abs(x.red() - 217) <= 1 && x.green() == 255 && std::abs(x.blue() - 217) <= 1; }));
  // --palette seed: the published soft green (0.85, 1, 0.85) and soft red (1, 0.85, 0.85).
  c = run(QStringList{"plot", "compare"} + common + QStringList{"--output_file", d.filePath("c.png"), "--dpi", "96", "--width",
                                                                "5", "--height", "3", "--palette", "seed"});
  QVERIFY2(c.code == 0, qPrintable(c.out + c.err));
  img = QImage(d.filePath("c.png"));
  QVERIFY(has_pixel(img, [](QColor x) { return std::abs(x.red() - 217) <= 1 && x.green() == 255 && std::abs(x.blue() - 217) <= 1; }));
  QVERIFY(has_pixel(img, [](QColor x) { return x.red() == 255 && std::abs(x.green() - 217) <= 1 && std::abs(x.blue() - 217) <= 1; }));
  QVERIFY(run(QStringList{"plot", "compare"} + common + QStringList{"--palette", "rainbow"}).code != 0);
}

void TestPlotCli::lens_from_seed_files() {
  QTemporaryDir d;
  QVERIFY(QDir().mkpath(d.filePath("results")));
  write_lens(d.filePath("results/diffmamba2-370m-needle-finetune-seed0-lens_eval.txt"), {0.01, 0.02, 0.3, 0.5});
  write_lens(d.filePath("results/mamba2-370m-needle-finetune-lens_eval.txt"), {0.02, 0.01, 0.1, 0.4});
  // The seed's command line; the figure goes to outputs/compared-lens-needle-seed0-log.pdf as the seed's does.
  auto r = run({"plot", "lens", "--diff_results_path", "results/diffmamba2-370m-needle-finetune-seed0-lens_eval.txt",
                "--mamba_results_path", "results/mamba2-370m-needle-finetune-lens_eval.txt", "--log", "--start-layer", "2",
                "--end-layer", "3"},
               d.path());
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QCOMPARE(head(d.filePath("outputs/compared-lens-needle-seed0-log.pdf"), 5), QByteArray("%PDF-"));
  QFile csv(d.filePath("outputs/compared-lens-needle-seed0-log.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(lines.size(), 3);  // header + layers 2 and 3
  QCOMPARE(dm::plotting::parseCsvLine(lines[1]), (QStringList{"2", "0.02", "0.01"}));
  QCOMPARE(dm::plotting::parseCsvLine(lines[2]), (QStringList{"3", "0.3", "0.1"}));
  // A range outside the data: clear error, exit 2.
  auto bad = run({"plot", "lens", "--diff_results_path", "results/diffmamba2-370m-needle-finetune-seed0-lens_eval.txt",
                  "--mamba_results_path", "results/mamba2-370m-needle-finetune-lens_eval.txt", "--end-layer", "48",
                  "--output_file", "x.pdf"},
                 d.path());
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("48"), qPrintable(bad.err));
  QVERIFY(!QFileInfo::exists(d.filePath("x.pdf")));
}

void TestPlotCli::figures_of_runs() {
  QTemporaryDir d;
  const auto db_path = d.filePath("ws/runs.db").toStdString();
  QVERIFY(QDir().mkpath(d.filePath("ws")));
  int64_t eval_d = 0, eval_m = 0, lens_d = 0, lens_m = 0, train_a = 0, train_b = 0;
  {
    dm::store::RunStore db(db_path);
    auto mk = [&](const std::string& name, const std::string& kind, const std::string& family) {
      return dm::test::add_finished_run(db, name, kind, family);
    };
    eval_d = mk("diff-eval", "babilong-eval", "diffmamba2");
    eval_m = mk("mamba-eval", "babilong-eval", "mamba2");
    // Lengths stored out of order; the figure orders them by size. qa2 · 16k is missing in the Mamba run.
    for (auto [t, l, v] : {std::tuple{"qa1", "16k", 40.0}, {"qa1", "2k", 60.0}, {"qa2", "16k", 10.0}, {"qa2", "2k", 30.0}})
      db.put_eval_cell(eval_d, {t, l, "accuracy", v, 100});
    for (auto [t, l, v] : {std::tuple{"qa1", "16k", 50.0}, {"qa1", "2k", 60.0}, {"qa2", "2k", 20.0}})
      db.put_eval_cell(eval_m, {t, l, "accuracy", v, 100});
    lens_d = mk("diff-lens", "lens-eval", "diffmamba2");
    lens_m = mk("mamba-lens", "lens-eval", "mamba2");
    for (int k = 0; k <= 3; ++k) {
      db.put_lens_points(lens_d, {{k, "all", "avg_prob", 0.1 * (k + 1)}, {k, "qa1", "avg_prob", 0.9}});
      db.put_lens_points(lens_m, {{k, "all", "avg_prob", 0.05 * (k + 1)}});
    }
    train_a = mk("lm-a", "train", "mamba2");
    train_b = mk("lm-b", "train", "diffmamba2");
    for (int s = 1; s <= 50; ++s) {
      db.add_metric(train_a, {s, 0, "loss", 5.0 / s, 0.1 * s});
      db.add_metric(train_b, {s, 0, "loss", 4.0 / s, 0.2 * s});
      db.add_metric(train_b, {s, 0, "lr", 1e-3, 0.2 * s});
    }
    db.flush();
  }
  const QString ws = d.filePath("ws");
  auto h = run({"plot", "heatmap", "--workspace", ws, "--run", QString::number(eval_d), "--output_file", d.filePath("h.pdf")});
  QVERIFY2(h.code == 0, qPrintable(h.out + h.err));
  auto m = dm::plotting::readMatrixCsv(d.filePath("h.csv"));
  QCOMPARE(m.colLabels, (QStringList{"2k", "16k"}));
  QCOMPARE(m.values, (std::vector<double>{60, 40, 30, 10}));
  // Two runs of one model: the mean and, with --std, the standard deviation over them.
  auto h2 = run({"plot", "heatmap", "--workspace", ws, "--run", QString::number(eval_d), QString::number(eval_m),
                 "--output_file", d.filePath("h2.png"), "--std"});
  QVERIFY2(h2.code == 0, qPrintable(h2.out + h2.err));
  QVERIFY2(h2.out.contains("lacks 1 cells") && h2.out.contains("qa2 · 16k"), qPrintable(h2.out));
  m = dm::plotting::readMatrixCsv(d.filePath("h2.csv"));
  QCOMPARE(m.values, (std::vector<double>{60, 45, 25, 5}));
  QVERIFY(m.hasStddev());
  QVERIFY(std::abs(m.stddev[1] - std::sqrt(50.0)) < 1e-12);
  auto c = run({"plot", "compare", "--workspace", ws, "--run", QString::number(eval_d), "--baseline-run",
                QString::number(eval_m), "--output_file", d.filePath("c.pdf")});
  QVERIFY2(c.code == 0, qPrintable(c.out + c.err));
  QFile ccsv(d.filePath("c.csv"));
  QVERIFY(ccsv.open(QIODevice::ReadOnly));
  const auto cl = QString::fromUtf8(ccsv.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(cl.size(), 5);
  QVERIFY2(cl[0].startsWith("task,length,diff-eval,mamba-eval"), qPrintable(cl[0]));
  QVERIFY2(cl[1].startsWith("qa1,2k,60,60,1,tie"), qPrintable(cl[1]));
  // Lens of two runs: layers ≥ 1 of the "all" task.
  auto l = run({"plot", "lens", "--workspace", ws, "--diff-run", QString::number(lens_d), "--mamba-run",
                QString::number(lens_m), "--lines", "--output_file", d.filePath("l.svg")});
  QVERIFY2(l.code == 0, qPrintable(l.out + l.err));
  QFile lcsv(d.filePath("l.csv"));
  QVERIFY(lcsv.open(QIODevice::ReadOnly));
  const auto ll = QString::fromUtf8(lcsv.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(ll.size(), 4);
  QCOMPARE(dm::plotting::parseCsvLine(ll[1])[0], QString("1"));
  QVERIFY(std::abs(dm::plotting::parseCsvLine(ll[3])[1].toDouble() - 0.4) < 1e-12);
  // Training curves of two runs against wall time, smoothed, log y.
  auto v = run({"plot", "curves", "--workspace", ws, "--run", QString::number(train_a), QString::number(train_b), "--metric",
                "loss", "--x", "time", "--log-y", "--smoothing", "0.5", "--output_file", d.filePath("v.png"), "--dpi", "96",
                "--width", "6", "--height", "4"});
  QVERIFY2(v.code == 0, qPrintable(v.out + v.err));
  QCOMPARE(QImage(d.filePath("v.png")).size(), QSize(576, 384));
  QFile vcsv(d.filePath("v.csv"));
  QVERIFY(vcsv.open(QIODevice::ReadOnly));
  const auto vl = QString::fromUtf8(vcsv.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(vl.size(), 101);
  const auto first = dm::plotting::parseCsvLine(vl[1]), second = dm::plotting::parseCsvLine(vl[2]);
  QCOMPARE(first[1], QString("1"));
  QCOMPARE(first[3].toDouble(), 5.0);
  QCOMPARE(second[3].toDouble(), 2.5);
  // TensorBoard smoothing with weight 0.5, debiased: (0.5·0.5·5 + 0.5·2.5) / (1 − 0.25).
  QVERIFY2(std::abs(second[4].toDouble() - (0.25 * 5 + 0.5 * 2.5) / 0.75) < 1e-9, qPrintable(vl[2]));
  // A metric the run lacks: the error names the ones it has.
  auto bad = run({"plot", "curves", "--workspace", ws, "--run", QString::number(train_b), "--metric", "bpc"});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("loss, lr"), qPrintable(bad.err));
  auto none = run({"plot", "heatmap", "--workspace", ws, "--run", "99"});
  QCOMPARE(none.code, 2);
  QVERIFY2(none.err.contains("no such run"), qPrintable(none.err));
  auto nocells = run({"plot", "heatmap", "--workspace", ws, "--run", QString::number(train_a)});
  QCOMPARE(nocells.code, 2);
  QVERIFY2(nocells.err.contains("no BABILong accuracy"), qPrintable(nocells.err));
}

// `plot compare --ci`: paired bootstrap intervals from the samples of eval runs (one cell where the model is
// right exactly where the baseline is wrong, one where both answer alike), two-level with two seeds; the
// figure marks exactly the cells the CSV marks; runs of different questions are refused; seed files need
// two seeds.
void TestPlotCli::compare_intervals() {
  QTemporaryDir d;
  QVERIFY(QDir().mkpath(d.filePath("ws")));
  std::vector<int64_t> model, base;
  {
    dm::store::RunStore db(d.filePath("ws/runs.db").toStdString());
    for (int seed = 0; seed < 2; ++seed) {
      model.push_back(dm::test::add_finished_run(db, "diff-s" + std::to_string(seed), "babilong-eval", "diffmamba2"));
      base.push_back(dm::test::add_finished_run(db, "mamba-s" + std::to_string(seed), "babilong-eval", "mamba2"));
      std::vector<dm::store::EvalSample> ms, bs;
      for (int i = 0; i < 40; ++i) {
        for (const char* l : {"1k", "4k"}) {
          dm::store::EvalSample e{"qa1", l, i, 100, "hash" + std::to_string(i) + l, "Where is Mary?", "office", "", false};
          // 1k: the model right on the first 30, the baseline on none; 4k: both right on every other sample.
          auto em = e, eb = e;
          em.correct = std::string(l) == "1k" ? i < 30 : i % 2 == 0;
          eb.correct = std::string(l) == "1k" ? false : i % 2 == 0;
          ms.push_back(em), bs.push_back(eb);
        }
      }
      db.add_eval_samples(model.back(), ms);
      db.add_eval_samples(base.back(), bs);
      db.put_eval_cell(model.back(), {"qa1", "1k", "accuracy", 75.0, 40});
      db.put_eval_cell(model.back(), {"qa1", "4k", "accuracy", 50.0, 40});
      db.put_eval_cell(base.back(), {"qa1", "1k", "accuracy", 0.0, 40});
      db.put_eval_cell(base.back(), {"qa1", "4k", "accuracy", 50.0, 40});
    }
    db.flush();
  }
  const QString ws = d.filePath("ws");
  auto c = run({"plot", "compare", "--workspace", ws, "--run", QString::number(model[0]), QString::number(model[1]),
                "--baseline-run", QString::number(base[0]), QString::number(base[1]), "--ci", "--output_file", d.filePath("c.png")});
  QVERIFY2(c.code == 0, qPrintable(c.out + c.err));
  QVERIFY2(c.out.contains("two-level bootstrap") && c.out.contains("2 of 2 cells, 1 exclude 0"), qPrintable(c.out));
  QFile csv(d.filePath("c.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(lines.size(), 3);
  const auto h = dm::plotting::parseCsvLine(lines[0]);
  const int lo = static_cast<int>(h.indexOf("ci_low")), hi = static_cast<int>(h.indexOf("ci_high")),
            ex = static_cast<int>(h.indexOf("ci_excludes_0")), n = static_cast<int>(h.indexOf("samples")),
            sd = static_cast<int>(h.indexOf("seeds"));
  QVERIFY2(lo > 0 && hi > 0 && ex > 0 && n > 0 && sd > 0, qPrintable(lines[0]));
  const auto one = dm::plotting::parseCsvLine(lines[1]), four = dm::plotting::parseCsvLine(lines[2]);
  QCOMPARE(one[1], QString("1k"));
  QCOMPARE(one[ex], QString("yes"));
  QVERIFY(one[lo].toDouble() > 50.0 && one[hi].toDouble() <= 100.0);
  QCOMPARE(one[n], QString("40"));
  QCOMPARE(one[sd], QString("2"));
  QCOMPARE(four[ex], QString("no"));
  QCOMPARE(four[lo].toDouble(), 0.0);
  QCOMPARE(four[hi].toDouble(), 0.0);
  // The figure marks exactly the cells the CSV marks: the same intervals drawn in process.
  {
    dm::store::RunStore db(d.filePath("ws/runs.db").toStdString());
    auto m = dm::plotting::meanOverSeeds({dm::figures::runAccuracy(db, model[0]), dm::figures::runAccuracy(db, model[1])});
    auto b = dm::plotting::meanOverSeeds({dm::figures::runAccuracy(db, base[0]), dm::figures::runAccuracy(db, base[1])});
    dm::plotting::CompareOptions o;
    o.differences = dm::figures::bootstrapFromRuns(db, model, base, m);
    for (int col = 0; col < 2; ++col) {
      const auto v = dm::plotting::compareVerdict(m, b, 0, col, *o.differences);
      const bool marked = v == dm::plotting::CompareVerdict::ClearlyBetter || v == dm::plotting::CompareVerdict::ClearlyWorse;
      QCOMPARE(marked, (col == 0 ? one : four)[ex] == "yes");
    }
  }
  // Ratio heatmap with intervals: the same CSV columns.
  auto r = run({"plot", "ratio", "--workspace", ws, "--run", QString::number(model[0]), "--baseline-run",
                QString::number(base[0]), "--ci", "--output_file", d.filePath("r.svg")});
  QVERIFY2(r.code == 0 && r.out.contains("paired bootstrap over samples"), qPrintable(r.out + r.err));
  // Unpaired questions are refused, naming the cell.
  {
    dm::store::RunStore db(d.filePath("ws/runs.db").toStdString());
    const auto other = dm::test::add_finished_run(db, "mamba-other", "babilong-eval", "mamba2");
    std::vector<dm::store::EvalSample> os;
    for (int i = 0; i < 40; ++i) os.push_back({"qa1", "1k", i, 100, "other" + std::to_string(i), "q", "t", "", false});
    db.add_eval_samples(other, os);
    db.put_eval_cell(other, {"qa1", "1k", "accuracy", 0.0, 40});
    db.flush();
    auto e = run({"plot", "compare", "--workspace", ws, "--run", QString::number(model[0]), "--baseline-run",
                  QString::number(other), "--ci", "--output_file", d.filePath("e.png")});
    QVERIFY2(e.code != 0 && e.err.contains("evaluated different samples in qa1 · 1k"), qPrintable(e.out + e.err));
  }
  // Seed files: one seed has no per-sample data and no spread.
  QVERIFY(QDir().mkpath(d.filePath("evals/diffmamba2-x")));
  QVERIFY(QDir().mkpath(d.filePath("evals/mamba2-x")));
  dm::io::write_npy(d.filePath("evals/diffmamba2-x/acc_diffmamba2-x.npy").toStdString(), torch::ones({1, 2}, torch::kDouble));
  dm::io::write_npy(d.filePath("evals/mamba2-x/acc_mamba2-x.npy").toStdString(), torch::zeros({1, 2}, torch::kDouble));
  auto s1 = run({"plot", "compare", "--results_folder", d.filePath("evals"), "--model_name", "diffmamba2-x", "--tasks", "qa1",
                 "--lengths", "0k", "1k", "--ci", "--output_file", d.filePath("s.png")});
  QVERIFY2(s1.code == 0 && s1.out.contains("no interval is possible"), qPrintable(s1.out + s1.err));
  QFile s1csv(d.filePath("s.csv"));
  QVERIFY(s1csv.open(QIODevice::ReadOnly));
  QVERIFY(!QString::fromUtf8(s1csv.readAll()).contains("ci_low"));  // drawn, without intervals
  // Two seeds per model: a bootstrap over seeds.
  for (const char* seed : {"0", "1"})
    for (const char* name : {"diffmamba2-x", "mamba2-x"}) {
      const QString full = QString("%1-seed%2").arg(name, seed);
      QVERIFY(QDir().mkpath(d.filePath("evals/" + full)));
      dm::io::write_npy(d.filePath("evals/" + full + "/acc_" + full + ".npy").toStdString(),
                        torch::full({1, 2}, QString(name).startsWith("diff") ? 60.0 + std::atoi(seed) : 20.0, torch::kDouble));
    }
  auto s2 = run({"plot", "compare", "--results_folder", d.filePath("evals"), "--model_name", "diffmamba2-x", "--tasks", "qa1",
                 "--lengths", "0k", "1k", "--seeds", "0", "1", "--ci", "--output_file", d.filePath("s2.png")});
  QVERIFY2(s2.code == 0 && s2.out.contains("bootstrap over 2 seeds") && s2.out.contains("2 exclude 0"), qPrintable(s2.out + s2.err));
}

// `plot curves --band`: runs grouped by configuration without the seed (three seeds of one model, one of
// another), each group's mean with ± sd or min–max on the steps every seed reached, checked against the
// values computed here; the CSV holds what is drawn.
void TestPlotCli::curves_seed_bands() {
  QTemporaryDir d;
  QVERIFY(QDir().mkpath(d.filePath("ws")));
  std::vector<int64_t> runs;
  {
    dm::store::RunStore db(d.filePath("ws/runs.db").toStdString());
    auto mk = [&](const std::string& name, int seed, int width) {
      auto r = dm::test::finished_record(name, "train", "diffmamba2");
      r.config_json = nlohmann::json{{"model", {{"d_model", width}}}, {"train", {{"seed", seed}}}}.dump();
      return db.create_run(r);
    };
    runs = {mk("lm seed0", 0, 16), mk("lm seed1", 1, 16), mk("lm seed2", 2, 16), mk("wide", 0, 32)};
    for (size_t k = 0; k < runs.size(); ++k)
      for (int s = 1; s <= (k == 2 ? 15 : 20); ++s)  // the third seed stopped at step 15
        db.add_metric(runs[k], {s, 0, "loss", 5.0 / s + 0.1 * static_cast<double>(k), 0.1 * s});
    db.flush();
  }
  QStringList args = {"plot", "curves", "--workspace", d.filePath("ws"), "--run"};
  for (auto id : runs) args << QString::number(id);
  auto r = run(args + QStringList{"--metric", "loss", "--smoothing", "0", "--band", "sd", "--output_file", d.filePath("b.png")});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QVERIFY2(r.out.contains("lm: 3 seed(s), 15 common steps") && r.out.contains("wide: 1 seed(s), 20 common steps"), qPrintable(r.out));
  QFile csv(d.filePath("b.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
  QCOMPARE(lines.size(), 1 + 15 + 20);
  QCOMPARE(lines[0], QString("group,seeds,x,mean,mean_minus_sd,mean_plus_sd"));
  // Step 4 of the three seeds: 1.25, 1.35, 1.45 → mean 1.35, sd 0.1.
  const auto f = dm::plotting::parseCsvLine(lines[4]);
  QCOMPARE(f[0], QString("lm"));
  QCOMPARE(f[1], QString("3"));
  QCOMPARE(f[2].toDouble(), 4.0);
  QVERIFY(std::abs(f[3].toDouble() - 1.35) < 1e-12);
  QVERIFY(std::abs(f[4].toDouble() - 1.25) < 1e-12 && std::abs(f[5].toDouble() - 1.45) < 1e-12);
  const auto w = dm::plotting::parseCsvLine(lines[16]);
  QCOMPARE(w[0], QString("wide"));
  QCOMPARE(w[4], w[3]);  // one seed: the band is the line
  auto m = run(args + QStringList{"--metric", "loss", "--smoothing", "0", "--band", "minmax", "--output_file", d.filePath("m.svg")});
  QVERIFY2(m.code == 0, qPrintable(m.out + m.err));
  QFile mcsv(d.filePath("m.csv"));
  QVERIFY(mcsv.open(QIODevice::ReadOnly));
  const auto ml = QString::fromUtf8(mcsv.readAll()).split('\n', Qt::SkipEmptyParts);
  QVERIFY(ml[0].endsWith("min,max"));
  const auto g = dm::plotting::parseCsvLine(ml[2]);  // step 2: 2.5, 2.6, 2.7
  QVERIFY(std::abs(g[4].toDouble() - 2.5) < 1e-12 && std::abs(g[5].toDouble() - 2.7) < 1e-12);
  auto t = run(args + QStringList{"--metric", "loss", "--band", "sd", "--x", "time", "--output_file", d.filePath("t.png")});
  QVERIFY2(t.code != 0 && t.err.contains("against steps"), qPrintable(t.err));
}

void TestPlotCli::bad_input() {
  QTemporaryDir d;
  // An unknown figure format fails before anything is read or written.
  auto fmt = run({"plot", "heatmap", "--model_name", "m", "--output_file", d.filePath("x.txt")});
  QCOMPARE(fmt.code, 2);
  QVERIFY2(fmt.err.contains(".pdf, .png or .svg"), qPrintable(fmt.err));
  QVERIFY(QDir(d.path()).isEmpty());
  // An acc_*.npy of another shape than the tasks × lengths asked for.
  QVERIFY(QDir().mkpath(d.filePath("evals/m")));
  dm::io::write_npy(d.filePath("evals/m/acc_m.npy").toStdString(), torch::zeros({5, 8}, torch::kDouble));
  auto shape = run({"plot", "heatmap", "--results_folder", d.filePath("evals"), "--model_name", "m", "--tasks", "qa1",
                    "--output_file", d.filePath("s.pdf")});
  QCOMPARE(shape.code, 2);
  QVERIFY2(shape.err.contains("5 × 8") && shape.err.contains("--tasks"), qPrintable(shape.err));
  QVERIFY(!QFileInfo::exists(d.filePath("s.pdf")));
  // Nothing there at all: the paths that were tried.
  auto missing = run({"plot", "compare", "--results_folder", d.filePath("evals"), "--model_name", "diffmamba2-x"});
  QCOMPARE(missing.code, 2);
  QVERIFY2(missing.err.contains("acc_diffmamba2-x.npy"), qPrintable(missing.err));
  // A baseline cannot be guessed from a name without "mamba".
  auto base = run({"plot", "compare", "--results_folder", d.filePath("evals"), "--model_name", "m"});
  QCOMPARE(base.code, 2);
  QVERIFY2(base.err.contains("--baseline_name"), qPrintable(base.err));
  // A workspace without a database is not created by plotting.
  auto ws = run({"plot", "curves", "--workspace", d.filePath("nows"), "--run", "1"});
  QCOMPARE(ws.code, 2);
  QVERIFY2(ws.err.contains("no workspace database"), qPrintable(ws.err));
  QVERIFY(!QFileInfo::exists(d.filePath("nows")));
}

// `diffmamba quick-comparison --ablation` at toy size: every stage of the four families runs, the cells
// printed are the ones recorded (with the Wilson interval of each), and every figure is written.
void TestPlotCli::quick_comparison_headless() {
  QTemporaryDir d;
  const QString ws = d.filePath("ws");
  auto r = dm::test::run_cli({"quick-comparison", "--ablation", "--workspace", ws, "model.d_model=16", "model.n_layers=1",
                              "model.head_dim=8", "model.d_state=8", "trainer.max_steps=6", "--needle_steps", "2",
                              "--needle_samples", "20", "--tasks", "qa1", "qa2", "--lengths", "0k", "--samples", "5",
                              "--lens_steps", "2", "--lens_tokens_per_step", "256", "--lens_samples", "2", "--quiet"},
                             QString(), 600000);
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QVERIFY2(r.out.contains("Quick comparison: Mamba2, Diff-Mamba2, Diff-Mamba2E and Diff-S6-Mamba2"), qPrintable(r.out));
  // "runs (training, needle, BABILong, lens): mamba2 1, 2, 3, 4; diffmamba2 …"
  std::map<QString, int64_t> evals;
  auto it = QRegularExpression("(\\w+) (\\d+), (\\d+), (\\d+), (\\d+);").globalMatch(r.out);
  while (it.hasNext()) {
    const auto m = it.next();
    evals[m.captured(1)] = m.captured(4).toLongLong();
  }
  const QStringList families = {"mamba2", "diffmamba2", "diffmamba2E", "diffs6mamba2"};
  QCOMPARE(evals.size(), size_t(families.size()));
  dm::store::RunStore db(QDir(ws).filePath("runs.db").toStdString());
  for (const auto& f : families) QCOMPARE(QString::fromStdString(db.run(evals.at(f))->family), f);
  auto cell = [](double value) {
    const auto w = dm::stats::wilson(value / 100, 5);
    return QString("%1 [%2, %3]").arg(value, 5, 'f', 1).arg(100 * w.low, 4, 'f', 1).arg(100 * w.high, 5, 'f', 1);
  };
  auto accuracy = [&](const QString& f, const char* task) {
    for (const auto& c : db.eval_cells(evals.at(f)))
      if (c.metric == "accuracy" && c.task == task) {
        if (c.samples != 5) return -2.0;
        return c.value;
      }
    return -1.0;
  };
  for (const char* task : {"qa1", "qa2"}) {
    const double base = accuracy("mamba2", task);
    QVERIFY(base >= 0);
    const QString expect = QString("%1   0k         5  %2").arg(task, cell(base));
    QVERIFY2(r.out.count(expect) == 3, qPrintable(expect + "\n" + r.out));  // one table per family against Mamba2
    for (const auto& f : families.mid(1)) {
      const double v = accuracy(f, task);
      QVERIFY2(v >= 0, qPrintable(f));
      QVERIFY2(r.out.contains(cell(v)), qPrintable(cell(v) + "\n" + r.out));
    }
  }
  for (const char* who : {"Diff-Mamba2", "Diff-Mamba2E", "Diff-S6-Mamba2"})
    QVERIFY2(r.out.contains(QString("difference = %1 − Mamba2").arg(who)), qPrintable(r.out));
  QCOMPARE(r.out.count("mean over 2 cells"), 3);
  const QDir figs(QDir(ws).filePath("figures/quick-comparison"));
  QStringList expected;
  for (const auto& f : families) expected << "babilong-" + f;
  for (const auto& f : families.mid(1))
    expected << "compare-" + f + "-vs-mamba2" << "ratio-" + f + "-vs-mamba2" << "lens-" + f + "-vs-mamba2";
  for (const auto& f : expected) {
    QCOMPARE(head(figs.filePath(f + ".pdf"), 4), QByteArray("%PDF"));
    QVERIFY2(!QImage(figs.filePath(f + ".png")).isNull(), qPrintable(f));
    QVERIFY(QFileInfo(figs.filePath(f + ".csv")).size() > 0);
  }
  const auto m = dm::plotting::readMatrixCsv(figs.filePath("babilong-diffmamba2.csv"));
  QCOMPARE(m.rowLabels, (QStringList{"qa1", "qa2"}));
  // A bad flag is refused before any work.
  auto bad = dm::test::run_cli({"quick-comparison", "--workspace", d.filePath("ws2"), "--samples", "0"});
  QVERIFY(bad.code != 0);
  QVERIFY(!QFileInfo::exists(d.filePath("ws2")));
}

// `diffmamba plot per-token-loss`: two results.json overlaid (a real run of the workspace and a file), the
// smoothing and cumulative perplexity of the CSV checked against their definitions, both panels drawn, and a
// file that is not a per-token result refused.
void TestPlotCli::per_token_loss_figure() {
  QTemporaryDir d;
  // A run: a tiny character-level model over a text document.
  auto cfg = dm::model::ModelConfig::lm_defaults(dm::model::Family::mamba2);
  cfg.vocab_size = 27;
  cfg.d_model = 32;
  cfg.n_layers = 1;
  cfg.head_dim = 16;
  cfg.d_state = 8;
  dm::model::LanguageModel m(cfg);
  dm::io::save_model(m, d.filePath("m.safetensors").toStdString());
  {
    std::ofstream f(d.filePath("book.txt").toStdString());
    for (int i = 0; i < 40; ++i) f << "the grey ship sailed slowly along the coast of the northern sea. ";
  }
  auto p = run({"per-token-loss", "--ckpt_path", d.filePath("m.safetensors"), "--data", d.filePath("book.txt"), "--eval_len",
                "1024", "--chunk", "256", "--output_dir", d.filePath("ptl"), "--workspace", d.filePath("ws"), "--quiet",
                "--name", "tiny"});
  QVERIFY2(p.code == 0, qPrintable(p.out + p.err));
  dm::store::RunStore db(d.filePath("ws/runs.db").toStdString());
  const int64_t id = db.runs().front().id;
  // A file: a loss falling as 3 − i/1024 with a bump at one position, which the moving average spreads.
  std::vector<double> loss(1024);
  for (size_t i = 0; i < loss.size(); ++i) loss[i] = 3.0 - static_cast<double>(i) / 1024.0;
  loss[500] += 10.1;
  QVERIFY(QDir(d.path()).mkpath("other"));
  {
    std::ofstream f(d.filePath("other/results.json").toStdString());
    f << nlohmann::json({{"val/loss_per_token", loss}}).dump();
  }
  auto r = run({"plot", "per-token-loss", "--workspace", d.filePath("ws"), "--run", QString::number(id), "--results",
                d.filePath("other/results.json"), "--training-length", "512", "--output_file", d.filePath("pt.png"),
                "--dpi", "80"});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QImage img(d.filePath("pt.png"));
  QVERIFY(!img.isNull() && img.height() > img.width() / 2);
  QFile csv(d.filePath("pt.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const auto header = QString::fromUtf8(csv.readLine()).trimmed().split(',');
  QCOMPARE(header.size(), 7);
  QCOMPARE(header[0], QString("position"));
  QVERIFY2(header[1].startsWith("tiny (run"), qPrintable(header[1]));
  QCOMPARE(header[4], QString("other loss"));
  int rows = 0;
  double cum = 0;
  for (int i = 0; i < 128; ++i) cum += loss[static_cast<size_t>(i)];
  while (!csv.atEnd()) {
    const auto f = QString::fromUtf8(csv.readLine()).trimmed().split(',');
    const int i = f[0].toInt();
    QCOMPARE(i, 128 + rows);
    cum += loss[static_cast<size_t>(i)];
    double window = 0;
    for (int j = i - 50; j <= i + 50; ++j) window += loss[static_cast<size_t>(std::min(1023, j))];
    if (i + 50 <= 1023) QVERIFY2(std::abs(f[5].toDouble() - window / 101) < 1e-8, qPrintable(f.join(',')));
    QVERIFY(std::abs(f[6].toDouble() - std::exp(cum / (i + 1))) < 1e-6 * std::exp(cum / (i + 1)));
    ++rows;
  }
  QCOMPARE(rows, 1024 - 128);
  // Not a per-token result: refused with what was expected.
  {
    std::ofstream f(d.filePath("bad.json").toStdString());
    f << R"({"val/loss": 1})";
  }
  auto bad = run({"plot", "per-token-loss", "--results", d.filePath("bad.json"), "--output_file", d.filePath("b.pdf")});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("val/loss_per_token"), qPrintable(bad.err));
}

// `plot mad`: of a workspace's newest MAD sweep (no option), of a named sweep, of score runs, and of the seed's
// mad_scores CSV; the table printed, the figure and the seed-layout CSV written; clear refusals.
void TestPlotCli::mad_scores_figure() {
  QTemporaryDir d;
  const QString ws = d.filePath("ws");
  QVERIFY(QDir().mkpath(ws));
  auto empty = run({"plot", "mad", "--workspace", ws, "--output_file", d.filePath("none.png")});
  QVERIFY(empty.code != 0);  // no database yet
  int64_t sweeps[2] = {0, 0};
  std::vector<int64_t> runs;
  {
    dm::store::RunStore db(QDir(ws).filePath("runs.db").toStdString());
    for (int k = 0; k < 2; ++k) {
      dm::store::SweepRecord sw;
      sw.name = "MAD";
      sw.kind = "mad";
      sweeps[k] = db.create_sweep(sw);
      for (const std::string family : {"mamba2", "diffmamba2"}) {
        const int64_t id = dm::test::add_finished_run(db, "MAD scores " + family, "mad-score", family);
        db.set_run_sweep(id, sweeps[k]);
        const double v = (family == "mamba2" ? 0.25 : 0.5) + 0.25 * k;
        db.put_eval_cell(id, {"memorization", "score", "mad_score", v, 0});
        db.put_eval_cell(id, {"compression", "score", "mad_score", v / 2, 0});
        db.put_eval_cell(id, {"total", "score", "mad_score", 0.75 * v, 0});
        runs.push_back(id);
      }
    }
  }
  auto r = run({"plot", "mad", "--workspace", ws}, d.path());  // the newest sweep, the default name
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QVERIFY2(r.out.contains("Diff-Mamba2") && r.out.contains("memorization"), qPrintable(r.out));
  const QString stem = d.filePath(QStringLiteral("mad-scores-sweep%1").arg(sweeps[1]));
  QVERIFY(QFileInfo(stem + ".pdf").size() > 1000);
  auto newest = dm::plotting::readMadCsv(stem + ".csv");
  QCOMPARE(newest.tasks, (QStringList{"compression", "memorization"}));  // the benchmark's task order
  QCOMPARE(newest.at(static_cast<int>(newest.models.indexOf("Diff-Mamba2")), 1), 0.75);
  r = run({"plot", "mad", "--workspace", ws, "--sweep", QString::number(sweeps[0]), "--output_file", d.filePath("old.png"),
           "--no-total", "--dpi", "60"});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QVERIFY(!QImage(d.filePath("old.png")).isNull());
  QCOMPARE(dm::plotting::readMadCsv(d.filePath("old.csv")).at(0, 1), 0.25);
  // Runs of two sweeps: same families, told apart by their sweep.
  r = run({"plot", "mad", "--workspace", ws, "--run", QString::number(runs[0]), QString::number(runs[2]), "--output_file",
           d.filePath("two.svg")});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QVERIFY2(r.out.contains(QStringLiteral("Mamba2 (sweep %1)").arg(sweeps[0])), qPrintable(r.out));
  // The seed's CSV (pandas' index column included), read and redrawn.
  {
    std::ofstream f(d.filePath("mad_scores_hyena_improvement.csv").toStdString());
    f << ",in-context-recall,memorization,total,model\n0,0.5,1.0,0.75,hyena\n";
  }
  r = run({"plot", "mad", "--results", d.filePath("mad_scores_hyena_improvement.csv"), "--output_file", d.filePath("seed.png")});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  QCOMPARE(dm::plotting::readMadCsv(d.filePath("seed.csv")).models, QStringList{"hyena"});
  // Refusals: a run that is not a score run, both sources at once, a missing file.
  r = run({"plot", "mad", "--workspace", ws, "--run", "9999", "--output_file", d.filePath("x.png")});
  QVERIFY2(r.code != 0 && (r.out + r.err).contains("not a mad-score run"), qPrintable(r.out + r.err));
  r = run({"plot", "mad", "--workspace", ws, "--sweep", "1", "--results", d.filePath("seed.csv"), "--output_file",
           d.filePath("x.png")});
  QVERIFY2(r.code != 0 && (r.out + r.err).contains("not both"), qPrintable(r.out + r.err));
  r = run({"plot", "mad", "--results", d.filePath("missing.csv"), "--output_file", d.filePath("x.png")});
  QVERIFY2(r.code != 0 && (r.out + r.err).contains("no such file"), qPrintable(r.out + r.err));
}

QTEST_GUILESS_MAIN(TestPlotCli)
#include "tst_plot_cli.moc"
