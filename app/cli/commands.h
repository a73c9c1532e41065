// The `diffmamba train` and `diffmamba runs` subcommands (argument parsing lives in main.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dm::cli {

struct TrainArgs {
  std::vector<std::string> overrides;  // experiment=… and key=value, the seed's syntax
  std::string workspace;
  std::string name;
  int64_t resume = 0;
  bool print_config = false;
  bool quiet = false;
  int threads = 0;
};
int run_train(const TrainArgs& a, std::atomic<bool>& cancel);

struct RunsArgs {
  std::string action;  // list | show | export | delete
  std::string workspace;
  int64_t id = 0;
  std::string csv;
  bool files = false;  // delete: also remove the run folder
};
int run_runs(const RunsArgs& a);

// Every configuration key with type, default and documentation (for --help).
std::string config_keys_help();

}  // namespace dm::cli
