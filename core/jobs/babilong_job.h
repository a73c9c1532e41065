// The BABILong evaluation Job (`diffmamba eval-babilong`, and the GUI's Results): for every task ×
// length cell, generate (or import) the samples, prompt the model as the seed does, decode greedily
// with the recurrent state (constant memory per generated token), match answers with BABILong's rule,
// and record accuracy per cell plus every sample in the run store. Also the seed's result files: the
// per-cell CSVs and `acc_<model>.npy`, written and scored.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/babilong/babilong.h"
#include "core/jobs/train_job.h"
#include "core/model/language_model.h"

namespace dm::jobs {

struct BabilongEvalOptions {
  std::string ckpt_path, tokenizer, name;
  std::vector<std::string> tasks = {"qa1", "qa2", "qa3", "qa4", "qa5"};
  std::vector<std::string> lengths = {"0k", "1k", "2k", "4k", "8k", "16k", "32k", "64k"};
  int64_t samples = 100;      // per cell
  uint64_t seed = 0;
  std::string data_dir;       // BABILong files to import instead of generating
  std::string pg19_dir;       // distractor books; default: the fortunes corpus
  babilong::PromptOptions prompt;
  int64_t max_new_tokens = 20;
  std::string results_folder, model_name;  // also write the seed's CSVs and acc_<model>.npy there
  // auto = the GPU when there is one; precision auto = bf16 autocast there (the seed evaluates in bf16),
  // fp32 on the CPU. Weights stay fp32.
  std::string device = "auto", precision = "auto";
};

struct BabilongEvalResult {
  int64_t run_id = 0;
  std::string status;
  torch::Tensor accuracy;  // [tasks, lengths] float64, percent
};

BabilongEvalResult run_babilong_eval(const Workspace& ws, const BabilongEvalOptions& opt, const train::EventSink& sink,
                                     const std::atomic<bool>& cancel);

// The records of one cell: imported from data_dir when given, else generated (deterministic in seed,
// task and length). Throws ConfigError for unknown tasks / lengths.
std::vector<babilong::Record> babilong_cell(const std::string& task, const std::string& length, int64_t n, uint64_t seed,
                                            const data::Codec& codec, const babilong::NoiseSource* noise,
                                            const std::string& data_dir);

// Greedy decoding on the model's device: prefill the prompt once, then one recurrent step per new token;
// stops at eos. Under `autocast` (bf16) the forward passes run in mixed precision, the SSM state in fp32.
std::vector<int64_t> generate_greedy(model::LanguageModel& m, const std::vector<int64_t>& prompt, int64_t max_new,
                                     std::optional<int64_t> eos, std::optional<at::ScalarType> autocast = std::nullopt);

// The seed's per-cell file `{task}_{length}_{prompt_name}.csv` (columns ",target,output,question").
void write_seed_csv(const std::string& path, const std::vector<babilong::Record>& records,
                    const std::vector<std::string>& outputs);
// plot.py's scoring: reads `{folder}/{model}/{task}_{length}_{prompt_name}.csv` for every cell (missing
// file → 0), scores with compare_answers, returns [tasks, lengths] percent; `missing` lists absent cells.
torch::Tensor score_seed_results(const std::string& folder, const std::string& model_name,
                                 const std::vector<std::string>& tasks, const std::vector<std::string>& lengths,
                                 const std::string& prompt_name, std::vector<std::string>* missing = nullptr);

// Several seeds of one model: per-cell mean and (sample, n − 1) standard deviation of equally shaped
// accuracy matrices. Throws ShapeError when the shapes differ.
std::pair<torch::Tensor, torch::Tensor> aggregate_seeds(const std::vector<torch::Tensor>& matrices);

}  // namespace dm::jobs
