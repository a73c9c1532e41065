// The window's pages on their own, driven through their real widgets (offscreen), each reading through a
// store worker: the Results page (compare with hover numbers, export, export all), the Runs page (filter
// language, config diff, archive, delete, dead runs shown crashed, metric columns), the Monitor (stable
// colours, hover readout, export, remembered state) and the proof that the UI thread never runs a query.
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QMenu>
#include <QToolButton>
#include <QMouseEvent>
#include <QRegularExpression>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <atomic>
#include <nlohmann/json.hpp>
#include <mutex>
#include <sys/wait.h>
#include <unistd.h>
#include <qcustomplot.h>

#include "app/gui/main_window.h"
#include "app/gui/monitor_view.h"
#include "app/gui/results_view.h"
#include "app/gui/runs_browser.h"
#include "app/gui/store_worker.h"
#include "core/config/experiment_config.h"
#include "core/jobs/run_session.h"
#include "core/store/run_store.h"
#include "plotting/curve_graph.h"
#include "plotting/curve_plot.h"
#include "plotting/figure.h"
#include "plotting/heatmap.h"
#include "plotting/style.h"
#include "plotting/curve_plot.h"
#include "tests/store_util.h"

using namespace dm::gui;

namespace {

// Statements run on the UI thread while the observer is installed (the first few kept, to say which).
std::atomic<int> g_uiStatements{0};
std::mutex g_sqlMutex;
QStringList g_uiSql;

void onStatement(const char* sql) {
  if (QThread::currentThread() != QCoreApplication::instance()->thread()) return;
  ++g_uiStatements;
  std::lock_guard<std::mutex> lock(g_sqlMutex);
  if (g_uiSql.size() < 5) g_uiSql << QString::fromUtf8(sql);
}

}  // namespace

class TestGuiViews : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void results_compare_hover_and_export();
  void results_compare_intervals();
  void runs_browser_filter_diff_delete();
  void runs_browser_shows_dead_runs_as_crashed();
  void runs_browser_metric_columns();
  void monitor_colours_follow_run_ids();
  void monitor_seed_bands();
  void monitor_readout_export_and_state();
  void monitor_grid_of_metrics();
  void the_ui_thread_never_queries_the_database();

 private:
  QTemporaryDir home_;
};

void TestGuiViews::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);  // QSettings of the test, not the user's
  QCoreApplication::setOrganizationName("DiffMambaStudioTest");
  QCoreApplication::setApplicationName("tst_gui_views");
  QSettings().clear();
  qputenv("DM_USER_PRESETS", home_.filePath("presets").toUtf8());
}

