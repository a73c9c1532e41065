#include "app/gui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "app/gui/attention_view.h"
#include "app/gui/benchmarks_view.h"
#include "app/gui/experiment_form.h"
#include "app/gui/job_specs.h"
#include "app/gui/language.h"
#include "app/gui/monitor_view.h"
#include "app/gui/queue_view.h"
#include "app/gui/quick_comparison.h"
#include "app/gui/results_view.h"
#include "app/gui/runs_browser.h"
#include "app/gui/settings.h"
#include "app/gui/store_worker.h"
#include "app/gui/sweep_dialog.h"
#include "core/common/error.h"
#include "core/jobs/train_job.h"
#include "core/mad/benchmark.h"
#include "core/model/config.h"
#include "core/store/run_store.h"

namespace dm {
namespace gui {

MainWindow::MainWindow(const QString& workspace, QWidget* parent) : QMainWindow(parent) {
  queue_ = new JobQueue(this);
  queue_->setConcurrency(settings::concurrency());

  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  buildWelcome();
  layout->addWidget(welcome_);
  tabs_ = new QTabWidget(central);
  tabs_->setObjectName("pages");
  form_ = new ExperimentForm(tabs_);
  queueView_ = new QueueView(queue_, tabs_);
  monitor_ = new MonitorView(tabs_);
  results_ = new ResultsView(tabs_);
  benchmarks_ = new BenchmarksView(tabs_);
  attention_ = new AttentionView(tabs_);
  runs_ = new RunsBrowser(tabs_);
  for (QWidget* page : {static_cast<QWidget*>(form_), static_cast<QWidget*>(queueView_), static_cast<QWidget*>(monitor_),
                        static_cast<QWidget*>(results_), static_cast<QWidget*>(benchmarks_), static_cast<QWidget*>(attention_),
                        static_cast<QWidget*>(runs_)})
    tabs_->addTab(page, QString());
  onLanguageChange(this, [this] {
    const QStringList names = {tr("Experiments"), tr("Queue"), tr("Monitor"), tr("Results"), tr("Benchmarks"), tr("Attention"),
                               tr("Runs")};
    for (int i = 0; i < names.size(); ++i) tabs_->setTabText(i, names[i]);
  });
  layout->addWidget(tabs_, 1);
  setCentralWidget(central);

  auto* dock = new QDockWidget(this);
  onLanguageChange(this, [this, dock] {
    dock->setWindowTitle(tr("Log"));
    updateTitle();
  });
  dock->setObjectName("logDock");
  log_ = new QPlainTextEdit(dock);
  log_->setObjectName("log");
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(20000);
  dock->setWidget(log_);
  addDockWidget(Qt::BottomDockWidgetArea, dock);
  buildMenus();

  connect(form_, &ExperimentForm::runRequested, this, &MainWindow::enqueueTrain);
  connect(form_, &ExperimentForm::runSetRequested, this,
          [this](const QList<QStringList>& args, const QStringList& families, const QString& name) {
            if (!ensureWritableWorkspace()) return;
            const QString base = name.isEmpty() ? QString() : name + " ";
            for (qsizetype i = 0; i < args.size() && i < families.size(); ++i)
              enqueueTrain(args[i], base + "(" +
                                        QString::fromStdString(model::display_name(
                                            model::family_from_string(families[i].toStdString()))) +
                                        ")");
          });
  connect(form_, &ExperimentForm::sweepRequested, this, [this](const QStringList& args, const QString& name) {
    SweepDialog dialog(args, name, this);
    const bool accepted = showSweepDialog_ ? showSweepDialog_(&dialog) : dialog.exec() == QDialog::Accepted;
    if (accepted) queueSweep(dialog);
  });
  connect(benchmarks_, &BenchmarksView::runMadRequested, this,
          [this](BenchmarksView::MadProfile p) { queueMad(p == BenchmarksView::MadProfile::Quick); });
  connect(form_, &ExperimentForm::presetSaved, this, [this](const QString& p) { appendLog(tr("saved preset %1").arg(p)); });
  connect(queue_, &JobQueue::metricsArrived, monitor_, &MonitorView::appendPoints);
  connect(queue_, &JobQueue::logMessage, this, [this](int id, const QString& text) {
    const auto* j = queue_->job(id);
    appendLog(QStringLiteral("[%1] %2: %3").arg(id).arg(j ? j->spec.title : QString(), text));
  });
  connect(queue_, &JobQueue::jobChanged, this, [this](int id) {
    // A job's run appears with its first report: show it in the monitor and the browsers.
    const auto* j = queue_->job(id);
    if (!j || !j->runId || !monitor_) return;
    if (!monitor_->shownRuns().contains(j->runId) && j->state == JobState::Running &&
        (j->spec.kind == "train" || j->spec.kind.startsWith("finetune") || j->spec.kind == "lens-train")) {
      monitor_->setRunShown(j->runId, true);
      runs_->refresh();
    }
  });
  connect(queue_, &JobQueue::jobFinished, this, [this](int, JobState) { refreshAll(); });
  connect(queueView_, &QueueView::jobActivated, this, [this](int id) {
    if (const auto* j = queue_->job(id); j && j->runId) {
      runs_->selectRun(j->runId);
      tabs_->setCurrentWidget(runs_);
    }
  });
  connect(runs_, &RunsBrowser::showInMonitor, this, [this](int64_t id) {
    monitor_->setRunShown(id, true);
    tabs_->setCurrentWidget(monitor_);
  });
  connect(runs_, &RunsBrowser::resumeRequested, this, [this](int64_t id) {
    if (!ensureWritableWorkspace()) return;
    queue_->enqueue(resumeJobSpec(workspace_, id));
    tabs_->setCurrentWidget(queueView_);
  });
  connect(runs_, &RunsBrowser::runsChanged, this, &MainWindow::refreshAll);
  connect(runs_, &RunsBrowser::runCrashed, this, [this](int64_t id, const QString& why) {
    appendLog(tr("run %1 crashed: %2").arg(id).arg(why));
  });

  QString path = workspace;
  if (path.isEmpty()) path = settings::workspace();
  if (path.isEmpty()) path = QString::fromStdString(jobs::Workspace::default_location().root);
  const QString err = openWorkspace(path);
  if (!err.isEmpty()) {
    // Nothing is open: say why in a dialog once the window shows, and offer another folder. Until one opens,
    // no job can start (ensureWritableWorkspace) and nothing is written anywhere.
    appendLog(err);
    opened_ = Opened::None;
    updateTitle();
    welcome_->hide();  // it speaks of an empty workspace
    QTimer::singleShot(0, this, [this, err] { recoverFrom(err); });
  }
  resize(1280, 860);
}

MainWindow::~MainWindow() {
  // Jobs write into the store and post to the views: stop them before either goes away.
  queue_->cancelAll();
  queue_->waitForIdle(120000);
}

QString MainWindow::openWorkspace(const QString& path) {
  if (queue_->pendingCount() > 0) return tr("Jobs are queued or running; switch workspaces when they are done.");
  QString dbPath;
  try {
    const jobs::Workspace ws{QDir(path).absolutePath().toStdString()};
    const bool existing = QFileInfo::exists(QString::fromStdString(ws.db_path()));
    // An existing database is checked before anything is written to it or created beside it: a damaged one
    // is left as it is (a read-only copy can be opened instead when SQLite can still read it).
    if (existing) {
      const auto health = store::RunStore::check_file(ws.db_path());
      if (!health.healthy) {
        damagedDb_ = health.readable ? QString::fromStdString(ws.db_path()) : QString();
        damagedRoot_ = QString::fromStdString(ws.root);
        const QString db = QString::fromStdString(ws.db_path()), why = QString::fromStdString(health.problem);
        return health.readable
                   ? tr("The run database %1 is damaged (%2). It is left as it is. SQLite can still read it, so a "
                        "copy of it can be opened read-only.").arg(db, why)
                   : tr("Cannot open the workspace %1: %2 cannot be read (%3). It is left as it is.").arg(path, db, why);
      }
    }
    // Opened here once to know that it opens (and whether it can be written), then closed: from now on
    // only the store worker's connection is used.
    bool readOnly = false;
    {
      std::unique_ptr<store::RunStore> probe;
      if (existing) probe = std::make_unique<store::RunStore>(ws.db_path());
      if (!probe || !probe->read_only()) ws.ensure();
      if (!probe) probe = std::make_unique<store::RunStore>(ws.db_path());
      readOnly = probe->read_only();
    }
    readOnly_ = readOnly;
    workspace_ = QString::fromStdString(ws.root);
    dbPath = QString::fromStdString(ws.db_path());
  } catch (const std::exception& e) {
    return tr("Cannot open the workspace %1: %2").arg(path, QString::fromUtf8(e.what()));
  }
  damagedDb_.clear();
  settings::setWorkspace(workspace_);
  attach(dbPath, readOnly_ ? Opened::ReadOnly : Opened::Writable);
  updateRecentMenu();
  appendLog(tr("workspace %1").arg(workspace_));
  if (readOnly_)
    appendLog(tr("this workspace is read-only: its runs can be browsed, compared and plotted, but no job can write to it"));
  return {};
}

void MainWindow::attach(const QString& dbPath, Opened how) {
  storeWorker_.reset();  // the old workspace's worker (after its last answers)
  storeWorker_ = std::make_unique<StoreWorker>(dbPath, readOnly_);
  opened_ = how;
  updateTitle();
  monitor_->setWorker(storeWorker_.get(), workspace_);
  results_->setWorker(storeWorker_.get(), workspace_);
  benchmarks_->setWorker(storeWorker_.get(), workspace_);
  attention_->setWorker(storeWorker_.get(), workspace_);
  runs_->setWorker(storeWorker_.get());
  welcome_->hide();
  updateWelcome();
}

void MainWindow::updateTitle() {
  switch (opened_) {
    case Opened::None: setWindowTitle(tr("Diff-Mamba Studio — no workspace open")); break;
    case Opened::Writable: setWindowTitle(tr("Diff-Mamba Studio — %1").arg(workspace_)); break;
    case Opened::ReadOnly: setWindowTitle(tr("Diff-Mamba Studio — %1 (read-only)").arg(workspace_)); break;
    case Opened::DamagedCopy:
      setWindowTitle(tr("Diff-Mamba Studio — %1 (read-only copy of its damaged database)").arg(workspace_));
      break;
  }
}

QString MainWindow::openReadOnlyCopy() {
  if (damagedDb_.isEmpty()) return tr("No damaged run database to copy.");
  if (queue_->pendingCount() > 0) return tr("Jobs are queued or running; switch workspaces when they are done.");
  const QString dir = QDir(QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation))
                          .filePath(QStringLiteral("recovered/%1-%2")
                                        .arg(QFileInfo(damagedRoot_).fileName(),
                                             QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss-zzz"))));
  const QString copy = QDir(dir).filePath(QStringLiteral("runs.db"));
  if (!QDir().mkpath(dir) || !QFile::copy(damagedDb_, copy))
    return tr("Cannot copy %1 to %2").arg(damagedDb_, copy);
  QFile::setPermissions(copy, QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther);
  try {
    store::RunStore probe(copy.toStdString(), store::RunStore::Access::read_only);
  } catch (const std::exception& e) {
    return tr("The copy %1 of the damaged database cannot be opened either: %2").arg(copy, QString::fromUtf8(e.what()));
  }
  readOnly_ = true;
  workspace_ = damagedRoot_;  // its run folders are read from where they are
  const QString original = damagedDb_;
  damagedDb_.clear();
  attach(copy, Opened::DamagedCopy);
  appendLog(tr("the run database %1 is damaged: browsing a read-only copy, %2; the original is left as it is")
                .arg(original, copy));
  return {};
}

MainWindow::WorkspaceChoice MainWindow::askForWorkspace(const QString& why, bool copyOffered) {
  if (chooseWorkspace_) return chooseWorkspace_(why, copyOffered);
  QMessageBox box(QMessageBox::Warning, tr("Workspace"), why, QMessageBox::NoButton, this);
  QAbstractButton* copy = copyOffered ? box.addButton(tr("Open a read-only copy"), QMessageBox::AcceptRole) : nullptr;
  auto* open = box.addButton(tr("Open another folder…"), QMessageBox::AcceptRole);
  auto* create = box.addButton(tr("Create a new workspace…"), QMessageBox::AcceptRole);
  box.addButton(tr("Continue without"), QMessageBox::RejectRole);
  box.exec();
  if (copy && box.clickedButton() == copy) return {QString(), true};
  if (box.clickedButton() == open) return {QFileDialog::getExistingDirectory(this, tr("Workspace folder"), workspace_), false};
  if (box.clickedButton() == create) {
    const QString parent = QFileDialog::getExistingDirectory(this, tr("Folder to create the workspace in"));
    if (parent.isEmpty()) return {};
    return {QDir(parent).filePath(QStringLiteral("diffmamba-workspace")), false};
  }
  return {};
}

void MainWindow::recoverFrom(QString why) {
  for (int attempt = 0; attempt < 5 && !why.isEmpty(); ++attempt) {
    const WorkspaceChoice c = askForWorkspace(why, !damagedDb_.isEmpty());
    if (c.readOnlyCopy)
      why = openReadOnlyCopy();
    else if (c.folder.isEmpty())
      return;
    else
      why = openWorkspace(c.folder);
    if (!why.isEmpty()) appendLog(why);
  }
}

bool MainWindow::ensureWritableWorkspace() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (storeWorker_ && !readOnly_) return true;
    const QString why = !storeWorker_ ? tr("No workspace is open, so this job has nowhere to write. Open or create one.")
                                : tr("The workspace %1 is read-only: its runs can be browsed, but jobs need a "
                                     "workspace they can write. Open or create another.")
                                      .arg(workspace_);
    const WorkspaceChoice c = askForWorkspace(why, false);
    if (c.folder.isEmpty()) return false;
    const QString err = openWorkspace(c.folder);
    if (!err.isEmpty()) {
      appendLog(err);
      recoverFrom(err);
    }
  }
  return storeWorker_ && !readOnly_;
}

void MainWindow::buildWelcome() {
  welcome_ = new QFrame(this);
  welcome_->setObjectName("welcome");
  welcome_->setFrameShape(QFrame::StyledPanel);
  auto* l = new QHBoxLayout(welcome_);
  auto* text = new QLabel(welcome_);
  text->setWordWrap(true);
  auto* go = new QPushButton(welcome_);
  go->setObjectName("quickComparison");
  auto* ablation = new QCheckBox(welcome_);
  ablation->setObjectName("quickAblation");
  auto* dismiss = new QPushButton(welcome_);
  onLanguageChange(welcome_, [text, go, ablation, dismiss] {
    text->setText(tr("<b>Welcome.</b> This workspace is empty. <b>Quick comparison</b> trains a tiny Mamba2 and "
                     "Diff-Mamba2 on the built-in corpus, fine-tunes them on BABILong needles, evaluates them "
                     "and trains tuned lenses, then shows every figure (about 3 minutes on 2 CPU cores). It is "
                     "a demonstration of the workflow: %1 questions per task and length, tiny models, not the "
                     "paper's numbers.")
                      .arg(QuickOptions{}.eval_samples));
    go->setText(tr("Run quick comparison"));
    ablation->setText(tr("with the ablation (Diff-Mamba2E, Diff-S6-Mamba2: twice as long)"));
    dismiss->setText(tr("Dismiss"));
  });
  l->addWidget(text, 1);
  auto* goColumn = new QVBoxLayout;
  goColumn->addWidget(go);
  goColumn->addWidget(ablation);
  l->addLayout(goColumn);
  l->addWidget(dismiss);
  connect(go, &QPushButton::clicked, this, [this, ablation] {
    QuickOptions o;
    if (ablation->isChecked()) o.families = jobs::quick_ablation_families();
    startQuickComparison(o);
  });
  connect(dismiss, &QPushButton::clicked, this, [this] {
    welcomeDismissed_ = true;
    welcome_->hide();
  });
}

void MainWindow::buildMenus() {
  auto* file = menuBar()->addMenu(QString());
  auto* open = file->addAction(QString(), this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Workspace folder"), workspace_);
    if (dir.isEmpty()) return;
    const QString err = openWorkspace(dir);
    if (!err.isEmpty()) recoverFrom(err);
  });
  recentMenu_ = file->addMenu(QString());
  auto* quick = file->addAction(QString(), this, [this] { startQuickComparison(QuickOptions{}); });
  auto* quickAblation = file->addAction(QString(), this, [this] {
    QuickOptions o;
    o.families = jobs::quick_ablation_families();
    startQuickComparison(o);
  });
  file->addSeparator();
  auto* settingsAction = file->addAction(QString(), this, &MainWindow::showSettings);
  file->addSeparator();
  auto* quit = file->addAction(QString(), QKeySequence::Quit, this, &QWidget::close);
  auto* help = menuBar()->addMenu(QString());
  auto* about = help->addAction(QString(), this, [this] {
    QMessageBox::about(this, tr("About Diff-Mamba Studio"),
                       tr("Diff-Mamba Studio %1\nTrain, evaluate and compare Mamba2 and Diff-Mamba2.")
                           .arg(QApplication::applicationVersion()));
  });
  onLanguageChange(this, [=, this] {
    file->setTitle(tr("&File"));
    open->setText(tr("&Open or create workspace…"));
    recentMenu_->setTitle(tr("&Recent workspaces"));
    quick->setText(tr("Quick &comparison"));
    quickAblation->setText(tr("Quick comparison with the &ablation"));
    settingsAction->setText(tr("&Settings…"));
    quit->setText(tr("&Quit"));
    help->setTitle(tr("&Help"));
    about->setText(tr("&About"));
  });
}

