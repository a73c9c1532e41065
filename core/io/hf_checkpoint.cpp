#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/io/mapped_file.h"
#include "core/io/torch_pickle.h"

namespace dm::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kInf = "__dm_inf__";
constexpr const char* kNegInf = "__dm_-inf__";
constexpr const char* kNaN = "__dm_nan__";

double number_of(const json& v, const std::string& key, const std::string& origin) {
  if (v.is_number()) return v.get<double>();
  // transformers ≥ 5 writes non-finite floats as {"__float__": "Infinity"}.
  if (v.is_object() && v.size() == 1 && v.contains("__float__") && v.at("__float__").is_string()) {
    const auto& f = v.at("__float__").get_ref<const std::string&>();
    if (f == "Infinity" || f == "inf") return std::numeric_limits<double>::infinity();
    if (f == "-Infinity" || f == "-inf") return -std::numeric_limits<double>::infinity();
    if (f == "NaN" || f == "nan") return std::nan("");
  }
  if (v == kInf) return std::numeric_limits<double>::infinity();
  if (v == kNegInf) return -std::numeric_limits<double>::infinity();
  if (v == kNaN) return std::nan("");
  throw FileError(origin, "config key '" + key + "' must be a number, got " + v.dump());
}

template <typename T>
T get_or(const json& j, const char* key, T def, const std::string& origin) {
  if (!j.contains(key) || j.at(key).is_null()) return def;
  const auto& v = j.at(key);
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw FileError(origin, std::string("config key '") + key + "' must be true or false");
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) throw FileError(origin, std::string("config key '") + key + "' must be an integer");
    return v.get<T>();
  } else {
    return static_cast<T>(number_of(v, key, origin));
  }
}

std::string strip_prefix(const std::string& name) {
  // Accept bare Mamba2Model names (no "backbone.") and mamba_ssm's "embedding." spelling.
  std::string n = name.rfind("backbone.", 0) == 0 || name.rfind("lm_head.", 0) == 0 ? name : "backbone." + name;
  const std::string old = "backbone.embedding.";
  if (n.rfind(old, 0) == 0) n = "backbone.embeddings." + n.substr(old.size());
  return n;
}

}  // namespace

json parse_json_lenient(const std::string& text, const std::string& origin) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < text.size()) out += text[++i];
      else if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') {
      in_string = true;
      out += ch;
    } else if (text.compare(i, 9, "-Infinity") == 0) {
      out += std::string("\"") + kNegInf + "\"";
      i += 8;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      out += std::string("\"") + kInf + "\"";
      i += 7;
    } else if (text.compare(i, 3, "NaN") == 0) {
      out += std::string("\"") + kNaN + "\"";
      i += 2;
    } else {
      out += ch;
    }
  }
  try {
    return json::parse(out);
  } catch (const json::exception& e) {
    throw FileError(origin, std::string("not valid JSON: ") + e.what());
  }
}

