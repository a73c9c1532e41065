// Model hyper-parameters: one Mamba2 mixer (MixerConfig) and a whole language model (ModelConfig).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/model/mamba1_config.h"

namespace dm::model {

// Which recipe initialises a freshly built mixer (spec upstream.md §2.3).
enum class InitStyle { lm, hf };

// One Mamba2 mixer. Derived sizes follow upstream.md §2.1.
struct MixerConfig {
  int64_t d_model = 256;
  int64_t expand = 2;
  int64_t head_dim = 64;
  int64_t d_state = 64;
  int64_t n_groups = 1;
  int64_t conv_kernel = 4;
  int64_t chunk_size = 256;
  double dt_min = 1e-3, dt_max = 0.1, dt_init_floor = 1e-4;
  double dt_limit_min = 0.0, dt_limit_max = std::numeric_limits<double>::infinity();
  double a_init_min = 1.0, a_init_max = 16.0;
  bool use_bias = false;
  bool use_conv_bias = true;
  double norm_eps = 1e-5;
  InitStyle init = InitStyle::lm;

  int64_t d_inner() const { return expand * d_model; }
  int64_t n_heads() const { return d_inner() / head_dim; }
  int64_t conv_dim() const { return d_inner() + 2 * n_groups * d_state; }
  int64_t in_proj_rows() const { return 2 * d_inner() + 2 * n_groups * d_state + n_heads(); }

  // Throws ConfigError naming `prefix + parameter` and the rule it breaks.
  void validate(const std::string& prefix = "") const;
};

// hf: the pretrained / retrieval backbone (pre-norm RMSNorm blocks, norm_f, tied head).
// lm: the from-scratch language-modelling backbone ([mixer, mixer, FFN] × n_layers, post-LayerNorm).
enum class Backbone { hf, lm };
// mamba2 / diffmamba2: SSD mixers. mamba: Mamba-1 (selective scan); diffmamba: Diff-Mamba on Mamba-1 (two
// Mamba-1 mixers, λ = exp(q1·k1) − exp(q2·k2) + λ_init); diffmamba2E: one full Mamba2 whose output halves are
// subtracted (m1 − λ·m2, tiled back to D); diffs6: one Mamba-1 mixer with two S6 branches subtracted (no λ);
// diffs6mamba2: one Mamba2 mixer with two in_projs and SSD branches, subln(y1 − λ·y2); spec upstream.md §5.
enum class Family { mamba2, diffmamba2, mamba, diffmamba, diffmamba2E, diffs6, diffs6mamba2 };

std::string to_string(Backbone b);
std::string to_string(Family f);
// "mamba2", "diffmamba2", "mamba", "diffmamba", "diffmamba2E", "diffs6" or "diffs6mamba2"; throws ConfigError
// naming `key` otherwise.
Family family_from_string(const std::string& name, const std::string& key = "family");
// Every family, in the order above.
const std::vector<Family>& all_families();
// The name figures and tables print: "Mamba2", "Diff-Mamba2", "Mamba-1", "Diff-Mamba", "Diff-Mamba2E",
// "Diff-S6", "Diff-S6-Mamba2".
std::string display_name(Family f);

// A whole model. It is a MixerConfig (the geometry of a full Mamba2 mixer: d_model, expand,
// head_dim, d_state, …); a Diff-Mamba2 sub-layer uses two mixers with expand / 2 and head_dim / 2
// (same number of heads). The inherited `init` is ignored: the backbone decides it.
struct ModelConfig : MixerConfig {
  Backbone backbone = Backbone::lm;
  Family family = Family::mamba2;
  int64_t vocab_size = 27;
  int64_t n_layers = 4;
  bool tie_embeddings = true;
  // Mamba-1 (family mamba) only: the rank of Δ's projection; 0 = ⌈d_model / 16⌉.
  int64_t dt_rank = 0;
  // hf backbone only.
  bool residual_in_fp32 = true;
  std::string diff_layers = "alternate";  // alternate | all | quarter | <k> (the last k blocks)
  double initializer_range = 0.1;
  bool rescale_prenorm_residual = false;
  // lm backbone only.
  double dropout = 0.0;
  double emb_dropout = 0.0;  // on the input embedding (the seed's task.dropemb)
  // Adaptive input embedding + adaptive softmax when div_val > 1 (WikiText-103: 4); else a plain
  // embedding tied to a plain softmax.
  int64_t div_val = 1;
  std::vector<int64_t> cutoffs = {19997, 39997, 199997};
  double dropsoft = 0.0;  // the seed's task.dropsoft (only with a projection, i.e. div_val > 1)
  int64_t ffn_expand = 4;
  // The plain tied softmax of the lm backbone (div_val 1: text8, enwik8) as published: a trainable
  // per-token output bias (`output_bias` [V], U(±D^-1/2)), and optionally the 3 dummy cluster logits the
  // seed's adaptive softmax keeps because its cutoffs exceed the vocabulary (`cluster_weight` [C, D] and
  // `cluster_bias` [C], zero-initialised, in the softmax's normaliser; C = cutoffs.size()).
  bool output_bias = true;
  bool faithful_clusters = false;
  bool has_output_bias() const { return backbone == Backbone::lm && div_val == 1 && output_bias; }
  bool has_cluster_logits() const { return backbone == Backbone::lm && div_val == 1 && faithful_clusters; }

  // The seed's defaults: LM experiments (expand 2, head_dim 128, d_state 64) and AntonV/mamba2-370m-hf.
  static ModelConfig lm_defaults(Family family);
  static ModelConfig hf_370m(Family family);

  MixerConfig full_mixer() const;
  MixerConfig half_mixer() const;
  Mamba1Config mamba1_mixer() const;  // family mamba: its mixer (d_model, expand, d_state, conv_kernel, dt_*)
  Mamba1Config mamba1_half_mixer() const;  // family diffmamba: each of the pair (expand / 2)
  bool is_mamba1() const { return family == Family::mamba || family == Family::diffmamba || family == Family::diffs6; }
  // Number of residual blocks: n_layers (hf) or 3·n_layers (lm: mixer, mixer, FFN per layer).
  int64_t num_blocks() const;
  // lm: position 3k+2 is an FFN. hf: every block is a mixer block.
  bool is_ffn_block(int64_t block) const;
  bool is_diff_block(int64_t block) const;

  void validate() const;
  // The number of parameters the model built from this config holds (closed form: exact for every real
  // model; extrapolated from the first 2^20 blocks beyond that).
  double parameter_count() const;
  // Throws ConfigError when the parameters (fp32) would exceed the memory budget: DM_MAX_MODEL_GB, by default
  // this machine's physical memory. Checked before anything is allocated.
  void check_memory_budget() const;
  // The same before training on the CPU, with a lower bound of what training `batch` sequences of
  // `seq_len` tokens needs (weights, gradients, AdamW state, the residual stream, the logits): refuses
  // only runs that cannot fit. ConfigError names loader.batch_size and loader.l_max.
  void check_training_budget(int64_t batch, int64_t seq_len) const;
  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);
};

// The budget check_memory_budget uses, in bytes.
double model_memory_budget_bytes();

// λ_init(ℓ) = 0.8 − 0.6·exp(−0.3·ℓ), ℓ the block's 0-based position (never stored, always recomputed).
double lambda_init(int64_t layer_index);

}  // namespace dm::model
