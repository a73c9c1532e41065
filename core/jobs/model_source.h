// Opens whatever a user names as a model (--ckpt_path / --model_id): a HuggingFace Mamba2 /
// Diff-Mamba2 / mamba_ssm directory, a run folder of ours (its model.safetensors), or one of our model
// files; with the codec that turns text into its token ids (the directory's tokenizer.json, a given
// tokenizer, or text8 characters for our character-level models).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/data/codec.h"
#include "core/model/language_model.h"
#include "core/train/events.h"

namespace dm::jobs {

struct TextModel {
  model::LanguageModel model{nullptr};
  std::unique_ptr<data::Codec> codec;
  std::string source;  // what was loaded, for messages and the run record
};

// The model alone: a HuggingFace directory (config.json + weights), a run folder (its model.safetensors)
// or a model file written by diffmamba. `source` receives the file or directory actually loaded. Throws
// FileError naming what was expected when `path` is none of these.
model::LanguageModel open_model(const std::string& path, std::string* source = nullptr);

// Throws FileError naming what was expected when `path` is none of the above, or ConfigError when the
// codec's vocabulary does not fit the model's.
TextModel open_text_model(const std::string& path, const std::string& tokenizer = "");

// A job's --device: auto (the GPU when there is one; else the CPU, with a warning through `sink` once per
// process naming why no GPU can be used), cpu, cuda or cuda:N. A process that is one of `local_world` on
// this machine (torchrun, srun, --nproc_per_node) takes the GPU of its local rank for auto and cuda.
// Throws ConfigError for anything else, for a GPU this machine lacks (with the reason) and for cuda:N
// with several processes on the machine.
torch::Device device_from_option(const std::string& want, const train::EventSink& sink = nullptr, int local_rank = 0,
                                 int local_world = 1);

// Events a job says before its run exists (the CPU warning of --device auto), replayed into the run's sink
// once it does, so they reach the run's log and carry its id.
struct HeldEvents {
  std::vector<train::TrainEvent> events;
  train::EventSink sink() {
    return [this](const train::TrainEvent& e) { events.push_back(e); };
  }
  void replay(const train::EventSink& to) {
    if (to)
      for (const auto& e : events) to(e);
    events.clear();
  }
};

// A job's --precision for its forward passes (weights stay fp32): auto (bf16 autocast on a GPU where the
// seed evaluates in bf16, `bf16_on_gpu`; fp32 otherwise), 32 / 32-true / fp32, or bf16 / bf16-mixed (also
// on the CPU). Returns the autocast dtype, none for fp32; throws ConfigError naming `option` otherwise.
std::optional<at::ScalarType> autocast_from_option(const std::string& option, const std::string& value,
                                                   const torch::Device& device, bool bf16_on_gpu);
// "bf16-mixed" or "32": what a run record stores for an autocast dtype.
std::string precision_name(std::optional<at::ScalarType> autocast);

// The device a model's weights are on (the CPU for a model without parameters).
torch::Device model_device(const model::LanguageModel& m);

}  // namespace dm::jobs