void TestGuiViews::results_compare_hover_and_export() {
  QTemporaryDir ws;
  int64_t a1 = 0, a2 = 0, b = 0, la = 0, lb = 0;
  {
    QVERIFY(QDir().mkpath(ws.path()));
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    auto mk = [&](const char* name, const char* kind, const char* family) {
      return dm::test::add_finished_run(db, name, kind, family);
    };
    a1 = mk("diff seed0", "eval-babilong", "diffmamba2");
    a2 = mk("diff seed1", "eval-babilong", "diffmamba2");
    b = mk("mamba", "eval-babilong", "mamba2");
    for (auto [run, v] : {std::pair{a1, 40.0}, {a2, 60.0}, {b, 30.0}}) {
      db.put_eval_cell(run, {"qa1", "0k", "accuracy", v, 50});
      db.put_eval_cell(run, {"qa1", "1k", "accuracy", v / 2, 50});
    }
    la = mk("diff lens", "lens-eval", "diffmamba2");
    lb = mk("mamba lens", "lens-eval", "mamba2");
    for (int k = 1; k <= 3; ++k) {
      db.put_lens_points(la, {{k, "all", "avg_prob", 0.2 * k}});
      db.put_lens_points(lb, {{k, "all", "avg_prob", 0.1 * k}});
    }
  }
  MainWindow w(ws.path());
  w.resize(1200, 800);
  w.show();
  auto* r = w.results();
  r->setModelRuns({a1, a2});
  r->setBaselineRuns({b});
  r->setFigure(ResultsView::Figure::Compare);
  r->draw();  // drawn when the store worker has read the cells
  QTRY_VERIFY(!r->loading());
  QCOMPARE(r->lastError(), QString());
  // Hover the centre of cell (qa1, 0k): both models' numbers, sd over the two seeds, sample count.
  w.tabs()->setCurrentWidget(r);
  QTRY_VERIFY(r->plot()->isVisible());
  r->plot()->replot();
  const auto* ax = r->plot()->xAxis;
  const auto* ay = r->plot()->yAxis;
  const QPoint centre(static_cast<int>(ax->coordToPixel(0)), static_cast<int>(ay->coordToPixel(0)));
  const QString tip = r->toolTipAt(centre);
  QVERIFY2(tip.contains("50.00") && tip.contains("30.00") && tip.contains("14.14") && tip.contains("100"), qPrintable(tip));
  QCOMPARE(r->toolTipAt(QPoint(2, 2)), QString());
  // Export the figure and its numbers.
  QTemporaryDir out;
  QCOMPARE(r->exportTo(out.filePath("compare.png")), QString());
  QVERIFY(!QImage(out.filePath("compare.png")).isNull());
  QFile csv(out.filePath("compare.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const QString text = QString::fromUtf8(csv.readAll());
  QVERIFY2(text.contains("qa1,0k,50,30,") && text.contains("win"), qPrintable(text));
  // The page confirms with the paths; the size and resolution are the user's to set.
  QVERIFY2(r->status()->text().contains("compare.png") && r->status()->text().contains("compare.csv"),
           qPrintable(r->status()->text()));
  r->setExportSize(4, 2, 100);
  QCOMPARE(r->exportTo(out.filePath("small.png")), QString());
  QCOMPARE(QImage(out.filePath("small.png")).size(), QSize(400, 200));
  r->setExportSize(0, 0, 300);
  // Suggested: the workspace's figures folder, named after the figure and its runs.
  const QString suggested = r->suggestedPath("pdf");
  QVERIFY2(suggested.startsWith(QDir(ws.path()).filePath("figures/compare-")) && suggested.endsWith(".pdf"),
           qPrintable(suggested));
  // Export all: heatmaps, compare, ratio and the lens chart of the selected runs.
  r->setLensRuns(la, lb);
  QSignalSpy exported(r, &ResultsView::allExported);
  r->exportAll(out.filePath("all"));  // the lens points are read first
  QTRY_COMPARE(exported.count(), 1);
  const auto files = exported[0][0].toStringList();
  QVERIFY2(exported[0][1].toString().isEmpty(), qPrintable(exported[0][1].toString()));
  for (const char* f : {"babilong-model.pdf", "compare.pdf", "compare-ratio.png", "compared-lens.pdf", "compared-lens.csv",
                        "babilong-baseline.pdf", "babilong-model.svg", "compare-ratio.svg", "compared-lens.png",
                        "babilong-baseline.png", "babilong-baseline.svg"})
    QVERIFY2(QFileInfo::exists(out.filePath(QString("all/") + f)), f);
  QVERIFY(files.size() >= 19);
  QVERIFY2(r->status()->text().contains(QString::number(files.size()) + " file"), qPrintable(r->status()->text()));
  // The lens chart itself.
  r->setFigure(ResultsView::Figure::Lens);
  QCOMPARE(r->draw(), QString());  // the numbers were read: drawn at once
  QVERIFY(r->plot()->plottableCount() > 0);
  // No baseline: a clear message, no crash.
  r->setBaselineRuns({});
  r->setFigure(ResultsView::Figure::Ratio);
  QTRY_VERIFY(!r->loading());
  QVERIFY2(r->lastError().contains("baseline"), qPrintable(r->lastError()));
  // After a restart: the last figure drawn (the lens chart) is drawn again, with its runs selected.
  StoreWorker worker(QDir(ws.path()).filePath("runs.db"));
  ResultsView again;
  QSignalSpy drawn(&again, &ResultsView::drawn);
  again.setWorker(&worker, ws.path());
  QTRY_VERIFY(drawn.count() == 1 && !again.loading());
  QCOMPARE(again.figure(), ResultsView::Figure::Lens);
  QCOMPARE(again.lastError(), QString());
  QVERIFY(again.plot()->plottableCount() > 0);
}

// The Results page's compare with bootstrap intervals: two seeds per side with per-sample answers; the cells
// the figure marks are those its CSV marks, the tool tip names the method, unticking removes them, and runs
// that cannot be paired say why.
void TestGuiViews::results_compare_intervals() {
  QTemporaryDir ws;
  std::vector<int64_t> m, b;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    for (int seed = 0; seed < 2; ++seed) {
      m.push_back(dm::test::add_finished_run(db, "diff s" + std::to_string(seed), "eval-babilong", "diffmamba2"));
      b.push_back(dm::test::add_finished_run(db, "mamba s" + std::to_string(seed), "eval-babilong", "mamba2"));
      std::vector<dm::store::EvalSample> ms, bs;
      for (int i = 0; i < 30; ++i)
        for (const char* l : {"0k", "1k"}) {
          dm::store::EvalSample e{"qa1", l, i, 50, "h" + std::to_string(i) + l, "q", "t", "", false};
          auto em = e, eb = e;
          em.correct = std::string(l) == "0k" ? i < 24 : i % 3 == 0;  // 0k: 80 % vs 10 %; 1k: equal
          eb.correct = std::string(l) == "0k" ? i < 3 : i % 3 == 0;
          ms.push_back(em), bs.push_back(eb);
        }
      db.add_eval_samples(m.back(), ms);
      db.add_eval_samples(b.back(), bs);
      db.put_eval_cell(m.back(), {"qa1", "0k", "accuracy", 80.0, 30});
      db.put_eval_cell(m.back(), {"qa1", "1k", "accuracy", 100.0 / 3, 30});
      db.put_eval_cell(b.back(), {"qa1", "0k", "accuracy", 10.0, 30});
      db.put_eval_cell(b.back(), {"qa1", "1k", "accuracy", 100.0 / 3, 30});
    }
  }
  MainWindow w(ws.path());
  w.resize(1200, 800);
  w.show();
  auto* r = w.results();
  r->setShowIntervals(true);
  r->setModelRuns({m[0], m[1]});
  r->setBaselineRuns({b[0], b[1]});
  r->setFigure(ResultsView::Figure::Compare);
  r->draw();
  QTRY_VERIFY(!r->loading());
  QCOMPARE(r->lastError(), QString());
  QTemporaryDir out;
  QCOMPARE(r->exportTo(out.filePath("c.png")), QString());
  QFile csv(out.filePath("c.csv"));
  QVERIFY(csv.open(QIODevice::ReadOnly));
  const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
  QVERIFY2(lines[0].contains("ci_excludes_0"), qPrintable(lines[0]));
  QVERIFY2(lines[1].startsWith("qa1,0k") && lines[1].contains(",yes,") && lines[1].contains("two-level bootstrap"), qPrintable(lines[1]));
  QVERIFY2(lines[2].startsWith("qa1,1k") && lines[2].contains(",no,") && lines[2].contains("two-level bootstrap"), qPrintable(lines[2]));
  auto* cell0 = r->plot()->findChild<QCPItemRect*>(dm::plotting::cellItemName(0, 0));
  QCOMPARE(cell0->brush().color(), dm::plotting::compareVerdictColor(dm::plotting::CompareVerdict::ClearlyBetter, r->palette()));
  w.tabs()->setCurrentWidget(r);
  QTRY_VERIFY(r->plot()->isVisible());
  r->plot()->replot();
  const QPoint centre(static_cast<int>(r->plot()->xAxis->coordToPixel(0)), static_cast<int>(r->plot()->yAxis->coordToPixel(0)));
  QVERIFY2(r->toolTipAt(centre).contains("two-level bootstrap"), qPrintable(r->toolTipAt(centre)));
  // Unticked: Newcombe's per-cell rule again, no interval columns.
  r->setShowIntervals(false);
  QCOMPARE(r->draw(), QString());
  QCOMPARE(r->exportTo(out.filePath("d.png")), QString());
  QFile csv2(out.filePath("d.csv"));
  QVERIFY(csv2.open(QIODevice::ReadOnly));
  QVERIFY(!QString::fromUtf8(csv2.readAll()).contains("ci_low"));
  // One model run against two baseline runs: drawn, and the page says why there are no intervals.
  r->setShowIntervals(true);
  r->setModelRuns({m[0]});
  r->draw();
  QTRY_VERIFY(!r->loading());
  QCOMPARE(r->lastError(), QString());
  QVERIFY2(r->status()->text().contains("No intervals") && r->status()->text().contains("as many of each"),
           qPrintable(r->status()->text()));
}

void TestGuiViews::runs_browser_filter_diff_delete() {
  QTemporaryDir ws;
  int64_t m = 0, d = 0;
  {
    QVERIFY(QDir().mkpath(ws.path()));
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    for (auto fam : {"mamba2", "diffmamba2"}) {
      const auto cfg = dm::config::resolve({std::string("experiment=demo/") + fam + "-fortunes", "loader.l_max=64"});
      auto r = dm::test::finished_record(std::string("run ") + fam, "train", fam);
      r.config_json = cfg.canonical_json();
      r.config_hash = cfg.hash();
      r.run_dir = QDir(ws.path()).filePath(QString("runs/x-") + fam).toStdString();
      (std::string(fam) == "mamba2" ? m : d) = db.create_run(r);
    }
    db.add_metric(m, {10, 0, "val/bpc", 1.6, 1.0});
    db.add_metric(d, {10, 0, "val/bpc", 1.3, 1.0});
    db.flush();
  }
  QVERIFY(QDir().mkpath(QDir(ws.path()).filePath("runs/x-diffmamba2")));
  RunsBrowser b;
  StoreWorker worker(QDir(ws.path()).filePath("runs.db"));
  b.setWorker(&worker);
  QVERIFY(b.busy());  // the table fills when the store worker answers
  QTRY_VERIFY(!b.busy());
  QCOMPARE(b.visibleRuns().size(), 2);
  b.setFilterText("model.family=diffmamba2");
  QCOMPARE(b.visibleRuns(), QList<int64_t>{d});
  b.setFilterText("run mamba2");
  QCOMPARE(b.visibleRuns(), QList<int64_t>{m});
  // The filter language: comparisons over config keys (also by their last part), fields and metrics.
  b.setFilterText("val/bpc<1.5");
  QCOMPARE(b.visibleRuns(), QList<int64_t>{d});
  b.setFilterText("family!=mamba2 l_max<=64");
  QCOMPARE(b.visibleRuns(), QList<int64_t>{d});
  b.setFilterText("name~RUN val/bpc>=1.3");
  QCOMPARE(b.visibleRuns().size(), 2);
  QVERIFY(b.filterHint()->isHidden());
  b.setFilterText("loader.l_max>64");
  QVERIFY(b.visibleRuns().isEmpty());
  QVERIFY2(!b.filterHint()->isHidden() && b.filterHint()->text().contains("No run matches"), qPrintable(b.filterHint()->text()));
  b.setFilterText("nosuchkey=1");
  QVERIFY2(b.filterHint()->text().contains("no run has nosuchkey"), qPrintable(b.filterHint()->text()));
  b.setFilterText("l_max>");
  QVERIFY2(!b.filterHint()->isHidden() && b.filterHint()->text().contains("needs a key and a value"),
           qPrintable(b.filterHint()->text()));
  QCOMPARE(b.visibleRuns().size(), 2);  // an unreadable filter hides nothing
  b.setFilterText("");
  b.setStatusFilter("failed");
  QVERIFY(b.visibleRuns().isEmpty());
  b.setStatusFilter("");
  const auto diff = b.configDiff(m, d);
  QVERIFY2(diff.contains("model.family: mamba2 → diffmamba2"), qPrintable(diff.join('\n')));
  QVERIFY(!diff.join('\n').contains("loader.l_max"));
  b.selectRun(d);
  QVERIFY(b.details()->toPlainText().contains("\"l_max\": 64"));
  // Archived: kept, hidden unless asked for.
  QSignalSpy failed(&b, &RunsBrowser::actionFailed);
  QCOMPARE(b.setArchived(d, true), QString());
  QTRY_VERIFY(!b.busy());
  QCOMPARE(b.visibleRuns(), QList<int64_t>{m});
  dm::store::RunStore store(QDir(ws.path()).filePath("runs.db").toStdString());
  QVERIFY(store.run(d)->archived);
  b.setShowArchived(true);
  QCOMPARE(b.visibleRuns().size(), 2);
  QVERIFY(!b.deleteRun(12345, false).isEmpty());  // a run the table does not have: said at once
  QCOMPARE(b.deleteRun(d, true), QString());
  QTRY_VERIFY(!b.busy());
  QVERIFY(!QFileInfo::exists(QDir(ws.path()).filePath("runs/x-diffmamba2")));
  QCOMPARE(b.visibleRuns(), QList<int64_t>{m});
  QVERIFY(!store.run(d));
  QCOMPARE(failed.count(), 0);
  QVERIFY(worker.storeUsedOnlyOnItsThread());
}

void TestGuiViews::runs_browser_shows_dead_runs_as_crashed() {
  QTemporaryDir ws;
  const auto path = QDir(ws.path()).filePath("runs.db").toStdString();
  int64_t dead = 0;
  {
    dm::store::RunStore db(path);
    auto r = dm::test::finished_record("killed run", "train", "mamba2");
    r.status = "running";
    r.host = dm::jobs::this_process().host;
    const pid_t child = fork();  // a process that has ended: the run's "owner"
    if (child == 0) _exit(0);
    int st = 0;
    waitpid(child, &st, 0);
    r.pid = child;
    dead = db.create_run(r);
  }
  RunsBrowser b;
  QSignalSpy crashed(&b, &RunsBrowser::runCrashed);
  StoreWorker worker(QString::fromStdString(path));
  b.setWorker(&worker);
  QTRY_VERIFY(!b.busy());
  QCOMPARE(crashed.count(), 1);
  QCOMPARE(crashed.at(0).at(0).value<int64_t>(), dead);
  b.setStatusFilter("crashed");
  QCOMPARE(b.visibleRuns(), QList<int64_t>{dead});
  b.setStatusFilter("running");
  QVERIFY(b.visibleRuns().isEmpty());
}

void TestGuiViews::runs_browser_metric_columns() {
  // The runs table has numbers: last and best of a metric, the BABILong mean and the lens summary, sortable as
  // numbers, configurable and remembered; the name column takes the room, not the hash.
  QTemporaryDir ws;
  int64_t a = 0, b = 0, ev = 0, lens = 0;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    a = dm::test::add_finished_run(db, "a", "train", "mamba2");
    b = dm::test::add_finished_run(db, "b", "train", "diffmamba2");
    for (auto [step, va, vb] : {std::tuple{1, 2.5, 2.0}, {2, 1.5, 1.9}, {3, 1.7, 1.8}}) {
      db.add_metric(a, {step, 0, "val/bpc", va, 1.0 * step});
      db.add_metric(b, {step, 0, "val/bpc", vb, 1.0 * step});
      db.add_metric(a, {step, 0, "val/acc", 0.1 * step, 1.0 * step});
    }
    ev = dm::test::add_finished_run(db, "ev", "eval-babilong", "diffmamba2");
    db.put_eval_cell(ev, {"qa1", "0k", "accuracy", 60.0, 40});
    db.put_eval_cell(ev, {"qa2", "0k", "accuracy", 20.0, 40});
    lens = dm::test::add_finished_run(db, "lens", "lens-eval", "diffmamba2");
    db.put_lens_points(lens, {{1, "all", "avg_prob", 0.1}, {2, "all", "avg_prob", 0.7}, {2, "qa1", "avg_prob", 0.9}});
    db.flush();
  }
  StoreWorker worker(QDir(ws.path()).filePath("runs.db"));
  RunsBrowser br;
  br.setMetricColumns(RunsBrowser::defaultMetricColumns());
  br.setWorker(&worker);
  QTRY_VERIFY(!br.busy());
  auto* t = br.table();
  auto rowOf = [&](int64_t id) {
    for (int r = 0; r < t->rowCount(); ++r)
      if (t->item(r, 0)->text().toLongLong() == id) return r;
    return -1;
  };
  auto cell = [&](int64_t id, const QString& spec) { return t->item(rowOf(id), br.columnOf(spec))->text(); };
  QCOMPARE(cell(a, "val/bpc:last"), QString("1.7"));
  QCOMPARE(cell(a, "val/bpc:best"), QString("1.5"));  // lower is better for bpc
  QCOMPARE(cell(b, "val/bpc:best"), QString("1.8"));
  QCOMPARE(cell(ev, "babilong"), QString("40"));
  QCOMPARE(cell(lens, "lens"), QString("0.7"));  // layer 2 of task "all"
  QCOMPARE(cell(ev, "val/bpc:last"), QString());
  QVERIFY(t->horizontalHeaderItem(br.columnOf("babilong"))->text().contains("BABILong"));
  // Sorting by best bpc sorts numbers, runs without a value first.
  t->sortItems(br.columnOf("val/bpc:best"), Qt::DescendingOrder);
  QCOMPARE(t->item(0, 0)->text().toLongLong(), b);
  QCOMPARE(t->item(1, 0)->text().toLongLong(), a);
  // Configurable: typed in the Columns field; "best" of an accuracy is its maximum. Remembered.
  auto* edit = br.findChild<QLineEdit*>("runsColumns");
  edit->setText("val/acc:best, val/acc:min");
  emit edit->editingFinished();
  QTRY_VERIFY(!br.busy());
  QCOMPARE(br.metricColumns(), (QStringList{"val/acc:best", "val/acc:min"}));
  QCOMPARE(t->columnCount(), br.columnOf("val/acc:min") + 1);
  QCOMPARE(cell(a, "val/acc:best"), QString("0.3"));
  QCOMPARE(cell(a, "val/acc:min"), QString("0.1"));
  RunsBrowser again;
  QCOMPARE(again.metricColumns(), (QStringList{"val/acc:best", "val/acc:min"}));
  QCOMPARE(t->horizontalHeader()->sectionResizeMode(1), QHeaderView::Stretch);  // the name
  br.setMetricColumns(RunsBrowser::defaultMetricColumns());
}

