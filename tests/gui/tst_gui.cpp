// The desktop window driven through its real widgets (offscreen): pick a preset, edit a field, see the
// CLI's validation message, launch a tiny run and watch it go queued → running → done while its curve
// gains points, cancel a run, close with a running job, a workspace that cannot open, and the Quick
// comparison pipeline end to end. The pages on their own: tst_gui_views.
#include <torch/torch.h>

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <qcustomplot.h>

#include "app/gui/experiment_form.h"
#include "app/gui/job_queue.h"
#include "app/gui/main_window.h"
#include "app/gui/monitor_view.h"
#include "app/gui/queue_view.h"
#include "app/gui/quick_comparison.h"
#include "app/gui/results_view.h"
#include "app/gui/runs_browser.h"
#include "app/gui/settings.h"
#include "core/common/error.h"
#include "core/config/experiment_config.h"
#include "core/store/run_store.h"
#include "tests/store_util.h"
#include <QCryptographicHash>

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
  void close_asks_and_stops_jobs();
  void queue_takes_every_event_kind();
  void quick_comparison_end_to_end();
  void workspace_that_cannot_open_writes_nothing();
  void help_and_version_print_without_a_display();
  void damaged_database_opens_as_a_read_only_copy();
  void settings_device_lists_gpus();

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
  // Run this set: by default the pair, with identical other settings.
  QCOMPARE(form.familySet(), (QStringList{"mamba2", "diffmamba2"}));
  QCOMPARE(form.runSetButton()->text(), QString("Run this set (2)"));
  QSignalSpy set(&form, &ExperimentForm::runSetRequested);
  QTest::mouseClick(form.runSetButton(), Qt::LeftButton);
  QCOMPARE(set.count(), 1);
  auto argsOf = [&](int call) { return set[call][0].value<QList<QStringList>>(); };
  QCOMPARE(set[0][1].toStringList(), (QStringList{"mamba2", "diffmamba2"}));
  QCOMPARE(argsOf(0), (QList<QStringList>{{"experiment=demo/mamba2-fortunes", "loader.l_max=64"},
                                           {"experiment=demo/diffmamba2-fortunes", "loader.l_max=64"}}));
  // A third family, Mamba-1: its own preset, the edit kept.
  family->setCurrentIndex(family->findData("mamba"));
  QCOMPARE(form.preset(), QString("demo/mamba-fortunes"));
  QCOMPARE(form.value("model.family"), QString("mamba"));
  QCOMPARE(form.value("loader.l_max"), QString("64"));
  QVERIFY2(form.validationError().isEmpty(), qPrintable(form.validationError()));
  // The ablation set, ticked box by box: four families, each on its own preset with the edit.
  for (const char* f : {"diffmamba2E", "diffs6mamba2"}) {
    auto* box = form.findChild<QCheckBox*>(QString("setFamily_") + f);
    QVERIFY(box);
    QTest::mouseClick(box, Qt::LeftButton, {}, QPoint(5, box->height() / 2));
  }
  QCOMPARE(form.runSetButton()->text(), QString("Run this set (4)"));
  QTest::mouseClick(form.runSetButton(), Qt::LeftButton);
  QCOMPARE(set[1][1].toStringList(), (QStringList{"mamba2", "diffmamba2", "diffmamba2E", "diffs6mamba2"}));
  QCOMPARE(argsOf(1).size(), 4);
  QCOMPARE(argsOf(1)[2], (QStringList{"experiment=demo/diffmamba2E-fortunes", "loader.l_max=64"}));
  QCOMPARE(argsOf(1)[3], (QStringList{"experiment=demo/diffs6mamba2-fortunes", "loader.l_max=64"}));
  // Remembered: a new form offers the same set. An empty set cannot run.
  {
    ExperimentForm again;
    QCOMPARE(again.familySet(), form.familySet());
    again.setFamilySet({});
    QVERIFY(!again.runSetButton()->isEnabled());
    again.setFamilySet({"mamba2", "diffmamba2"});
    QVERIFY(again.runSetButton()->isEnabled());
  }
  family->setCurrentIndex(family->findData("diffmamba2"));
  QCOMPARE(form.preset(), QString("demo/diffmamba2-fortunes"));
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
  QTRY_VERIFY(!w.runs()->busy());
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
  QTRY_VERIFY(w.welcome()->isVisible());  // an empty workspace offers the Quick comparison (asked of the worker)
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
  QSettings().setValue("device", "cpu");  // the window's Settings → Device reaches every stage
  auto* q = w.startQuickComparison(o);
  QSettings().remove("device");
  QVERIFY(!w.welcome()->isVisible());
  QSignalSpy done(q, &QuickComparison::finished);
  QVERIFY(done.wait(600000));
  QVERIFY2(done[0][0].toBool(), qPrintable(done[0][1].toString()));
  QCOMPARE(w.queue()->jobIds().size(), q->familyCount() * QuickComparison::stageCount());
  for (int id : w.queue()->jobIds()) {
    QCOMPARE(w.queue()->job(id)->state, JobState::Done);
    const QString line = w.queue()->job(id)->spec.commandLine;
    QVERIFY2(line.contains("--device cpu") || line.contains("trainer.accelerator=cpu"), qPrintable(line));
  }
  // Every figure is there: the window shows the compare heatmap, and the lens chart draws.
  QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.results()));
  QCOMPARE(w.results()->figure(), ResultsView::Figure::Compare);
  QTRY_VERIFY(!w.results()->loading() && w.results()->plot()->itemCount() > 0);
  QCOMPARE(w.results()->lastError(), QString());
  w.results()->setFigure(ResultsView::Figure::Lens);
  QCOMPARE(w.results()->draw(), QString());
  QVERIFY(w.results()->plot()->plottableCount() > 0);
  const auto& r = q->result();
  QCOMPARE(r.size(), 2);
  for (const auto& f : r) QVERIFY(f.train && f.needle && f.eval && f.lens);
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
    w.setWorkspaceChooser([&](const QString& why, bool copyOffered) {
      asked << why;
      if (copyOffered) asked << "copy offered";  // junk is not a database: no copy can be read
      return MainWindow::WorkspaceChoice{answer, false};
    });
    QTest::qWait(50);  // the start-up question is asked once the event loop runs
    QCOMPARE(asked.size(), 1);
    QVERIFY2(asked[0].contains("runs.db"), qPrintable(asked[0]));
    QVERIFY(w.workspace().isEmpty());
    QVERIFY2(w.windowTitle().contains("no workspace"), qPrintable(w.windowTitle()));
    QVERIFY(!w.welcome()->isVisible());
    // Run, Run this set, Quick comparison: each asks, none is queued.
    emit w.experiments()->runRequested({"experiment=demo/mamba2-fortunes", "trainer.max_steps=2"}, "x");
    emit w.experiments()->runSetRequested({{"experiment=demo/mamba2-fortunes"}, {"experiment=demo/diffmamba2-fortunes"}},
                                          {"mamba2", "diffmamba2"}, "y");
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

