#include "core/store/run_filter.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/common/error.h"

namespace dm::store {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool number_of(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

// The value a key names: exactly, else the shortest dotted key whose last part it is (`l_max` →
// loader.l_max, not loader.eval.l_max); two equally short ones are ambiguous (none).
const std::string* lookup(const RunFields& f, const std::string& key) {
  if (auto it = f.find(key); it != f.end()) return &it->second;
  if (key.find('.') != std::string::npos) return nullptr;
  const std::string* found = nullptr;
  size_t best = std::string::npos;
  bool tie = false;
  for (const auto& [k, v] : f) {
    if (k.size() > key.size() + 1 && k.compare(k.size() - key.size(), key.size(), key) == 0 &&
        k[k.size() - key.size() - 1] == '.') {
      const auto depth = static_cast<size_t>(std::count(k.begin(), k.end(), '.'));
      if (depth < best) {
        best = depth;
        found = &v;
        tie = false;
      } else if (depth == best) {
        tie = true;
      }
    }
  }
  return tie ? nullptr : found;
}

bool holds(const FilterClause& c, const std::string& have) {
  using Op = FilterClause::Op;
  if (c.op == Op::contains) return lower(have).find(lower(c.value)) != std::string::npos;
  double a = 0, b = 0;
  const bool numeric = number_of(have, a) && number_of(c.value, b);
  const int cmp = numeric ? (a < b ? -1 : a > b ? 1 : 0) : have.compare(c.value) < 0 ? -1 : have == c.value ? 0 : 1;
  switch (c.op) {
    case Op::eq: return cmp == 0;
    case Op::ne: return cmp != 0;
    case Op::lt: return cmp < 0;
    case Op::le: return cmp <= 0;
    case Op::gt: return cmp > 0;
    case Op::ge: return cmp >= 0;
    case Op::contains: break;
  }
  return false;
}

}  // namespace

RunFields run_fields(const RunRecord& r, const std::vector<MetricRow>& last_metrics) {
  RunFields f = {{"id", std::to_string(r.id)},     {"name", r.name},         {"kind", r.kind},
                 {"family", r.family},             {"preset", r.preset},     {"status", r.status},
                 {"host", r.host},                 {"device", r.device},     {"git_rev", r.git_rev},
                 {"created_at", r.created_at},     {"started_at", r.started_at}, {"ended_at", r.ended_at},
                 {"config_hash", r.config_hash},   {"message", r.message},   {"archived", r.archived ? "1" : "0"},
                 {"sweep", std::to_string(r.sweep_id)}};
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(r.config_json.empty() ? "{}" : r.config_json);
  } catch (const nlohmann::json::exception&) {
    cfg = nlohmann::json::object();
  }
  // Flattened with an explicit stack: "a.b.c" → scalar text (strings bare, others as JSON).
  std::vector<std::pair<std::string, const nlohmann::json*>> todo{{"", &cfg}};
  while (!todo.empty()) {
    auto [prefix, j] = todo.back();
    todo.pop_back();
    if (j->is_object()) {
      for (const auto& [k, v] : j->items()) todo.emplace_back(prefix.empty() ? k : prefix + "." + k, &v);
    } else if (!prefix.empty()) {
      f.emplace(prefix, j->is_string() ? j->get<std::string>() : j->dump());
    }
  }
  for (const auto& m : last_metrics) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", m.value);
    f[m.name] = buf;
  }
  return f;
}

const char* RunFilter::syntax() {
  return "key=value, key!=value, key<n, key<=n, key>n, key>=n, key~text (contains); other words: a phrase in any field";
}

RunFilter RunFilter::parse(const std::string& text) {
  RunFilter out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    const std::string tok = text.substr(i, j - i);
    i = j;
    const auto at = tok.find_first_of("=!<>~");
    if (at == std::string::npos) {
      out.words_.push_back(tok);
      continue;
    }
    FilterClause c;
    c.key = tok.substr(0, at);
    size_t v = at + 1;
    switch (tok[at]) {
      case '=': c.op = FilterClause::Op::eq; break;
      case '~': c.op = FilterClause::Op::contains; break;
      case '!':
        if (at + 1 >= tok.size() || tok[at + 1] != '=')
          throw ConfigError("filter", "'" + tok + "'", std::string("'!' must be followed by '='; ") + syntax());
        c.op = FilterClause::Op::ne;
        v = at + 2;
        break;
      case '<':
      case '>': {
        const bool eq = at + 1 < tok.size() && tok[at + 1] == '=';
        c.op = tok[at] == '<' ? (eq ? FilterClause::Op::le : FilterClause::Op::lt) : (eq ? FilterClause::Op::ge : FilterClause::Op::gt);
        v = at + (eq ? 2 : 1);
        break;
      }
    }
    c.value = tok.substr(v);
    if (c.key.empty() || c.value.empty())
      throw ConfigError("filter", "'" + tok + "'", std::string("needs a key and a value; ") + syntax());
    out.clauses_.push_back(std::move(c));
  }
  return out;
}

bool RunFilter::matches(const RunFields& f) const {
  for (const auto& c : clauses_) {
    const auto* have = lookup(f, c.key);
    if (!have || !holds(c, *have)) return false;
  }
  if (!words_.empty()) {
    std::string phrase;  // the words, in order, as one phrase: "run mamba2" is not "run" and "mamba2"
    for (const auto& w : words_) phrase += (phrase.empty() ? "" : " ") + w;
    const auto lw = lower(phrase);
    bool any = false;
    for (const auto& [k, v] : f)
      if (lower(v).find(lw) != std::string::npos) {
        any = true;
        break;
      }
    if (!any) return false;
  }
  return true;
}

std::vector<std::string> RunFilter::unknown_keys(const std::vector<RunFields>& runs) const {
  std::vector<std::string> out;
  for (const auto& c : clauses_) {
    const bool known = std::any_of(runs.begin(), runs.end(), [&](const RunFields& f) { return lookup(f, c.key) != nullptr; });
    if (!known) out.push_back(c.key);
  }
  return out;
}

}  // namespace dm::store
