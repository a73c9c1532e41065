// The desktop window driven through its real widgets (offscreen): pick a preset, edit a field, see the
// CLI's validation message, launch a tiny run and watch it go queued → running → done while its curve
// gains points, cancel a run, compare two evaluation runs with hover numbers, export figures, filter
// and diff runs, close with a running job, and the Quick comparison pipeline end to end.
#include <torch/torch.h>

#include <QCheckBox>
#include <QComboBox>
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <sys/wait.h>
#include <unistd.h>
#include <qcustomplot.h>

#include "app/gui/experiment_form.h"
#include "plotting/style.h"
#include "app/gui/job_queue.h"
#include "core/jobs/run_session.h"
#include "app/gui/main_window.h"
#include "app/gui/monitor_view.h"
#include "app/gui/store_worker.h"
#include "plotting/curve_plot.h"
#include "app/gui/queue_view.h"
#include "app/gui/quick_comparison.h"
#include "app/gui/results_view.h"
#include "app/gui/runs_browser.h"
#include "core/common/error.h"
#include "core/config/experiment_config.h"
#include "core/store/run_store.h"
#include "plotting/figure.h"
#include "tests/store_util.h"

using namespace dm::gui;

namespace {

// A model small enough to train in seconds on the built-in corpus.
const QStringList kTiny = {"model.d_model=16",       "model.n_layers=1",           "model.head_dim=8",
                           "model.d_state=4",        "model.chunk_size=16",        "loader.batch_size=4",
                           "loader.l_max=32",        "trainer.log_every_n_steps=1", "trainer.val_check_interval=0",
                           "trainer.limit_val_batches=2", "trainer.checkpoint_every_n_steps=5"};

QString resolveError(const QStringList& args) {
  std::vector<std::string> v;
  for (const auto& a : args) v.push_back(a.toStdString());
  try {
    dm::config::resolve(v);
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

void setTiny(ExperimentForm* form, int steps) {
  for (const auto& kv : kTiny) QVERIFY(form->setValue(kv.section('=', 0, 0), kv.section('=', 1)));
  QVERIFY(form->setValue("trainer.max_steps", QString::number(steps)));
}

// Job 2: the form's current settings with 100000 steps, started with Run, cancelled from the queue page
// once past step 6; it must stop at a step boundary as `cancelled` and keep its checkpoint.
void cancelLongRun(MainWindow& w, QSignalSpy& finished, const QString& ws) {
  setTiny(w.experiments(), 100000);
  QTest::mouseClick(w.experiments()->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(w.queue()->job(2) && w.queue()->job(2)->step >= 6, 120000);
  w.queueView()->selectJob(2);
  QTest::mouseClick(w.queueView()->findChild<QPushButton*>("cancelJob"), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 120000);
  QCOMPARE(w.queue()->job(2)->state, JobState::Cancelled);
  dm::store::RunStore db(QDir(ws).filePath("runs.db").toStdString());
  const auto rec = db.run(w.queue()->job(2)->runId);
  QCOMPARE(rec->status, std::string("cancelled"));
  QVERIFY(QFileInfo::exists(QString::fromStdString(rec->run_dir) + "/checkpoint.safetensors"));
  QVERIFY(db.last_step(rec->id) >= 5);
}

}  // namespace

class TestGui : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void experiment_form_validates_like_the_cli();
  void launch_watch_and_cancel();
  void data_parallel_run_from_the_window();
  void results_compare_hover_and_export();
  void runs_browser_filter_diff_delete();
  void close_asks_and_stops_jobs();
  void queue_takes_every_event_kind();
  void runs_browser_shows_dead_runs_as_crashed();
  void runs_browser_metric_columns();
  void quick_comparison_end_to_end();
  void workspace_that_cannot_open_writes_nothing();
  void monitor_colours_follow_run_ids();
  void monitor_readout_export_and_state();
  void help_and_version_print_without_a_display();

 private:
  QTemporaryDir home_;
};

void TestGui::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);  // QSettings of the test, not the user's
  QCoreApplication::setOrganizationName("DiffMambaStudioTest");
  QCoreApplication::setApplicationName("tst_gui");
  QSettings().clear();
  qputenv("DM_USER_PRESETS", home_.filePath("presets").toUtf8());
}

