// For tests that fill a run store by hand (figures, the Runs page, `runs` commands).
#pragma once

#include <string>

#include "core/store/run_store.h"

namespace dm::test {

// A run record that has finished, with the given name, kind ("train", "babilong-eval", …) and family.
inline dm::store::RunRecord finished_record(const std::string& name, const std::string& kind,
                                            const std::string& family) {
  dm::store::RunRecord r;
  r.name = name;
  r.kind = kind;
  r.family = family;
  r.status = "finished";
  return r;
}

// Stores finished_record(…) and returns the new run's id.
inline int64_t add_finished_run(dm::store::RunStore& db, const std::string& name, const std::string& kind,
                                const std::string& family) {
  return db.create_run(finished_record(name, kind, family));
}

}  // namespace dm::test
