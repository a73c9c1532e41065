#include "app/gui/store_worker.h"

#include "core/store/run_store.h"

namespace dm {
namespace gui {

StoreWorker::StoreWorker(const QString& dbPath, bool readOnly, QObject* parent)
    : QObject(parent), path_(dbPath), readOnly_(readOnly) {
  thread_.setObjectName(QStringLiteral("store worker"));
  inThread_ = new QObject;
  inThread_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, inThread_, &QObject::deleteLater);
  thread_.start();
}

StoreWorker::~StoreWorker() {
  // After every job already posted: close the connection on its own thread, then stop.
  QMetaObject::invokeMethod(
      inThread_, [this] {
        db_.reset();
        thread_.quit();
      },
      Qt::QueuedConnection);
  thread_.wait();
}

void StoreWorker::post(std::function<void()> job) { QMetaObject::invokeMethod(inThread_, std::move(job), Qt::QueuedConnection); }

store::RunStore& StoreWorker::storeOnThread() {
  if (QThread::currentThread() != &thread_) wrongThread_.store(true);
  if (!db_)
    db_ = std::make_unique<store::RunStore>(path_.toStdString(),
                                            readOnly_ ? store::RunStore::Access::read_only : store::RunStore::Access::read_write);
  return *db_;
}

}  // namespace gui
}  // namespace dm