void TestGui::experiment_form_validates_like_the_cli() {
  ExperimentForm form;
  QVERIFY(form.presets().contains("demo/mamba2-fortunes"));
  QVERIFY(form.presets().contains("lm/diffmamba2-text8"));
  // Pick a preset through the combo box, as a user does.
  auto* box = form.findChild<QComboBox*>("presetBox");
  QVERIFY(box);
  box->setCurrentIndex(box->findText("demo/mamba2-fortunes"));
  QCOMPARE(form.preset(), QString("demo/mamba2-fortunes"));
  QCOMPARE(form.value("model.d_model"), QString("64"));
  QCOMPARE(form.arguments(), QStringList{"experiment=demo/mamba2-fortunes"});
  QVERIFY(form.validationError().isEmpty());
  // Type an invalid value into the real line edit: the CLI's message, the field marked, Run disabled.
  auto* lmax = qobject_cast<QLineEdit*>(form.editor("loader.l_max"));
  QVERIFY(lmax);
  QVERIFY(lmax->toolTip().contains("sequence length"));
  lmax->selectAll();
  QTest::keyClicks(lmax, "0");
  const QString cli = resolveError({"experiment=demo/mamba2-fortunes", "loader.l_max=0"});
  QVERIFY(!cli.isEmpty());
  QCOMPARE(form.validationError(), cli);
  QCOMPARE(form.errorLabel()->text(), cli);
  QVERIFY(!form.runButton()->isEnabled());
  QVERIFY(lmax->styleSheet().contains("background"));
  lmax->selectAll();
  QTest::keyClicks(lmax, "64");
  QVERIFY(form.validationError().isEmpty());
  QVERIFY(form.runButton()->isEnabled());
  QCOMPARE(form.arguments(), (QStringList{"experiment=demo/mamba2-fortunes", "loader.l_max=64"}));
  QVERIFY(form.commandLine().startsWith("diffmamba train experiment=demo/mamba2-fortunes loader.l_max=64"));
  // Switching the family moves to the counterpart preset and keeps the edit.
  auto* family = form.findChild<QComboBox*>("familyBox");
  family->setCurrentIndex(family->findData("diffmamba2"));
  QCOMPARE(form.preset(), QString("demo/diffmamba2-fortunes"));
  QCOMPARE(form.value("loader.l_max"), QString("64"));
  QCOMPARE(form.value("model.family"), QString("diffmamba2"));
  // Run both: the pair with identical other settings.
  QSignalSpy both(&form, &ExperimentForm::runBothRequested);
  QTest::mouseClick(form.runBothButton(), Qt::LeftButton);
  QCOMPARE(both.count(), 1);
  QCOMPARE(both[0][0].toStringList(), (QStringList{"experiment=demo/mamba2-fortunes", "loader.l_max=64"}));
  QCOMPARE(both[0][1].toStringList(), (QStringList{"experiment=demo/diffmamba2-fortunes", "loader.l_max=64"}));
  // Save as a user preset; it appears in the list and reproduces the settings.
  QVERIFY(form.savePreset("bad/name", "").contains("preset name"));
  QCOMPARE(form.savePreset("short-context", "demo with l_max 64"), QString());
  QCOMPARE(form.preset(), QString("user/short-context"));
  QCOMPARE(form.value("loader.l_max"), QString("64"));
  QCOMPARE(form.arguments(), QStringList{"experiment=user/short-context"});
  // A choice field offers only valid values; an unknown value typed into a list field is caught.
  auto* sched = qobject_cast<QComboBox*>(form.editor("scheduler.name"));
  QVERIFY(sched && sched->findText("cosine_warmup") >= 0);
  QVERIFY(form.setValue("optimizer.betas", "[0.9, 2]"));
  QVERIFY(!form.validationError().isEmpty());
  QCOMPARE(form.validationError(), resolveError({"experiment=user/short-context", "optimizer.betas=[0.9, 2]"}));
}

