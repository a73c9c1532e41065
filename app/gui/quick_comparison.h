// Quick comparison: one click runs the tiny Mamba2 vs Diff-Mamba2 pipeline (or the ablation's four families)
// on the default corpus —
// train (demo presets) → needle fine-tune → BABILong evaluation → tuned-lens training and evaluation —
// as queue jobs chained on success, and reports the runs whose figures the window then shows.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include "app/gui/job_queue.h"
#include "core/jobs/quick_comparison.h"

namespace dm {
namespace gui {

// The settings and every stage's options come from core (core/jobs/quick_comparison.h), shared with
// `diffmamba quick-comparison`; here the stages run as queue jobs, the families side by side.
using QuickOptions = jobs::QuickComparisonOptions;
using QuickFamilyRuns = jobs::QuickFamilyRuns;

class QuickComparison : public QObject {
  Q_OBJECT

 public:
  QuickComparison(JobQueue* queue, const QString& workspace, const QuickOptions& options, QObject* parent = nullptr);

  void start();  // queues every family's first stage
  bool running() const { return running_; }
  // Each family's runs, in the options' order (the baseline, Mamba2, first).
  const QList<QuickFamilyRuns>& result() const { return result_; }
  int familyCount() const { return static_cast<int>(opt_.families.size()); }
  static int stageCount() { return 5; }  // per family

 signals:
  void progress(const QString& text);
  void finished(bool ok, const QString& message);

 private:
  void stage(int family, int index, const std::string& input);
  void failed(int jobId, JobState state);

  JobQueue* queue_;
  QString workspace_;
  QuickOptions opt_;
  QList<QuickFamilyRuns> result_;
  QList<int> jobs_;
  int done_ = 0;
  bool running_ = false;
};

}  // namespace gui
}  // namespace dm
