// LibTorch first (the jobs' headers include it): Qt's `slots` macro must not precede it.
#include <torch/torch.h>

#include "app/gui/job_specs.h"

#include <ATen/Parallel.h>
#include <signal.h>

#include <QCoreApplication>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <memory>

#include "core/common/error.h"
#include "core/config/experiment_config.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/finetune_job.h"
#include "core/jobs/lens_job.h"
#include "core/jobs/train_job.h"
#include "core/store/run_store.h"
#include "core/train/trainer.h"

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

// The `diffmamba` command beside this executable (an installed or built tree), else the build's own.
QString cliPath() {
  const QString here = QCoreApplication::applicationDirPath() + QStringLiteral("/diffmamba");
  if (QFileInfo(here).isExecutable()) return here;
#ifdef DM_CLI_BUILD_PATH
  if (QFileInfo(QStringLiteral(DM_CLI_BUILD_PATH)).isExecutable()) return QStringLiteral(DM_CLI_BUILD_PATH);
#endif
  return QStringLiteral("diffmamba");
}

// A data-parallel job: `diffmamba <args>` as a child process of the window (its ranks are the
// launcher's children; the window never loads N trainers into itself). Its run id comes from the
// "run N started" line; its metrics are read back from the run store as rank 0 commits them and sent on
// as step / eval events, so progress and live curves arrive as for any job. Cancel sends SIGINT, which
// the launcher forwards: every rank stops at the same step boundary with a checkpoint.
JobOutcome runChildJob(const QStringList& args, const jobs::Workspace& w, int64_t maxSteps,
                       const train::EventSink& sink, const std::atomic<bool>& cancel) {
  QProcess p;
  p.setProgram(cliPath());
  p.setArguments(args);
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start();
  if (!p.waitForStarted(10000))
    throw Error("could not start " + p.program().toStdString() + ": " + p.errorString().toStdString());
  static const QRegularExpression started(QStringLiteral("run (\\d+) started"));
  QByteArray output;
  int64_t run = 0, cursor = 0;
  std::unique_ptr<store::RunStore> db;
  bool interrupted = false;
  auto poll = [&] {
    output += p.readAll();
    if (!run) {
      const auto m = started.match(QString::fromUtf8(output));
      if (!m.hasMatch()) return;
      run = m.captured(1).toLongLong();
      train::TrainEvent ev;
      ev.run_id = run;
      ev.message = "run " + std::to_string(run) + " started as child processes: " + args.join(' ').toStdString();
      sink(ev);
    }
    if (!db) db = std::make_unique<store::RunStore>(w.db_path());
    // Rows in commit order, one event per step and kind (train/… rows are step events, the rest eval).
    train::TrainEvent cur;
    bool open = false;
    auto flush = [&] {
      if (open && !cur.metrics.empty()) sink(cur);
      open = false;
    };
    for (const auto& row : db->metrics_since(run, cursor)) {
      const bool is_train = row.name.rfind("train/", 0) == 0;
      const auto kind = is_train ? train::TrainEvent::Kind::step : train::TrainEvent::Kind::eval;
      if (!open || cur.step != row.step || cur.kind != kind) {
        flush();
        cur = train::TrainEvent{};
        cur.kind = kind;
        cur.run_id = run;
        cur.step = row.step;
        cur.epoch = row.epoch;
        cur.progress = maxSteps > 0 ? std::min(1.0, static_cast<double>(row.step) / static_cast<double>(maxSteps)) : 0.0;
        open = true;
      }
      if (row.name == "train/tokens_per_s") cur.tokens_per_s = row.value;
      cur.metrics.emplace_back(row.name, row.value);
    }
    flush();
  };
  while (!p.waitForFinished(250)) {
    if (cancel.load() && !interrupted && p.processId() > 0) {
      ::kill(static_cast<pid_t>(p.processId()), SIGINT);
      interrupted = true;
    }
    poll();
  }
  poll();
  const QString tail = QString::fromUtf8(output).trimmed().section(QLatin1Char('\n'), -3);
  if (!run) throw Error("diffmamba train stopped before its run started (exit " + std::to_string(p.exitCode()) + "): " +
                        tail.toStdString());
  const auto rec = db->run(run);
  const std::string status = rec ? rec->status : "failed";
  if (status == "finished" || status == "cancelled" || status == "diverged") return {run, status, rec->message};
  throw Error(rec && !rec->message.empty() ? rec->message : tail.toStdString());
}

}  // namespace

