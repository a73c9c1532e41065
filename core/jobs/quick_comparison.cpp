#include "core/jobs/quick_comparison.h"

#include <algorithm>
#include <filesystem>

#include "core/config/experiment_config.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/finetune_job.h"
#include "core/jobs/lens_job.h"
#include "core/jobs/train_job.h"

namespace dm::jobs {

const std::vector<std::string>& quick_ablation_families() {
  static const std::vector<std::string> f = {"mamba2", "diffmamba2", "diffmamba2E", "diffs6mamba2"};
  return f;
}

std::vector<std::string> quick_train_args(const QuickComparisonOptions& o, const std::string& family) {
  std::vector<std::string> args = {"experiment=demo/" + family + "-fortunes"};
  if (family == "diffs6mamba2") args.insert(args.end(), {"model.d_model=64", "model.head_dim=32"});
  const auto dev = device_overrides(o.device);
  args.insert(args.end(), dev.begin(), dev.end());
  args.insert(args.end(), o.train_overrides.begin(), o.train_overrides.end());
  return args;
}

std::string quick_stage_name(const std::string& family, int stage) {
  static const char* const suffix[5] = {"", " needle", " BABILong", " lens", " lens eval"};
  return "quick " + family + suffix[std::clamp(stage, 0, 4)];
}

namespace {
std::string quick_dir(const Workspace& ws, const std::string& family, const char* what) {
  return (std::filesystem::path(ws.root) / "quick-comparison" / (family + what)).string();
}
}  // namespace

std::string quick_needle_dir(const Workspace& ws, const std::string& family, uint64_t seed) {
  return quick_dir(ws, family, "-needle") + "-seed" + std::to_string(seed);
}
std::string quick_lens_dir(const Workspace& ws, const std::string& family) { return quick_dir(ws, family, "-lens"); }

std::string quick_trained_model(const Workspace& ws, int64_t train_run) {
  return (std::filesystem::path(ws.run_dir(train_run)) / "model.safetensors").string();
}

FinetuneOptions quick_needle_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& f,
                                     const std::string& model) {
  FinetuneOptions n;
  n.kind = "needle";
  n.ckpt_path = model;
  n.output_dir = quick_needle_dir(ws, f, o.seed);
  n.name = quick_stage_name(f, 1);
  n.tasks = o.needle_tasks;
  n.max_steps = o.needle_steps;
  n.samples = o.needle_samples;
  n.batch_size = o.needle_batch;
  n.lr = o.needle_lr;
  n.seed = o.seed;
  n.warmup = std::min<int64_t>(20, o.needle_steps / 5);
  n.eval_steps = n.save_steps = o.needle_steps;
  n.max_length = 512;
  n.device = o.device;
  return n;
}

BabilongEvalOptions quick_eval_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& f) {
  BabilongEvalOptions e;
  e.ckpt_path = quick_needle_dir(ws, f, o.seed);
  e.name = quick_stage_name(f, 2);
  e.tasks = o.tasks;
  e.lengths = o.lengths;
  e.samples = o.eval_samples;
  e.max_new_tokens = o.max_new_tokens;
  e.prompt.answer_cue = o.answer_cue;
  e.seed = o.seed;
  e.device = o.device;
  return e;
}

LensTrainOptions quick_lens_train_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& f) {
  LensTrainOptions l;
  l.ckpt_path = quick_needle_dir(ws, f, o.seed);
  l.output = quick_lens_dir(ws, f);
  l.name = quick_stage_name(f, 3);
  l.num_steps = o.lens_steps;
  l.tokens_per_step = o.lens_tokens_per_step;
  l.max_seq_len = o.lens_max_seq_len;
  l.device = o.device;
  return l;
}

LensEvalOptions quick_lens_eval_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& f) {
  LensEvalOptions l;
  l.ckpt_path = quick_needle_dir(ws, f, o.seed);
  l.lens = quick_lens_dir(ws, f);
  l.name = quick_stage_name(f, 4);
  l.samples = o.lens_samples;
  l.device = o.device;
  return l;
}

QuickComparisonResult run_quick_comparison(const Workspace& ws, const QuickComparisonOptions& o,
                                           const train::EventSink& sink, const std::atomic<bool>& cancel) {
  QuickComparisonResult r;
  // A stage that did not finish ends the pipeline with its status.
  auto stopped = [&](const std::string& status, const std::string& message, const std::string& f, int stage) {
    if (status == "finished") return false;
    r.status = status;
    r.message = quick_stage_name(f, stage) + ": " + status + (message.empty() ? "" : " (" + message + ")");
    return true;
  };
  for (const auto& f : o.families) {
    auto& runs = r.families.emplace_back();
    runs.family = f;
    const auto t = run_train_job(ws, config::resolve(quick_train_args(o, f)), TrainJobOptions{quick_stage_name(f, 0)}, sink, cancel);
    runs.train = t.run_id;
    if (stopped(t.status, t.message, f, 0)) return r;
    const auto n = run_finetune_job(ws, quick_needle_options(ws, o, f, quick_trained_model(ws, t.run_id)), sink, cancel);
    runs.needle = n.run_id;
    if (stopped(n.status, n.message, f, 1)) return r;
    const auto e = run_babilong_eval(ws, quick_eval_options(ws, o, f), sink, cancel);
    runs.eval = e.run_id;
    if (e.accuracy.defined()) {
      const auto a = e.accuracy.to(torch::kFloat64).contiguous();
      runs.accuracy.assign(a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
    }
    if (stopped(e.status, "", f, 2)) return r;
    const auto lt = run_lens_train(ws, quick_lens_train_options(ws, o, f), sink, cancel);
    if (stopped(lt.status, lt.message, f, 3)) return r;
    const auto le = run_lens_eval(ws, quick_lens_eval_options(ws, o, f), sink, cancel);
    runs.lens = le.run_id;
    if (stopped(le.status, "", f, 4)) return r;
  }
  return r;
}

}  // namespace dm::jobs
