// One residual block of either backbone, holding one sub-layer: a Mamba2 mixer, a Diff-Mamba2
// pair (mixer_1, mixer_2, lambda_q1, subln), a Mamba-1 mixer, or (lm backbone) a GELU feed-forward network.
//   hf: x ← x + f(RMSNorm(x))   (pre-norm, residual optionally kept in fp32)
//   lm: x ← LayerNorm(x + Dropout(f(x)))   (post-norm)
// Diff-Mamba2: f(u) = subln(mixer_1(u) − λ·mixer_2(u))·(1 − λ_init), λ = sigmoid(Σ lambda_q1) + λ_init.
// Diff-Mamba (Mamba-1 mixers): the same combination with λ = exp(q1·k1) − exp(q2·k2) + λ_init (four vectors
// of length N, as the Differential Transformer). Diff-Mamba2E: one full mixer, y = [y_lo | y_hi],
// f(u) = subln([a | a])·(1 − λ_init) with a = y_hi − λ·y_lo and λ as Diff-Mamba2's.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "core/model/config.h"
#include "core/model/diffs6mamba2_mixer.h"
#include "core/model/mamba1_mixer.h"
#include "core/model/mamba2_mixer.h"

namespace dm::model {

enum class SubLayer { mamba2, diffmamba2, mamba1, diffmamba1, diffmamba2E, diffs6mamba2, ffn };

// Decoding state of one block (m2 is used only by Diff-Mamba2 blocks, s6 by Mamba-1 blocks and s6, s6b by
// Diff-Mamba blocks; FFN blocks keep none).
struct BlockState {
  MixerState m1, m2;
  Mamba1State s6, s6b;
};

class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t d_model, int64_t expand, double dropout);
  torch::Tensor forward(const torch::Tensor& x);
  Dense fc1{nullptr}, fc2{nullptr};
  double dropout;
};
TORCH_MODULE(FeedForward);

class BlockImpl : public torch::nn::Module {
 public:
  // `index` is the block's 0-based position in the backbone (ℓ of λ_init).
  BlockImpl(const ModelConfig& cfg, int64_t index);

  // x [B, L, D]; with `state`, fills the decoding state of its mixers. `mask` [B, L] (1 = token,
  // 0 = padding) goes to every mixer (Mamba2MixerImpl::forward); the FFN and the norms are per position.
  torch::Tensor forward(const torch::Tensor& x, BlockState* state = nullptr, const torch::Tensor& mask = {});
  // x [B, D]: one token, advancing `state`.
  torch::Tensor step(const torch::Tensor& x, BlockState& state);
  BlockState initial_state(int64_t batch, const torch::TensorOptions& opts) const;

  SubLayer kind() const { return kind_; }
  int64_t index() const { return index_; }
  double lambda_init() const { return lambda_init_; }
  // λ of a differential block: sigmoid(Σ lambda_q1) + λ_init (Diff-Mamba2), exp(q1·k1) − exp(q2·k2) + λ_init
  // (Diff-Mamba).
  torch::Tensor lambda() const;
  // The differential combination, exposed for tests: subln(y1 − λ·y2)·(1 − λ_init).
  torch::Tensor combine(const torch::Tensor& y1, const torch::Tensor& y2) const;

  std::shared_ptr<RMSNormImpl> rms_norm;  // "norm" in the hf backbone
  torch::nn::LayerNorm layer_norm{nullptr};  // "norm" in the lm backbone
  Mamba2Mixer mixer{nullptr}, mixer_1{nullptr}, mixer_2{nullptr};
  Mamba1Mixer mamba1{nullptr};  // registered as "mixer" (the HF Mamba name)
  Mamba1Mixer mamba1_1{nullptr}, mamba1_2{nullptr};  // Diff-Mamba: registered as mixer_1, mixer_2
  DiffS6Mamba2Mixer s6mamba2{nullptr};                // Diff-S6-Mamba2: registered as "mixer"
  torch::Tensor lambda_q1;
  torch::Tensor lambda_k1, lambda_q2, lambda_k2;  // Diff-Mamba only
  std::shared_ptr<RMSNormImpl> subln;
  FeedForward ffn{nullptr};

 private:
  torch::Tensor sublayer(const torch::Tensor& h, BlockState* state, bool one_step, const torch::Tensor& mask);
  torch::Tensor wrap(const torch::Tensor& x, BlockState* state, bool one_step, const torch::Tensor& mask);

  SubLayer kind_;
  Backbone backbone_;
  int64_t index_;
  double lambda_init_ = 0.0;
  double dropout_;
  bool residual_in_fp32_;
};
TORCH_MODULE(Block);

}  // namespace dm::model
