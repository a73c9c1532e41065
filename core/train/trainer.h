// Trains a language model as an experiment config describes (the seed's LM pipeline): AdamW with
// parameter groups, warm-up + cosine schedule, gradient accumulation and clipping, periodic
// validation/test with corpus-level and per-batch-mean metrics, atomic resumable checkpoints.
// Reports through an EventSink; stops at a step boundary when `cancel` becomes true.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <torch/optim/adamw.h>

#include "core/config/experiment_config.h"
#include "core/model/language_model.h"
#include "core/train/events.h"

namespace dm::dist {
class Group;
}

namespace dm::train {

struct TrainOutcome {
  std::string status;  // finished | cancelled | diverged
  int64_t steps = 0;
  std::string message;
};

struct TrainOptions {
  std::string run_dir;     // checkpoint.safetensors and model.safetensors go here
  std::string data_root;   // dataset.data_dir defaults to data_root/<dataset.name>
  bool resume = false;     // continue from run_dir/checkpoint.safetensors
  int threads = 0;
  // Data-parallel: this process's group (nullptr = one process). Every rank calls train_language_model
  // with the same config and run_dir; rank 0 alone writes checkpoints and the model and emits events.
  dist::Group* group = nullptr;
};

TrainOutcome train_language_model(const config::ExperimentConfig& cfg, const TrainOptions& opt, const EventSink& sink,
                                  const std::atomic<bool>& cancel);

// Parameters trained without weight decay: A_log, D, dt_bias (every family's spelling), biases, norms, λ vectors.
bool no_weight_decay(const std::string& name);
// AdamW over two groups: decayed parameters and the no_weight_decay ones (decay 0).
std::unique_ptr<torch::optim::AdamW> make_adamw(model::LanguageModel& m, double lr, double beta1, double beta2, double eps,
                                                double weight_decay);

// Resolves trainer.accelerator / trainer.devices to a device, or throws ConfigError (e.g. a GPU
// asked for on a machine without one). Warnings (auto on a machine without a usable GPU, GPU indices
// ignored on CPU) go to `sink`.
// `local_rank` / `local_world`: this process's place on its machine in a data-parallel run (its GPU is
// trainer.devices[local_rank]). Several GPUs in one process are refused (they need several processes).
torch::Device resolve_device(const config::ExperimentConfig& cfg, const EventSink& sink, int local_rank = 0,
                             int local_world = 1);
// How many processes the config asks for: N for trainer.accelerator=cpu trainer.devices=N, the number of
// GPUs named when CUDA is there, else 1 (a GPU list on a machine without one trains on the CPU, warned).
int processes_for(const config::ExperimentConfig& cfg);

// "auto" found no usable GPU: a warning to `sink` naming the reason and `what` runs on the CPU instead,
// once per process (a null sink does not count).
void warn_cpu_fallback(const EventSink& sink, const std::string& what);

}  // namespace dm::train
