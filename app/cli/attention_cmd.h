// `diffmamba attention`: the implicit attention maps of a model's Mamba2-family layers on a text or a
// BABILong sample, their per-layer metrics, and the .npz (core/jobs/attention_job).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace dm::cli {

class AttentionCommand {
 public:
  explicit AttentionCommand(CLI::App& app);
  AttentionCommand(const AttentionCommand&) = delete;
  AttentionCommand& operator=(const AttentionCommand&) = delete;

  bool parsed() const;
  int run() const;

 private:
  CLI::App* cmd_ = nullptr;
  std::string ckpt_path_, tokenizer_, text_, text_file_, sample_, question_, out_, workspace_, device_ = "auto";
  std::vector<std::string> needles_;
  std::vector<int64_t> layers_, heads_;
  int64_t index_ = 0;
  bool float16_ = false, no_maps_ = false;
};

}  // namespace dm::cli
