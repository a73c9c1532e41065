// `diffmamba per-token-loss`: the per-position loss over long contexts (core/jobs/per_token_loss).
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dm::cli {

class PerTokenCommand {
 public:
  explicit PerTokenCommand(CLI::App& app);
  PerTokenCommand(const PerTokenCommand&) = delete;
  PerTokenCommand& operator=(const PerTokenCommand&) = delete;

  bool parsed() const;
  int run(std::atomic<bool>& cancel) const;

 private:
  CLI::App* cmd_ = nullptr;
  std::string ckpt_path_, tokenizer_, output_dir_, workspace_, name_, device_ = "auto", precision_ = "auto";
  std::vector<std::string> data_;
  int64_t eval_len_ = 65536, eval_tokens_ = 0, chunk_ = 2048;
  bool quiet_ = false;
};

}  // namespace dm::cli
