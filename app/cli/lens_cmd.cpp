// `diffmamba lens train|eval|import`: the seed's tuned-lens commands (python -m tuned_lens train …,
// test_babilong_0k.py) and importing its result files.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "app/cli/commands.h"
#include "app/cli/console.h"
#include "core/dist/dist.h"
#include "core/dist/launcher.h"
#include "core/common/error.h"
#include "core/jobs/lens_job.h"

namespace dm::cli {

int run_lens(const LensArgs& a, std::atomic<bool>& cancel) {
  namespace fs = std::filesystem;
  const auto ws = a.workspace.empty() ? jobs::Workspace::default_location() : jobs::Workspace{a.workspace};
  if (a.action == "import") {
    const auto id = jobs::import_seed_lens_results(ws, a.results, a.name, a.family);
    std::printf("imported %s as run %lld\n", a.results.c_str(), static_cast<long long>(id));
    return 0;
  }
  auto base = [](const std::string& p) { return fs::path(p).lexically_normal().filename().string().empty()
                                                    ? fs::path(p).lexically_normal().parent_path().filename().string()
                                                    : fs::path(p).lexically_normal().filename().string(); };
  if (a.action == "train") {
    if (const auto rc = dist::launch_nproc_per_node(a.nproc_per_node, a.argv)) return *rc;
    const auto env = dist::from_environment();
    jobs::LensTrainOptions o;
    o.ckpt_path = a.ckpt_path;
    o.tokenizer = a.tokenizer;
    o.data = a.data;
    o.output = a.output.empty() ? (fs::path("my_lenses") / base(a.ckpt_path)).string() : a.output;
    o.name = a.name;
    o.num_steps = a.num_steps;
    o.tokens_per_step = a.tokens_per_step;
    o.per_gpu_batch_size = a.per_gpu_batch_size;
    o.max_seq_len = a.max_seq_len;
    o.lr = a.lr;
    o.seed = a.seed;
    o.device = a.device;
    o.precision = a.precision;
    ConsoleOptions co;
    co.quiet = a.quiet || env.rank != 0;  // the other ranks print nothing but errors
    co.every = 10;
    const auto r = jobs::run_lens_train(ws, o, ConsolePrinter(co).sink(), cancel);
    if (env.rank != 0) return r.status == "cancelled" ? 130 : 0;
    std::printf("run %lld %s: %s; lens in %s\n", static_cast<long long>(r.run_id), r.status.c_str(), r.message.c_str(),
                o.output.c_str());
    return r.status == "cancelled" ? 130 : 0;
  }
  jobs::LensEvalOptions o;
  o.ckpt_path = a.ckpt_path;
  o.tokenizer = a.tokenizer;
  o.lens = a.lens.empty() ? (fs::path("my_lenses") / base(a.ckpt_path)).string() : a.lens;
  std::string ckpt = a.ckpt_path;
  while (!ckpt.empty() && ckpt.back() == '/') ckpt.pop_back();
  o.output = a.output.empty() ? ckpt + "-lens_eval.txt" : a.output;
  o.name = a.name;
  o.data_dir = a.data_dir;
  if (!a.tasks.empty()) o.tasks = a.tasks;
  o.samples = a.samples;
  o.num_examples = a.num_examples;
  o.device = a.device;
  o.precision = a.precision;
  ConsoleOptions co;
  co.quiet = a.quiet;
  co.percent = true;
  const auto r = jobs::run_lens_eval(ws, o, ConsolePrinter(co).sink(), cancel);
  if (r.status == "cancelled") return 130;
  std::printf("run %lld: needle probability per layer (all tasks)\n", static_cast<long long>(r.run_id));
  for (const auto& p : r.points)
    if (p.task == "all" && p.metric == "avg_prob") std::printf("  layer %3lld  %.6f\n", static_cast<long long>(p.layer), p.value);
  std::printf("wrote %s\n", o.output.c_str());
  return 0;
}

}  // namespace dm::cli
