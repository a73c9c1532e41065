// The window's sweep and benchmark parts, driven through their real widgets (offscreen): the sweep dialog
// (every combination checked before anything is queued), a sweep queued from the Experiments page and then
// grouped in the Runs page and the Monitor, the Benchmarks page's MAD score table and bar chart and its
// per-token loss figure (drawn, hovered through the table, exported and read back), and the MAD benchmark
// run as a window job.
#include <torch/torch.h>

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <nlohmann/json.hpp>
#include <qcustomplot.h>

#include "app/gui/benchmarks_view.h"
#include "app/gui/experiment_form.h"
#include "app/gui/job_queue.h"
#include "app/gui/job_specs.h"
#include "app/gui/main_window.h"
#include "app/gui/monitor_view.h"
#include "app/gui/runs_browser.h"
#include "app/gui/store_worker.h"
#include "app/gui/sweep_dialog.h"
#include "core/mad/benchmark.h"
#include "core/store/run_store.h"
#include "plotting/mad_chart.h"
#include "tests/store_util.h"

using namespace dm::gui;

namespace {

const QStringList kTiny = {"model.d_model=16", "model.n_layers=1",      "model.head_dim=8",  "model.d_state=4",
                           "model.chunk_size=16", "loader.batch_size=4", "loader.l_max=32",  "trainer.max_steps=3",
                           "trainer.log_every_n_steps=1", "trainer.val_check_interval=0", "trainer.limit_val_batches=1"};

int countBars(QCustomPlot* p, int* points = nullptr) {
  int n = 0, pts = 0;
  for (int i = 0; i < p->plottableCount(); ++i)
    if (auto* b = qobject_cast<QCPBars*>(p->plottable(i))) {
      ++n;
      pts += b->data()->size();
    }
  if (points) *points = pts;
  return n;
}

// A finished MAD sweep with one mad-score run per family: task → score (NaN: not run), and the total.
int64_t addMadSweep(dm::store::RunStore& db, const std::map<std::string, std::map<std::string, double>>& scores) {
  dm::store::SweepRecord sw;
  sw.name = "MAD baseline";
  sw.kind = "mad";
  sw.base_json = "{}";
  sw.grid_json = R"({"lr":[0.001],"wd":[0]})";
  const int64_t sweep = db.create_sweep(sw);
  for (const auto& [family, tasks] : scores) {
    const int64_t run = dm::test::add_finished_run(db, "MAD scores " + family, "mad-score", family);
    db.set_run_sweep(run, sweep);
    double sum = 0;
    for (const auto& [task, v] : tasks) {
      db.put_eval_cell(run, dm::store::EvalCell{task, "score", "mad_score", v, 0});
      sum += v;
    }
    db.put_eval_cell(run, dm::store::EvalCell{"total", "score", "mad_score", sum / static_cast<double>(tasks.size()), 0});
  }
  return sweep;
}

// A finished per-token-loss run whose results.json holds `loss`.
int64_t addPerTokenRun(dm::store::RunStore& db, const QString& dir, const std::string& name, const std::vector<double>& loss) {
  QDir().mkpath(dir);
  const QString path = QDir(dir).filePath("results.json");
  QFile f(path);
  f.open(QIODevice::WriteOnly);
  f.write(QByteArray::fromStdString(nlohmann::json({{"val/loss_per_token", loss}}).dump()));
  f.close();
  const int64_t run = dm::test::add_finished_run(db, name, "per-token-loss", "mamba2");
  db.add_artifact(run, "results", path.toStdString());
  return run;
}

}  // namespace

class TestGuiBenchmarks : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void sweep_dialog_checks_every_combination();
  void window_queues_a_sweep_and_groups_its_runs();
  void mad_page_table_chart_and_export();
  void per_token_page_overlays_runs();
  void mad_benchmark_runs_as_a_window_job();

 private:
  QTemporaryDir home_;
};

void TestGuiBenchmarks::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName("DiffMambaStudioTest");
  QCoreApplication::setApplicationName("tst_gui_benchmarks");
  QSettings().clear();
  qputenv("DM_USER_PRESETS", home_.filePath("presets").toUtf8());
}

