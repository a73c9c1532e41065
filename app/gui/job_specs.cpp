// LibTorch first (the jobs' headers include it): Qt's `slots` macro must not precede it.
#include <torch/torch.h>

#include "app/gui/job_specs.h"

#include <ATen/Parallel.h>

#include "core/config/experiment_config.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/finetune_job.h"
#include "core/jobs/lens_job.h"
#include "core/jobs/train_job.h"

namespace dm {
namespace gui {
namespace {

std::string s(const QString& q) { return q.toStdString(); }

std::vector<std::string> toStd(const QStringList& l) {
  std::vector<std::string> out;
  for (const auto& x : l) out.push_back(x.toStdString());
  return out;
}

QString commandLine(const QStringList& words) {
  QStringList q;
  for (const auto& w : words) q << shellQuote(w);
  return q.join(QLatin1Char(' '));
}

JobOutcome outcome(const jobs::JobResult& r) { return {r.run_id, r.status, r.message}; }

// What every job does on its worker thread before its own work: LibTorch's thread pool set up for this
// thread, the workspace's folders made.
template <typename Run>
JobWork workIn(const QString& root, Run run) {
  return [root, run](const train::EventSink& sink, const std::atomic<bool>& cancel) {
    at::init_num_threads();
    const jobs::Workspace w{root.toStdString()};
    w.ensure();
    return run(w, sink, cancel);
  };
}

}  // namespace

bool torchCudaAvailable() { return torch::cuda::is_available(); }

QString shellQuote(const QString& arg) {
  static const QString safe = QStringLiteral("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.,/=:+@[]");
  bool plain = !arg.isEmpty();
  for (QChar c : arg) plain = plain && safe.contains(c);
  if (plain) return arg;
  QString out = arg;
  out.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
  return QLatin1Char('\'') + out + QLatin1Char('\'');
}

JobSpec trainJobSpec(const QString& workspace, const QStringList& args, const QString& name) {
  JobSpec spec;
  spec.kind = QStringLiteral("train");
  QString preset;
  for (const auto& a : args)
    if (a.startsWith(QLatin1String("experiment="))) preset = a.mid(11);
  spec.title = name.isEmpty() ? (preset.isEmpty() ? QStringLiteral("train") : preset) : name;
  QStringList words = {"diffmamba", "train", "--workspace", workspace};
  if (!name.isEmpty()) words << "--name" << name;
  spec.commandLine = commandLine(words + args);
  jobs::TrainJobOptions opt;
  opt.name = s(name);
  spec.work = workIn(workspace, [argv = toStd(args), opt](const jobs::Workspace& w, const train::EventSink& sink,
                                                          const std::atomic<bool>& cancel) {
    return outcome(jobs::run_train_job(w, config::resolve(argv), opt, sink, cancel));
  });
  return spec;
}

JobSpec resumeJobSpec(const QString& workspace, int64_t runId) {
  JobSpec spec;
  spec.kind = QStringLiteral("train");
  spec.title = QStringLiteral("resume #%1").arg(runId);
  spec.commandLine = commandLine({"diffmamba", "train", "--workspace", workspace, "--resume", QString::number(runId)});
  jobs::TrainJobOptions opt;
  opt.resume_run = runId;
  spec.work = workIn(workspace, [opt](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    return outcome(jobs::run_train_job(w, config::ExperimentConfig{}, opt, sink, cancel));
  });
  return spec;
}

JobSpec finetuneNeedleJobSpec(const QString& workspace, const NeedleSpec& n) {
  JobSpec spec;
  spec.kind = QStringLiteral("finetune-needle");
  spec.title = n.name;
  spec.commandLine = commandLine({"diffmamba", "finetune-needle", "--workspace", workspace, "--ckpt_path", n.ckptPath,
                                  "--output_dir", n.outputDir, "--max_steps", QString::number(n.maxSteps), "--samples",
                                  QString::number(n.samples), "--batch_size", QString::number(n.batchSize), "--seed",
                                  QString::number(n.seed), "--name", n.name});
  jobs::FinetuneOptions o;
  o.kind = "needle";
  o.ckpt_path = s(n.ckptPath);
  o.output_dir = s(n.outputDir);
  o.name = s(n.name);
  o.max_steps = n.maxSteps;
  o.samples = n.samples;
  o.batch_size = n.batchSize;
  o.seed = n.seed;
  o.warmup = std::min<int64_t>(10, n.maxSteps / 5);
  o.eval_steps = o.save_steps = n.maxSteps;
  o.max_length = 512;
  o.lr = 1e-3;
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    return outcome(jobs::run_finetune_job(w, o, sink, cancel));
  });
  return spec;
}

JobSpec evalBabilongJobSpec(const QString& workspace, const EvalSpec& e) {
  JobSpec spec;
  spec.kind = QStringLiteral("eval-babilong");
  spec.title = e.name;
  spec.commandLine = commandLine(QStringList{"diffmamba", "eval-babilong", "--workspace", workspace, "--ckpt_path", e.ckptPath,
                                             "--samples", QString::number(e.samples), "--max_new_tokens",
                                             QString::number(e.maxNewTokens), "--name", e.name, "--tasks"} +
                                 e.tasks + QStringList{"--lengths"} + e.lengths);
  jobs::BabilongEvalOptions o;
  o.ckpt_path = s(e.ckptPath);
  o.name = s(e.name);
  o.tasks = toStd(e.tasks);
  o.lengths = toStd(e.lengths);
  o.samples = e.samples;
  o.max_new_tokens = e.maxNewTokens;
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    const auto r = jobs::run_babilong_eval(w, o, sink, cancel);
    return JobOutcome{r.run_id, r.status, ""};
  });
  return spec;
}

JobSpec lensTrainJobSpec(const QString& workspace, const LensSpec& l) {
  JobSpec spec;
  spec.kind = QStringLiteral("lens-train");
  spec.title = l.name;
  spec.commandLine = commandLine({"diffmamba", "lens", "train", "--workspace", workspace, "--model.name", l.ckptPath,
                                  "--output", l.lensDir, "--num_steps", QString::number(l.steps), "--tokens_per_step",
                                  QString::number(l.tokensPerStep), "--max_seq_len", QString::number(l.maxSeqLen),
                                  "--name", l.name});
  jobs::LensTrainOptions o;
  o.ckpt_path = s(l.ckptPath);
  o.output = s(l.lensDir);
  o.name = s(l.name);
  o.num_steps = l.steps;
  o.tokens_per_step = l.tokensPerStep;
  o.max_seq_len = l.maxSeqLen;
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    return outcome(jobs::run_lens_train(w, o, sink, cancel));
  });
  return spec;
}

JobSpec lensEvalJobSpec(const QString& workspace, const LensSpec& l) {
  JobSpec spec;
  spec.kind = QStringLiteral("lens-eval");
  spec.title = l.name;
  spec.commandLine = commandLine({"diffmamba", "lens", "eval", "--workspace", workspace, "--ckpt_path", l.ckptPath, "--lens",
                                  l.lensDir, "--samples", QString::number(l.samples), "--name", l.name});
  jobs::LensEvalOptions o;
  o.ckpt_path = s(l.ckptPath);
  o.lens = s(l.lensDir);
  o.name = s(l.name);
  o.samples = l.samples;
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    const auto r = jobs::run_lens_eval(w, o, sink, cancel);
    return JobOutcome{r.run_id, r.status, ""};
  });
  return spec;
}

}  // namespace gui
}  // namespace dm