void TestGuiViews::monitor_colours_follow_run_ids() {
  // A run keeps its colour when other runs are shown or hidden: the colour comes from its id.
  QTemporaryDir ws;
  std::vector<int64_t> ids;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    for (const char* name : {"a", "b", "c"}) {
      const auto id = dm::test::add_finished_run(db, name, "train", "mamba2");
      for (int step = 1; step <= 5; ++step) db.add_metric(id, {step, 0, "train/loss", 3.0 - 0.1 * step, 0.1 * step});
      ids.push_back(id);
    }
    db.flush();
  }
  StoreWorker worker(QDir(ws.path()).filePath("runs.db"));
  MonitorView v;
  v.setWorker(&worker);
  v.setRunShown(ids[1], true);  // ticked when the runs list comes
  v.setMetric("train/loss");
  QTRY_VERIFY(!v.loading());
  const QColor b = v.curveColor(ids[1]);
  QVERIFY(b.isValid());
  QCOMPARE(b, dm::plotting::seriesColor(static_cast<int>(ids[1])));
  v.setRunShown(ids[0], true);
  v.setRunShown(ids[2], true);
  QTRY_VERIFY(!v.loading());
  QCOMPARE(v.curveColor(ids[1]), b);
  v.setRunShown(ids[0], false);
  QTRY_VERIFY(!v.loading());
  QCOMPARE(v.curveColor(ids[1]), b);
  QCOMPARE(v.curveColor(ids[2]), dm::plotting::seriesColor(static_cast<int>(ids[2])));
  QVERIFY(v.curveColor(ids[2]) != b);
  QVERIFY(!v.curveColor(ids[0]).isValid());
}

