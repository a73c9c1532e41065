#include "core/config/experiment_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <yaml-cpp/yaml.h>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/config/schema.h"
#include "core/data/byte_level.h"
#include "core/io/atomic_file.h"

#ifndef DM_RESOURCE_DIR
#define DM_RESOURCE_DIR "resources"
#endif

namespace dm::config {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Presets and overrides never need deep nesting or aliases. A self-referencing alias (`&a [*a]`) makes a
// cyclic node graph and nested aliases ("billion laughs") an exponential one: both are cut off by a depth
// limit and a budget of values, with a message instead of a crash or a hang.
constexpr int kYamlMaxDepth = 32;
constexpr int64_t kYamlMaxValues = 100000;

json yaml_to_json(const YAML::Node& n, int depth, int64_t& budget) {
  if (depth > kYamlMaxDepth || --budget < 0)
    throw ConfigError("YAML", "(value)", "nests deeper than " + std::to_string(kYamlMaxDepth) + " levels or holds more than " +
                                            std::to_string(kYamlMaxValues) +
                                            " values (a self-referencing or repeated alias?); presets need neither");
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(yaml_to_json(e, depth + 1, budget));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second, depth + 1, budget);
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: always a string
      if (s == "null" || s == "~" || s == "Null" || s == "NULL") return nullptr;
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      try {
        size_t pos = 0;
        const long long v = std::stoll(s, &pos);
        if (pos == s.size()) return v;
      } catch (...) {
      }
      try {
        size_t pos = 0;
        const double v = std::stod(s, &pos);
        if (pos == s.size()) return v;
      } catch (...) {
      }
      return s;
    }
  }
  return nullptr;
}

json yaml_to_json(const YAML::Node& n) {
  int64_t budget = kYamlMaxValues;
  return yaml_to_json(n, 0, budget);
}

json::json_pointer pointer(const std::string& dotted) {
  std::string p;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) p += "/" + part;
  return json::json_pointer(p);
}

std::string show(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string range_text(const KeySpec& s) {
  // Whole bounds in full (1048576, not 1.04858e+06); others as the shortest text that reads back.
  auto bound = [](double x) {
    std::ostringstream b;
    if (std::abs(x) < 1e15 && x == std::floor(x)) b << static_cast<long long>(x);
    else b << x;
    return b.str();
  };
  std::ostringstream os;
  const bool lo = s.min > -1e299, hi = s.max < 1e299;
  if (lo && hi) os << "in " << (s.exclusive_min ? "(" : "[") << bound(s.min) << ", " << bound(s.max) << "]";
  else if (lo) os << (s.exclusive_min ? "> " : ">= ") << bound(s.min);
  return os.str();
}

[[noreturn]] void bad_value(const KeySpec& s, const json& v, const std::string& why = "") {
  std::string rule = "must be " + type_name(s);
  const auto r = range_text(s);
  if (!r.empty() && s.type != KeyType::choice && s.type != KeyType::string && s.type != KeyType::boolean)
    rule += " " + r;
  if (!why.empty()) rule += " (" + why + ")";
  throw ConfigError(s.key, show(v), rule);
}

void check_range(const KeySpec& s, const json& v, double x) {
  if (!std::isfinite(x) || x < s.min || x > s.max || (s.exclusive_min && x <= s.min)) bad_value(s, v);
}

// Checks v against the key's spec and returns it in canonical form (e.g. 32 → "32" for choices).
json normalize(const KeySpec& s, const json& v) {
  if (v.is_null()) {
    if (s.nullable) return nullptr;
    bad_value(s, v, "null is not allowed here");
  }
  switch (s.type) {
    case KeyType::integer:
      if (!v.is_number_integer()) bad_value(s, v);
      check_range(s, v, static_cast<double>(v.get<int64_t>()));
      return v.get<int64_t>();
    case KeyType::number:
      if (!v.is_number()) bad_value(s, v);
      check_range(s, v, v.get<double>());
      return v.get<double>();
    case KeyType::boolean:
      if (!v.is_boolean()) bad_value(s, v);
      return v;
    case KeyType::string:
      if (v.is_structured()) bad_value(s, v);
      return show(v);
    case KeyType::choice: {
      if (v.is_structured()) bad_value(s, v);
      const std::string t = show(v);
      if (std::find(s.choices.begin(), s.choices.end(), t) == s.choices.end()) bad_value(s, v);
      return t;
    }
    case KeyType::int_or_int_list:
      if (v.is_number_integer() && v.get<int64_t>() >= 0) return v;
      if (v.is_array() && !v.empty()) {
        for (const auto& e : v)
          if (!e.is_number_integer() || e.get<int64_t>() < 0) bad_value(s, v, "indices are integers >= 0");
        return v;
      }
      bad_value(s, v);
    case KeyType::number_list:
      if (!v.is_array() || v.empty()) bad_value(s, v);
      if (s.list_size > 0 && v.size() != s.list_size)
        bad_value(s, v, "exactly " + std::to_string(s.list_size) + " values");
      for (const auto& e : v) {
        if (!e.is_number()) bad_value(s, v);
        check_range(s, v, e.get<double>());
      }
      return v;
  }
  bad_value(s, v);
}

void set_key(json& tree, const std::string& key, const json& value) {
  const KeySpec* s = find_key(key);
  if (!s) {
    std::string near;
    for (const auto& k : nearest_keys(key)) near += (near.empty() ? "" : ", ") + k;
    throw ConfigError(key, show(value), "unknown configuration key; nearest valid keys: " + near);
  }
  tree[pointer(key)] = normalize(*s, value);
}

void merge_preset(json& tree, const json& node, const std::string& prefix, const std::string& file) {
  if (!node.is_object()) throw FileError(file, "a preset must be a YAML mapping of keys");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_object() && !find_key(key)) {
      merge_preset(tree, *it, key, file);
    } else {
      try {
        set_key(tree, key, *it);
      } catch (const ConfigError& e) {
        throw FileError(file, e.what());
      }
    }
  }
}

}  // namespace

