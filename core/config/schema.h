// The experiment configuration schema: every key a preset or an override may set, with its type,
// default, valid range and the documentation that --help and the GUI form show.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dm::config {

enum class KeyType { integer, number, boolean, string, choice, int_or_int_list, number_list };

struct KeySpec {
  std::string key;            // dotted, e.g. "loader.l_max"
  KeyType type;
  nlohmann::json default_value;
  std::string doc;
  double min = -1e300, max = 1e300;  // inclusive range for numbers and integers
  std::vector<std::string> choices;  // for KeyType::choice
  bool nullable = false;             // null accepted (e.g. "inherit" or "off")
  bool exclusive_min = false;        // value must be > min, not >=
  size_t list_size = 0;              // number_list: exactly this many values (0: any number)
};

const std::vector<KeySpec>& schema();
const KeySpec* find_key(const std::string& key);
// Up to `count` schema keys closest to `key` (edit distance on the whole key and its last part).
std::vector<std::string> nearest_keys(const std::string& key, size_t count = 3);
std::string type_name(const KeySpec& spec);

}  // namespace dm::config
