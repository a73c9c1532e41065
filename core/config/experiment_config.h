// An experiment's resolved configuration: schema defaults ← preset (YAML under resources/presets)
// ← command-line overrides in the seed's Hydra syntax (`a.b=c`, lists `[0,2]`, `null`).
// Validated key by key; stored as canonical JSON with a hash.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/model/config.h"

namespace dm::config {

struct ExperimentConfig {
  nlohmann::json tree;                 // nested object with every schema key
  std::string preset;                  // e.g. "lm/diffmamba2-text8"; "" when none
  std::vector<std::string> overrides;  // as given

  const nlohmann::json& at(const std::string& dotted) const;
  int64_t integer(const std::string& dotted) const;
  double number(const std::string& dotted) const;  // null reads as 0
  std::string string(const std::string& dotted) const;
  bool is_null(const std::string& dotted) const;

  std::string canonical_json() const;  // keys sorted, no whitespace
  std::string hash() const;            // 16 hex digits (FNV-1a 64 of canonical_json)
  // The model built from model.* (and task.dropemb) for a corpus of `vocab_size` symbols.
  model::ModelConfig model_config(int64_t vocab_size) const;
};

// The folder holding presets/ (env DM_RESOURCES, else the checkout's resources/).
std::string resource_dir();
// The folder of the user's own presets, named "user/<name>": env DM_USER_PRESETS, else
// $XDG_DATA_HOME/diffmamba-studio/presets, else ~/.local/share/diffmamba-studio/presets.
std::string user_preset_dir();
// Preset names ("lm/mamba2-text8", "demo/…", then "user/…"), sorted within each group.
std::vector<std::string> list_presets();
// Writes `cfg`'s resolved settings (every key but experiment/description) as the preset "user/<name>"
// with `description`, atomically; returns "user/<name>". Throws ConfigError on a name that is not
// [A-Za-z0-9_.-]+ and FileError when the folder cannot be written.
std::string save_user_preset(const std::string& name, const ExperimentConfig& cfg, const std::string& description);
// Parses one override value as YAML (numbers, true/false, null, [lists], strings).
nlohmann::json parse_value(const std::string& text);
// Builds and validates. `args` are the seed-style arguments: experiment=NAME and key=value pairs
// (a leading '+' is accepted). Throws ConfigError naming the key, the value and what is valid.
ExperimentConfig resolve(const std::vector<std::string>& args);

}  // namespace dm::config