namespace {

// An original mamba_ssm config.json (MambaConfig: d_model, n_layer, ssm_cfg, …) as the HF keys the
// conversion script writes (checkpoint-formats §2.3); settings HF cannot express are refused.
json hf_keys_from_mamba_ssm(const json& j, const std::string& origin) {
  auto bad = [&](const std::string& what) { throw FileError(origin, "mamba_ssm config: " + what); };
  const json ssm = j.value("ssm_cfg", json::object());
  if (!ssm.is_object()) bad("ssm_cfg must be an object");
  const std::string layer = ssm.value("layer", std::string("Mamba1"));
  if (layer != "Mamba2" && layer != "Mamba1") bad("ssm_cfg.layer must be \"Mamba1\" or \"Mamba2\"");
  if (j.value("d_intermediate", 0) != 0) bad("d_intermediate must be 0 (MLP layers are not supported)");
  if (!j.value("attn_layer_idx", json::array()).empty()) bad("attn_layer_idx must be empty (attention layers are not supported)");
  if (!j.value("rms_norm", true)) bad("rms_norm must be true");
  if (layer == "Mamba1")  // mamba_ssm's Mamba (v1) layer: MambaConfig's keys in transformers' names
    return {{"model_type", "mamba"},
            {"hidden_size", j.at("d_model")},
            {"num_hidden_layers", j.value("n_layer", json(64))},
            {"vocab_size", j.value("vocab_size", json(50277))},
            {"pad_vocab_size_multiple", j.value("pad_vocab_size_multiple", json(8))},
            {"tie_word_embeddings", j.value("tie_embeddings", json(true))},
            {"residual_in_fp32", j.value("residual_in_fp32", json(true))},
            {"layer_norm_epsilon", j.value("norm_epsilon", json(1e-5))},
            {"state_size", ssm.value("d_state", json(16))},
            {"conv_kernel", ssm.value("d_conv", json(4))},
            {"expand", ssm.value("expand", json(2))},
            {"time_step_rank", ssm.value("dt_rank", json("auto"))},
            {"use_bias", ssm.value("bias", json(false))},
            {"use_conv_bias", ssm.value("conv_bias", json(true))},
            {"time_step_min", ssm.value("dt_min", json(1e-3))},
            {"time_step_max", ssm.value("dt_max", json(0.1))},
            {"time_step_floor", ssm.value("dt_init_floor", json(1e-4))}};
  if (ssm.value("D_has_hdim", false) || ssm.value("norm_before_gate", false) || !ssm.value("rmsnorm", true) ||
      (ssm.contains("d_ssm") && !ssm.at("d_ssm").is_null()))
    bad("D_has_hdim, norm_before_gate, d_ssm and rmsnorm must keep their defaults");
  json h = {{"model_type", "mamba2"},
            {"hidden_size", j.at("d_model")},
            {"num_hidden_layers", j.value("n_layer", json(64))},
            {"vocab_size", j.value("vocab_size", json(50277))},
            {"pad_vocab_size_multiple", j.value("pad_vocab_size_multiple", json(8))},
            {"tie_word_embeddings", j.value("tie_embeddings", json(true))},
            {"residual_in_fp32", j.value("residual_in_fp32", json(true))},
            {"layer_norm_epsilon", j.value("norm_epsilon", json(1e-5))},
            {"state_size", ssm.value("d_state", json(128))},
            {"conv_kernel", ssm.value("d_conv", json(4))},
            {"expand", ssm.value("expand", json(2))},
            {"head_dim", ssm.value("headdim", json(64))},
            {"n_groups", ssm.value("ngroups", json(1))},
            {"chunk_size", ssm.value("chunk_size", json(256))},
            {"use_bias", ssm.value("bias", json(false))},
            {"use_conv_bias", ssm.value("conv_bias", json(true))},
            {"time_step_min", ssm.value("dt_min", json(1e-3))},
            {"time_step_max", ssm.value("dt_max", json(0.1))},
            {"time_step_floor", ssm.value("dt_init_floor", json(1e-4))}};
  if (ssm.contains("dt_limit")) h["time_step_limit"] = ssm.at("dt_limit");
  for (const char* k : {"diffmamba", "diffmamba_settings"})
    if (j.contains(k)) h[k] = j.at(k);
  return h;
}

// The keys transformers' MambaConfig and Mamba2Config share, with the defaults of the one the file is
// (`defaults`: its vocab_size, hidden_size, num_hidden_layers, state_size and tie_word_embeddings).
struct SharedDefaults {
  int64_t vocab_size, hidden_size, layers, state_size;
  bool tie;
};
void read_shared_hf_keys(const json& j, const std::string& origin, const SharedDefaults& def, model::ModelConfig& c) {
  c.vocab_size = get_or<int64_t>(j, "vocab_size", def.vocab_size, origin);
  // mamba_ssm (and some HF conversions) round the embedding up to a multiple.
  if (const auto mult = get_or<int64_t>(j, "pad_vocab_size_multiple", 1, origin); mult > 1 && c.vocab_size % mult)
    c.vocab_size += mult - c.vocab_size % mult;
  c.d_model = get_or<int64_t>(j, "hidden_size", def.hidden_size, origin);
  c.n_layers = get_or<int64_t>(j, "num_hidden_layers", def.layers, origin);
  c.expand = get_or<int64_t>(j, "expand", 2, origin);
  c.d_state = get_or<int64_t>(j, "state_size", def.state_size, origin);
  c.conv_kernel = get_or<int64_t>(j, "conv_kernel", 4, origin);
  c.norm_eps = get_or<double>(j, "layer_norm_epsilon", 1e-5, origin);
  c.use_bias = get_or<bool>(j, "use_bias", false, origin);
  c.use_conv_bias = get_or<bool>(j, "use_conv_bias", true, origin);
  c.residual_in_fp32 = get_or<bool>(j, "residual_in_fp32", true, origin);
  c.tie_embeddings = get_or<bool>(j, "tie_word_embeddings", def.tie, origin);
  c.initializer_range = get_or<double>(j, "initializer_range", 0.1, origin);
  c.rescale_prenorm_residual = get_or<bool>(j, "rescale_prenorm_residual", false, origin);
  c.dt_min = get_or<double>(j, "time_step_min", 1e-3, origin);
  c.dt_max = get_or<double>(j, "time_step_max", 0.1, origin);
  c.dt_init_floor = get_or<double>(j, "time_step_floor", 1e-4, origin);
}

// transformers' MambaConfig (Mamba-1), its defaults for every key the file omits.
model::ModelConfig mamba1_config_from_hf(const json& j, const std::string& origin) {
  // Our Diff-Mamba (Mamba-1) checkpoints say so as the published Diff-Mamba2 layout does ("diffmamba").
  auto c = model::ModelConfig::hf_370m(j.contains("diffmamba") ? model::Family::diffmamba
                                       : j.contains("diffs6")  ? model::Family::diffs6
                                                               : model::Family::mamba);
  if (j.contains("diffmamba")) {
    const auto& st = j.value("diffmamba_settings", json("alternate"));
    c.diff_layers = st.is_string() ? st.get<std::string>() : st.dump();
  }
  read_shared_hf_keys(j, origin, {50280, 768, 32, 16, true}, c);
  if (j.contains("time_step_rank") && !(j.at("time_step_rank").is_string() && j.at("time_step_rank") == "auto"))
    c.dt_rank = get_or<int64_t>(j, "time_step_rank", 0, origin);
  if (j.contains("intermediate_size") &&
      get_or<int64_t>(j, "intermediate_size", 0, origin) != c.expand * c.d_model)
    throw FileError(origin, "intermediate_size = " + j.at("intermediate_size").dump() + " must equal expand · hidden_size = " +
                                std::to_string(c.expand * c.d_model));
  for (const auto& [key, v] : {std::pair<const char*, int64_t>{"hidden_size", c.d_model}, {"expand", c.expand},
                               {"num_hidden_layers", c.n_layers}, {"vocab_size", c.vocab_size},
                               {"time_step_rank", c.dt_rank + 1}})
    if (v <= 0) throw FileError(origin, std::string(key) + " must be positive");
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw FileError(origin, std::string("describes an invalid model: ") + e.what());
  }
  return c;
}

}  // namespace

