#include "core/config/schema.h"

#include <algorithm>
#include <limits>

namespace dm::config {
namespace {

using nlohmann::json;
constexpr double kInf = std::numeric_limits<double>::infinity();

KeySpec num(std::string k, double def, std::string doc, double lo, double hi, bool excl_lo = false,
            bool nullable = false) {
  KeySpec s{std::move(k), KeyType::number, def, std::move(doc), lo, hi};
  s.exclusive_min = excl_lo;
  s.nullable = nullable;
  return s;
}
KeySpec integer(std::string k, json def, std::string doc, double lo, double hi = kInf, bool nullable = false) {
  KeySpec s{std::move(k), KeyType::integer, std::move(def), std::move(doc), lo, hi};
  s.nullable = nullable;
  return s;
}
KeySpec choice(std::string k, std::string def, std::string doc, std::vector<std::string> choices) {
  KeySpec s{std::move(k), KeyType::choice, def, std::move(doc)};
  s.choices = std::move(choices);
  return s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string last_part(const std::string& k) {
  auto p = k.rfind('.');
  return p == std::string::npos ? k : k.substr(p + 1);
}

}  // namespace

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> keys = {
      {"experiment", KeyType::string, "", "name of the preset this run was built from (set by experiment=…)"},
      {"description", KeyType::string, "", "free text describing the experiment"},
      choice("dataset.name", "fortunes", "corpus: text8, enwik8, wt103 (WikiText-103) or fortunes (the built-in default corpus)",
             {"text8", "enwik8", "wt103", "fortunes"}),
      {"dataset.data_dir", KeyType::string, "",
       "folder holding the corpus files ('' = <workspace>/data/<dataset.name>)"},
      choice("model.family", "mamba2",
             "mixer family: mamba2; diffmamba2; mamba (Mamba-1: selective scan, Δ rank ⌈d_model/16⌉); diffmamba "
             "(Diff-Mamba on Mamba-1: two expand/2 mixers, λ = exp(q1·k1) − exp(q2·k2) + λ_init); diffmamba2E (one "
             "Mamba2, its output halves subtracted and tiled back); diffs6 (one Mamba-1 mixer, two S6 branches "
             "subtracted); diffs6mamba2 (one Mamba2 mixer, two in_projs and SSD branches, subln(y1 − λ·y2)). The "
             "published Mamba-1 layers use model.d_state=16",
             {"mamba2", "diffmamba2", "mamba", "diffmamba", "diffmamba2E", "diffs6", "diffs6mamba2"}),
      choice("model.backbone", "lm", "lm: the seed's LM backbone ([mixer, mixer, FFN] post-LN); hf: the HF Mamba2 "
             "backbone (pre-norm residual blocks, RMSNorm, tied head; Diff-Mamba2 in alternate blocks)", {"lm", "hf"}),
      integer("model.d_model", 1024, "model width", 1, 65536),
      integer("model.n_layers", 16, "number of [mixer, mixer, FFN] layers", 1, 1024),
      num("model.dropout", 0.0, "dropout on every sub-layer output and inside the FFN", 0.0, 1.0),
      integer("model.expand", 2, "Mamba2 expand factor (a Diff-Mamba2 mixer pair uses expand/2 each)", 1),
      integer("model.head_dim", 128, "Mamba2 head dimension (Diff-Mamba2 mixers use head_dim/2)", 1, 4096),
      integer("model.d_state", 64, "SSM state size N", 1, 4096),
      integer("model.n_groups", 1, "number of B/C groups", 1),
      integer("model.conv_kernel", 4, "causal conv width", 1),
      integer("model.chunk_size", 256, "SSD chunk length on CUDA (the CPU path picks its own; results are identical)", 1),
      integer("model.ffn_expand", 4, "FFN hidden width / d_model", 1),
      integer("loader.batch_size", 1, "sequences per batch (rows the corpus is cut into)", 1, 65536),
      integer("loader.l_max", 8192, "sequence length (context window) of every training window", 1, 1 << 20),
      integer("loader.eval.batch_size", nullptr, "evaluation batch size (null = loader.batch_size)", 1, kInf, true),
      integer("loader.eval.l_max", nullptr, "evaluation window length (null = loader.l_max)", 1, 1 << 20, true),
      num("optimizer.lr", 5e-4, "AdamW learning rate", 0.0, 10.0, true),
      num("optimizer.weight_decay", 0.1, "AdamW weight decay (not applied to A_log, D, dt_bias, norms, biases)", 0.0, 10.0),
      {"optimizer.betas", KeyType::number_list, json::array({0.9, 0.999}), "AdamW betas [beta1, beta2]", 0.0, 1.0, {},
       false, false, 2},
      num("optimizer.eps", 1e-8, "AdamW epsilon", 0.0, 1.0, true),
      choice("scheduler.name", "cosine_warmup", "learning-rate schedule: cosine_warmup (linear warm-up, cosine to 0) or constant_warmup",
             {"cosine_warmup", "constant_warmup"}),
      integer("scheduler.num_warmup_steps", 1000, "linear warm-up steps (optimizer steps)", 0),
      integer("scheduler.num_training_steps", 800000, "steps at which the cosine reaches 0", 1),
      {"trainer.devices", KeyType::int_or_int_list, 1,
       "GPUs: a count (2 = the first two) or a list of indices ([0], [0,2]); ignored on CPU with a warning unless trainer.accelerator=gpu"},
      choice("trainer.accelerator", "auto", "auto (GPU when there is one, else CPU with a warning), gpu (error without one) or cpu",
             {"auto", "gpu", "cpu"}),
      integer("trainer.max_epochs", 1000, "epochs over the training split", 1),
      integer("trainer.max_steps", -1, "stop after this many optimizer steps (-1 = no limit)", -1),
      integer("trainer.accumulate_grad_batches", 1, "batches per optimizer step", 1),
      choice("trainer.precision", "32", "32 (fp32), bf16 (bf16 autocast) or 16 (fp16 autocast, CUDA only)",
             {"32", "16", "bf16", "bf16-mixed", "16-mixed", "32-true"}),
      num("trainer.gradient_clip_val", 0.0, "clip the gradient norm to this (null or 0 = no clipping)", 0.0, 1e30, false, true),
      integer("trainer.val_check_interval", 0, "validate every N optimizer steps (0 = at the end of every epoch)", 0),
      integer("trainer.limit_val_batches", 0, "evaluate at most N batches of valid/test (0 = the whole split)", 0),
      integer("trainer.log_every_n_steps", 10, "record training metrics every N optimizer steps", 1),
      integer("trainer.checkpoint_every_n_steps", 500, "write a resumable checkpoint every N optimizer steps (and at the end)", 1),
      integer("train.seed", 1111, "random seed (weights, dropout, data order)", 0),
      integer("task.div_val", 1, "adaptive embedding/softmax divisor: 1 = plain tied softmax (text8, enwik8), 4 = WikiText-103's adaptive softmax", 1),
      {"task.cutoffs", KeyType::number_list, json::array({19997, 39997, 199997}),
       "adaptive softmax cluster boundaries (token ids; used when task.div_val > 1)", 1.0, 1e12},
      num("task.dropemb", 0.25, "dropout on the input embedding", 0.0, 1.0),
      num("task.dropsoft", 0.25, "dropout before the output projection (only with a projection, i.e. div_val > 1)", 0.0, 1.0),
      {"task.faithful_clusters", KeyType::boolean, false,
       "div_val 1 (text8, enwik8): add the published head's 3 dummy cluster logits (trainable, zero-initialised) "
       "to the softmax, for log-probabilities comparable bit for bit with the Python runs; false: the softmax is over "
       "the symbols alone (the per-token output bias is there either way)"},
  };
  return keys;
}

const KeySpec* find_key(const std::string& key) {
  for (const auto& s : schema())
    if (s.key == key) return &s;
  return nullptr;
}

std::vector<std::string> nearest_keys(const std::string& key, size_t count) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& s : schema()) {
    const size_t d = std::min(edit_distance(key, s.key), edit_distance(last_part(key), last_part(s.key)) + 1);
    scored.emplace_back(d, s.key);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < count; ++i) out.push_back(scored[i].second);
  return out;
}

std::string type_name(const KeySpec& s) {
  std::string t;
  switch (s.type) {
    case KeyType::integer: t = "integer"; break;
    case KeyType::number: t = "number"; break;
    case KeyType::boolean: t = "true|false"; break;
    case KeyType::string: t = "string"; break;
    case KeyType::choice: {
      for (const auto& c : s.choices) t += (t.empty() ? "" : "|") + c;
      break;
    }
    case KeyType::int_or_int_list: t = "integer or [i, j, …]"; break;
    case KeyType::number_list: t = "[number, …]"; break;
  }
  return s.nullable ? t + " or null" : t;
}

}  // namespace dm::config