void TestGui::launch_watch_and_cancel() {
  QTemporaryDir ws;
  MainWindow w(ws.path());
  w.show();
  auto* form = w.experiments();
  form->setPreset("demo/diffmamba2-fortunes");
  setTiny(form, 150);
  QVERIFY2(form->validationError().isEmpty(), qPrintable(form->validationError()));
  QList<JobState> states;
  connect(w.queue(), &JobQueue::jobAdded, this, [&](int id) { states << w.queue()->job(id)->state; });
  connect(w.queue(), &JobQueue::jobChanged, this, [&](int id) {
    const auto s = w.queue()->job(id)->state;
    if (states.isEmpty() || states.back() != s) states << s;
  });
  QSignalSpy finished(w.queue(), &JobQueue::jobFinished);
  QTest::mouseClick(form->runButton(), Qt::LeftButton);
  QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.queueView()));
  QCOMPARE(w.queueView()->table()->rowCount(), 1);
  // The curve gains points while the run goes.
  QSet<int> counts;
  QElapsedTimer t;
  t.start();
  while (finished.isEmpty() && t.elapsed() < 300000) {
    QTest::qWait(20);
    const auto* j = w.queue()->job(1);
    if (j && j->runId) counts.insert(w.monitor()->pointCount(j->runId));
  }
  QCOMPARE(finished.count(), 1);
  QCOMPARE(states.front(), JobState::Queued);
  QVERIFY(states.contains(JobState::Running));
  QCOMPARE(states.back(), JobState::Done);
  const auto* job = w.queue()->job(1);
  QVERIFY(job->runId > 0);
  QVERIFY2(counts.size() >= 3, "the monitor's curve grew while the run went");
  QCOMPARE(w.monitor()->metric(), QString("train/loss"));
  QTRY_COMPARE(w.monitor()->pointCount(job->runId), 150);
  QCOMPARE(w.queueView()->table()->item(0, 2)->text(), jobStateName(JobState::Done));
  QVERIFY(w.log()->toPlainText().contains(QStringLiteral("run %1 started").arg(job->runId)));
  // The runs page shows it finished.
  w.runs()->refresh();
  w.runs()->selectRun(job->runId);
  QVERIFY(w.runs()->details()->toPlainText().contains("finished"));

  // A long run, cancelled from the queue page: it stops at a step boundary and keeps its checkpoint.
  form->setPreset("demo/mamba2-fortunes");
  cancelLongRun(w, finished, ws.path());
}

void TestGui::data_parallel_run_from_the_window() {
  // trainer.accelerator=cpu trainer.devices=2: the form says 2 processes; the run goes as child processes
  // of the window, its curve fills from the run store, and Cancel stops both ranks with a checkpoint.
  QTemporaryDir ws;
  MainWindow w(ws.path());
  w.show();
  auto* form = w.experiments();
  form->setPreset("demo/mamba2-fortunes");
  setTiny(form, 40);
  QVERIFY(form->processesLabel()->text().contains("1 process"));
  QVERIFY(form->setValue("trainer.accelerator", "cpu"));
  QVERIFY(form->setValue("trainer.devices", "2"));
  QVERIFY2(form->validationError().isEmpty(), qPrintable(form->validationError()));
  QVERIFY2(form->processesLabel()->text().contains("2 data-parallel processes"), qPrintable(form->processesLabel()->text()));
  QSignalSpy finished(w.queue(), &JobQueue::jobFinished);
  QTest::mouseClick(form->runButton(), Qt::LeftButton);
  QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 240000);
  const auto* job = w.queue()->job(1);
  QVERIFY2(job->state == JobState::Done, qPrintable(job->message));
  QVERIFY(job->runId > 0);
  QTRY_COMPARE_WITH_TIMEOUT(w.monitor()->pointCount(job->runId), 40, 5000);
  {
    dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
    QCOMPARE(db.runs().size(), size_t(1));
    QVERIFY2(QString::fromStdString(db.run(job->runId)->device).contains("2 processes"), db.run(job->runId)->device.c_str());
  }
  // A long one (both ranks), cancelled from the queue page.
  cancelLongRun(w, finished, ws.path());
}

void TestGui::results_compare_hover_and_export() {
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
  QCOMPARE(r->draw(), QString());
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
  QString err;
  const auto files = r->exportAll(out.filePath("all"), &err);
  QVERIFY2(err.isEmpty(), qPrintable(err));
  for (const char* f : {"babilong-model.pdf", "compare.pdf", "compare-ratio.png", "compared-lens.pdf", "compared-lens.csv",
                        "babilong-baseline.pdf", "babilong-model.svg", "compare-ratio.svg", "compared-lens.png",
                        "babilong-baseline.png", "babilong-baseline.svg"})
    QVERIFY2(QFileInfo::exists(out.filePath(QString("all/") + f)), f);
  QVERIFY(files.size() >= 19);
  QVERIFY2(r->status()->text().contains(QString::number(files.size()) + " file"), qPrintable(r->status()->text()));
  // The lens chart itself.
  r->setFigure(ResultsView::Figure::Lens);
  QCOMPARE(r->draw(), QString());
  // No baseline: a clear message, no crash.
  r->setBaselineRuns({});
  r->setFigure(ResultsView::Figure::Ratio);
  QVERIFY(r->draw().contains("baseline"));
}

