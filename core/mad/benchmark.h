// The MAD benchmark as the seed runs it (benchmark.py / architecture_improvement.py): for each family,
// task and setting, train over the lr × weight-decay grid; a task's MAD score is the mean over its settings
// of the best test accuracy across the grid, the total the mean over the tasks. Every run belongs to one
// sweep record; the scores are stored as a "mad-score" run per family and written as the seed's CSV.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "core/jobs/workspace.h"
#include "core/train/events.h"

namespace dm::mad {

struct BenchmarkOptions {
  std::vector<std::string> families = {"mamba2", "diffmamba2"};
  std::vector<std::string> tasks;  // empty: all six
  bool all_settings = false;       // false: baselines only
  std::vector<double> lrs = {1e-4, 5e-4, 1e-3}, weight_decays = {0.0, 0.1};
  int64_t width = 1024, n_layers = 4, epochs = 200, batch_size = 128;
  int64_t train_examples = 0, test_examples = 0;  // > 0: fewer than the settings' (quick runs)
  std::string device = "auto", name;
  uint64_t seed = 12345;

  // The --quick profile: width 32, 2 layers, 3 epochs, 384 training and 128 test examples, lr {1e-3, 3e-3}
  // × wd {0}, baselines: minutes on 2 CPU cores, a demonstration of the pipeline, not the paper's numbers.
  static BenchmarkOptions quick();
};

struct BenchmarkResult {
  std::string status = "finished", message;
  int64_t sweep_id = 0;
  std::vector<std::string> tasks;                                  // in the order run
  std::map<std::string, std::map<std::string, double>> scores;    // family → task → MAD score
  std::map<std::string, double> total;                             // family → mean over the tasks
  std::map<std::string, int64_t> score_runs;                       // family → its "mad-score" run
  int64_t runs = 0;
};

BenchmarkResult run_mad_benchmark(const jobs::Workspace& ws, const BenchmarkOptions& opt, const train::EventSink& sink,
                                  const std::atomic<bool>& cancel);

// The seed's mad_scores CSV: one row per family, a column per task, then total and model.
std::string scores_csv(const BenchmarkResult& r);
// Writes scores_csv to `path` (default: <workspace>/mad/mad_scores-sweep<N>.csv), atomically; returns the path.
std::string write_scores_csv(const jobs::Workspace& ws, const BenchmarkResult& r, std::string path = "");

}  // namespace dm::mad
