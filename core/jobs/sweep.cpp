#include "core/jobs/sweep.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/common/error.h"
#include "core/config/schema.h"

namespace dm::jobs {
namespace {

constexpr size_t kMaxCombinations = 10000;

std::string flow(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

bool list_key(const std::string& key) {
  const auto* k = config::find_key(key);
  return k && (k->type == config::KeyType::int_or_int_list || k->type == config::KeyType::number_list);
}

}  // namespace

size_t Grid::size() const {
  size_t n = 1;
  for (const auto& a : axes) n *= a.values.size();
  return n;
}

Grid parse_grid(const std::vector<std::string>& args) {
  Grid g;
  std::set<std::string> seen;
  for (const auto& a : args) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0 || a.size() > 10000) {
      g.fixed.push_back(a);
      continue;
    }
    const std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (!seen.insert(key).second) throw ConfigError(key, value, "is given twice; give each key once (a list makes it a grid axis)");
    YAML::Node n;
    try {
      n = YAML::Load(value);
    } catch (const YAML::Exception&) {
      g.fixed.push_back(a);  // not YAML: left to the config's own validation
      continue;
    }
    const bool lists = list_key(key);
    const bool axis = key != "experiment" && n.IsSequence() && (!lists || (n.size() > 0 && n[0].IsSequence()));
    if (!axis) {
      g.fixed.push_back(a);
      continue;
    }
    if (n.size() == 0) throw ConfigError(key, value, "a grid axis needs at least one value");
    GridAxis ax;
    ax.key = key;
    for (const auto& e : n) {
      if (lists && !e.IsSequence()) throw ConfigError(key, value, "a grid over a list key is a list of lists, e.g. [[0],[1]]");
      ax.values.push_back(flow(e));
    }
    g.axes.push_back(std::move(ax));
    if (g.size() > kMaxCombinations)
      throw ConfigError("grid", std::to_string(g.size()) + " combinations", "at most 10,000 runs in one sweep");
  }
  return g;
}

std::vector<std::vector<std::string>> combinations(const Grid& g) {
  std::vector<std::vector<std::string>> out;
  std::vector<size_t> at(g.axes.size(), 0);
  for (size_t c = 0; c < g.size(); ++c) {
    auto args = g.fixed;
    for (size_t i = 0; i < g.axes.size(); ++i) args.push_back(g.axes[i].key + "=" + g.axes[i].values[at[i]]);
    out.push_back(std::move(args));
    for (size_t i = g.axes.size(); i-- > 0;) {  // the last axis varies fastest
      if (++at[i] < g.axes[i].values.size()) break;
      at[i] = 0;
    }
  }
  return out;
}

std::string grid_json(const Grid& g) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& a : g.axes) j[a.key] = a.values;
  return j.dump();
}

}  // namespace dm::jobs