std::string resource_dir() {
  if (const char* e = std::getenv("DM_RESOURCES"); e && *e) return e;
  return DM_RESOURCE_DIR;
}

std::string user_preset_dir() {
  if (const char* e = std::getenv("DM_USER_PRESETS"); e && *e) return e;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/diffmamba-studio/presets";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/diffmamba-studio/presets";
  return "diffmamba-presets";
}

namespace {

std::vector<std::string> presets_under(const fs::path& root, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
    if (it->path().extension() == ".yaml")
      out.push_back(prefix + fs::relative(it->path(), root).replace_extension("").generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

fs::path preset_path(const std::string& preset) {
  // A preset is a name inside a presets folder, never a path out of it.
  const fs::path rel(preset);
  bool escapes = preset.empty() || rel.is_absolute();
  for (const auto& part : rel) escapes = escapes || part == ".." || part == ".";
  if (escapes)
    throw ConfigError("experiment", preset, "is not a preset name (names like lm/mamba2-text8 or user/<name>; no paths)");
  if (preset.rfind("user/", 0) == 0) return fs::path(user_preset_dir()) / (preset.substr(5) + ".yaml");
  return fs::path(resource_dir()) / "presets" / (preset + ".yaml");
}

void emit_yaml(YAML::Emitter& out, const json& v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, x] : v.items()) {
      out << YAML::Key << k << YAML::Value;
      emit_yaml(out, x);
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& x : v) emit_yaml(out, x);
    out << YAML::EndSeq;
  } else if (v.is_null()) {
    out << YAML::Null;
  } else if (v.is_boolean()) {
    out << v.get<bool>();
  } else if (v.is_number_integer()) {
    out << v.get<int64_t>();
  } else if (v.is_number()) {
    out << YAML::Precision(17) << v.get<double>();
  } else {
    out << YAML::DoubleQuoted << v.get<std::string>();
  }
}

}  // namespace

std::vector<std::string> list_presets() {
  auto out = presets_under(fs::path(resource_dir()) / "presets", "");
  // A built-in "user/" folder would shadow the user's presets; the user's win.
  std::erase_if(out, [](const std::string& p) { return p.rfind("user/", 0) == 0; });
  for (auto& p : presets_under(user_preset_dir(), "user/")) out.push_back(std::move(p));
  return out;
}

std::string save_user_preset(const std::string& name, const ExperimentConfig& cfg, const std::string& description) {
  if (name.empty() || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
                          std::string::npos || name[0] == '.')
    throw ConfigError("preset name", name, "use letters, digits, '_', '-' and '.' (not first)");
  json tree = cfg.tree;
  tree.erase("experiment");
  tree["description"] = description;
  YAML::Emitter out;
  out << YAML::Comment("Saved by Diff-Mamba Studio" + (cfg.preset.empty() ? std::string() : " from " + cfg.preset));
  emit_yaml(out, tree);
  const fs::path dir = user_preset_dir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw FileError(dir.string(), "cannot create the presets folder: " + ec.message());
  io::write_file_atomic((dir / (name + ".yaml")).string(), std::string(out.c_str()) + "\n");
  return "user/" + name;
}

json parse_value(const std::string& text) {
  if (text.empty()) return "";  // `key=` sets an empty string (e.g. dataset.data_dir=)
  try {
    return yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception&) {
    return text;  // not YAML: keep it as a plain string; the key's type check decides
  }
}