// Seeds of one configuration as a mean and a band (the trackers' run grouping): two seeds of "lm" (a third run
// of another width stays its own curve); the mean and the ± sd / min–max band at each step equal the values
// computed here; "each run" and the wall-time axis bring the curves back.
void TestGuiViews::monitor_seed_bands() {
  QTemporaryDir ws;
  std::vector<int64_t> ids;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    auto mk = [&](const char* name, int seed, int width) {
      auto r = dm::test::finished_record(name, "train", "mamba2");
      r.config_json = nlohmann::json{{"model", {{"d_model", width}}}, {"train", {{"seed", seed}}}}.dump();
      return db.create_run(r);
    };
    ids = {mk("lm seed0", 0, 16), mk("lm seed1", 1, 16), mk("wide", 0, 32)};
    for (size_t k = 0; k < ids.size(); ++k)
      for (int step = 1; step <= 8; ++step) db.add_metric(ids[k], {step, 0, "train/loss", 4.0 / step + 0.2 * static_cast<double>(k), 0.1 * step});
    db.flush();
  }
  StoreWorker worker(QDir(ws.path()).filePath("runs.db"));
  MonitorView v;
  v.setWorker(&worker);
  for (auto id : ids) v.setRunShown(id, true);
  v.setMetric("train/loss");
  v.setSmoothing(0);
  QTRY_VERIFY(!v.loading());
  QTRY_COMPARE(v.curves()->curveCount(), 3);
  v.setSeedBands(1);
  auto* plot = v.plotAt(0);
  auto graphNamed = [plot](const QString& n) -> QCPGraph* {
    for (int i = 0; i < plot->graphCount(); ++i)
      if (plot->graph(i)->objectName() == n) return plot->graph(i);
    return nullptr;
  };
  QCPGraph* mean = graphNamed("seedMean:lm");
  QVERIFY(mean);
  QCOMPARE(mean->data()->size(), 8);
  QCOMPARE(mean->name(), QString("lm (2 seeds)"));
  // Step 2: 2.0 and 2.2 → mean 2.1, sd 0.1414…
  auto at = [](QCPGraph* g, double x) { return g->data()->findBegin(x, false)->value; };
  QVERIFY(std::abs(at(mean, 2) - 2.1) < 1e-12);
  QVERIFY(std::abs(at(graphNamed("seedBand:lm"), 2) - (2.1 + std::sqrt(0.02))) < 1e-12);
  QVERIFY(std::abs(at(graphNamed("seedBandLow:lm"), 2) - (2.1 - std::sqrt(0.02))) < 1e-12);
  QVERIFY(!graphNamed("seedMean:wide"));  // one run: its own curve
  QVERIFY(!v.curves()->smoothedGraph(0)->visible() || !v.curves()->smoothedGraph(1)->visible());
  int visible = 0;
  for (int c = 0; c < 3; ++c) visible += v.curves()->smoothedGraph(c)->visible();
  QCOMPARE(visible, 1);
  v.setSeedBands(2);
  QVERIFY(std::abs(at(graphNamed("seedBand:lm"), 2) - 2.2) < 1e-12 && std::abs(at(graphNamed("seedBandLow:lm"), 2) - 2.0) < 1e-12);
  QCOMPARE(v.seedBands(), 2);
  v.setWallTime(true);  // bands are drawn against steps only
  QVERIFY(!graphNamed("seedMean:lm"));
  v.setWallTime(false);
  QVERIFY(graphNamed("seedMean:lm"));
  v.setSeedBands(0);
  QVERIFY(!graphNamed("seedMean:lm") && !graphNamed("seedBand:lm"));
  for (int c = 0; c < 3; ++c) QVERIFY(v.curves()->smoothedGraph(c)->visible());
}