void TestGui::damaged_database_opens_as_a_read_only_copy() {
  // A run database with a damaged page that SQLite can still partly read: the window says so, offers a
  // read-only copy, opens the copy (its runs listed, no job can start), and neither the damaged file nor
  // the workspace folder changes.
  QTemporaryDir ws;
  const QString dbPath = QDir(ws.path()).filePath("runs.db");
  {
    dm::store::RunStore db(dbPath.toStdString());
    for (const char* name : {"first", "second"}) {
      const auto id = dm::test::add_finished_run(db, name, "train", "mamba2");
      for (int step = 1; step <= 20000; ++step) db.add_metric(id, {step, 0, "train/loss", 1.0 / step, 0.01 * step});
      db.flush();
    }
  }
  QFile f(dbPath);
  QVERIFY(f.open(QIODevice::ReadWrite));
  const qint64 size = f.size();
  QVERIFY(size > 200 * 4096);
  QVERIFY(f.seek(size - 40 * 4096));  // pages of the metrics, not the runs table at the start
  f.write(QByteArray(3 * 4096, '\xff'));
  f.close();
  QVERIFY(f.open(QIODevice::ReadOnly));
  const QByteArray before = QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
  f.close();
  const QStringList entries = QDir(ws.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
  const auto health = dm::store::RunStore::check_file(dbPath.toStdString());
  QVERIFY(health.readable && !health.healthy);

  QStringList asked;
  bool offered = false;
  {
    MainWindow w(ws.path());
    w.setWorkspaceChooser([&](const QString& why, bool copyOffered) {
      asked << why;
      offered = copyOffered;
      return MainWindow::WorkspaceChoice{QString(), true};
    });
    QTRY_COMPARE(asked.size(), 1);
    QVERIFY2(asked[0].contains("damaged") && asked[0].contains("runs.db"), qPrintable(asked[0]));
    QVERIFY(offered);
    QVERIFY2(w.windowTitle().contains("read-only copy"), qPrintable(w.windowTitle()));
    QCOMPARE(w.workspace(), QDir(ws.path()).absolutePath());
    QTRY_VERIFY(!w.runs()->busy());
    QCOMPARE(w.runs()->visibleRuns().size(), 2);
    // What the damaged pages hide is said under the filter, not silently dropped.
    QVERIFY2(!w.runs()->filterHint()->isHidden() && w.runs()->filterHint()->text().contains("could not be read"),
             qPrintable(w.runs()->filterHint()->text()));
    QVERIFY(w.log()->toPlainText().contains("read-only copy"));
    // No job can write there: starting one asks for another workspace (declined here).
    w.setWorkspaceChooser([&](const QString& why, bool) {
      asked << why;
      return MainWindow::WorkspaceChoice{};
    });
    QVERIFY(w.startQuickComparison(QuickOptions{}) == nullptr);
    QVERIFY2(asked.last().contains("read-only"), qPrintable(asked.last()));
  }
  QVERIFY(f.open(QIODevice::ReadOnly));
  QCOMPARE(QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256), before);
  QCOMPARE(QDir(ws.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden), entries);
}

