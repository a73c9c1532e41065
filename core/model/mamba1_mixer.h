// The Mamba-1 mixer (spec upstream.md §5, `mambablock.py`; transformers' MambaMixer): in_proj → [x | z],
// depthwise causal conv + SiLU on x, x_proj → [Δ_low | B | C], Δ = softplus(dt_proj(Δ_low)), the selective
// scan (per-channel Δ, A [Di, N], D skip), output gate y·silu(z), out_proj. Parameter names follow the HF
// Mamba layout (in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj).
#pragma once

#include <string>

#include <torch/nn/module.h>

#include "core/model/layers.h"
#include "core/model/mamba1_config.h"

namespace dm::model {

// Decoding state: the last K pre-conv inputs and the SSM state.
struct Mamba1State {
  torch::Tensor conv;  // [B, Di, K]
  torch::Tensor ssm;   // [B, Di, N] (fp32, fp64 for fp64 activations)
  torch::Tensor ssm2;  // Diff-S6: the second branch's state
};

class Mamba1MixerImpl : public torch::nn::Module {
 public:
  explicit Mamba1MixerImpl(const Mamba1Config& cfg);

  // u [B, L, D] → [B, L, D]. With `state`, also stores the decoding state after the last position.
  // `mask` [B, L] (1 = token, 0 = padding) zeroes the padding positions of u and of the conv output,
  // as transformers' Mamba does with an attention mask.
  torch::Tensor forward(const torch::Tensor& u, Mamba1State* state = nullptr, const torch::Tensor& mask = {});
  // One token: u [B, D] → [B, D], advancing `state`.
  torch::Tensor step(const torch::Tensor& u, Mamba1State& state);
  Mamba1State initial_state(int64_t batch, const torch::TensorOptions& opts) const;

  const Mamba1Config& config() const { return cfg_; }

  Dense in_proj{nullptr};
  DepthwiseConv conv1d{nullptr};
  Dense x_proj{nullptr}, dt_proj{nullptr};
  torch::Tensor A_log, D;
  Dense x_proj_2{nullptr}, dt_proj_2{nullptr};  // Diff-S6 only
  torch::Tensor A_log_2, D_2;
  Dense out_proj{nullptr};

 private:
  void reset_ssm_parameters(Dense& dt_proj, torch::Tensor& A_log, torch::Tensor& D);
  // x after the conv [.., Di] → Δ [.., Di], B, C [.., N] of one branch, in the compute dtype.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> ssm_inputs(const torch::Tensor& x, Dense& x_proj, Dense& dt_proj);

  Mamba1Config cfg_;
};
TORCH_MODULE(Mamba1Mixer);

}  // namespace dm::model
