// `diffmamba demo`: trains a tiny Mamba2 and a tiny Diff-Mamba2 language model side by side on the
// default corpus and reports their losses.
#pragma once

#include <cstdint>
#include <string>

namespace dm::cli {

struct DemoOptions {
  int64_t steps = 150;
  int64_t d_model = 64;
  int64_t layers = 2;
  int64_t length = 128;
  int64_t batch = 8;
  double lr = 3e-3;
  uint64_t seed = 0;
  int64_t log_every = 25;
  std::string corpus_dir = "/usr/share/games/fortunes";
  std::string out_dir;  // where the two trained models are written; empty = do not save
};

int run_demo(const DemoOptions& opt);

}  // namespace dm::cli