void TestGuiBenchmarks::sweep_dialog_checks_every_combination() {
  SweepDialog d({"experiment=demo/mamba2-fortunes", "optimizer.lr=0.002"}, QString());
  // The default grid is the seed's MAD grid: 3 learning rates × 2 weight decays.
  QCOMPARE(d.axisCount(), 2);
  QVERIFY2(d.error().isEmpty(), qPrintable(d.error()));
  QCOMPARE(d.combinations().size(), 6);
  QVERIFY(d.okButton()->isEnabled());
  QCOMPARE(d.labels().front(), QString("optimizer.lr=1e-4 optimizer.weight_decay=0"));
  QCOMPARE(d.labels().back(), QString("optimizer.lr=1e-3 optimizer.weight_decay=0.1"));
  // The axis replaces the form's own learning rate; the preset stays first.
  QVERIFY(!d.gridArguments().contains("optimizer.lr=0.002"));
  QCOMPARE(d.gridArguments().front(), QString("experiment=demo/mamba2-fortunes"));
  QCOMPARE(d.combinations().front(),
           (QStringList{"experiment=demo/mamba2-fortunes", "optimizer.lr=1e-4", "optimizer.weight_decay=0"}));
  QCOMPARE(d.sweepName(), QString("demo/mamba2-fortunes: optimizer.lr × optimizer.weight_decay"));
  QVERIFY(d.preview()->toPlainText().contains("optimizer.lr=5e-4 optimizer.weight_decay=0.1"));
  QCOMPARE(nlohmann::json::parse(d.gridJson().toStdString()).at("optimizer.weight_decay").size(), 2u);

  // Typed into the table: a misspelt key names the nearest and blocks Queue.
  d.axes()->item(0, 0)->setText("optimizer.lrr");
  QVERIFY(d.error().contains("optimizer.lr"));
  QVERIFY(!d.okButton()->isEnabled());
  d.axes()->item(0, 0)->setText("optimizer.lr");
  QVERIFY(d.error().isEmpty());
  // A value the key does not take: the combination and the CLI's reason.
  d.setAxis(1, "loader.batch_size", "4, 0");
  QVERIFY2(d.error().startsWith("Combination 2"), qPrintable(d.error()));
  QVERIFY(!d.okButton()->isEnabled());
  // A key with no values, then a row removed.
  d.setAxis(1, "loader.batch_size", " , ");
  QVERIFY(d.error().contains("no values"));
  d.removeAxis(1);
  QVERIFY(d.error().isEmpty());
  QCOMPARE(d.combinations().size(), 3);
  QCOMPARE(d.okButton()->text(), QString("Queue 3 run(s)"));
}