void MainWindow::updateRecentMenu() {
  if (!recentMenu_) return;
  recentMenu_->clear();
  for (const auto& w : settings::recentWorkspaces())
    recentMenu_->addAction(w, this, [this, w] {
      const QString err = openWorkspace(w);
      if (!err.isEmpty()) recoverFrom(err);
    });
}

void MainWindow::appendLog(const QString& text) {
  log_->appendPlainText(QDateTime::currentDateTime().toString("HH:mm:ss ") + text);
}

void MainWindow::refreshAll() {
  monitor_->refreshRuns();
  results_->refreshRuns();
  benchmarks_->refreshRuns();
  attention_->refreshRuns();
  runs_->refresh();
  if (welcome_->isVisible()) updateWelcome();
}

// The welcome (Quick comparison) shows on an empty workspace: asked of the store worker.
void MainWindow::updateWelcome() {
  if (!storeWorker_) return;
  storeWorker_->query<bool>(
      this, [](store::RunStore& db) { return db.runs().empty(); },
      [this, worker = storeWorker_.get()](bool empty, QString error) {
        if (worker != storeWorker_.get() || !error.isEmpty()) return;
        if (!(quick_ && quick_->running()) && !welcomeDismissed_) welcome_->setVisible(empty);
        else if (!empty) welcome_->hide();
      });
}

