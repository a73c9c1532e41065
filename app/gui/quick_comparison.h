// Quick comparison: one click runs the tiny Mamba2 vs Diff-Mamba2 pipeline on the default corpus —
// train (demo presets) → needle fine-tune → BABILong evaluation → tuned-lens training and evaluation —
// as queue jobs chained on success, and reports the runs whose figures the window then shows.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include "app/gui/job_queue.h"

namespace dm {
namespace gui {

// The defaults were measured on a 2-core machine (bench/RESULTS.md, "Quick comparison"): the seed's LM
// backbone ([mixer, mixer, FFN] post-LN) at demo size stays at chance on qa1 after 1,000 needle steps,
// the HF backbone (the one of the seed's BABILong models) reaches 55–62 % in 500; answers are decoded for 20
// tokens (a character model spells them) after the fine-tuning's " Answer:" cue.
struct QuickOptions {
  QStringList trainOverrides = {"model.backbone=hf"};  // added to both demo presets (e.g. trainer.max_steps=…)
  QStringList needleTasks = {"qa1"};
  int64_t needleSteps = 500, needleSamples = 2000, needleBatch = 16;
  double needleLr = 3e-3;
  QStringList tasks = {"qa1", "qa2", "qa3", "qa4", "qa5"}, lengths = {"0k", "1k"};
  int64_t evalSamples = 40;
  int64_t lensSteps = 20, lensTokensPerStep = 4096, lensSamples = 20;
};

struct QuickResult {
  int64_t train[2] = {0, 0}, needle[2] = {0, 0}, eval[2] = {0, 0}, lens[2] = {0, 0};  // [mamba2, diffmamba2]
};

class QuickComparison : public QObject {
  Q_OBJECT

 public:
  QuickComparison(JobQueue* queue, const QString& workspace, const QuickOptions& options, QObject* parent = nullptr);

  void start();  // queues both families' first stage
  bool running() const { return running_; }
  const QuickResult& result() const { return result_; }
  static int stageCount() { return 5; }  // per family

 signals:
  void progress(const QString& text);
  void finished(bool ok, const QString& message);

 private:
  void stage(int family, int index, const QString& input);
  void failed(int jobId, JobState state);

  JobQueue* queue_;
  QString workspace_;
  QuickOptions opt_;
  QuickResult result_;
  QList<int> jobs_;
  int done_ = 0;
  bool running_ = false;
};

}  // namespace gui
}  // namespace dm