int processesFor(const QStringList& args) { return train::processes_for(config::resolve(toStd(args))); }

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
  QStringList child = {"train", "--workspace", workspace};
  if (!name.isEmpty()) child << "--name" << name;
  child += args;
  spec.work = workIn(workspace, [argv = toStd(args), opt, child](const jobs::Workspace& w, const train::EventSink& sink,
                                                                 const std::atomic<bool>& cancel) {
    const auto cfg = config::resolve(argv);
    if (train::processes_for(cfg) > 1) return runChildJob(child, w, cfg.integer("trainer.max_steps"), sink, cancel);
    return outcome(jobs::run_train_job(w, cfg, opt, sink, cancel));
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
  const QStringList child = {"train", "--workspace", workspace, "--resume", QString::number(runId)};
  spec.work = workIn(workspace, [opt, child](const jobs::Workspace& w, const train::EventSink& sink,
                                             const std::atomic<bool>& cancel) {
    config::ExperimentConfig stored;
    {
      store::RunStore db(w.db_path());
      if (const auto rec = db.run(opt.resume_run))
        stored = jobs::config_of_run(rec->config_json, rec->preset, rec->overrides_json);
    }
    if (!stored.tree.is_null() && train::processes_for(stored) > 1)
      return runChildJob(child, w, stored.integer("trainer.max_steps"), sink, cancel);
    return outcome(jobs::run_train_job(w, config::ExperimentConfig{}, opt, sink, cancel));
  });
  return spec;
}

JobSpec finetuneNeedleJobSpec(const QString& workspace, const NeedleSpec& n) {
  JobSpec spec;
  spec.kind = QStringLiteral("finetune-needle");
  spec.title = n.name;
  spec.commandLine = commandLine(QStringList{"diffmamba", "finetune-needle", "--workspace", workspace, "--ckpt_path", n.ckptPath,
                                  "--output_dir", n.outputDir, "--max_steps", QString::number(n.maxSteps), "--samples",
                                  QString::number(n.samples), "--batch_size", QString::number(n.batchSize), "--lr",
                                  QString::number(n.lr), "--seed", QString::number(n.seed), "--name", n.name,
                                  "--warmup", QString::number(std::min<int64_t>(20, n.maxSteps / 5)), "--max_length",
                                  "512", "--tasks"} + n.tasks);
  jobs::FinetuneOptions o;
  o.kind = "needle";
  o.ckpt_path = s(n.ckptPath);
  o.output_dir = s(n.outputDir);
  o.name = s(n.name);
  o.max_steps = n.maxSteps;
  o.samples = n.samples;
  o.batch_size = n.batchSize;
  o.seed = n.seed;
  o.tasks = toStd(n.tasks);
  o.warmup = std::min<int64_t>(20, n.maxSteps / 5);
  o.eval_steps = o.save_steps = n.maxSteps;
  o.max_length = 512;
  o.lr = n.lr;
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
                                 e.tasks + QStringList{"--lengths"} + e.lengths +
                                 (e.answerCue ? QStringList{"--answer_cue"} : QStringList{}));
  jobs::BabilongEvalOptions o;
  o.ckpt_path = s(e.ckptPath);
  o.name = s(e.name);
  o.tasks = toStd(e.tasks);
  o.lengths = toStd(e.lengths);
  o.samples = e.samples;
  o.max_new_tokens = e.maxNewTokens;
  o.prompt.answer_cue = e.answerCue;
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