model::ModelConfig model_config_from_hf(const json& in, const std::string& origin) {
  if (!in.is_object()) throw FileError(origin, "config.json must hold a JSON object");
  const json j = in.contains("d_model") && !in.contains("hidden_size") ? hf_keys_from_mamba_ssm(in, origin) : in;
  if (j.contains("model_type") && j.at("model_type") == "mamba") return mamba1_config_from_hf(j, origin);
  if (j.contains("model_type") && j.at("model_type") != "mamba2")
    throw FileError(origin, "model_type is " + j.at("model_type").dump() + ", expected \"mamba2\" or \"mamba\"");
  const bool diff = j.contains("diffmamba") || j.contains("diffmamba2E");
  auto c = model::ModelConfig::hf_370m(j.contains("diffs6mamba2") ? model::Family::diffs6mamba2
                                       : j.contains("diffmamba2E") ? model::Family::diffmamba2E
                                       : diff                    ? model::Family::diffmamba2
                                                                 : model::Family::mamba2);
  // Defaults of transformers' Mamba2Config for every key the file omits (checkpoint-formats §2.1).
  read_shared_hf_keys(j, origin, {32768, 4096, 64, 128, false}, c);
  c.head_dim = get_or<int64_t>(j, "head_dim", 64, origin);
  c.n_groups = get_or<int64_t>(j, "n_groups", 8, origin);
  c.chunk_size = get_or<int64_t>(j, "chunk_size", 256, origin);
  if (j.contains("time_step_limit")) {
    const auto& lim = j.at("time_step_limit");
    if (!lim.is_array() || lim.size() != 2) throw FileError(origin, "time_step_limit must be [min, max]");
    c.dt_limit_min = number_of(lim[0], "time_step_limit", origin);
    c.dt_limit_max = number_of(lim[1], "time_step_limit", origin);
  }
  // Checked before anything divides by them (head_dim 0 was a SIGFPE).
  for (const auto& [key, v] : {std::pair<const char*, int64_t>{"hidden_size", c.d_model}, {"head_dim", c.head_dim},
                               {"expand", c.expand}, {"num_hidden_layers", c.n_layers}, {"vocab_size", c.vocab_size}})
    if (v <= 0) throw FileError(origin, std::string(key) + " = " + std::to_string(v) + " must be positive");
  const int64_t heads = get_or<int64_t>(j, "num_heads", c.expand * c.d_model / c.head_dim, origin);
  if (heads <= 0) throw FileError(origin, "num_heads = " + std::to_string(heads) + " must be positive");
  if (heads * c.head_dim != c.expand * c.d_model)
    throw FileError(origin, "num_heads · head_dim = " + std::to_string(heads * c.head_dim) + " must equal expand · hidden_size = " +
                                std::to_string(c.expand * c.d_model));
  if (diff) {
    const auto& s = j.value("diffmamba_settings", json("alternate"));
    c.diff_layers = s.is_string() ? s.get<std::string>() : s.dump();
  }
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw FileError(origin, std::string("describes an invalid model: ") + e.what());
  }
  return c;
}