void TestGui::runs_browser_filter_diff_delete() {
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
  auto store = std::make_shared<dm::store::RunStore>(QDir(ws.path()).filePath("runs.db").toStdString());
  b.setStore(store);
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
  QCOMPARE(b.setArchived(d, true), QString());
  QCOMPARE(b.visibleRuns(), QList<int64_t>{m});
  QVERIFY(store->run(d)->archived);
  b.setShowArchived(true);
  QCOMPARE(b.visibleRuns().size(), 2);
  QCOMPARE(b.deleteRun(d, true), QString());
  QVERIFY(!QFileInfo::exists(QDir(ws.path()).filePath("runs/x-diffmamba2")));
  QCOMPARE(b.visibleRuns(), QList<int64_t>{m});
  QVERIFY(!store->run(d));
}

void TestGui::queue_takes_every_event_kind() {
  // Each kind bare (no metrics, no message, no run) and full, as the window's queue receives them.
  JobQueue q;
  QList<MetricPoint> points;
  QStringList log;
  connect(&q, &JobQueue::metricsArrived, this, [&](int, const QList<MetricPoint>& p) { points += p; });
  connect(&q, &JobQueue::logMessage, this, [&](int, const QString& t) { log << t; });
  JobSpec spec;
  spec.title = "every kind";
  spec.kind = "test";
  spec.work = [](const dm::train::EventSink& sink, const std::atomic<bool>&) {
    using K = dm::train::TrainEvent::Kind;
    for (K k : {K::info, K::warning, K::step, K::eval, K::checkpoint}) {
      dm::train::TrainEvent bare;
      bare.kind = k;
      sink(bare);
      dm::train::TrainEvent full = bare;
      full.step = 4;
      full.run_id = 9;
      full.progress = 0.5;
      full.metrics = {{"train/loss", 1.5}, {"x/nan", std::nan("")}};
      full.message = QStringLiteral("%1 text").arg(dm::train::kind_name(k)).toStdString();
      sink(full);
    }
    return JobOutcome{9, "finished", "ok"};
  };
  QSignalSpy done(&q, &JobQueue::jobFinished);
  const int id = q.enqueue(spec);
  QVERIFY(q.waitForIdle(20000));
  QCOMPARE(done.count(), 1);
  QCOMPARE(q.job(id)->state, JobState::Done);
  QCOMPARE(q.job(id)->runId, int64_t(9));
  QCOMPARE(points.size(), 10);  // 2 metrics × 5 full events, none dropped
  for (const char* k : {"info", "warning", "step", "eval", "checkpoint"})
    QVERIFY2(log.join('\n').contains(QStringLiteral("%1 text").arg(k)), qPrintable(log.join('\n')));
}

void TestGui::runs_browser_shows_dead_runs_as_crashed() {
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
  b.setStore(std::make_shared<dm::store::RunStore>(path));
  QCOMPARE(crashed.count(), 1);
  QCOMPARE(crashed.at(0).at(0).value<int64_t>(), dead);
  b.setStatusFilter("crashed");
  QCOMPARE(b.visibleRuns(), QList<int64_t>{dead});
  b.setStatusFilter("running");
  QVERIFY(b.visibleRuns().isEmpty());
}

void TestGui::close_asks_and_stops_jobs() {
  QTemporaryDir ws;
  auto* w = new MainWindow(ws.path());
  w->show();
  w->experiments()->setPreset("demo/mamba2-fortunes");
  setTiny(w->experiments(), 100000);
  QTest::mouseClick(w->experiments()->runButton(), Qt::LeftButton);
  QTRY_VERIFY_WITH_TIMEOUT(w->queue()->job(1) && w->queue()->job(1)->step >= 2, 120000);
  int asked = 0;
  w->setStopJobsQuestion([&] {
    ++asked;
    return false;
  });
  QVERIFY(!w->close());  // declined: the window stays and the job keeps running
  QCOMPARE(asked, 1);
  QCOMPARE(w->queue()->job(1)->state, JobState::Running);
  w->setStopJobsQuestion([&] {
    ++asked;
    return true;
  });
  QVERIFY(w->close());
  QCOMPARE(asked, 2);
  QCOMPARE(w->queue()->job(1)->state, JobState::Cancelled);
  const int64_t run = w->queue()->job(1)->runId;
  delete w;
  dm::store::RunStore db(QDir(ws.path()).filePath("runs.db").toStdString());
  QCOMPARE(db.run(run)->status, std::string("cancelled"));
}

