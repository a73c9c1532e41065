// `diffmamba per-token-loss`: the seed's long-context evaluation (long_context/…/per_token_loss,
// spec upstream.md §11): stream documents in sequences of eval_len tokens, accumulate the cross-entropy
// of every position (float64, summed over sequences) and report the per-position loss with the mean loss
// and perplexity over the first L positions for L = 512, 1024, …, eval_len.
//
// Differences from the committed script, on purpose: position t's logits are scored against token t + 1
// (the script's loader shifts the labels and the HF loss shifts again, predicting two ahead), and the loss
// is unreduced per position (the HF models return a scalar mean, which fills the script's vector with a
// constant). The forward runs in chunks with the recurrent state carried across them, so no
// [eval_len, vocab] logits are ever held.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "core/jobs/train_job.h"

namespace dm::jobs {

struct PerTokenLossOptions {
  std::string ckpt_path, tokenizer, output_dir, name;
  // Files or folders (their regular files, one level): text (.txt and anything else: one document per
  // file, tokenised with the model's tokenizer, EOS between documents), .npy (a 1-D integer array of
  // token ids) or .bin (uint16 token ids, nanoGPT's format).
  std::vector<std::string> data;
  int64_t eval_len = 65536;
  int64_t eval_tokens = 0;  // > 0: stop after this many scored tokens (whole sequences); 0: all the data
  int64_t chunk = 2048;     // positions per forward chunk
  int64_t save_every = 8;   // sequences between progress saves
  std::string device = "auto";
  std::string precision = "auto";  // auto: bf16 autocast on a GPU (the seed's fabric run), fp32 on the CPU
};

struct PerTokenLossResult {
  int64_t run_id = 0, sequences = 0;
  std::string status;
  std::vector<double> loss_per_token;   // mean over sequences, per position
  std::map<int64_t, double> loss_avg;   // L → mean of the first L positions
  int64_t tokens_this_run = 0;          // positions scored by this call (not by an earlier, resumed one)
  double seconds = 0;                   // time this call spent scoring them (forward, loss, accumulation)
};

// Resumable: progress (the summed losses and the sequences done) is saved in output_dir every save_every
// sequences and picked up by a rerun with the same model, data and eval_len; a finished output_dir
// (results.json) is reported, not recomputed.
PerTokenLossResult run_per_token_loss(const Workspace& ws, const PerTokenLossOptions& opt,
                                      const train::EventSink& sink, const std::atomic<bool>& cancel);

// The L values reported: 512, 1024, … up to eval_len, and eval_len itself.
std::vector<int64_t> per_token_lengths(int64_t eval_len);

}  // namespace dm::jobs
