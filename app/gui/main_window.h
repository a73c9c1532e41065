// The Diff-Mamba Studio window: Experiments, Queue, Monitor, Results and Runs pages over one
// workspace (SQLite database + run folders), a log pane, workspace switching with recent workspaces,
// settings, and the first-launch Quick comparison.
#pragma once

#include <QMainWindow>
#include <functional>
#include <memory>

#include "app/gui/job_queue.h"

class QLabel;
class QPlainTextEdit;
class QTabWidget;
class QFrame;
class QMenu;

namespace dm::jobs {
struct QuickComparisonOptions;
}

namespace dm {
namespace gui {

using QuickOptions = jobs::QuickComparisonOptions;
class BenchmarksView;
class AttentionView;
class ExperimentForm;
class StoreWorker;
class SweepDialog;
class MonitorView;
class QueueView;
class QuickComparison;
class ResultsView;
class RunsBrowser;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // Opens `workspace` (created if needed); empty: the last one used, else the default location.
  explicit MainWindow(const QString& workspace = QString(), QWidget* parent = nullptr);
  ~MainWindow() override;

  QString workspace() const { return workspace_; }
  // Returns the error text, or "" when the workspace is open.
  QString openWorkspace(const QString& path);

  JobQueue* queue() const { return queue_; }
  ExperimentForm* experiments() const { return form_; }
  QueueView* queueView() const { return queueView_; }
  MonitorView* monitor() const { return monitor_; }
  ResultsView* results() const { return results_; }
  BenchmarksView* benchmarks() const { return benchmarks_; }
  AttentionView* attention() const { return attention_; }
  RunsBrowser* runs() const { return runs_; }
  QTabWidget* tabs() const { return tabs_; }
  QPlainTextEdit* log() const { return log_; }
  QFrame* welcome() const { return welcome_; }
  StoreWorker* storeWorker() const { return storeWorker_.get(); }

  // Starts the Quick comparison pipeline (options: the defaults, or tiny ones in tests).
  QuickComparison* startQuickComparison(const QuickOptions& options);
  // "Sweep…" of the Experiments page: shows the sweep dialog (default: modal; tests replace it with a function
  // that fills the dialog and says whether it was accepted), then queueSweep.
  void setSweepDialogHook(std::function<bool(SweepDialog*)> show) { showSweepDialog_ = std::move(show); }
  // Records one sweep (its name, base job and grid, as `diffmamba sweep train` does) and queues a training
  // run per combination of the dialog, each joined to the sweep. The jobs are queued once the store wrote
  // the record (sweepQueued). Returns false when no job can run (no writable workspace, invalid grid).
  bool queueSweep(const SweepDialog& dialog);
  // The MAD benchmark (quick: minutes on a CPU; else the seed's sizes) as a job; when it finishes, the
  // Benchmarks page shows its scores.
  int queueMad(bool quick);

 signals:
  void sweepQueued(int64_t sweepId, int runs);

 public:
  // Asked when closing with jobs queued or running; default: a message box. Tests replace it.
  void setStopJobsQuestion(std::function<bool()> ask) { askStopJobs_ = std::move(ask); }
  // What to do when a workspace cannot be opened: open `folder` instead ("" = go on without), or open a
  // read-only copy of the damaged database just reported.
  struct WorkspaceChoice {
    QString folder;
    bool readOnlyCopy = false;
  };
  // Asked when a workspace cannot be opened (at start, from the File menu, or when a job needs one and none
  // is open or it is read-only): gets the reason and whether a read-only copy can be offered (a damaged
  // database SQLite can still read). Default: a dialog offering another folder, a new workspace or the
  // copy. Tests replace it.
  void setWorkspaceChooser(std::function<WorkspaceChoice(const QString& why, bool copyOffered)> choose) {
    chooseWorkspace_ = std::move(choose);
  }
  // Copies the damaged database last reported by openWorkspace into the app's data folder
  // (recovered/<workspace>-<time>/runs.db) and opens the copy read-only; the original is never touched.
  // Returns the error text or "".
  QString openReadOnlyCopy();
  // Whether jobs can run: a workspace is open and writable. Otherwise asks (see setWorkspaceChooser),
  // opens what was chosen, and says whether that worked. Every way of starting a job goes through it.
  bool ensureWritableWorkspace();

  // Extra training arguments the settings imply (the device); appended to every training job.
  QStringList deviceArguments() const;

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void buildWelcome();
  void appendLog(const QString& text);
  void refreshAll();
  void updateWelcome();
  void enqueueTrain(const QStringList& args, const QString& name);
  void showSettings();
  void updateRecentMenu();

  WorkspaceChoice askForWorkspace(const QString& why, bool copyOffered);
  void recoverFrom(QString why);  // asks until a workspace opens or the user goes on without
  enum class Opened { None, Writable, ReadOnly, DamagedCopy };
  void attach(const QString& dbPath, Opened how);  // the views on a store worker of dbPath
  void updateTitle();                              // says what is open, in the current language

  QString workspace_;
  bool readOnly_ = false;  // the open workspace cannot be written
  Opened opened_ = Opened::None;
  std::function<WorkspaceChoice(const QString&, bool)> chooseWorkspace_;
  QString damagedDb_, damagedRoot_;  // the last damaged database openWorkspace found that SQLite can read
  JobQueue* queue_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  ExperimentForm* form_ = nullptr;
  QueueView* queueView_ = nullptr;
  MonitorView* monitor_ = nullptr;
  ResultsView* results_ = nullptr;
  BenchmarksView* benchmarks_ = nullptr;
  AttentionView* attention_ = nullptr;
  RunsBrowser* runs_ = nullptr;
  QPlainTextEdit* log_ = nullptr;
  QFrame* welcome_ = nullptr;
  bool welcomeDismissed_ = false;
  QMenu* recentMenu_ = nullptr;
  // Every read and write of the views, on its own thread and connection; null when no workspace is open.
  std::unique_ptr<StoreWorker> storeWorker_;
  QuickComparison* quick_ = nullptr;
  std::function<bool()> askStopJobs_;
  std::function<bool(SweepDialog*)> showSweepDialog_;
};

}  // namespace gui
}  // namespace dm
