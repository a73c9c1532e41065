#include "core/io/model_file.h"

#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/mapped_file.h"
#include "core/io/safetensors.h"
#include "core/runtime.h"

namespace dm::io {

void save_model(const model::LanguageModel& model, const std::string& path,
                const std::map<std::string, std::string>& extra_metadata) {
  NamedTensors tensors;
  for (const auto& item : model->named_parameters()) tensors.emplace_back(item.key(), item.value());
  std::map<std::string, std::string> meta = extra_metadata;
  meta["format"] = "pt";
  meta["dm_format"] = kModelFormat;
  meta["dm_model_config"] = model->config().to_json().dump();
  meta["libtorch"] = torch_version();
  if (model->config().tie_embeddings) meta["lm_head.weight"] = "backbone.embeddings.weight";
  write_safetensors(path, tensors, meta);
}

void check_config_fits_weights(const model::ModelConfig& cfg, const NamedTensors& weights, double allowance,
                               const std::string& where) {
  double held = 0;
  int64_t blocks = 0;
  const std::string layer_prefix = "backbone.layers.";
  for (const auto& [name, t] : weights) {
    held += static_cast<double>(t.numel());
    // "backbone.layers.<k>." (our names and HF's once their "model."/"backbone." prefix is normalised)
    const auto at = name.find(layer_prefix);
    if (at == std::string::npos) continue;
    const auto digits = name.substr(at + layer_prefix.size(), name.find('.', at + layer_prefix.size()) - at - layer_prefix.size());
    if (!digits.empty() && digits.size() < 10 && digits.find_first_not_of("0123456789") == std::string::npos)
      blocks = std::max<int64_t>(blocks, std::stoll(digits) + 1);
  }
  const double want = cfg.parameter_count();
  // Small differences are left to the per-tensor comparison after building, which names the tensor; a
  // config describing over twice what the file holds is refused here, before it allocates anything.
  if (want > 2 * (held + allowance) + (1 << 20)) {
    std::ostringstream os;
    os.precision(6);
    os << "the config describes " << want << " parameters in " << cfg.num_blocks() << " blocks (n_layers " << cfg.n_layers
       << ", d_model " << cfg.d_model << ", vocab_size " << cfg.vocab_size << "), but the weights hold " << held
       << " in " << blocks << " blocks; the config does not match the weights (nothing was built)";
    throw FileError(where, os.str());
  }
  try {
    cfg.check_memory_budget();
  } catch (const ConfigError& e) {
    throw FileError(where, e.what());
  }
}

model::LanguageModel load_model(const std::string& path) {
  const auto file = read_safetensors(path);
  auto fmt = file.metadata.find("dm_format");
  auto cfg_text = file.metadata.find("dm_model_config");
  if (fmt == file.metadata.end() || cfg_text == file.metadata.end())
    throw FileError(path, "not a Diff-Mamba Studio model file (metadata has no dm_format / dm_model_config)");
  if (fmt->second != kModelFormat)
    throw FileError(path, "model format '" + fmt->second + "' is not supported (this build reads " + kModelFormat + ")");
  model::ModelConfig cfg;
  try {
    cfg = model::ModelConfig::from_json(nlohmann::json::parse(cfg_text->second));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("stored model config is not valid JSON: ") + e.what());
  } catch (const ConfigError& e) {
    throw FileError(path, std::string("stored model config is invalid: ") + e.what());
  }
  const bool legacy_file = !file.find("output_bias") && !nlohmann::json::parse(cfg_text->second).contains("output_bias");
  check_config_fits_weights(cfg, file.tensors, legacy_file && cfg.has_output_bias() ? static_cast<double>(cfg.vocab_size) : 0,
                            path);
  model::LanguageModel m = [&] {
    model::SkipInit skip;  // every parameter is overwritten below
    return model::LanguageModel(cfg);
  }();
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  // Files written before the lm backbone had its output bias: the model they hold had none, i.e. a zero
  // bias. Said once per process.
  const bool legacy_bias = m->output_bias.defined() && legacy_file;
  if (legacy_bias) {
    m->output_bias.zero_();
    used.insert("output_bias");
    static std::once_flag said;
    std::call_once(said, [&] {
      std::fprintf(stderr, "note: %s predates the output bias; it loads with a zero bias (as it was trained)\n",
                   path.c_str());
    });
  }
  for (auto& item : m->named_parameters()) {
    if (used.count(item.key())) continue;
    const auto* t = file.find(item.key());
    if (!t) throw FileError(path, "missing tensor '" + item.key() + "'");
    if (t->sizes() != item.value().sizes())
      throw FileError(path, "tensor '" + item.key() + "' has shape " + c10::str(t->sizes()) + ", the config needs " +
                                c10::str(item.value().sizes()));
    item.value().copy_(*t);
    MappedFile::release_pages(*t);
    used.insert(item.key());
  }
  for (const auto& [name, t] : file.tensors)
    if (!used.count(name)) throw FileError(path, "unexpected tensor '" + name + "' for this config");
  return m;
}

}  // namespace dm::io