QStringList MainWindow::deviceArguments() const {
  QStringList out;
  for (const auto& a : jobs::device_overrides(settings::device().toStdString())) out << QString::fromStdString(a);
  return out;
}

void MainWindow::enqueueTrain(const QStringList& args, const QString& name) {
  if (!ensureWritableWorkspace()) return;
  queue_->enqueue(trainJobSpec(workspace_, args + deviceArguments(), name));
  tabs_->setCurrentWidget(queueView_);
}

bool MainWindow::queueSweep(const SweepDialog& dialog) {
  if (!dialog.error().isEmpty() || dialog.combinations().isEmpty() || !ensureWritableWorkspace()) return false;
  store::SweepRecord record;
  record.name = dialog.sweepName().toStdString();
  record.kind = "train";
  record.base_json = dialog.baseJson().toStdString();
  record.grid_json = dialog.gridJson().toStdString();
  const QList<QStringList> combos = dialog.combinations();
  const QStringList labels = dialog.labels();
  const QString name = dialog.sweepName();
  storeWorker_->query<int64_t>(
      this, [record](store::RunStore& db) { return db.create_sweep(record); },
      [this, combos, labels, name](int64_t id, QString error) {
        if (!error.isEmpty() || id <= 0) {
          appendLog(tr("the sweep could not be recorded: %1").arg(error));
          return;
        }
        for (qsizetype i = 0; i < combos.size(); ++i) {
          // Each run is named after the sweep and its own values, as `sweep train` names them.
          const QString runName = QStringLiteral("%1 %2").arg(name.section(':', 0, 0), labels.value(i)).trimmed();
          queue_->enqueue(trainJobSpec(workspace_, combos[i] + deviceArguments(), runName, id));
        }
        appendLog(tr("sweep %1: %n run(s) queued", nullptr, static_cast<int>(combos.size())).arg(id));
        tabs_->setCurrentWidget(queueView_);
        emit sweepQueued(id, static_cast<int>(combos.size()));
      });
  return true;
}

