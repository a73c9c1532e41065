// HuggingFace Mamba2 checkpoint directories: config.json (HF keys, `Infinity` accepted) and weights
// in model.safetensors or a sharded model.safetensors.index.json; Diff-Mamba2's published layout
// (`diffmamba`, `diffmamba_settings`, mixer_1/mixer_2/lambda_q1/subln) included.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/model/language_model.h"

namespace dm::io {

// Parses JSON that may contain Python's bare Infinity / -Infinity / NaN (outside strings).
nlohmann::json parse_json_lenient(const std::string& text, const std::string& origin);
// HF Mamba2 config.json → our model config (hf backbone); missing keys take the HF class defaults.
model::ModelConfig model_config_from_hf(const nlohmann::json& j, const std::string& origin);
// Our model config → an HF config.json object (Diff-Mamba2 adds its two keys).
nlohmann::json hf_config_from_model(const model::ModelConfig& c);

// Loads an HF Mamba2 / Diff-Mamba2 directory. Throws FileError naming the file and the defect.
model::LanguageModel load_hf_directory(const std::string& dir);
// Writes config.json and model.safetensors (tied head stored once, as transformers does).
void save_hf_directory(model::LanguageModel& m, const std::string& dir);

}  // namespace dm::io
