// The Queue page: every job of the session with its state, progress bar, step, tokens/s, ETA, run id
// and last message; cancel, re-run, clear finished, and the concurrency limit.
#pragma once

#include <QWidget>

#include "app/gui/job_queue.h"

class QSpinBox;
class QTableWidget;

namespace dm {
namespace gui {

class QueueView : public QWidget {
  Q_OBJECT

 public:
  explicit QueueView(JobQueue* queue, QWidget* parent = nullptr);

  QTableWidget* table() const { return table_; }
  int rowOf(int jobId) const;
  int selectedJob() const;  // 0 when none
  void selectJob(int jobId);

  // "1 h 02 min", "3 min 20 s", "12 s"
  static QString formatDuration(double seconds);

 signals:
  void jobActivated(int jobId);  // double click: show its run

 private:
  void addRow(int jobId);
  void updateRow(int jobId);

  JobQueue* queue_;
  QTableWidget* table_ = nullptr;
  QSpinBox* concurrency_ = nullptr;
};

}  // namespace gui
}  // namespace dm
