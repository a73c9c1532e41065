// Opens whatever a user names as a model (--ckpt_path / --model_id): a HuggingFace Mamba2 /
// Diff-Mamba2 / mamba_ssm directory, a run folder of ours (its model.safetensors), or one of our model
// files; with the codec that turns text into its token ids (the directory's tokenizer.json, a given
// tokenizer, or text8 characters for our character-level models).
#pragma once

#include <memory>
#include <string>

#include "core/data/codec.h"
#include "core/model/language_model.h"

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

// A --device value: auto (the GPU when there is one, else the CPU), cpu, cuda or cuda:N. Throws
// ConfigError for anything else, or for cuda on a machine without one.
torch::Device device_from_option(const std::string& want);

}  // namespace dm::jobs
