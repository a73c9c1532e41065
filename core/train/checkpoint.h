// A resumable training checkpoint: model weights, AdamW state, the CPU RNG state and the position
// in the data, in one safetensors file written atomically (temp file, fsync, rename).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <torch/optim/adamw.h>

#include "core/model/language_model.h"

namespace dm::train {

inline constexpr const char* kCheckpointFormat = "diffmamba-studio-checkpoint/1";

struct Position {
  int64_t step = 0;        // optimizer steps done
  int64_t epoch = 0;       // epoch of the next batch
  int64_t next_batch = 0;  // index of the next batch in that epoch
};

void save_checkpoint(const std::string& path, model::LanguageModel& model, torch::optim::AdamW& opt,
                     const Position& pos, const nlohmann::json& extra);
// Loads into an already built model and optimizer (same config); returns the position and `extra`.
std::pair<Position, nlohmann::json> load_checkpoint(const std::string& path, model::LanguageModel& model,
                                                    torch::optim::AdamW& opt);

}  // namespace dm::train
