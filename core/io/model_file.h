// Our model file: one safetensors file with HF parameter names and, in its metadata, the model
// config, a format version and the LibTorch version that wrote it.
#pragma once

#include <map>
#include <string>

#include "core/model/language_model.h"

namespace dm::io {

inline constexpr const char* kModelFormat = "diffmamba-studio-model/1";

void save_model(const model::LanguageModel& model, const std::string& path,
                const std::map<std::string, std::string>& extra_metadata = {});
// Builds the model from the stored config and loads every parameter; throws FileError when the file
// is not ours, is damaged, or its tensors do not match the config.
model::LanguageModel load_model(const std::string& path);

// Before a model is built from a config that came with a weights file: refuses (FileError on `where`)
// when the config describes over twice the parameters the file holds (plus `allowance`, parameters a loader
// fills itself; smaller mismatches are named tensor by tensor after building), naming its block count and
// the file's, and when the model would not fit the memory budget. So a config.json or metadata claiming a
// million layers fails at once instead of allocating.
void check_config_fits_weights(const model::ModelConfig& cfg, const std::vector<std::pair<std::string, torch::Tensor>>& weights,
                               double allowance, const std::string& where);

}  // namespace dm::io