void TestGui::quick_comparison_end_to_end() {
  QTemporaryDir ws;
  MainWindow w(ws.path());
  w.show();
  QVERIFY(w.welcome()->isVisible());  // an empty workspace offers the Quick comparison
  QuickOptions o;
  for (const auto& a : kTiny + QStringList{"trainer.max_steps=6"})  // the default HF backbone kept
    o.train_overrides.push_back(a.toStdString());
  o.needle_steps = 2;
  o.needle_samples = 20;
  o.tasks = {"qa1", "qa2"};
  o.lengths = {"0k"};
  o.eval_samples = 3;
  o.lens_steps = 2;
  o.lens_tokens_per_step = 256;
  o.lens_samples = 2;
  auto* q = w.startQuickComparison(o);
  QVERIFY(!w.welcome()->isVisible());
  QSignalSpy done(q, &QuickComparison::finished);
  QVERIFY(done.wait(600000));
  QVERIFY2(done[0][0].toBool(), qPrintable(done[0][1].toString()));
  QCOMPARE(w.queue()->jobIds().size(), 2 * QuickComparison::stageCount());
  for (int id : w.queue()->jobIds()) QCOMPARE(w.queue()->job(id)->state, JobState::Done);
  // Every figure is there: the window shows the compare heatmap, and the lens chart draws.
  QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.results()));
  QCOMPARE(w.results()->figure(), ResultsView::Figure::Compare);
  QVERIFY(w.results()->plot()->itemCount() > 0);
  w.results()->setFigure(ResultsView::Figure::Lens);
  QCOMPARE(w.results()->draw(), QString());
  QVERIFY(w.results()->plot()->plottableCount() > 0);
  const auto& r = q->result();
  for (int f = 0; f < 2; ++f) QVERIFY(r.train[f] && r.needle[f] && r.eval[f] && r.lens[f]);
}

void TestGui::workspace_that_cannot_open_writes_nothing() {
  // A damaged runs.db: the window says why (the chooser is asked), opens nothing, creates nothing beside the
  // damaged file, and no job can start, so nothing lands in the launch folder either.
  QTemporaryDir bad, launch, good;
  QFile junk(bad.filePath("runs.db"));
  QVERIFY(junk.open(QIODevice::WriteOnly));
  junk.write(QByteArray(4096, 'x'));
  junk.close();
  const QString before = QDir::currentPath();
  QDir::setCurrent(launch.path());
  QStringList asked;
  QString answer;
  {
    MainWindow w(bad.path());
    w.setWorkspaceChooser([&](const QString& why) {
      asked << why;
      return answer;
    });
    QTest::qWait(50);  // the start-up question is asked once the event loop runs
    QCOMPARE(asked.size(), 1);
    QVERIFY2(asked[0].contains("runs.db"), qPrintable(asked[0]));
    QVERIFY(w.workspace().isEmpty());
    QVERIFY2(w.windowTitle().contains("no workspace"), qPrintable(w.windowTitle()));
    QVERIFY(!w.welcome()->isVisible());
    // Run, Run both, Quick comparison: each asks, none is queued.
    emit w.experiments()->runRequested({"experiment=demo/mamba2-fortunes", "trainer.max_steps=2"}, "x");
    emit w.experiments()->runBothRequested({"experiment=demo/mamba2-fortunes"}, {"experiment=demo/diffmamba2-fortunes"}, "y");
    QVERIFY(w.startQuickComparison(QuickOptions{}) == nullptr);
    QCOMPARE(asked.size(), 4);
    QVERIFY2(asked[1].contains("No workspace is open"), qPrintable(asked[1]));
    QCOMPARE(w.queue()->pendingCount(), 0);
    // Choosing a good folder opens it, and the job goes there.
    answer = good.filePath("ws");
    emit w.experiments()->runRequested({"experiment=demo/mamba2-fortunes", "trainer.max_steps=2"}, "z");
    QCOMPARE(w.workspace(), QDir(answer).absolutePath());
    QCOMPARE(w.queue()->pendingCount(), 1);
    w.queue()->cancelAll();
    w.queue()->waitForIdle(60000);
  }
  QDir::setCurrent(before);
  QCOMPARE(QDir(bad.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden), QStringList{"runs.db"});
  QCOMPARE(junk.size(), qint64{4096});
  QVERIFY2(QDir(launch.path()).isEmpty(), qPrintable(QDir(launch.path()).entryList().join(", ")));
}

