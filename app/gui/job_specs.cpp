// LibTorch first (the jobs' headers include it): Qt's `slots` macro must not precede it.
#include <torch/torch.h>

#include "app/gui/job_specs.h"
#include "app/gui/settings.h"

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
#include "core/mad/benchmark.h"
#include "core/ops/doctor.h"
#include "core/store/run_store.h"
#include "core/train/trainer.h"

namespace dm {
namespace gui {
namespace {

std::string s(const QString& q) { return q.toStdString(); }
QString q(const std::string& x) { return QString::fromStdString(x); }
QString num(int64_t n) { return QString::number(n); }
QStringList qList(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& x : v) out << q(x);
  return out;
}

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

namespace settings {
QList<Gpu> gpus(QString* whyNone) {
  const auto report = ops::doctor();
  if (whyNone) *whyNone = QString::fromStdString(report.cuda_reason);
  QList<Gpu> out;
  for (int i = 0; i < report.device_count; ++i) {
    QString label = QCoreApplication::translate("dm::gui::SettingsDialog", "GPU %1").arg(i);
    for (const auto& g : report.gpus)
      if (g.index == i)
        label = QCoreApplication::translate("dm::gui::SettingsDialog", "GPU %1: %2 (%3 GiB)")
                    .arg(i)
                    .arg(QString::fromStdString(g.name))
                    .arg(static_cast<double>(g.total_memory) / (1024.0 * 1024.0 * 1024.0), 0, 'f', 0);
    out.append({QStringLiteral("cuda:%1").arg(i), label});
  }
  return out;
}
}  // namespace settings

QString shellQuote(const QString& arg) {
  static const QString safe = QStringLiteral("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.,/=:+@[]");
  bool plain = !arg.isEmpty();
  for (QChar c : arg) plain = plain && safe.contains(c);
  if (plain) return arg;
  QString out = arg;
  out.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
  return QLatin1Char('\'') + out + QLatin1Char('\'');
}

JobSpec trainJobSpec(const QString& workspace, const QStringList& args, const QString& name, int64_t sweepId) {
  JobSpec spec;
  spec.kind = QStringLiteral("train");
  QString preset;
  for (const auto& a : args)
    if (a.startsWith(QLatin1String("experiment="))) preset = a.mid(11);
  spec.title = name.isEmpty() ? (preset.isEmpty() ? QStringLiteral("train") : preset) : name;
  QStringList words = {"diffmamba", "train", "--workspace", workspace};
  if (!name.isEmpty()) words << "--name" << name;
  if (sweepId > 0) words << "--sweep" << num(sweepId);
  spec.commandLine = commandLine(words + args);
  jobs::TrainJobOptions opt;
  opt.name = s(name);
  opt.sweep_id = sweepId;
  QStringList child = {"train", "--workspace", workspace};
  if (!name.isEmpty()) child << "--name" << name;
  if (sweepId > 0) child << "--sweep" << num(sweepId);
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

JobSpec finetuneJobSpec(const QString& workspace, const jobs::FinetuneOptions& o) {
  JobSpec spec;
  spec.kind = q("finetune-" + o.kind);
  spec.title = q(o.name);
  // `finetune-needle` appends -seed<N> to --output_dir as the seed does: show the folder it is given.
  QString out = q(o.output_dir);
  const QString suffix = QStringLiteral("-seed%1").arg(o.seed);
  if (o.kind == "needle" && out.endsWith(suffix)) out.chop(suffix.size());
  QStringList words = {"diffmamba", q("finetune-" + o.kind), "--workspace", workspace, "--ckpt_path", q(o.ckpt_path),
                       "--output_dir", out, "--max_steps", num(o.max_steps), "--batch_size", num(o.batch_size), "--lr",
                       QString::number(o.lr), "--warmup", num(o.warmup), "--eval_steps", num(o.eval_steps), "--save_steps",
                       num(o.save_steps), "--max_length", num(o.max_length), "--seed", QString::number(o.seed)};
  if (!o.name.empty()) words << "--name" << q(o.name);
  if (o.kind == "needle") words << "--samples" << num(o.samples) << "--tasks" << qList(o.tasks);
  if (o.device != "auto") words << "--device" << q(o.device);
  spec.commandLine = commandLine(words);
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    return outcome(jobs::run_finetune_job(w, o, sink, cancel));
  });
  return spec;
}

JobSpec evalBabilongJobSpec(const QString& workspace, const jobs::BabilongEvalOptions& o) {
  JobSpec spec;
  spec.kind = QStringLiteral("eval-babilong");
  spec.title = q(o.name);
  QStringList words = {"diffmamba", "eval-babilong", "--workspace", workspace, "--ckpt_path", q(o.ckpt_path), "--samples",
                       num(o.samples), "--max_new_tokens", num(o.max_new_tokens), "--seed", QString::number(o.seed)};
  if (!o.name.empty()) words << "--name" << q(o.name);
  words << "--tasks" << qList(o.tasks) << "--lengths" << qList(o.lengths);
  if (o.prompt.answer_cue) words << "--answer_cue";
  if (o.device != "auto") words << "--device" << q(o.device);
  spec.commandLine = commandLine(words);
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    const auto r = jobs::run_babilong_eval(w, o, sink, cancel);
    return JobOutcome{r.run_id, r.status, ""};
  });
  return spec;
}