void TestGuiBenchmarks::window_queues_a_sweep_and_groups_its_runs() {
  QTemporaryDir ws;
  MainWindow w(ws.path());
  for (const auto& kv : kTiny) QVERIFY(w.experiments()->setValue(kv.section('=', 0, 0), kv.section('=', 1)));
  QString dialogError = "not shown";
  w.setSweepDialogHook([&dialogError](SweepDialog* d) {
    d->setAxis(0, "optimizer.lr", "1e-3, 2e-3");
    d->removeAxis(1);
    dialogError = d->error();
    return d->error().isEmpty();
  });
  QSignalSpy queued(&w, &MainWindow::sweepQueued);
  QVERIFY(w.experiments()->sweepButton()->isEnabled());
  w.experiments()->sweepButton()->click();
  QVERIFY2(dialogError.isEmpty(), qPrintable(dialogError));
  QTRY_VERIFY2_WITH_TIMEOUT(queued.count() == 1, qPrintable(w.log()->toPlainText()), 20000);
  const auto sweep = queued.at(0).at(0).value<int64_t>();
  QCOMPARE(queued.at(0).at(1).toInt(), 2);
  QVERIFY(w.queue()->waitForIdle(300000));
  QStringList commands;
  for (int id : w.queue()->jobIds()) {
    QCOMPARE(w.queue()->job(id)->state, JobState::Done);
    commands << w.queue()->job(id)->spec.commandLine;
  }
  QCOMPARE(commands.size(), 2);
  QVERIFY2(commands[0].contains(QStringLiteral("--sweep %1 ").arg(sweep)) && commands[0].contains("optimizer.lr=1e-3"),
           qPrintable(commands[0]));

  QList<int64_t> members;
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    const auto rec = db.sweep(sweep);
    QVERIFY(rec.has_value());
    QCOMPARE(rec->kind, std::string("train"));
    QCOMPARE(QString::fromStdString(rec->name), w.experiments()->preset() + ": optimizer.lr");
    const auto runs = db.runs_of_sweep(sweep);
    QCOMPARE(runs.size(), size_t{2});
    std::vector<double> lrs;
    for (const auto& r : runs) {
      QCOMPARE(r.status, std::string("finished"));
      lrs.push_back(nlohmann::json::parse(r.config_json).at("optimizer").at("lr").get<double>());
      members << r.id;
    }
    QCOMPARE(lrs, (std::vector<double>{1e-3, 2e-3}));
  }
  // A run outside the sweep, so the grouping has something to leave out.
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    dm::test::add_finished_run(db, "other", "train", "mamba2");
  }
  RunsBrowser* runs = w.runs();
  QSignalSpy refreshed(runs, &RunsBrowser::refreshed);
  runs->refresh();
  QTRY_VERIFY(refreshed.count() >= 1 && !runs->busy());
  QCOMPARE(runs->visibleRuns().size(), 3);
  QVERIFY(runs->setSweepFilter(sweep));
  auto visible = runs->visibleRuns();
  std::sort(visible.begin(), visible.end());
  QCOMPARE(visible, members);
  runs->setFilterText(QStringLiteral("sweep=%1").arg(sweep));  // the filter language knows it too
  QCOMPARE(runs->visibleRuns().size(), 2);
  QVERIFY(runs->setSweepFilter(0));
  QCOMPARE(runs->visibleRuns().size(), 2);
  runs->setFilterText(QString());
  QCOMPARE(runs->visibleRuns().size(), 3);

  // The Monitor's sweep list ticks exactly the sweep's runs.
  MonitorView* m = w.monitor();
  m->refreshRuns();
  QTRY_VERIFY(!m->loading());
  for (auto id : m->shownRuns()) m->setRunShown(id, false);
  auto* box = m->findChild<QComboBox*>("monitorSweep");
  QVERIFY(box);
  const int i = box->findData(static_cast<qlonglong>(sweep));
  QVERIFY(i > 0);
  box->setCurrentIndex(i);
  QTRY_COMPARE(m->shownRuns().size(), 2);
  auto shown = m->shownRuns();
  std::sort(shown.begin(), shown.end());
  QCOMPARE(shown, members);
}

