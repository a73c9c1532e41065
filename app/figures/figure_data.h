// Where the figures' numbers come from: a workspace's run store (BABILong eval cells, lens points,
// metrics) or the seed's own result files (per-cell CSVs, acc_*.npy, *-lens_eval.txt), turned into
// dm::plotting's plain data. Shared by `diffmamba plot` and the desktop app. Errors are dm::Error
// (core's typed exceptions) with the paths that were tried.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plotting/data.h"
#include "plotting/mad_chart.h"
#include "plotting/per_token_chart.h"

namespace dm::store {
class RunStore;
}

namespace dm::figures {

// The seed's defaults: qa1 … qa5 and 0k … 64k.
std::vector<std::string> defaultTasks();
std::vector<std::string> defaultLengths();

// Context lengths ordered by size ("0k" < "1k" < "512k" < "1M"); unknown spellings after, by name.
void sortLengths(std::vector<std::string>& lengths);

// plot_compare.py's baseline: "diffmamba" → "mamba" in the name, or "mamba" → "diffmamba" when the name
// is a Mamba one. Throws ConfigError when the name contains neither.
std::string baselineName(const std::string& modelName);

// One model's accuracy matrix from the seed's result folder. The model's files live in
// `folder/<name>/` (plot.py's layout) or directly in `folder` when it already ends in the name (the
// seed README's invocation). When per-cell CSVs `{task}_{length}_{prompt}.csv` exist they are scored as
// plot.py does and `acc_<name>.npy` is (re)written beside them when writeNpy; otherwise
// `acc_<name>.npy` is read (its shape must be tasks × lengths). `note` receives what was read.
plotting::Matrix seedAccuracy(const std::string& folder, const std::string& name, const std::vector<std::string>& tasks,
                              const std::vector<std::string>& lengths, const std::string& promptName, bool writeNpy,
                              std::string* note = nullptr);

// A matrix read from an acc_*.npy with the given labels (shape must match).
plotting::Matrix accuracyFromNpy(const std::string& path, const std::vector<std::string>& tasks,
                                 const std::vector<std::string>& lengths);

// A run's BABILong accuracy ("accuracy" eval cells). Empty tasks / lengths: every one the run has,
// tasks by name and lengths by size, with each cell's sample count (Matrix::samples). Cells the run lacks
// are 0 (0 samples), as plot.py does for missing files, and are listed in `missing`. Throws when the run does not exist or has no accuracy cells.
plotting::Matrix runAccuracy(const store::RunStore& db, int64_t run, std::vector<std::string> tasks = {},
                             std::vector<std::string> lengths = {}, std::vector<std::string>* missing = nullptr);

// Tuned-lens needle probability per layer from two seed result files (test_babilong_0k.py's text).
plotting::LensLayers lensFromFiles(const std::string& diffPath, const std::string& mambaPath);
// … or from two runs' lens points (task "all", metric avg_prob, layers ≥ 1 as in the seed's files).
plotting::LensLayers lensFromRuns(const store::RunStore& db, int64_t diffRun, int64_t mambaRun);

// One curve per run of metric `metric` against step, with wall seconds since the run started (a resumed
// run's parts follow each other). Throws when a run lacks the metric, naming the ones it has.
struct RunCurve {
  QString label;
  std::vector<double> steps, wallSeconds, values;
};
// With `requireMetric` false a run without the metric gives an empty curve instead (a live view).
// The metric a user means by `metric`: the exact name when the runs have it, else the one name
// ending in "/<metric>" (train/<metric> first: `--metric loss` is the training loss). Throws
// ConfigError listing the candidates when that is ambiguous or nothing matches.
std::string resolveMetric(const store::RunStore& db, const std::vector<int64_t>& runs, const std::string& metric);
std::vector<RunCurve> runCurves(const store::RunStore& db, const std::vector<int64_t>& runs, const std::string& metric,
                                bool requireMetric = true);

// Runs grouped by configuration: equal resolved configs once every "seed" key (train.seed, …) is left out,
// in the order of their first run; labelled by the first run's name without a "seed N" suffix.
struct SeedGroup {
  QString label;
  std::vector<int64_t> runs;
};
std::vector<SeedGroup> seedGroups(const store::RunStore& db, const std::vector<int64_t>& runs);

// Per-token loss: the val/loss_per_token of a per-token-loss results.json (at most 64 MiB, a regular file),
// or of a per-token-loss run's results (its "results" artifact), labelled "<name> (run N)".
plotting::PerTokenSeries perTokenFromResults(const std::string& path, const std::string& label);
plotting::PerTokenSeries perTokenFromRun(const store::RunStore& db, int64_t run);

// MAD scores of "mad-score" runs (each one family's task scores of one MAD sweep), a row per run labelled by
// its family ("Diff-Mamba2"; with " (sweep N)" when two rows would read alike); tasks in the benchmark's
// order, NaN where a run lacks one. Throws ConfigError for a run that is not a finished mad-score run.
plotting::MadScores madScoresFromRuns(const store::RunStore& db, const std::vector<int64_t>& runs);
// The mad-score runs of a MAD sweep (oldest first); throws ConfigError when it has none (not a MAD sweep,
// or the benchmark did not finish).
std::vector<int64_t> madScoreRunsOfSweep(const store::RunStore& db, int64_t sweep);

// 95 % intervals of model − baseline accuracy per cell of `like` (its task and length labels), percentage
// points, from the samples eval-babilong stores: a paired bootstrap over samples, two-level (seeds, then
// samples) when several runs are given. modelRuns[k] pairs with baselineRuns[k]; samples pair by index and
// must be the same prompts (their hashes), else ConfigError says which cell differs. Cells a run lacks get
// no interval. Deterministic (fixed bootstrap seed).
plotting::DifferenceIntervals bootstrapFromRuns(const store::RunStore& db, const std::vector<int64_t>& modelRuns,
                                                const std::vector<int64_t>& baselineRuns, const plotting::Matrix& like,
                                                int replicates = 4000);
// The seed's files hold no per-sample data: the per-seed matrices (paired by seed order, ≥ 2 each) give a
// bootstrap over seeds. Throws ConfigError with fewer than 2 seeds (no interval is possible).
plotting::DifferenceIntervals bootstrapFromSeeds(const std::vector<plotting::Matrix>& model,
                                                 const std::vector<plotting::Matrix>& baseline, int replicates = 4000);

}  // namespace dm::figures