json hf_config_from_model(const model::ModelConfig& c) {
  if (c.is_mamba1()) {
    json m = {{"model_type", "mamba"},
            {"architectures", {c.family == model::Family::diffmamba ? "DiffMambaForCausalLM"
                               : c.family == model::Family::diffs6  ? "DiffS6ForCausalLM"
                                                                    : "MambaForCausalLM"}},
            {"vocab_size", c.vocab_size},
            {"hidden_size", c.d_model},
            {"num_hidden_layers", c.n_layers},
            {"expand", c.expand},
            {"state_size", c.d_state},
            {"conv_kernel", c.conv_kernel},
            {"time_step_rank", c.mamba1_mixer().rank()},
            {"layer_norm_epsilon", c.norm_eps},
            {"use_bias", c.use_bias},
            {"use_conv_bias", c.use_conv_bias},
            {"residual_in_fp32", c.residual_in_fp32},
            {"tie_word_embeddings", c.tie_embeddings},
            {"initializer_range", c.initializer_range},
            {"rescale_prenorm_residual", c.rescale_prenorm_residual},
            {"time_step_min", c.dt_min},
            {"time_step_max", c.dt_max},
            {"time_step_floor", c.dt_init_floor},
            {"time_step_scale", 1.0},
            {"time_step_init_scheme", "random"},
            {"hidden_act", "silu"}};
    if (c.family == model::Family::diffmamba) {
      m["diffmamba"] = true;
      m["diffmamba_settings"] = c.diff_layers;
    }
    if (c.family == model::Family::diffs6) m["diffs6"] = true;  // ours: x_proj_2, dt_proj_2, A_log_2, D_2
    return m;
  }
  json j = {{"model_type", "mamba2"},
            {"architectures", {c.family == model::Family::diffmamba2 ? "DiffMamba2ForCausalLM" : "Mamba2ForCausalLM"}},
            {"vocab_size", c.vocab_size},
            {"hidden_size", c.d_model},
            {"num_hidden_layers", c.n_layers},
            {"expand", c.expand},
            {"head_dim", c.head_dim},
            {"num_heads", c.n_heads()},
            {"state_size", c.d_state},
            {"n_groups", c.n_groups},
            {"conv_kernel", c.conv_kernel},
            {"chunk_size", c.chunk_size},
            {"layer_norm_epsilon", c.norm_eps},
            {"use_bias", c.use_bias},
            {"use_conv_bias", c.use_conv_bias},
            {"residual_in_fp32", c.residual_in_fp32},
            {"tie_word_embeddings", c.tie_embeddings},
            {"initializer_range", c.initializer_range},
            {"rescale_prenorm_residual", c.rescale_prenorm_residual},
            {"time_step_min", c.dt_min},
            {"time_step_max", c.dt_max},
            {"time_step_floor", c.dt_init_floor},
            {"time_step_limit", {c.dt_limit_min, std::isinf(c.dt_limit_max) ? json(kInf) : json(c.dt_limit_max)}},
            {"rms_norm", true},
            {"hidden_act", "silu"}};
  if (c.family == model::Family::diffs6mamba2) j["diffs6mamba2"] = true;  // ours: in_proj1 / in_proj2 per mixer
  if (c.family == model::Family::diffmamba2E) {  // ours: one full mixer per block, its halves subtracted
    j["diffmamba2E"] = true;
    j["diffmamba_settings"] = c.diff_layers;
  }
  if (c.family == model::Family::diffmamba2) {
    j["diffmamba"] = true;
    j["diffmamba_settings"] = c.diff_layers;
    j["verbose"] = 1;
  }
  return j;
}