void TestGuiBenchmarks::mad_page_table_chart_and_export() {
  QTemporaryDir ws;
  const QString dbPath = QDir(ws.path()).filePath("runs.db");
  int64_t older = 0, newer = 0;
  {
    dm::store::RunStore db(dbPath.toStdString());
    older = addMadSweep(db, {{"mamba2", {{"in-context-recall", 0.5}}}});
    newer = addMadSweep(db, {{"mamba2", {{"in-context-recall", 0.40}, {"selective-copying", 0.30}, {"memorization", 0.90}}},
                             {"diffmamba2", {{"in-context-recall", 0.60}, {"memorization", 0.80}}}});
  }
  StoreWorker worker(dbPath);
  BenchmarksView v;
  QSignalSpy drawn(&v, &BenchmarksView::drawn);
  v.setWorker(&worker, ws.path());
  // The newest MAD sweep is chosen and drawn without a click.
  QTRY_VERIFY(drawn.count() >= 1 && !v.loading());
  QVERIFY2(v.lastError().isEmpty(), qPrintable(v.lastError()));
  QCOMPARE(v.sweepBox()->count(), 3);  // "(runs selected below)" and both sweeps
  QCOMPARE(v.sweepBox()->currentData().toLongLong(), newer);
  QCOMPARE(v.selectedRuns().size(), 2);

  // The table: a row per task in the benchmark's order, then the MAD score; a column per family.
  QTableWidget* t = v.table();
  QCOMPARE(t->rowCount(), 4);
  QCOMPARE(t->columnCount(), 2);
  QCOMPARE(t->verticalHeaderItem(0)->text(), QString("in-context-recall"));
  QCOMPARE(t->verticalHeaderItem(1)->text(), QString("selective-copying"));
  QCOMPARE(t->verticalHeaderItem(3)->text(), QString("MAD score"));
  const int mambaCol = t->horizontalHeaderItem(0)->text() == "Mamba2" ? 0 : 1, diffCol = 1 - mambaCol;
  QCOMPARE(t->horizontalHeaderItem(diffCol)->text(), QString("Diff-Mamba2"));
  QCOMPARE(t->item(0, diffCol)->text(), QString("0.600"));
  QVERIFY(t->item(0, diffCol)->font().bold());
  QVERIFY(!t->item(0, mambaCol)->font().bold());
  QCOMPARE(t->item(1, diffCol)->text(), QString("not run"));
  QCOMPARE(t->item(3, mambaCol)->text(), QString("0.533"));  // (0.4 + 0.3 + 0.9) / 3
  // The chart: one bar series per family; Diff-Mamba2 has no bar where it did not run.
  int points = 0;
  QCOMPARE(countBars(v.plot(), &points), 2);
  QCOMPARE(points, 4 + 3);
  QCheckBox* total = nullptr;
  for (auto* c : v.findChildren<QCheckBox*>())
    if (c->text().contains("overall")) total = c;
  QVERIFY(total);
  total->setChecked(false);
  countBars(v.plot(), &points);
  QCOMPARE(points, 3 + 2);
  total->setChecked(true);

  // Export: the figure in three formats and the seed's CSV beside it, which reads back to the table.
  const QString stem = QDir(ws.path()).filePath("figs/mad");
  for (const char* ext : {"png", "pdf", "svg"}) {
    const QString err = v.exportTo(stem + "." + ext);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    QVERIFY(QFileInfo(stem + "." + ext).size() > 1000);
  }
  const auto back = dm::plotting::readMadCsv(stem + ".csv");
  QCOMPARE(back.tasks, (QStringList{"in-context-recall", "selective-copying", "memorization"}));
  QCOMPARE(back.models.size(), 2);
  QVERIFY(std::isnan(back.at(static_cast<int>(back.models.indexOf("Diff-Mamba2")), 1)));
  QCOMPARE(back.total[static_cast<size_t>(back.models.indexOf("Diff-Mamba2"))], 0.7);
  QVERIFY(v.suggestedPath("pdf").endsWith(QStringLiteral("figures/mad-scores-sweep%1.pdf").arg(newer)));

  // The older sweep: one family, one task.
  v.sweepBox()->setCurrentIndex(v.sweepBox()->findData(static_cast<qlonglong>(older)));
  QTRY_VERIFY(!v.loading() && t->rowCount() == 2);
  QCOMPARE(t->columnCount(), 1);
  // Score runs of both sweeps: the two Mamba2 rows say which sweep they are.
  QList<int64_t> all;
  for (int i = 0; i < v.runList()->count(); ++i) all << v.runList()->item(i)->data(Qt::UserRole).toLongLong();
  v.setRuns(all);
  v.draw();
  QTRY_VERIFY(!v.loading() && t->columnCount() == 3);
  QStringList heads;
  for (int c = 0; c < 3; ++c) heads << t->horizontalHeaderItem(c)->text();
  QVERIFY2(heads.contains(QStringLiteral("Mamba2 (sweep %1)").arg(older)), qPrintable(heads.join(", ")));

  // The benchmark button asks for the chosen profile.
  QSignalSpy ask(&v, &BenchmarksView::runMadRequested);
  v.setMadProfile(BenchmarksView::MadProfile::Seed);
  QTest::mouseClick(v.findChild<QPushButton*>("runMad"), Qt::LeftButton);
  QCOMPARE(ask.count(), 1);
  QCOMPARE(ask.at(0).at(0).value<BenchmarksView::MadProfile>(), BenchmarksView::MadProfile::Seed);
}

