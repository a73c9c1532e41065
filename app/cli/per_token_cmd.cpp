#include "app/cli/per_token_cmd.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "app/cli/console.h"
#include "core/jobs/per_token_loss.h"
#include "core/jobs/workspace.h"

namespace dm::cli {

PerTokenCommand::PerTokenCommand(CLI::App& app) {
  cmd_ = app.add_subcommand("per-token-loss",
                            "Loss per position over long contexts (the seed's per_token_loss): documents in sequences of "
                            "eval_len tokens, the mean loss and perplexity over the first L positions");
  cmd_->add_option("--ckpt_path", ckpt_path_, "the model: an HF directory, a run folder or a model file")->required();
  cmd_->add_option("--data", data_, "text files (PG19 books, one document each), .npy or .bin token files, or folders "
                                    "of them")
      ->required();
  cmd_->add_option("--eval_len", eval_len_, "tokens per sequence")->capture_default_str()->check(CLI::Range(2, 1 << 24));
  cmd_->add_option("--eval_tokens", eval_tokens_, "stop after this many tokens (whole sequences; default: all the data)")
      ->check(CLI::NonNegativeNumber);
  cmd_->add_option("--chunk", chunk_, "positions per forward chunk (the state is carried across chunks)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd_->add_option("--tokenizer", tokenizer_, "tokenizer.json (default: the model's)");
  cmd_->add_option("--output_dir", output_dir_, "results folder (default: <workspace>/per-token-loss/<model>-L<eval_len>)");
  cmd_->add_option("--device", device_, "auto (the GPU when there is one), cpu or cuda[:N]")->capture_default_str();
  cmd_->add_option("--precision", precision_,
                   "auto (bf16 autocast on a GPU, as the seed's run; fp32 on the CPU), 32 or bf16-mixed")
      ->capture_default_str();
  cmd_->add_option("--workspace", workspace_, "workspace folder (default: the user's data location)");
  cmd_->add_option("--name", name_, "the run's name");
  cmd_->add_flag("--quiet", quiet_, "no progress lines");
}

bool PerTokenCommand::parsed() const { return cmd_->parsed(); }

int PerTokenCommand::run(std::atomic<bool>& cancel) const {
  const auto ws = workspace_.empty() ? jobs::Workspace::default_location() : jobs::Workspace{workspace_};
  ws.ensure();
  jobs::PerTokenLossOptions o;
  o.ckpt_path = ckpt_path_;
  o.tokenizer = tokenizer_;
  o.data = data_;
  o.eval_len = eval_len_;
  o.eval_tokens = eval_tokens_;
  o.chunk = chunk_;
  o.device = device_;
  o.precision = precision_;

  // The model's name: a file's stem (diffmamba2-demo.safetensors → diffmamba2-demo), a folder's name.
  const std::filesystem::path ck(ckpt_path_);
  auto stem = std::filesystem::is_regular_file(ck) ? ck.stem().string() : ck.filename().string();
  if (stem.empty()) stem = ck.parent_path().filename().string();
  o.name = name_.empty() ? "per-token-loss " + stem : name_;  // runs of several models tell apart
  o.output_dir = !output_dir_.empty() ? output_dir_
                                      : (std::filesystem::path(ws.root) / "per-token-loss" /
                                         (stem + "-L" + std::to_string(eval_len_)))
                                            .string();
  std::printf("workspace: %s\n", ws.root.c_str());
  ConsoleOptions co;
  co.quiet = quiet_;
  const ConsolePrinter printer(co);
  const auto r = jobs::run_per_token_loss(ws, o, printer.sink(), cancel);
  printer.end_line();
  if (r.status == "cancelled") {
    std::printf("stopped after %lld sequences; the same command continues from there\n", static_cast<long long>(r.sequences));
    return 130;
  }
  std::printf("%lld sequences of %lld tokens", static_cast<long long>(r.sequences), static_cast<long long>(eval_len_));
  if (r.tokens_this_run > 0 && r.seconds > 0)
    std::printf(" (this run scored %lld tokens in %.2f s: %.0f tokens/s)", static_cast<long long>(r.tokens_this_run),
                r.seconds, static_cast<double>(r.tokens_this_run) / r.seconds);
  std::printf("\n%10s  %10s  %12s\n", "length", "loss", "perplexity");
  for (const auto& [l, avg] : r.loss_avg) std::printf("%10lld  %10.4f  %12.3f\n", static_cast<long long>(l), avg, std::exp(avg));
  std::printf("wrote %s/results.json and results.npz\n", o.output_dir.c_str());
  return 0;
}

}  // namespace dm::cli
