// The runs filter of the window's Runs page and `diffmamba runs list --filter`: a small query language over
// every run kind's record fields, its config keys and its last metric values.
//
//   model.family=diffmamba2 model.d_model>32 val/bpc<=1.4 name~needle kind!=lens-eval  free words
//
// Clauses are separated by spaces; each is KEY OP VALUE with OP one of = != < <= > >= ~ (~: contains, case
// insensitive). A key names a record field (id, name, kind, family, preset, status, host, device, git_rev,
// created_at, started_at, ended_at, config_hash, message, archived), a config key in dotted form
// (model.d_model, loader.l_max, samples, …; a key without a dot also matches the last part of a dotted one,
// so `d_model>32` works for every run kind), or a metric (its last value, e.g. val/bpc, train/loss). Values
// compare as numbers when both sides are numbers, else as text. The words without an operator, joined by
// single spaces, form a phrase that matches when it appears in any field. Every part must hold (AND).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/store/run_store.h"

namespace dm::store {

struct FilterClause {
  enum class Op { eq, ne, lt, le, gt, ge, contains };
  std::string key, value;
  Op op = Op::eq;
};

// What a run offers a filter: field / config key / metric name → value text.
using RunFields = std::map<std::string, std::string>;
// Builds them from a record, its config JSON (flattened without recursion) and its metrics' last rows.
RunFields run_fields(const RunRecord& r, const std::vector<MetricRow>& last_metrics);

class RunFilter {
 public:
  // Throws ConfigError naming the clause and the syntax when `text` cannot be read (e.g. "a>" or "=b").
  static RunFilter parse(const std::string& text);
  bool empty() const { return clauses_.empty() && words_.empty(); }
  bool matches(const RunFields& fields) const;
  // Keys of the clauses that none of `runs` has: a hint for "no match" messages.
  std::vector<std::string> unknown_keys(const std::vector<RunFields>& runs) const;
  static const char* syntax();  // one line, for hints

 private:
  std::vector<FilterClause> clauses_;
  std::vector<std::string> words_;
};

}  // namespace dm::store