model::LanguageModel load_hf_directory(const std::string& dir) {
  const fs::path d(dir);
  const auto cfg_path = (d / "config.json").string();
  if (!fs::exists(cfg_path)) throw FileError(dir, "no config.json: not a HuggingFace model directory");
  auto cfg = model_config_from_hf(parse_json_lenient(read_file(cfg_path), cfg_path), cfg_path);
  if (cfg.backbone != model::Backbone::hf) throw FileError(cfg_path, "not an hf-backbone model");
  // Weights: model.safetensors, pytorch_model.bin, or the shards that either index names.
  std::map<std::string, std::pair<torch::Tensor, std::string>> tensors;  // name → (tensor, file)
  auto add_file = [&](const fs::path& f) {
    const bool is_bin = f.extension() == ".bin";
    const auto named = is_bin ? read_torch_state_dict(f.string()) : read_safetensors(f.string()).tensors;
    for (const auto& [name, t] : named) {
      if (!tensors.emplace(strip_prefix(name), std::make_pair(t, f.string())).second)
        throw FileError(f.string(), "tensor '" + name + "' appears twice");
    }
  };
  auto add_index = [&](const fs::path& idx_file) {
    const auto idx_path = idx_file.string();
    const auto idx = parse_json_lenient(read_file(idx_path), idx_path);
    if (!idx.contains("weight_map") || !idx.at("weight_map").is_object())
      throw FileError(idx_path, "has no weight_map object");
    std::set<std::string> files;
    for (auto it = idx.at("weight_map").begin(); it != idx.at("weight_map").end(); ++it) {
      if (!it->is_string()) throw FileError(idx_path, "weight_map['" + it.key() + "'] is not a file name");
      files.insert(it->get<std::string>());
    }
    for (const auto& f : files) {
      if (fs::path(f).has_parent_path()) throw FileError(idx_path, "names a shard outside the directory: " + f);
      if (!fs::exists(d / f)) throw FileError(idx_path, "names the shard " + f + ", which is missing");
      add_file(d / f);
    }
    for (auto it = idx.at("weight_map").begin(); it != idx.at("weight_map").end(); ++it)
      if (!tensors.count(strip_prefix(it.key())))
        throw FileError(idx_path, "lists '" + it.key() + "' in " + it->get<std::string>() + ", which does not hold it");
  };
  if (fs::exists(d / "model.safetensors")) add_file(d / "model.safetensors");
  else if (fs::exists(d / "model.safetensors.index.json")) add_index(d / "model.safetensors.index.json");
  else if (fs::exists(d / "pytorch_model.bin")) add_file(d / "pytorch_model.bin");
  else if (fs::exists(d / "pytorch_model.bin.index.json")) add_index(d / "pytorch_model.bin.index.json");
  else
    throw FileError(dir, "no weights: expected model.safetensors, pytorch_model.bin or one of their .index.json files");
  // A tied head may be stored (equal to the embedding) or left out.
  if (cfg.tie_embeddings) tensors.erase("lm_head.weight");
  else if (!tensors.count("lm_head.weight"))
    throw FileError(dir, "tie_word_embeddings is false but there is no lm_head.weight");
  {
    NamedTensors held;
    for (const auto& [name, tf] : tensors) held.emplace_back(name, tf.first);
    check_config_fits_weights(cfg, held, 0, cfg_path);
  }
  model::LanguageModel m = [&] {
    model::SkipInit skip;  // every parameter is overwritten below
    return model::LanguageModel(cfg);
  }();
  torch::NoGradGuard ng;
  std::set<std::string> used;
  for (auto& item : m->named_parameters()) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) throw FileError(dir, "missing tensor '" + item.key() + "'");
    const auto& [t, file] = it->second;
    if (t.sizes() != item.value().sizes())
      throw FileError(file, "tensor '" + item.key() + "' has shape " + c10::str(t.sizes()) + ", config.json implies " +
                                c10::str(item.value().sizes()));
    item.value().copy_(t);  // converts F16/BF16 on the fly; no second full-size copy
    MappedFile::release_pages(t);
    used.insert(item.key());
  }
  for (const auto& [name, tf] : tensors)
    if (!used.count(name)) throw FileError(tf.second, "unexpected tensor '" + name + "' for this config.json");
  return m;
}

void save_hf_directory(model::LanguageModel& m, const std::string& dir) {
  if (m->config().backbone != model::Backbone::hf)
    throw Error("only hf-backbone models have a HuggingFace layout (this one is an lm-backbone model)");
  std::error_code ec;
  fs::create_directories(dir, ec);
  NamedTensors t;
  for (const auto& item : m->named_parameters()) t.emplace_back(item.key(), item.value());
  std::map<std::string, std::string> meta{{"format", "pt"}};
  write_safetensors((fs::path(dir) / "model.safetensors").string(), t, meta);
  auto text = hf_config_from_model(m->config()).dump(2);
  // Python's json writes the unbounded limit as a bare Infinity.
  const std::string quoted = std::string("\"") + kInf + "\"";
  for (size_t p; (p = text.find(quoted)) != std::string::npos;) text.replace(p, quoted.size(), "Infinity");
  write_file_atomic((fs::path(dir) / "config.json").string(), text + "\n");
}

}  // namespace dm::io
