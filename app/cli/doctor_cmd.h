// `diffmamba doctor` (what this build and machine can use for CUDA) and `diffmamba selfcheck` (the kernels
// against their references), registered on the CLI app by one object that main() asks after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace dm::cli {

class DoctorCommands {
 public:
  explicit DoctorCommands(CLI::App& app);
  DoctorCommands(const DoctorCommands&) = delete;
  DoctorCommands& operator=(const DoctorCommands&) = delete;

  bool parsed() const;  // doctor or selfcheck was given
  // Exit status: 0 ok; selfcheck: 1 when a comparison failed, 77 when skipped (no GPU / no kernels).
  int run() const;

 private:
  CLI::App* doctor_ = nullptr;
  CLI::App* selfcheck_ = nullptr;
  std::string device_ = "cuda";
  uint64_t seed_ = 0;
  bool kernels_only_ = false;
};

}  // namespace dm::cli