void TestGui::help_and_version_print_without_a_display() {
  for (const auto& [arg, want] : {std::pair{QString("--help"), QString("--workspace <DIR>")},
                                  std::pair{QString("--version"), QString("diffmamba-studio 0.1.0")}}) {
    QProcess p;
    auto env = QProcessEnvironment::systemEnvironment();
    env.remove("DISPLAY");
    env.remove("WAYLAND_DISPLAY");
    env.remove("QT_QPA_PLATFORM");
    p.setProcessEnvironment(env);
    p.start(DM_STUDIO_PATH, {arg});
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitCode(), 0);
    const QString out = QString::fromUtf8(p.readAllStandardOutput());
    QVERIFY2(out.contains(want), qPrintable(out + QString::fromUtf8(p.readAllStandardError())));
  }
  QProcess bad;
  bad.start(DM_STUDIO_PATH, {"--no-such-option"});
  QVERIFY(bad.waitForFinished(30000));
  QCOMPARE(bad.exitCode(), 1);
  QVERIFY(QString::fromUtf8(bad.readAllStandardError()).contains("no-such-option"));
}

void TestGui::runs_browser_metric_columns() {
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
  const auto db = std::make_shared<dm::store::RunStore>(QDir(ws.path()).filePath("runs.db").toStdString());
  RunsBrowser br;
  br.setMetricColumns(RunsBrowser::defaultMetricColumns());
  br.setStore(db);
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
  QCOMPARE(br.metricColumns(), (QStringList{"val/acc:best", "val/acc:min"}));
  QCOMPARE(t->columnCount(), br.columnOf("val/acc:min") + 1);
  QCOMPARE(cell(a, "val/acc:best"), QString("0.3"));
  QCOMPARE(cell(a, "val/acc:min"), QString("0.1"));
  RunsBrowser again;
  QCOMPARE(again.metricColumns(), (QStringList{"val/acc:best", "val/acc:min"}));
  QCOMPARE(t->horizontalHeader()->sectionResizeMode(1), QHeaderView::Stretch);  // the name
  br.setMetricColumns(RunsBrowser::defaultMetricColumns());
}

void TestGui::monitor_colours_follow_run_ids() {
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
  MonitorView v;
  v.setStore(std::make_shared<dm::store::RunStore>(QDir(ws.path()).filePath("runs.db").toStdString()));
  v.setRunShown(ids[1], true);
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

void TestGui::monitor_readout_export_and_state() {
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
  const auto db = std::make_shared<dm::store::RunStore>(QDir(ws.path()).filePath("runs.db").toStdString());
  {
    // The curves are read by the store worker, on its own thread and connection, and drawn when they come.
    StoreWorker worker(QString::fromStdString(db->path()));
    MonitorView v;
    v.resize(900, 600);
    v.show();
    QVERIFY(QTest::qWaitForWindowExposed(&v));
    QCOMPARE(v.emptyText(), QString("No workspace is open."));
    v.setStore(db, ws.path(), &worker);
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
  MonitorView w;
  w.setStore(db, ws.path());
  QTRY_VERIFY(!w.loading());
  QCOMPARE(w.shownRuns(), QList<int64_t>{ids[1]});
  QCOMPARE(w.metric(), QString("train/loss"));
  QCOMPARE(w.smoothing(), 0.25);
  QVERIFY(w.curves()->logY());
  QCOMPARE(w.pointCount(ids[1]), 10);
  // An empty workspace says what to do.
  QTemporaryDir fresh;
  MonitorView e;
  e.setStore(std::make_shared<dm::store::RunStore>(QDir(fresh.path()).filePath("runs.db").toStdString()), fresh.path());
  QVERIFY2(e.emptyText().contains("Quick comparison"), qPrintable(e.emptyText()));
}

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
