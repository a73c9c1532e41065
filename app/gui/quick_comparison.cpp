#include "app/gui/quick_comparison.h"

#include <QDir>

#include "app/gui/job_specs.h"

namespace dm {
namespace gui {
namespace {

const char* const kFamily[2] = {"mamba2", "diffmamba2"};

}  // namespace

QuickComparison::QuickComparison(JobQueue* queue, const QString& workspace, const QuickOptions& options, QObject* parent)
    : QObject(parent), queue_(queue), workspace_(workspace), opt_(options) {
  connect(queue_, &JobQueue::jobFinished, this, &QuickComparison::failed);
}

void QuickComparison::start() {
  if (running_) return;
  running_ = true;
  done_ = 0;
  result_ = {};
  jobs_.clear();
  for (int f = 0; f < 2; ++f) stage(f, 0, QString());
}

// Stage index: 0 train, 1 needle fine-tune, 2 BABILong evaluation, 3 lens training, 4 lens evaluation.
// `input` is the previous stage's model (or lens) location.
void QuickComparison::stage(int f, int index, const QString& input) {
  const QString fam = QString::fromLatin1(kFamily[f]);
  const QString base = QDir(workspace_).filePath(QStringLiteral("quick-comparison/") + fam);
  JobSpec spec;
  if (index == 0) {
    spec = trainJobSpec(workspace_, QStringList{"experiment=demo/" + fam + "-fortunes"} + opt_.trainOverrides,
                        QStringLiteral("quick %1").arg(fam));
  } else if (index == 1) {
    NeedleSpec n;
    n.ckptPath = input;
    n.outputDir = base + "-needle";
    n.name = QStringLiteral("quick %1 needle").arg(fam);
    n.tasks = opt_.needleTasks;
    n.maxSteps = opt_.needleSteps;
    n.samples = opt_.needleSamples;
    n.batchSize = opt_.needleBatch;
    n.lr = opt_.needleLr;
    spec = finetuneNeedleJobSpec(workspace_, n);
  } else if (index == 2) {
    EvalSpec e;
    e.ckptPath = input;
    e.name = QStringLiteral("quick %1 BABILong").arg(fam);
    e.tasks = opt_.tasks;
    e.lengths = opt_.lengths;
    e.samples = opt_.evalSamples;
    e.answerCue = true;
    spec = evalBabilongJobSpec(workspace_, e);
  } else {
    LensSpec l;
    l.ckptPath = input;
    l.lensDir = base + "-lens";
    l.name = (index == 3 ? QStringLiteral("quick %1 lens") : QStringLiteral("quick %1 lens eval")).arg(fam);
    l.steps = opt_.lensSteps;
    l.tokensPerStep = opt_.lensTokensPerStep;
    l.samples = opt_.lensSamples;
    spec = index == 3 ? lensTrainJobSpec(workspace_, l) : lensEvalJobSpec(workspace_, l);
  }
  const QString needleDir = base + "-needle";
  spec.onSuccess = [this, f, index, needleDir](const JobOutcome& out) {
    ++done_;
    emit progress(tr("Quick comparison: %1 of %2 stages done").arg(done_).arg(2 * stageCount()));
    if (index == 0) {
      result_.train[f] = out.runId;
      stage(f, 1, QDir(workspace_).filePath(QStringLiteral("runs/%1/model.safetensors").arg(out.runId)));
    } else if (index == 1) {
      result_.needle[f] = out.runId;
      stage(f, 2, needleDir);
    } else if (index == 2) {
      result_.eval[f] = out.runId;
      stage(f, 3, needleDir);
    } else if (index == 3) {
      stage(f, 4, needleDir);
    } else {
      result_.lens[f] = out.runId;
      if (done_ == 2 * stageCount()) {
        running_ = false;
        emit finished(true, tr("Quick comparison finished"));
      }
    }
  };
  jobs_ << queue_->enqueue(std::move(spec));
}

void QuickComparison::failed(int jobId, JobState state) {
  if (!running_ || !jobs_.contains(jobId) || state == JobState::Done) return;
  running_ = false;
  // The other family's remaining stages are not worth running alone.
  for (int id : jobs_) queue_->cancel(id);
  const auto* j = queue_->job(jobId);
  emit finished(false, tr("Quick comparison stopped: %1 %2 (%3)")
                           .arg(j ? j->spec.title : QString(), jobStateName(state), j ? j->message : QString()));
}

}  // namespace gui
}  // namespace dm
