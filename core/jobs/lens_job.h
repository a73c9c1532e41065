// Tuned-lens Jobs (`diffmamba lens train|eval`): train one translator per block on text (KL from the
// model's final distribution, SGD-Nesterov, linear decay — upstream §9.2), and evaluate the needle
// probability per layer on BABILong 0k samples as the seed's test_babilong_0k.py does (§9.3), with
// results in the run store and in the seed's `{layer: {'sum', 'total', 'avg'}}` text format.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/jobs/train_job.h"
#include "core/lens/tuned_lens.h"
#include "core/store/run_store.h"

namespace dm::jobs {

struct LensTrainOptions {
  std::string ckpt_path, tokenizer, data, output, name;
  int64_t num_steps = 250, tokens_per_step = 1 << 18, per_gpu_batch_size = 1, max_seq_len = 2048;
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-3;
  uint64_t seed = 42;
  // auto = the GPU when there is one (each process of several takes its local rank's); precision auto =
  // bf16 autocast there, as tuned-lens trains, fp32 on the CPU. Weights stay fp32.
  std::string device = "auto", precision = "auto";
};
JobResult run_lens_train(const Workspace& ws, const LensTrainOptions& opt, const train::EventSink& sink,
                         const std::atomic<bool>& cancel);

// Mean KL(p_final ‖ p_lens) per block on `chunks` ([N, L] token ids, moved to the model's device), no
// gradients, the forward passes under `autocast` when given.
std::vector<double> lens_kl(model::LanguageModel& m, lens::TunedLens& lens, const std::vector<torch::Tensor>& chunks,
                            std::optional<at::ScalarType> autocast = std::nullopt);

struct LensEvalOptions {
  std::string ckpt_path, tokenizer, lens, output, name, data_dir;
  std::vector<std::string> tasks = {"qa1", "qa2", "qa3", "qa4", "qa5"};
  int64_t samples = 100;       // per task
  int64_t num_examples = 0;    // > 0: stop after this many samples in all
  uint64_t seed = 0;
  // auto = the GPU when there is one; precision auto = fp32 (the seed's test_babilong_0k.py has no
  // autocast), bf16-mixed on request.
  std::string device = "auto", precision = "auto";
};
// Per layer k = 0 … n (k < n: the lens after block k; k = n: the model's own output): mean probability of
// the first answer token ("avg_prob", the seed's number), its mean log-probability ("avg_logprob") and the
// mean log-probability of all answer tokens ("avg_answer_logprob"), per task and over all ("all").
struct LensEvalResult {
  int64_t run_id = 0;
  std::string status;
  std::vector<store::LensPoint> points;
};
LensEvalResult run_lens_eval(const Workspace& ws, const LensEvalOptions& opt, const train::EventSink& sink,
                             const std::atomic<bool>& cancel);

// The seed's result text: str({k: {'sum': s, 'total': n, 'avg': s/n}}) for k = 1 … n.
std::string format_seed_lens_results(const std::map<int64_t, std::pair<double, int64_t>>& sum_total);
// Parses that text back into layer → avg. Throws FileError(origin, …) on anything else.
std::map<int64_t, double> parse_seed_lens_results(const std::string& text, const std::string& origin);

// Imports a seed results file as a run of kind "lens-import" (points: layer, "all", "avg_prob"); returns its id.
int64_t import_seed_lens_results(const Workspace& ws, const std::string& path, const std::string& name, const std::string& family);

}  // namespace dm::jobs
