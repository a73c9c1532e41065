// The fine-tuning Jobs of the retrieval pipeline (`diffmamba finetune-needle`, `finetune-pg19`): start
// from any checkpoint (optionally turned into a Diff-Mamba2 first), train with AdamW + warm-up/cosine,
// evaluate and save every N steps, keep the best model by eval loss, record everything in the run store.
//  * needle: BABILong samples (generated qa1–qa5, or imported files), the seed's prompt
//    "<context> \n{input}\n</context>\n\nQuestion: {question} Answer: " + target, loss only on the answer
//    tokens (found by tokenising prompt and prompt + answer, never by a token id);
//  * pg19: language modelling on consecutive max_length windows of the books (the last one of a book
//    left-padded, pads ignored by the loss).
// Padding is masked as transformers does with an attention mask: padding positions are zeroed in every
// mixer's input and conv output (LanguageModelImpl::loss's mask) and take no part in the loss (-100).
#pragma once

#include <torch/types.h>

#include <atomic>
#include <string>
#include <vector>

#include "core/babilong/babilong.h"
#include "core/jobs/train_job.h"
#include "core/model/language_model.h"

namespace dm::jobs {

struct FinetuneOptions {
  std::string kind = "needle";  // needle | pg19
  std::string ckpt_path, tokenizer, output_dir, name;
  bool diffmamba = false;       // convert a Mamba2 checkpoint to Diff-Mamba2 (alternate blocks) first
  double lr = 3e-4, weight_decay = 0.1;
  int64_t batch_size = 6, grad_accum_steps = 1, max_steps = 500, warmup = 50, save_steps = 100, eval_steps = 100;
  uint64_t seed = 0;
  int64_t max_length = 2048;
  // needle
  std::vector<std::string> tasks = {"qa1", "qa2", "qa3", "qa4", "qa5"};
  std::string length = "0k";
  int64_t samples = 1000;       // per task; the last 10 % (at most 100) are held out for evaluation
  std::string data_dir;         // BABILong files instead of generated samples
  // pg19 (and needle distractors)
  std::string pg19_dir;
  // Where and how: auto = the GPU when there is one (each process of several takes its local rank's);
  // training in fp32 as the seed's Trainer, evaluation under bf16 autocast on a GPU (its bf16_full_eval).
  std::string device = "auto", eval_precision = "auto";
};

// Runs on the calling thread. Returns the run id and status; the fine-tuned model is in output_dir
// (HF layout for HF-backbone models, else model.safetensors) and checkpoint-<step>/ folders.
JobResult run_finetune_job(const Workspace& ws, const FinetuneOptions& opt, const train::EventSink& sink,
                           const std::atomic<bool>& cancel);

// One training example: token ids and labels (-100 = no loss), same length.
struct Example {
  std::vector<int64_t> ids, labels;
};
// The needle example of a record: the answer span is where the tokens of prompt + answer leave those
// of the prompt alone. Throws Error when the two differ before the prompt's last two tokens.
Example needle_example(const babilong::Record& r, const data::Codec& codec, int64_t max_length);

// A batch of examples left-padded to the longest (as the seed's tokenizer pads, padding_side = left):
// ids [B, L] with `pad` in the padding, labels -100 there, mask 1 on tokens and 0 on padding.
struct Batch {
  torch::Tensor ids, labels, mask;
};
Batch collate(const std::vector<const Example*>& batch, int64_t pad);
// Mean next-token loss over the positions whose label is not -100, the padding masked out of the mixers.
torch::Tensor batch_loss(model::LanguageModel& m, const Batch& batch);

}  // namespace dm::jobs
