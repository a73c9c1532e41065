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

}  // namespace dm::io