void TestGuiViews::monitor_readout_export_and_state() {
  // TensorBoard's scalars, measured by driving the widget: an empty state that says what to do, the
  // smoothing value beside the slider, a hover readout of every shown curve at the cursor's step, CSV and
  // image export of what is shown, and the view state remembered per workspace.
  QTemporaryDir ws, out;
  std::vector<int64_t> ids;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    for (const char* name : {"a", "b"}) {
      const auto id = dm::test::add_finished_run(db, name, "train", "mamba2");
      for (int step = 10; step <= 100; step += 10)
        db.add_metric(id, {step, 0, "train/loss", (name[0] == 'a' ? 3.0 : 4.0) - 0.01 * step, 0.5 * step});
      ids.push_back(id);
    }
    db.flush();
  }
  const QString db = QDir(ws.path()).filePath("runs.db");
  {
    // The curves are read by the store worker, on its own thread and connection, and drawn when they come.
    StoreWorker worker(db);
    MonitorView v;
    v.resize(900, 600);
    v.show();
    QVERIFY(QTest::qWaitForWindowExposed(&v));
    QCOMPARE(v.emptyText(), QString("No workspace is open."));
    v.setWorker(&worker, ws.path());
    QVERIFY(v.loading());  // the runs list is being read
    QTRY_VERIFY(!v.loading());
    QVERIFY2(v.emptyText().contains("Tick runs"), qPrintable(v.emptyText()));
    v.setRunShown(ids[0], true);
    v.setRunShown(ids[1], true);
    v.setMetric("train/loss");
    QVERIFY(v.loading());
    QCOMPARE(v.pointCount(ids[0]), -1);  // nothing is drawn before the worker answers
    QTRY_VERIFY(!v.loading());
    QCOMPARE(v.pointCount(ids[0]), 10);
    QVERIFY(worker.answered() >= 1);
    QVERIFY(worker.storeUsedOnlyOnItsThread());
    QCOMPARE(v.emptyText(), QString());
    v.setSmoothing(0.25);
    QCOMPARE(v.findChild<QLabel*>("monitorSmoothingValue")->text(), QString("0.25"));
    // Hover at step 42 (between the points at 40 and 50): both curves read their point at step 40.
    v.plot()->xAxis->setRange(0, 110);
    v.curves()->setAutoRange(false);
    v.plot()->replot();
    const QPoint at(qRound(v.plot()->xAxis->coordToPixel(42)), v.plot()->axisRect()->rect().center().y());
    QMouseEvent move(QEvent::MouseMove, QPointF(at), v.plot()->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(v.plot(), &move);
    const QString r = v.readoutText();
    QVERIFY2(r.contains("step 40") && r.contains("2.6") && r.contains("3.6") && r.contains("smoothed"), qPrintable(r));
    QCOMPARE(r.count("<br>"), 1);  // one line per curve
    QEvent leave(QEvent::Leave);
    QApplication::sendEvent(v.plot(), &leave);
    QCOMPARE(v.readoutText(), QString());
    // Export what is shown.
    QCOMPARE(v.exportCsv(out.filePath("c.csv")), QString());
    QFile csv(out.filePath("c.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(csv.readAll()).trimmed().split('\n').size(), 1 + 2 * 10);
    QCOMPARE(v.exportImage(out.filePath("c.png")), QString());
    QVERIFY(!QImage(out.filePath("c.png")).isNull());
    QVERIFY(!v.exportImage(out.filePath("c.bmp")).isEmpty());  // an unknown format is an error, not a crash
    v.setLogY(true);
    v.setRunShown(ids[0], false);
  }
  // A new view on the same workspace comes back as it was left.
  StoreWorker worker(db);
  MonitorView w;
  w.setWorker(&worker, ws.path());
  QTRY_VERIFY(!w.loading());
  QCOMPARE(w.shownRuns(), QList<int64_t>{ids[1]});
  QCOMPARE(w.metric(), QString("train/loss"));
  QCOMPARE(w.smoothing(), 0.25);
  QVERIFY(w.curves()->logY());
  QCOMPARE(w.pointCount(ids[1]), 10);
  // An empty workspace says what to do.
  QTemporaryDir fresh;
  StoreWorker freshWorker(QDir(fresh.path()).filePath("runs.db"));
  MonitorView e;
  e.setWorker(&freshWorker, fresh.path());
  QTRY_VERIFY(!e.loading());
  QVERIFY2(e.emptyText().contains("Quick comparison"), qPrintable(e.emptyText()));
}

void TestGuiViews::monitor_grid_of_metrics() {
  // Several metrics at once: picked from the "More plots" menu, one plot each beside the main one, the same
  // runs and colours, live points reaching every plot, exported together, remembered per workspace.
  QTemporaryDir ws, out;
  std::vector<int64_t> ids;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    for (const char* name : {"a", "b"}) {
      const auto id = dm::test::add_finished_run(db, name, "train", "diffmamba2");
      for (int step = 1; step <= 30; ++step) {
        db.add_metric(id, {step, 0, "train/loss", 3.0 - 0.01 * step, 0.1 * step});
        if (step % 10 == 0) db.add_metric(id, {step, 0, "val/bpc", 2.0 - 0.01 * step, 0.1 * step});
        if (name[0] == 'a') db.add_metric(id, {step, 0, "train/lr", 1e-3, 0.1 * step});
      }
      ids.push_back(id);
    }
    db.flush();
  }
  const QString db = QDir(ws.path()).filePath("runs.db");
  {
    StoreWorker worker(db);
    MonitorView v;
    v.resize(1000, 700);
    v.show();
    QVERIFY(QTest::qWaitForWindowExposed(&v));
    v.setWorker(&worker, ws.path());
    QTRY_VERIFY(!v.loading());
    v.setRunShown(ids[0], true);
    v.setRunShown(ids[1], true);
    QTRY_VERIFY(!v.loading());
    QCOMPARE(v.metric(), QString("train/loss"));
    QCOMPARE(v.plotCount(), 1);
    // The menu offers the metrics the ticked runs recorded; ticking two adds two plots.
    auto* button = v.findChild<QToolButton*>("monitorGrid");
    QVERIFY(button);
    emit button->menu()->aboutToShow();
    QStringList offered;
    for (auto* a : button->menu()->actions()) offered << a->text();
    QCOMPARE(offered, (QStringList{"train/loss", "train/lr", "val/bpc"}));
    for (auto* a : button->menu()->actions())
      if (a->text() == "val/bpc") a->trigger();
    QTRY_VERIFY(!v.loading());
    emit button->menu()->aboutToShow();
    for (auto* a : button->menu()->actions())
      if (a->text() == "train/lr") a->trigger();
    QTRY_VERIFY(!v.loading());
    QCOMPARE(v.gridMetrics(), (QStringList{"val/bpc", "train/lr"}));
    QCOMPARE(v.plotCount(), 3);
    QCOMPARE(v.pointCount("train/loss", ids[0]), 30);
    QCOMPARE(v.pointCount("val/bpc", ids[0]), 3);
    QCOMPARE(v.pointCount("val/bpc", ids[1]), 3);
    QCOMPARE(v.pointCount("train/lr", ids[1]), 0);  // b has no lr: an empty curve, the plot says so
    QCOMPARE(v.plotAt(1)->yAxis->label(), QString("val/bpc"));
    QVERIFY(v.plotAt(1)->isVisible() && v.plotAt(2)->isVisible());
    QCOMPARE(v.plotAt(1)->graphCount(), v.plot()->graphCount());  // the same runs in every plot
    // Live points reach every plot whose metric they are.
    v.appendPoints(1, {MetricPoint{ids[0], 40, "val/bpc", 1.5, 4.0}, MetricPoint{ids[0], 40, "train/loss", 2.5, 4.0}});
    QCOMPARE(v.pointCount("val/bpc", ids[0]), 4);
    QCOMPARE(v.pointCount("train/loss", ids[0]), 31);
    // Hovering a grid plot reads its own metric.
    v.plotAt(1)->replot();
    const QPoint at(qRound(v.plotAt(1)->xAxis->coordToPixel(20)), v.plotAt(1)->axisRect()->rect().center().y());
    QMouseEvent move(QEvent::MouseMove, QPointF(at), v.plotAt(1)->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton,
                     Qt::NoModifier);
    QApplication::sendEvent(v.plotAt(1), &move);
    QVERIFY2(v.readoutText().contains("val/bpc") && v.readoutText().contains("step 20"), qPrintable(v.readoutText()));
    // Export: one CSV with a metric column; the grid as one image.
    QCOMPARE(v.exportCsv(out.filePath("grid.csv")), QString());
    QFile csv(out.filePath("grid.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QStringList rows = QString::fromUtf8(csv.readAll()).trimmed().split('\n');
    QCOMPARE(rows[0], QString("metric,curve,step,wall_s,y,y_smoothed"));
    QCOMPARE(rows.size(), 1 + (31 + 30) + (4 + 3) + 30);
    QCOMPARE(rows.filter(QRegularExpression("^val/bpc,")).size(), 7);
    QCOMPARE(v.exportImage(out.filePath("grid.png")), QString());
    const QImage png(out.filePath("grid.png"));
    QCOMPARE(png.size(), v.findChild<QWidget*>("monitorPlots")->size() * 2);
    for (const char* f : {"grid.pdf", "grid.svg"}) {
      QCOMPARE(v.exportImage(out.filePath(f)), QString());
      QVERIFY(QFileInfo(out.filePath(f)).size() > 1000);
    }
    QVERIFY(!v.exportImage(out.filePath("grid.bmp")).isEmpty());
    // Unticking a run takes it out of every plot.
    v.setRunShown(ids[1], false);
    QTRY_VERIFY(!v.loading());
    QCOMPARE(v.pointCount("val/bpc", ids[1]), -1);
    QCOMPARE(v.plotAt(2)->graphCount(), 2);  // one run: raw and smoothed
    QVERIFY(worker.storeUsedOnlyOnItsThread());
  }
  // Remembered: a new view on the workspace shows the same grid.
  StoreWorker worker(db);
  MonitorView w;
  w.setWorker(&worker, ws.path());
  QTRY_VERIFY(!w.loading());
  QCOMPARE(w.gridMetrics(), (QStringList{"val/bpc", "train/lr"}));
  QCOMPARE(w.pointCount("val/bpc", ids[0]), 3);
  w.setGridMetrics({});
  QCOMPARE(w.plotCount(), 1);
}

void TestGuiViews::the_ui_thread_never_queries_the_database() {
  // A workspace with every kind of run; once the window has opened it (the one probe that says whether it
  // opens), every SQL statement any RunStore runs is watched: driving every page (Monitor ticks and metric,
  // Runs refresh, filter, columns, details, archive, delete, Results lists, draw and export all) runs none
  // on the UI thread.
  QTemporaryDir ws, out;
  int64_t t1 = 0, t2 = 0, e1 = 0, e2 = 0, l1 = 0, l2 = 0;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    t1 = dm::test::add_finished_run(db, "t1", "train", "mamba2");
    t2 = dm::test::add_finished_run(db, "t2", "train", "diffmamba2");
    for (int step = 1; step <= 50; ++step) {
      db.add_metric(t1, {step, 0, "train/loss", 3.0 - 0.01 * step, 0.1 * step});
      db.add_metric(t2, {step, 0, "train/loss", 2.9 - 0.01 * step, 0.1 * step});
      db.add_metric(t2, {step, 0, "val/bpc", 2.0 - 0.01 * step, 0.1 * step});
    }
    e1 = dm::test::add_finished_run(db, "e1", "eval-babilong", "diffmamba2");
    e2 = dm::test::add_finished_run(db, "e2", "eval-babilong", "mamba2");
    db.put_eval_cell(e1, {"qa1", "0k", "accuracy", 60.0, 40});
    db.put_eval_cell(e2, {"qa1", "0k", "accuracy", 40.0, 40});
    l1 = dm::test::add_finished_run(db, "l1", "lens-eval", "diffmamba2");
    l2 = dm::test::add_finished_run(db, "l2", "lens-eval", "mamba2");
    db.put_lens_points(l1, {{1, "all", "avg_prob", 0.3}});
    db.put_lens_points(l2, {{1, "all", "avg_prob", 0.2}});
    db.flush();
  }
  MainWindow w(ws.path());
  w.show();
  g_uiStatements = 0;
  dm::store::RunStore::set_statement_observer(&onStatement);
  QTRY_VERIFY(!w.monitor()->loading() && !w.runs()->busy() && !w.results()->loading());
  QTRY_VERIFY(!w.welcome()->isVisible());
  // Monitor: tick, change the metric, untick.
  w.monitor()->setRunShown(t1, true);
  w.monitor()->setRunShown(t2, true);
  QTRY_VERIFY(!w.monitor()->loading());
  QCOMPARE(w.monitor()->pointCount(t1), 50);
  w.monitor()->setMetric("val/bpc");
  QTRY_VERIFY(!w.monitor()->loading());
  QCOMPARE(w.monitor()->pointCount(t2), 50);
  w.monitor()->setRunShown(t2, false);
  QTRY_VERIFY(!w.monitor()->loading());
  // Runs: refresh, filter, columns, details, archive, delete.
  w.runs()->refresh();
  QTRY_VERIFY(!w.runs()->busy());
  w.runs()->setFilterText("family=diffmamba2 val/bpc<2");
  QCOMPARE(w.runs()->visibleRuns(), QList<int64_t>{t2});
  w.runs()->setFilterText("");
  w.runs()->setMetricColumns({"val/bpc:best", "babilong", "lens"});
  QTRY_VERIFY(!w.runs()->busy());
  w.runs()->selectRun(e1);
  QVERIFY(w.runs()->details()->toPlainText().contains("eval-babilong"));
  QCOMPARE(w.runs()->setArchived(l2, true), QString());
  QTRY_VERIFY(!w.runs()->busy());
  QCOMPARE(w.runs()->deleteRun(t1, false), QString());
  QTRY_VERIFY(!w.runs()->busy() && !w.monitor()->loading() && !w.results()->loading());
  // Results: lists, draw, export all.
  w.results()->setModelRuns({e1});
  w.results()->setBaselineRuns({e2});
  w.results()->setLensRuns(l1, l2);
  w.results()->setFigure(ResultsView::Figure::Compare);
  w.results()->draw();
  QTRY_VERIFY(!w.results()->loading());
  QCOMPARE(w.results()->lastError(), QString());
  QSignalSpy exported(w.results(), &ResultsView::allExported);
  w.results()->exportAll(out.filePath("all"));
  QTRY_COMPARE(exported.count(), 1);
  dm::store::RunStore::set_statement_observer(nullptr);
  QVERIFY2(g_uiStatements.load() == 0, qPrintable(QStringLiteral("%1 statement(s) on the UI thread, e.g. %2")
                                                      .arg(g_uiStatements.load())
                                                      .arg(g_uiSql.join(" | "))));
  QVERIFY(w.storeWorker()->answered() >= 10);
  QVERIFY(w.storeWorker()->storeUsedOnlyOnItsThread());
  // The observer sees statements at all (the check above could not pass by seeing none).
  std::atomic<int> seen{0};
  static std::atomic<int>* counter = nullptr;
  counter = &seen;
  dm::store::RunStore::set_statement_observer([](const char*) { ++*counter; });
  { dm::store::RunStore(QDir(ws.path()).filePath("runs.db").toStdString()).runs(); }
  dm::store::RunStore::set_statement_observer(nullptr);
  QVERIFY(seen.load() > 0);
}

QTEST_MAIN(TestGuiViews)
#include "tst_gui_views.moc"
