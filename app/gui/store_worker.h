// The window's store worker: one thread with its own connection to the workspace's run database, which
// answers every read and write of the views (run lists, metric names, a 100k-point run's metrics, the runs
// table's summaries, the Results cells, archive and delete) so the UI thread never waits on SQLite. A query
// is a function of the worker's RunStore, run on the worker thread in the order posted; its answer is
// delivered on the UI thread to a callback, dropped when the asking object is gone.
#pragma once

#include <QObject>
#include <QPointer>
#include <QString>
#include <QThread>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace dm::store {
class RunStore;
}

namespace dm {
namespace gui {

class StoreWorker : public QObject {
  Q_OBJECT

 public:
  // The worker's own connection to `dbPath` is opened on its thread at the first query (read-only when
  // asked, e.g. for a read-only workspace).
  explicit StoreWorker(const QString& dbPath, bool readOnly = false, QObject* parent = nullptr);
  ~StoreWorker() override;  // answers nothing more, closes its connection on its thread, joins it

  // Runs `work` on the worker thread; `done(result, error)` runs on this object's (the UI) thread unless
  // `context` was destroyed meanwhile. An exception from `work` becomes `error` (result default-made).
  template <typename R>
  void query(QObject* context, std::function<R(store::RunStore&)> work, std::function<void(R, QString)> done) {
    QPointer<QObject> ctx(context);
    post([this, ctx, work = std::move(work), done = std::move(done)]() mutable {
      auto result = std::make_shared<R>();
      QString error;
      try {
        *result = work(storeOnThread());
      } catch (const std::exception& e) {
        error = QString::fromUtf8(e.what());
      }
      answered_.fetch_add(1);
      QMetaObject::invokeMethod(
          this, [ctx, done = std::move(done), result, error] {
            if (ctx) done(std::move(*result), error);
          },
          Qt::QueuedConnection);
    });
  }

  QThread* workerThread() { return &thread_; }
  QString dbPath() const { return path_; }
  bool readOnly() const { return readOnly_; }
  int64_t answered() const { return answered_.load(); }
  // Every store call the worker made was made on its own thread (checked at each call).
  bool storeUsedOnlyOnItsThread() const { return !wrongThread_.load(); }

 private:
  void post(std::function<void()> job);
  store::RunStore& storeOnThread();  // opens the connection at the first call

  QString path_;
  bool readOnly_;
  QThread thread_;
  QObject* inThread_ = nullptr;  // lives in thread_: the target of posted jobs
  std::unique_ptr<store::RunStore> db_;
  std::atomic<int64_t> answered_{0};
  std::atomic<bool> wrongThread_{false};
};

}  // namespace gui
}  // namespace dm