// Settings → Device: automatic, CPU and each GPU doctor sees (or one disabled entry saying why there is none);
// the choice becomes every training job's overrides. A stored value that is no device reads as automatic.
void TestGui::settings_device_lists_gpus() {
  QSettings().remove("device");
  QString whyNone;
  const auto gpus = settings::gpus(&whyNone);
  {
    SettingsDialog d;
    auto* box = d.findChild<QComboBox*>("deviceBox");
    QVERIFY(box);
    QCOMPARE(box->itemData(0).toString(), QString("auto"));
    QCOMPARE(box->itemData(1).toString(), QString("cpu"));
    QCOMPARE(box->currentIndex(), 0);
    if (gpus.isEmpty()) {
      QCOMPARE(box->count(), 3);
      auto* model = qobject_cast<QStandardItemModel*>(box->model());
      QVERIFY(model && !model->item(2)->isEnabled());
      QVERIFY2(box->itemData(2, Qt::ToolTipRole).toString().contains(whyNone), qPrintable(whyNone));
    } else {
      QCOMPARE(box->count(), 2 + gpus.size());
      QCOMPARE(box->itemData(2).toString(), QString("cuda:0"));
      QVERIFY(box->itemText(2).contains("GiB"));
    }
    box->setCurrentIndex(1);
    d.save();
  }
  QCOMPARE(settings::device(), QString("cpu"));
  QTemporaryDir ws;
  MainWindow w(ws.path());
  QCOMPARE(w.deviceArguments(), QStringList{"trainer.accelerator=cpu"});
  QSettings().setValue("device", "cuda:12");
  QCOMPARE(w.deviceArguments(), (QStringList{"trainer.accelerator=gpu", "trainer.devices=[12]"}));
  {
    SettingsDialog d;  // a GPU this machine does not have: shown as automatic, not invented
    QCOMPARE(d.findChild<QComboBox*>("deviceBox")->currentIndex(), gpus.size() > 12 ? 14 : 0);
  }
  QSettings().setValue("device", "cuda; rm -rf");
  QCOMPARE(settings::device(), QString("auto"));
  QCOMPARE(w.deviceArguments(), QStringList{});
  QSettings().remove("device");
}

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