void TestGuiBenchmarks::per_token_page_overlays_runs() {
  QTemporaryDir ws;
  const QString dbPath = QDir(ws.path()).filePath("runs.db");
  std::vector<double> a(1000), b(1000);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = 3.0 + 1.0 / static_cast<double>(i + 1);
    b[i] = 2.5 + 0.5 * std::sin(static_cast<double>(i) * 0.01);
  }
  int64_t ra = 0, rb = 0, broken = 0;
  {
    dm::store::RunStore db(dbPath.toStdString());
    ra = addPerTokenRun(db, ws.filePath("a"), "mamba2-L1000", a);
    rb = addPerTokenRun(db, ws.filePath("b"), "diffmamba2-L1000", b);
    broken = addPerTokenRun(db, ws.filePath("c"), "gone", a);
    QFile::remove(ws.filePath("c/results.json"));
  }
  StoreWorker worker(dbPath);
  BenchmarksView v;
  QSignalSpy listed(&v, &BenchmarksView::listed);
  v.setWorker(&worker, ws.path());
  QTRY_VERIFY(listed.count() >= 1 && !v.loading());
  v.setFigure(BenchmarksView::Figure::PerToken);
  QCOMPARE(v.runList()->count(), 3);
  v.setTrainingLength(512);
  v.setRuns({ra, rb});
  QSignalSpy drawn(&v, &BenchmarksView::drawn);
  v.draw();
  QTRY_VERIFY(drawn.count() >= 1 && !v.loading());
  QVERIFY2(v.lastError().isEmpty(), qPrintable(v.lastError()));
  QCOMPARE(v.plot()->graphCount(), 4);  // each model: the smoothed loss and the cumulative perplexity
  QTableWidget* t = v.table();
  QCOMPARE(t->rowCount(), 2);  // the first 512 tokens, and all 1000
  QCOMPARE(t->verticalHeaderItem(0)->text(), QString("ppl, first 512 tokens"));
  const int ca = t->horizontalHeaderItem(0)->text().startsWith("mamba2-L1000") ? 0 : 1, cb = 1 - ca;
  QCOMPARE(t->horizontalHeaderItem(ca)->text(), QStringLiteral("mamba2-L1000 (run %1)").arg(ra));
  double sum = 0;
  for (int i = 0; i < 512; ++i) sum += a[static_cast<size_t>(i)];
  QCOMPARE(t->item(0, ca)->text(), QString::number(std::exp(sum / 512), 'f', 2));
  QVERIFY(t->item(0, ca)->toolTip().contains("512 positions"));
  QVERIFY(t->item(1, cb)->font().bold());  // b's loss is lower: its perplexity is the best of the row
  QVERIFY(!t->item(1, ca)->font().bold());
  const QString csv = QDir(ws.path()).filePath("out/per-token.csv");
  QVERIFY(v.exportTo(csv).isEmpty());
  QFile f(csv);
  QVERIFY(f.open(QIODevice::ReadOnly));
  QVERIFY(f.readLine().startsWith("position,"));
  // A run whose results.json is gone: the page says which file.
  v.setRuns({ra, broken});
  drawn.clear();
  v.draw();
  QTRY_VERIFY(drawn.count() >= 1 && !v.loading());
  QVERIFY2(v.lastError().contains("results.json"), qPrintable(v.lastError()));
  QCOMPARE(v.plot()->graphCount(), 0);
}

void TestGuiBenchmarks::mad_benchmark_runs_as_a_window_job() {
  QTemporaryDir ws;
  dm::mad::BenchmarkOptions o;
  o.tasks = {"in-context-recall"};
  o.width = 16;
  o.n_layers = 1;
  o.epochs = 1;
  o.train_examples = 64;
  o.test_examples = 32;
  o.lrs = {1e-3};
  o.weight_decays = {0.0};
  o.device = "cpu";
  JobQueue q;
  const JobSpec spec = madJobSpec(ws.path(), o, false);
  QVERIFY2(spec.commandLine.contains("mad run") && spec.commandLine.contains("--width 16") &&
               spec.commandLine.contains("--lrs 0.001") && spec.commandLine.contains("--tasks in-context-recall"),
           qPrintable(spec.commandLine));
  const int id = q.enqueue(spec);
  QVERIFY(q.waitForIdle(300000));
  QCOMPARE(q.job(id)->state, JobState::Done);
  QVERIFY(QFileInfo(QDir(ws.path()).filePath("mad")).isDir());
  StoreWorker worker(QDir(ws.path()).filePath("runs.db"));
  BenchmarksView v;
  QSignalSpy drawn(&v, &BenchmarksView::drawn);
  v.setWorker(&worker, ws.path());
  QTRY_VERIFY(drawn.count() >= 1 && !v.loading());
  QVERIFY2(v.lastError().isEmpty(), qPrintable(v.lastError()));
  QCOMPARE(v.table()->columnCount(), 2);
  QCOMPARE(v.table()->rowCount(), 2);  // in-context-recall and the MAD score
  for (int c = 0; c < 2; ++c) {
    bool ok = false;
    const double s = v.table()->item(0, c)->text().toDouble(&ok);
    QVERIFY(ok && s >= 0 && s <= 1);
  }
  dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
  QCOMPARE(db.run(q.job(id)->runId)->kind, std::string("mad-score"));
}

QTEST_MAIN(TestGuiBenchmarks)
#include "tst_gui_benchmarks.moc"
