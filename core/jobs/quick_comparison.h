// The Quick comparison pipeline, shared by `diffmamba quick-comparison` and the window's Quick comparison:
// for each family compared (Mamba2 and Diff-Mamba2, or the four of the ablation), train the demo preset
// on the default corpus → fine-tune on BABILong needles → evaluate BABILong → train a tuned lens →
// evaluate it. This file owns the settings (measured on
// a 2-core machine, bench/RESULTS.md "Quick comparison") and how each stage's options follow from the
// previous stage's output, so the CLI's sequential run and the window's queued one do the same work.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/jobs/workspace.h"
#include "core/train/events.h"

// No LibTorch here: the window's headers include this one (the stage builders' option types are complete in
// finetune_job.h, babilong_job.h and lens_job.h).
namespace dm::jobs {

struct FinetuneOptions;
struct BabilongEvalOptions;
struct LensTrainOptions;
struct LensEvalOptions;

// The seed's LM backbone ([mixer, mixer, FFN] post-LN) at demo size stays at chance on qa1 after 1,000
// needle steps; the HF backbone (the seed's BABILong models') reaches 55–62 % in 500. Answers are decoded
// for 20 tokens (a character-level model spells them) after the fine-tuning's " Answer:" cue.
struct QuickComparisonOptions {
  // The families compared, baseline first. The default is the pair; quick_ablation_families() adds the
  // paper's ablations of the differential design (spec upstream.md §5).
  std::vector<std::string> families = {"mamba2", "diffmamba2"};
  std::vector<std::string> train_overrides = {"model.backbone=hf"};  // after experiment=demo/<family>-fortunes
  std::vector<std::string> needle_tasks = {"qa1"};
  int64_t needle_steps = 500, needle_samples = 2000, needle_batch = 16;
  double needle_lr = 3e-3;
  std::vector<std::string> tasks = {"qa1", "qa2", "qa3", "qa4", "qa5"}, lengths = {"0k", "1k"};
  int64_t eval_samples = 40, max_new_tokens = 20;
  bool answer_cue = true;
  int64_t lens_steps = 20, lens_tokens_per_step = 4096, lens_max_seq_len = 256, lens_samples = 20;
  uint64_t seed = 0;
  std::string device = "auto";  // every stage's: auto (the GPU when there is one), cpu, cuda or cuda:N
};

// The ablation at the demo size: Mamba2, Diff-Mamba2, Diff-Mamba2E (one mixer, halves subtracted) and
// Diff-S6-Mamba2 (two SSM branches sharing the projection's conv, scalar λ).
const std::vector<std::string>& quick_ablation_families();

// Stage 0: the arguments of `diffmamba train` for a family, and every stage's run name.
// Diff-S6-Mamba2's demo preset has the published head_dim 108 (d_model 54); here it is trained at the other
// families' width (d_model 64, head_dim 32), so the ablation compares equal sizes.
std::vector<std::string> quick_train_args(const QuickComparisonOptions& o, const std::string& family);
std::string quick_stage_name(const std::string& family, int stage);  // "quick mamba2", "quick mamba2 needle", …
// Where a family's fine-tuned model and its lens go: <workspace>/quick-comparison/<family>-needle-seed<N>
// (the folder `diffmamba finetune-needle --output_dir …/<family>-needle --seed N` writes) and <family>-lens.
std::string quick_needle_dir(const Workspace& ws, const std::string& family, uint64_t seed);
std::string quick_lens_dir(const Workspace& ws, const std::string& family);
// The model file stage 0 leaves for stage 1.
std::string quick_trained_model(const Workspace& ws, int64_t train_run);
// Stages 1–4, from the previous stage's output.
FinetuneOptions quick_needle_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& family,
                                     const std::string& model);
BabilongEvalOptions quick_eval_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& family);
LensTrainOptions quick_lens_train_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& family);
LensEvalOptions quick_lens_eval_options(const Workspace& ws, const QuickComparisonOptions& o, const std::string& family);

// One family's runs, and its accuracy cells (tasks × lengths row-major, percent) from the evaluation.
struct QuickFamilyRuns {
  std::string family;
  int64_t train = 0, needle = 0, eval = 0, lens = 0;
  std::vector<double> accuracy;
};

struct QuickComparisonResult {
  std::string status = "finished";  // or "cancelled" / the stage's status that stopped the pipeline
  std::string message;
  std::vector<QuickFamilyRuns> families;  // in the options' order, baseline first
};

// Every stage of every family on the calling thread, in the options' order. A stage that does not finish
// stops the pipeline: its status and message are returned. Exceptions propagate (the stage's run is failed).
QuickComparisonResult run_quick_comparison(const Workspace& ws, const QuickComparisonOptions& o,
                                           const train::EventSink& sink, const std::atomic<bool>& cancel);

}  // namespace dm::jobs
