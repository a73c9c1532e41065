// Data-parallel cost on one machine: training steps of the 4-layer d_model 256 LM (bench_core's row,
// B 8 × L 512 global) in one process with T threads against P processes × T/P threads each (c10d Gloo,
// the Reducer's bucketed all-reduce overlapping backward), and the time of one all-reduce of every
// gradient on its own. Ranks are started by our launcher; rank 0 prints the RESULT line.
//
//   bench_dist [--procs 2] [--steps 12]      the table
//   bench_dist --case one THREADS STEPS      (internal) one process
//   bench_dist --case ranks STEPS            (internal) one rank of a launched group
//   bench_dist --nccl [--steps 20]           on a GPU: step time with a 1-rank NCCL group + Reducer vs none
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <unistd.h>
#include <string>
#include <thread>

#include "bench/bench_util.h"
#include "core/dist/dist.h"
#include "core/dist/launcher.h"
#include "core/model/language_model.h"
#include "core/runtime.h"
#include "core/train/trainer.h"

namespace {

using namespace dm::bench;

constexpr int64_t kGlobalBatch = 8, kLength = 512;

dm::model::ModelConfig bench_model() {
  auto cfg = dm::model::ModelConfig::lm_defaults(dm::model::Family::diffmamba2);
  cfg.vocab_size = 256;
  cfg.d_model = 256;
  cfg.n_layers = 4;
  cfg.dropout = 0.0;
  return cfg;
}

// Median seconds of `steps` optimizer steps (after 2 warm-up steps) on `batch` rows; with a group, the
// gradients are synchronised as in training and `allreduce_s` gets the median of a bare all-reduce of
// all gradients (flattened, one call).
double time_steps(int64_t batch, int steps, dm::dist::Group* group, double* allreduce_s, int64_t* params) {
  torch::manual_seed(0);
  dm::model::LanguageModel m(bench_model());
  *params = m->num_parameters();
  auto opt = dm::train::make_adamw(m, 5e-4, 0.9, 0.98, 1e-8, 0.1);
  std::unique_ptr<dm::dist::GradSync> sync;
  if (group) sync = std::make_unique<dm::dist::GradSync>(*group, m->parameters(), false);
  const int rank = group ? group->rank() : 0;
  torch::manual_seed(100 + rank);
  auto ids = torch::randint(0, 256, {batch, kLength + 1}, torch::kLong);
  auto x = ids.narrow(1, 0, kLength), y = ids.narrow(1, 1, kLength);
  const double s = median_seconds(2, steps, [&] {
    opt->zero_grad();
    auto loss = m->loss(x, y);
    if (sync) sync->prepare(loss);
    loss.backward();
    opt->step();
  });
  if (group && allreduce_s) {
    auto flat = torch::zeros({*params});
    *allreduce_s = median_seconds(2, steps, [&] { group->allreduce_sum({flat}); });
  }
  return s;
}

// One GPU: the same steps (batch 8 × 512 on cuda:0) without any process group, then with a one-rank
// NCCL group and the Reducer, alternated three times; the NCCL/Reducer overhead is their ratio.
int run_nccl(int steps) {
  if (!torch::cuda::is_available()) {
    std::printf("bench_dist --nccl: skipped, no CUDA device\n");
    return 77;
  }
  const torch::Device dev(torch::kCUDA, 0);
  dm::dist::Env env;
  env.world = 1;
  env.master_port = dm::dist::free_port();
  dm::dist::Group group(env);
  group.connect(dev);
  torch::manual_seed(0);
  dm::model::LanguageModel m(bench_model());
  m->to(dev);
  auto opt = dm::train::make_adamw(m, 5e-4, 0.9, 0.98, 1e-8, 0.1);
  dm::dist::GradSync sync(group, m->parameters(), false);
  auto ids = torch::randint(0, 256, {kGlobalBatch, kLength + 1}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  auto x = ids.narrow(1, 0, kLength), y = ids.narrow(1, 1, kLength);
  auto timed = [&](bool with_sync) {
    return median_seconds(3, steps, [&] {
      opt->zero_grad();
      auto loss = m->loss(x, y);
      if (with_sync) sync.prepare(loss);
      loss.backward();
      opt->step();
      torch::cuda::synchronize();
    });
  };
  std::printf("| round | no process group, median step s | 1-rank NCCL + Reducer, median step s | overhead |\n");
  std::printf("|---:|---:|---:|---:|\n");
  for (int round = 1; round <= 3; ++round) {
    const double plain = timed(false), nccl = timed(true);
    std::printf("| %d | %.6f | %.6f | %+.1f %% |\n", round, plain, nccl, 100.0 * (nccl / plain - 1.0));
    std::fflush(stdout);
  }
  return 0;
}

int run_one(int threads, int steps) {
  torch::set_num_threads(threads);
  int64_t params = 0;
  const double s = time_steps(kGlobalBatch, steps, nullptr, nullptr, &params);
  std::printf("RESULT seconds=%.6f tokens_per_s=%.1f params=%lld\n", s, double(kGlobalBatch * kLength) / s,
              static_cast<long long>(params));
  return 0;
}

int run_rank(int steps) {
  const auto env = dm::dist::from_environment();
  dm::dist::Group group(env);
  group.connect(torch::kCPU);
  int64_t params = 0;
  double ar = 0;
  const double s = time_steps(kGlobalBatch / env.world, steps, &group, &ar, &params);
  // The slowest rank sets the pace: every rank's time, gathered by a sum of one-hot vectors.
  std::vector<double> mine(static_cast<size_t>(env.world), 0.0);
  mine[static_cast<size_t>(env.rank)] = s;
  const auto all = group.allreduce_sum(mine);
  const double slowest = *std::max_element(all.begin(), all.end());
  if (env.rank == 0)
    std::printf("RESULT seconds=%.6f tokens_per_s=%.1f allreduce_s=%.6f threads=%d\n", slowest,
                double(kGlobalBatch * kLength) / slowest, ar, static_cast<int>(torch::get_num_threads()));
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "--case") {
    const std::string c = argv[2];
    if (c == "one" && argc > 4) {
      dm::init_runtime(std::atoi(argv[3]));
      return run_one(std::atoi(argv[3]), std::atoi(argv[4]));
    }
    if (c == "launch" && argc > 4) {
      const int procs = std::atoi(argv[3]);
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      dm::dist::LaunchOptions lo;
      lo.nproc = procs;
      lo.threads_per_process = std::max(1, cores / procs);
      lo.argv = {argv[0], "--case", "ranks", argv[4]};
      return dm::dist::launch_local(lo);
    }
    if (c == "ranks" && argc > 3) {
      dm::init_runtime(0);  // OMP_NUM_THREADS from the launcher
      return run_rank(std::atoi(argv[3]));
    }
    return 2;
  }
  int procs = 2, steps = 12;
  bool nccl = false;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--nccl") nccl = true;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--procs") procs = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--steps") steps = std::atoi(argv[i + 1]);
  }
  if (nccl) {
    dm::init_runtime(0);
    return run_nccl(std::max(steps, 20));
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("LibTorch %s, %d cores; diffmamba2 lm backbone 4 × [mixer, mixer, FFN], d_model 256, global batch "
              "%lld × L %lld, %d steps (median)\n\n", dm::torch_version().c_str(), cores,
              static_cast<long long>(kGlobalBatch), static_cast<long long>(kLength), steps);
  std::printf("| setup | median step s | tokens/s | all-reduce of all gradients, s | vs 1 process |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  const auto one = run_command(std::string(argv[0]) + " --case one " + std::to_string(cores) + " " + std::to_string(steps));
  const double t1 = std::stod(field(one, "tokens_per_s").empty() ? "0" : field(one, "tokens_per_s"));
  std::printf("| 1 process × %d threads, batch %lld (%s params) | %s | %.0f | – | 1.00× |\n", cores,
              static_cast<long long>(kGlobalBatch), field(one, "params").c_str(), field(one, "seconds").c_str(), t1);
  std::fflush(stdout);
  // The ranks: our launcher (in a child whose output is read) runs this executable `procs` times.
  const auto ranks = run_command(std::string(argv[0]) + " --case launch " + std::to_string(procs) + " " +
                                 std::to_string(steps));
  if (ranks.empty()) {
    std::printf("| %d processes | failed | | | |\n", procs);
    return 1;
  }
  const double tp = std::stod(field(ranks, "tokens_per_s"));
  std::printf("| %d processes × %s thread(s), batch %lld each (Gloo, Reducer) | %s | %.0f | %s | %.2f× |\n", procs,
              field(ranks, "threads").c_str(), static_cast<long long>(kGlobalBatch / procs),
              field(ranks, "seconds").c_str(), tp, field(ranks, "allreduce_s").c_str(), t1 > 0 ? tp / t1 : 0.0);
  return 0;
}
