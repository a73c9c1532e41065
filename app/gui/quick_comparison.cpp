// LibTorch first (the jobs' option headers include it): Qt's `slots` macro must not precede it.
#include "core/jobs/babilong_job.h"
#include "core/jobs/finetune_job.h"
#include "core/jobs/lens_job.h"

#include "app/gui/quick_comparison.h"

#include "app/gui/job_specs.h"

namespace dm {
namespace gui {
namespace {

QStringList toQt(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& x : v) out << QString::fromStdString(x);
  return out;
}

}  // namespace
QuickComparison::QuickComparison(JobQueue* queue, const QString& workspace, const QuickOptions& options, QObject* parent)
    : QObject(parent), queue_(queue), workspace_(workspace), opt_(options) {
  connect(queue_, &JobQueue::jobFinished, this, &QuickComparison::failed);
}

void QuickComparison::start() {
  if (running_) return;
  running_ = true;
  done_ = 0;
  result_.clear();
  for (const auto& f : opt_.families) {
    QuickFamilyRuns r;
    r.family = f;
    result_.append(r);
  }
  jobs_.clear();
  for (int f = 0; f < familyCount(); ++f) stage(f, 0, std::string());
}

// Stage index: 0 train, 1 needle fine-tune, 2 BABILong evaluation, 3 lens training, 4 lens evaluation.
// `input` is the trained model (stage 1); later stages find the fine-tuned model in its folder.
void QuickComparison::stage(int f, int index, const std::string& input) {
  const jobs::Workspace ws{workspace_.toStdString()};
  const std::string family = opt_.families.at(static_cast<size_t>(f));
  JobSpec spec;
  if (index == 0)
    spec = trainJobSpec(workspace_, toQt(jobs::quick_train_args(opt_, family)),
                        QString::fromStdString(jobs::quick_stage_name(family, 0)));
  else if (index == 1)
    spec = finetuneJobSpec(workspace_, jobs::quick_needle_options(ws, opt_, family, input));
  else if (index == 2)
    spec = evalBabilongJobSpec(workspace_, jobs::quick_eval_options(ws, opt_, family));
  else if (index == 3)
    spec = lensTrainJobSpec(workspace_, jobs::quick_lens_train_options(ws, opt_, family));
  else
    spec = lensEvalJobSpec(workspace_, jobs::quick_lens_eval_options(ws, opt_, family));
  spec.onSuccess = [this, f, index, ws](const JobOutcome& out) {
    ++done_;
    const int total = familyCount() * stageCount();
    emit progress(tr("Quick comparison: %1 of %2 stages done").arg(done_).arg(total));
    auto& r = result_[f];
    if (index == 0) r.train = out.runId;
    if (index == 1) r.needle = out.runId;
    if (index == 2) r.eval = out.runId;
    if (index == 4) r.lens = out.runId;
    if (index < 4) {
      stage(f, index + 1, index == 0 ? jobs::quick_trained_model(ws, out.runId) : std::string());
    } else if (done_ == total) {
      running_ = false;
      emit finished(true, tr("Quick comparison finished"));
    }
  };
  jobs_ << queue_->enqueue(std::move(spec));
}

void QuickComparison::failed(int jobId, JobState state) {
  if (!running_ || !jobs_.contains(jobId) || state == JobState::Done) return;
  running_ = false;
  // The other families' remaining stages are not worth running alone.
  for (int id : jobs_) queue_->cancel(id);
  const auto* j = queue_->job(jobId);
  emit finished(false, tr("Quick comparison stopped: %1 %2 (%3)")
                           .arg(j ? j->spec.title : QString(), jobStateName(state), j ? j->message : QString()));
}

}  // namespace gui
}  // namespace dm