JobSpec lensTrainJobSpec(const QString& workspace, const jobs::LensTrainOptions& o) {
  JobSpec spec;
  spec.kind = QStringLiteral("lens-train");
  spec.title = q(o.name);
  QStringList words = {"diffmamba", "lens", "train", "--workspace", workspace, "--model.name", q(o.ckpt_path), "--output",
                       q(o.output), "--num_steps", num(o.num_steps), "--tokens_per_step", num(o.tokens_per_step),
                       "--max_seq_len", num(o.max_seq_len)};
  if (!o.name.empty()) words << "--name" << q(o.name);
  if (o.device != "auto") words << "--device" << q(o.device);
  spec.commandLine = commandLine(words);
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    return outcome(jobs::run_lens_train(w, o, sink, cancel));
  });
  return spec;
}

JobSpec lensEvalJobSpec(const QString& workspace, const jobs::LensEvalOptions& o) {
  JobSpec spec;
  spec.kind = QStringLiteral("lens-eval");
  spec.title = q(o.name);
  QStringList words = {"diffmamba", "lens", "eval", "--workspace", workspace, "--ckpt_path", q(o.ckpt_path), "--lens",
                       q(o.lens), "--samples", num(o.samples)};
  if (!o.name.empty()) words << "--name" << q(o.name);
  if (o.device != "auto") words << "--device" << q(o.device);
  spec.commandLine = commandLine(words);
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    const auto r = jobs::run_lens_eval(w, o, sink, cancel);
    return JobOutcome{r.run_id, r.status, ""};
  });
  return spec;
}

JobSpec madJobSpec(const QString& workspace, const mad::BenchmarkOptions& o, bool quick) {
  JobSpec spec;
  spec.kind = QStringLiteral("mad");
  spec.title = o.name.empty() ? QStringLiteral("MAD benchmark%1").arg(quick ? QStringLiteral(" (quick)") : QString()) : q(o.name);
  QStringList words = {"diffmamba", "mad", "run", "--workspace", workspace, "--layers"};
  words += qList(o.families);
  if (quick) words << "--quick";
  // Every option that differs from the profile's, so the line does what the job does.
  const mad::BenchmarkOptions base = quick ? mad::BenchmarkOptions::quick() : mad::BenchmarkOptions{};
  auto numbers = [](const std::vector<double>& v) {
    QStringList out;
    for (double x : v) out << QString::number(x, 'g', 12);
    return out;
  };
  if (o.all_settings) words << "--settings" << "all";
  if (!o.tasks.empty()) words << "--tasks" << qList(o.tasks);
  if (o.width != base.width) words << "--width" << num(o.width);
  if (o.n_layers != base.n_layers) words << "--n_layers" << num(o.n_layers);
  if (o.epochs != base.epochs) words << "--epochs" << num(o.epochs);
  if (o.lrs != base.lrs) words << "--lrs" << numbers(o.lrs);
  if (o.weight_decays != base.weight_decays) words << "--wds" << numbers(o.weight_decays);
  if (o.train_examples != base.train_examples) words << "--train_examples" << num(o.train_examples);
  if (o.test_examples != base.test_examples) words << "--test_examples" << num(o.test_examples);
  if (o.device != "auto") words << "--device" << q(o.device);
  spec.commandLine = commandLine(words);
  spec.work = workIn(workspace, [o](const jobs::Workspace& w, const train::EventSink& sink, const std::atomic<bool>& cancel) {
    const auto r = mad::run_mad_benchmark(w, o, sink, cancel);
    std::string message = r.message;
    if (r.status == "finished") {
      message = "MAD sweep " + std::to_string(r.sweep_id) + ": " + std::to_string(r.runs) + " runs; scores in " +
                mad::write_scores_csv(w, r);
      train::TrainEvent ev;
      ev.message = message;
      sink(ev);
    }
    // The job's run: the first family's score run (the sweep holds every run).
    const auto first = o.families.empty() ? r.score_runs.end() : r.score_runs.find(o.families.front());
    const int64_t run = first == r.score_runs.end() ? 0 : first->second;
    return JobOutcome{run, r.status, message};
  });
  return spec;
}

}  // namespace gui
}  // namespace dm