int MainWindow::queueMad(bool quick) {
  if (!ensureWritableWorkspace()) return 0;
  mad::BenchmarkOptions o = quick ? mad::BenchmarkOptions::quick() : mad::BenchmarkOptions{};
  o.device = settings::device().toStdString();
  JobSpec spec = madJobSpec(workspace_, o, quick);
  spec.onSuccess = [this](const JobOutcome& out) {
    appendLog(QString::fromStdString(out.message));
    if (!storeWorker_ || !out.runId) return;
    storeWorker_->query<int64_t>(
        this, [run = out.runId](store::RunStore& db) { const auto r = db.run(run); return r ? r->sweep_id : int64_t{0}; },
        [this](int64_t sweep, QString) {
          benchmarks_->setFigure(BenchmarksView::Figure::Mad);
          benchmarks_->refreshRuns();
          if (sweep) benchmarks_->selectSweep(sweep);
          tabs_->setCurrentWidget(benchmarks_);
        });
  };
  const int id = queue_->enqueue(std::move(spec));
  tabs_->setCurrentWidget(queueView_);
  return id;
}

QuickComparison* MainWindow::startQuickComparison(const QuickOptions& options) {
  if (quick_ && quick_->running()) return quick_;
  if (!ensureWritableWorkspace()) return nullptr;
  delete quick_;
  QuickOptions o = options;
  o.device = settings::device().toStdString();  // every stage's, the training's included
  quick_ = new QuickComparison(queue_, workspace_, o, this);
  connect(quick_, &QuickComparison::progress, this, [this](const QString& t) { statusBar()->showMessage(t); });
  connect(quick_, &QuickComparison::finished, this, [this](bool ok, const QString& message) {
    appendLog(message);
    statusBar()->showMessage(message);
    if (!ok) return;
    refreshAll();
    // The compare heatmap of Diff-Mamba2 (the second family) against Mamba2; the ablation's other families
    // are a pick away in the Results page's run lists.
    const auto& r = quick_->result();
    results_->setModelRuns({r.at(1).eval});
    results_->setBaselineRuns({r.at(0).eval});
    results_->setLensRuns(r.at(1).lens, r.at(0).lens);
    results_->setFigure(ResultsView::Figure::Compare);
    results_->draw();
    for (const auto& f : r) monitor_->setRunShown(f.train, true);
    tabs_->setCurrentWidget(results_);
  });
  welcome_->hide();
  quick_->start();
  tabs_->setCurrentWidget(queueView_);
  return quick_;
}

void MainWindow::showSettings() {
  SettingsDialog d(this);
  if (d.exec() == QDialog::Accepted) {
    queue_->setConcurrency(settings::concurrency());
    appendLog(tr("settings saved"));
  }
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (queue_->pendingCount() > 0) {
    const bool stop = askStopJobs_ ? askStopJobs_()
                                   : QMessageBox::question(this, tr("Jobs are running"),
                                                           tr("Stop the running jobs? They stop at the next step and keep "
                                                              "their last checkpoint; queued jobs are dropped.")) ==
                                         QMessageBox::Yes;
    if (!stop) {
      event->ignore();
      return;
    }
    statusBar()->showMessage(tr("Stopping jobs…"));
    queue_->cancelAll();
    queue_->waitForIdle(300000);
  }
  event->accept();
}

}  // namespace gui
}  // namespace dm
