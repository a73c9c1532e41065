#include "app/gui/job_queue.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>
#include <QThread>
#include <chrono>
#include <exception>

namespace dm {
namespace gui {

QString jobStateName(JobState state) {
  switch (state) {
    case JobState::Queued: return QCoreApplication::translate("dm::gui::JobQueue", "queued");
    case JobState::Running: return QCoreApplication::translate("dm::gui::JobQueue", "running");
    case JobState::Done: return QCoreApplication::translate("dm::gui::JobQueue", "done");
    case JobState::Failed: return QCoreApplication::translate("dm::gui::JobQueue", "failed");
    case JobState::Cancelled: return QCoreApplication::translate("dm::gui::JobQueue", "cancelled");
  }
  return {};
}

// What a worker thread shares with the UI: the cancel flag and the reports not yet drained.
struct JobQueue::Worker {
  std::atomic<bool> cancel{false};
  std::atomic<bool> finished{false};
  QThread* thread = nullptr;
  std::mutex mutex;
  std::vector<MetricPoint> points;
  QStringList messages;
  bool haveProgress = false;
  int64_t runId = 0, step = 0;
  double progress = 0, tokensPerSec = 0, etaSeconds = -1;
  JobOutcome outcome;
  QString error;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

JobQueue::JobQueue(QObject* parent) : QObject(parent) {
  qRegisterMetaType<dm::gui::MetricPoint>();
  qRegisterMetaType<QList<dm::gui::MetricPoint>>();
  qRegisterMetaType<dm::gui::JobState>();
  drainTimer_.setInterval(50);  // ≤ 20 Hz
  connect(&drainTimer_, &QTimer::timeout, this, &JobQueue::drain);
}

JobQueue::~JobQueue() {
  cancelAll();
  for (auto& w : workers_)
    if (w->thread) {
      w->thread->wait();
      delete w->thread;
      w->thread = nullptr;
    }
}

int JobQueue::enqueue(JobSpec spec) {
  const int id = nextId_++;
  JobInfo info;
  info.id = id;
  info.spec = std::move(spec);
  jobs_.insert(id, std::move(info));
  order_.append(id);
  emit jobAdded(id);
  schedule();
  return id;
}

const JobInfo* JobQueue::job(int id) const {
  auto it = jobs_.constFind(id);
  return it == jobs_.constEnd() ? nullptr : &it.value();
}

int JobQueue::runningCount() const {
  int n = 0;
  for (const auto& j : jobs_) n += j.state == JobState::Running;
  return n;
}

int JobQueue::pendingCount() const {
  int n = 0;
  for (const auto& j : jobs_) n += j.state == JobState::Running || j.state == JobState::Queued;
  return n;
}

void JobQueue::setConcurrency(int n) {
  concurrency_ = std::max(1, n);
  schedule();
}

void JobQueue::cancel(int id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  if (it->state == JobState::Queued) {
    it->state = JobState::Cancelled;
    it->message = tr("cancelled before it started");
    emit jobChanged(id);
    emit jobFinished(id, JobState::Cancelled);
    if (pendingCount() == 0) emit idle();
    return;
  }
  if (it->state == JobState::Running) {
    if (auto w = workers_.value(id)) w->cancel = true;
    it->message = tr("stopping at the next step…");
    emit jobChanged(id);
  }
}

int JobQueue::rerun(int id) {
  const auto* j = job(id);
  if (!j) return 0;
  return enqueue(j->spec);
}

void JobQueue::cancelAll() {
  for (int id : order_) {
    const auto state = jobs_.value(id).state;
    if (state == JobState::Queued || state == JobState::Running) cancel(id);
  }
}

bool JobQueue::waitForIdle(int ms) {
  if (pendingCount() == 0) return true;
  // The queue's own timer keeps draining reports while this loop runs; idle() or the limit ends it.
  QEventLoop loop;
  QTimer limit;
  limit.setSingleShot(true);
  connect(&limit, &QTimer::timeout, &loop, &QEventLoop::quit);
  connect(this, &JobQueue::idle, &loop, &QEventLoop::quit);
  limit.start(ms);
  loop.exec();
  return pendingCount() == 0;
}

void JobQueue::schedule() {
  for (int id : order_) {
    if (runningCount() >= concurrency_) break;
    auto& j = jobs_[id];
    if (j.state != JobState::Queued) continue;
    j.state = JobState::Running;
    j.message = tr("starting");
    auto w = std::make_shared<Worker>();
    workers_.insert(id, w);
    JobWork work = j.spec.work;
    // The worker holds its own reference: the queue may drop the entry while the thread ends.
    w->thread = QThread::create([w, work] {
      train::EventSink sink = [w](const train::TrainEvent& ev) {
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w->start).count();
        std::lock_guard<std::mutex> lock(w->mutex);
        if (ev.run_id) w->runId = ev.run_id;
        for (const auto& [name, value] : ev.metrics)
          w->points.push_back({ev.run_id, ev.step, QString::fromStdString(name), value, wall});
        if (!ev.message.empty()) w->messages << QString::fromStdString(ev.message);
        if (ev.kind == train::TrainEvent::Kind::step || ev.progress > 0) {
          w->haveProgress = true;
          w->progress = ev.progress;
          w->step = ev.step;
          if (ev.tokens_per_s > 0) w->tokensPerSec = ev.tokens_per_s;
          w->etaSeconds = ev.eta_s;
        }
      };
      try {
        auto out = work(sink, w->cancel);
        std::lock_guard<std::mutex> lock(w->mutex);
        w->outcome = std::move(out);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(w->mutex);
        w->error = QString::fromUtf8(e.what());
      } catch (...) {
        std::lock_guard<std::mutex> lock(w->mutex);
        w->error = QStringLiteral("unknown error");
      }
      w->finished = true;
    });
    connect(w->thread, &QThread::finished, this, [this, id] { finish(id); }, Qt::QueuedConnection);
    w->thread->start();
    emit jobChanged(id);
    if (!drainTimer_.isActive()) drainTimer_.start();
  }
}

void JobQueue::drain() {
  for (auto it = workers_.begin(); it != workers_.end(); ++it) {
    const int id = it.key();
    auto& w = *it.value();
    std::vector<MetricPoint> points;
    QStringList messages;
    bool changed = false;
    {
      std::lock_guard<std::mutex> lock(w.mutex);
      points.swap(w.points);
      messages.swap(w.messages);
      auto& j = jobs_[id];
      if (w.runId && j.runId != w.runId) {
        j.runId = w.runId;
        changed = true;
      }
      if (w.haveProgress) {
        j.progress = w.progress;
        j.step = w.step;
        j.tokensPerSec = w.tokensPerSec;
        j.etaSeconds = w.etaSeconds;
        w.haveProgress = false;
        changed = true;
      }
      if (!messages.isEmpty() && !w.cancel) {
        j.message = messages.last();
        changed = true;
      }
    }
    for (const auto& m : messages) emit logMessage(id, m);
    if (!points.empty()) emit metricsArrived(id, QList<MetricPoint>(points.begin(), points.end()));
    if (changed) emit jobChanged(id);
  }
  if (workers_.isEmpty()) drainTimer_.stop();
}

void JobQueue::finish(int id) {
  drain();  // the last reports first
  auto w = workers_.take(id);
  if (!w) return;
  w->thread->wait();
  w->thread->deleteLater();
  w->thread = nullptr;
  auto& j = jobs_[id];
  std::function<void(const JobOutcome&)> next;
  JobOutcome outcome;
  {
    std::lock_guard<std::mutex> lock(w->mutex);
    outcome = w->outcome;
    if (!w->error.isEmpty()) {
      j.state = w->cancel ? JobState::Cancelled : JobState::Failed;
      j.message = w->error;
    } else if (outcome.status == "cancelled" || w->cancel) {
      j.state = JobState::Cancelled;
      j.message = tr("cancelled");
    } else if (outcome.status == "finished" || outcome.status.empty()) {
      j.state = JobState::Done;
      j.progress = 1;
      j.message = outcome.message.empty() ? tr("finished") : QString::fromStdString(outcome.message);
      next = j.spec.onSuccess;
    } else {
      j.state = JobState::Failed;
      j.message = QString::fromStdString(outcome.status + (outcome.message.empty() ? "" : ": " + outcome.message));
    }
    if (outcome.runId) j.runId = outcome.runId;
  }
  emit logMessage(id, j.state == JobState::Failed ? tr("failed: %1").arg(j.message) : j.message);
  emit jobChanged(id);
  emit jobFinished(id, j.state);
  if (next) next(outcome);
  schedule();
  if (pendingCount() == 0) emit idle();
}

}  // namespace gui
}  // namespace dm
