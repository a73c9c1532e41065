// `diffmamba sweep train ARGS…` (a grid of training runs under one sweep record: a list where a key takes
// one value is an axis, e.g. optimizer.lr=[1e-4,5e-4,1e-3] optimizer.weight_decay=[0,0.1]),
// `diffmamba sweep list` and `diffmamba sweep show ID` (its runs, their axis values and a metric).
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dm::cli {

class SweepCommands {
 public:
  explicit SweepCommands(CLI::App& app);
  SweepCommands(const SweepCommands&) = delete;
  SweepCommands& operator=(const SweepCommands&) = delete;

  bool parsed() const;
  int run(std::atomic<bool>& cancel) const;

 private:
  CLI::App *sweep_ = nullptr, *train_ = nullptr, *list_ = nullptr, *show_ = nullptr;
  std::string workspace_, name_, metric_;
  int64_t id_ = 0;
  int threads_ = 0;
  bool dry_run_ = false, quiet_ = false;
  int run_train(std::atomic<bool>& cancel) const;
};

}  // namespace dm::cli