const json& ExperimentConfig::at(const std::string& dotted) const { return tree.at(pointer(dotted)); }
int64_t ExperimentConfig::integer(const std::string& dotted) const { return at(dotted).get<int64_t>(); }
double ExperimentConfig::number(const std::string& dotted) const {
  const auto& v = at(dotted);
  return v.is_null() ? 0.0 : v.get<double>();
}
std::string ExperimentConfig::string(const std::string& dotted) const { return show(at(dotted)); }
bool ExperimentConfig::is_null(const std::string& dotted) const { return at(dotted).is_null(); }

std::string ExperimentConfig::canonical_json() const { return tree.dump(); }

std::string ExperimentConfig::hash() const { return dm::config_hash(canonical_json()); }

model::ModelConfig ExperimentConfig::model_config(int64_t vocab_size) const {
  const auto fam = model::family_from_string(string("model.family"), "model.family");
  auto c = model::ModelConfig::lm_defaults(fam);
  c.vocab_size = vocab_size;
  c.d_model = integer("model.d_model");
  c.n_layers = integer("model.n_layers");
  c.dropout = number("model.dropout");
  c.expand = integer("model.expand");
  c.head_dim = integer("model.head_dim");
  c.d_state = integer("model.d_state");
  c.n_groups = integer("model.n_groups");
  c.conv_kernel = integer("model.conv_kernel");
  c.chunk_size = integer("model.chunk_size");
  c.ffn_expand = integer("model.ffn_expand");
  c.emb_dropout = number("task.dropemb");
  c.div_val = integer("task.div_val");
  c.dropsoft = number("task.dropsoft");
  c.cutoffs.clear();
  for (const auto& v : at("task.cutoffs")) c.cutoffs.push_back(static_cast<int64_t>(v.get<double>()));
  // Runs stored before the key existed had no cluster logits.
  const auto fc = nlohmann::json::json_pointer("/task/faithful_clusters");
  c.faithful_clusters = tree.contains(fc) && tree.at(fc).is_boolean() && tree.at(fc).get<bool>();
  // Runs stored before the key existed used the LM backbone.
  const auto bb = nlohmann::json::json_pointer("/model/backbone");
  if (tree.contains(bb) && tree.at(bb).is_string() && tree.at(bb).get<std::string>() == "hf") {
    c.backbone = model::Backbone::hf;
    c.diff_layers = "alternate";
  }
  return c;
}

ExperimentConfig resolve(const std::vector<std::string>& args) {
  ExperimentConfig cfg;
  cfg.tree = json::object();
  for (const auto& s : schema()) cfg.tree[pointer(s.key)] = s.default_value;
  std::vector<std::pair<std::string, std::string>> sets;
  for (const auto& a : args) {
    // Every key and value ends up in JSON (the stored config, its hash): text only.
    try {
      data::byte_level::validate_utf8(a, "override");
    } catch (const Error& e) {
      throw ConfigError("override", "(not UTF-8 text)", e.what());
    }
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError(a, "(no value)", "overrides are written key=value, e.g. loader.l_max=512");
    std::string key = a.substr(0, eq);
    if (key[0] == '+') key = key.substr(1);
    const std::string value = a.substr(eq + 1);
    if (key == "experiment") {
      cfg.preset = value;
    } else {
      sets.emplace_back(key, value);
      cfg.overrides.push_back(a);
    }
  }
  if (!cfg.preset.empty()) {
    const auto path = preset_path(cfg.preset);
    if (!fs::exists(path)) {
      std::string all;
      for (const auto& p : list_presets()) all += (all.empty() ? "" : ", ") + p;
      throw ConfigError("experiment", cfg.preset, "no such preset; available: " + all);
    }
    json node;
    try {
      const auto text = io::read_file(path.string());  // read_file refuses FIFOs and devices
      try {
        data::byte_level::validate_utf8(text, "preset");
      } catch (const Error& e) {
        throw FileError(path.string(), e.what());
      }
      node = yaml_to_json(YAML::Load(text));
    } catch (const YAML::Exception& e) {
      throw FileError(path.string(), std::string("not valid YAML: ") + e.what());
    } catch (const ConfigError& e) {
      throw FileError(path.string(), e.rule());
    }
    merge_preset(cfg.tree, node, "", path.string());
    cfg.tree["experiment"] = cfg.preset;
  }
  for (const auto& [k, v] : sets) {
    json value;
    try {
      value = parse_value(v);
    } catch (const ConfigError& e) {
      throw ConfigError(k, v, e.rule());
    }
    set_key(cfg.tree, k, value);
  }
  // Cross-key rules: the model must be constructible (vocabulary size does not matter here).
  try {
    cfg.model_config(1).validate();
  } catch (const ConfigError& e) {
    throw ConfigError("model." + e.parameter(), e.value(), e.rule());
  }
  return cfg;
}

}  // namespace dm::config
