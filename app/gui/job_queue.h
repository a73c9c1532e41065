// The app's job queue: queued → running → done / failed / cancelled jobs, each run on a worker thread
// of its own, at most `concurrency` at a time. Workers report through core's EventSink; the queue
// buffers their metrics and messages and hands them to the UI thread at most 20 times a second, so a
// fast job never floods the event loop and no metric point is dropped.
#pragma once

#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/train/events.h"

class QThread;

namespace dm {
namespace gui {

enum class JobState { Queued, Running, Done, Failed, Cancelled };
QString jobStateName(JobState state);  // translated

// What a job's work returns: the run it recorded and its final status ("finished", "cancelled", …).
struct JobOutcome {
  int64_t runId = 0;
  std::string status, message;
};

// Runs on the worker thread. Report through `sink`; stop at a step boundary when `cancel` is set.
// Throwing marks the job failed with the exception's message.
using JobWork = std::function<JobOutcome(const train::EventSink& sink, const std::atomic<bool>& cancel)>;

struct JobSpec {
  QString title;        // shown in the queue
  QString kind;         // train, finetune-needle, eval-babilong, lens-train, lens-eval, …
  QString commandLine;  // the equivalent `diffmamba …` line (shown, copyable)
  JobWork work;
  // Runs on the UI thread after a successful job (e.g. to enqueue the next stage of a pipeline).
  std::function<void(const JobOutcome&)> onSuccess;
};

struct MetricPoint {
  int64_t runId = 0, step = 0;
  QString name;
  double value = 0, wallSeconds = 0;
};

struct JobInfo {
  int id = 0;
  JobSpec spec;
  JobState state = JobState::Queued;
  int64_t runId = 0;
  double progress = 0, tokensPerSec = 0, etaSeconds = -1;
  int64_t step = 0;
  QString message;  // last message, or the error
};

class JobQueue : public QObject {
  Q_OBJECT

 public:
  explicit JobQueue(QObject* parent = nullptr);
  ~JobQueue() override;  // cancels and joins every running job

  int enqueue(JobSpec spec);  // returns the job id
  void cancel(int id);        // queued: removed from the line; running: stops at the next step boundary
  int rerun(int id);          // the same spec again, as a new job
  void cancelAll();
  // Waits (processing events) until no job runs or `ms` passed; true when idle.
  bool waitForIdle(int ms);

  void setConcurrency(int n);  // ≥ 1
  int concurrency() const { return concurrency_; }

  QList<int> jobIds() const { return order_; }
  const JobInfo* job(int id) const;
  int runningCount() const;
  int pendingCount() const;  // queued + running

 signals:
  void jobAdded(int id);
  void jobChanged(int id);  // state, progress, run id or message changed
  void jobFinished(int id, dm::gui::JobState state);
  void metricsArrived(int id, const QList<dm::gui::MetricPoint>& points);
  void logMessage(int id, const QString& text);
  void idle();  // nothing queued or running any more

 private:
  struct Worker;
  void schedule();
  void drain();  // moves buffered worker reports to the UI (timer, ≤ 20 Hz)
  void finish(int id);

  QHash<int, JobInfo> jobs_;
  QList<int> order_;
  QHash<int, std::shared_ptr<Worker>> workers_;
  QTimer drainTimer_;
  int nextId_ = 1;
  int concurrency_ = 1;
};

}  // namespace gui
}  // namespace dm

Q_DECLARE_METATYPE(dm::gui::MetricPoint)
