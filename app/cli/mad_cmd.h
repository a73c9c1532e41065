// `diffmamba mad …`: the MAD synthetic benchmark (core/mad). `mad generate` writes a task's instances as
// JSON lines (inputs, targets, the scored positions) so that anyone can inspect or reuse them; `mad run`
// trains the families over the lr × weight-decay grid and writes the MAD scores (the seed's CSV).
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dm::cli {

class MadCommands {
 public:
  explicit MadCommands(CLI::App& app);
  MadCommands(const MadCommands&) = delete;
  MadCommands& operator=(const MadCommands&) = delete;

  bool parsed() const;
  int run(std::atomic<bool>& cancel) const;

 private:
  CLI::App* mad_ = nullptr;
  CLI::App* generate_ = nullptr;
  std::string task_, setting_ = "baseline", split_ = "train", out_;
  int64_t examples_ = 0;  // 0: the setting's count
  bool list_ = false;
  // mad run
  CLI::App* run_ = nullptr;
  std::vector<std::string> layers_ = {"mamba2", "diffmamba2"}, tasks_;
  std::string settings_ = "baseline", workspace_, out_csv_, device_ = "auto";
  std::vector<double> lrs_, wds_;
  int64_t width_ = 0, n_layers_ = 0, epochs_ = 0, train_examples_ = 0, test_examples_ = 0;
  bool quick_ = false, quiet_ = false;
  int run_benchmark(std::atomic<bool>& cancel) const;
};

}  // namespace dm::cli
