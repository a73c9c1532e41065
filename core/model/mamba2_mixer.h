// The Mamba2 mixer: in_proj → [z | xBC | dt], causal conv + SiLU on xBC, SSD scan with D skip,
// gated RMSNorm with z, out_proj. Parameter names follow the HF Mamba2 layout.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "core/model/config.h"
#include "core/model/layers.h"
#include "core/model/norms.h"

namespace dm::model {

// Decoding state of one mixer: the last K pre-conv xBC inputs and the SSM state.
struct MixerState {
  torch::Tensor conv;  // [B, conv_dim, K]
  torch::Tensor ssm;   // [B, H, P, N]
};

// What one SSD scan of a forward received and returned (the implicit-attention probe, see
// implicit_attention.h): x [B, L, H, P], dt [B, L, H] after softplus and clamping, a [H] (= −exp(A_log)),
// b, c [B, L, G, N], d [H], y [B, L, H, P] (the scan's output with the D skip, before the gate). Detached.
struct SsdTrace {
  torch::Tensor x, dt, a, b, c, d, y;
  bool keep_values = true;  // false: only dt, a, b, c are recorded (what the maps need; b, c copied out of
                            // the conv output so it is not kept alive)
  void record(const torch::Tensor& x_, const torch::Tensor& dt_, const torch::Tensor& a_, const torch::Tensor& b_,
              const torch::Tensor& c_, const torch::Tensor& d_, const torch::Tensor& y_) {
    dt = dt_.detach(), a = a_.detach(), b = b_.detach().contiguous(), c = c_.detach().contiguous();
    if (keep_values) x = x_.detach(), d = d_.detach(), y = y_.detach();
  }
};

class Mamba2MixerImpl : public torch::nn::Module {
 public:
  explicit Mamba2MixerImpl(const MixerConfig& cfg);

  // u [B, L, D] → [B, L, D]. With `state`, also stores the decoding state after the last position.
  // `mask` [B, L] (1 = token, 0 = padding), if given, zeroes the padding positions of the input and of the
  // conv output, as transformers' Mamba2 does with an attention mask: with left padding and no in_proj
  // bias the real tokens then see exactly what they would see unpadded.
  torch::Tensor forward(const torch::Tensor& u, MixerState* state = nullptr, const torch::Tensor& mask = {});
  // One token: u [B, D] → [B, D], advancing `state`.
  torch::Tensor step(const torch::Tensor& u, MixerState& state);
  MixerState initial_state(int64_t batch, const torch::TensorOptions& opts) const;

  const MixerConfig& config() const { return cfg_; }

  Dense in_proj{nullptr};
  DepthwiseConv conv1d{nullptr};
  torch::Tensor dt_bias, A_log, D;
  std::shared_ptr<RMSNormImpl> norm;
  Dense out_proj{nullptr};
  // When set, forward() records its scan's inputs and output here (not step(): one token has no map).
  SsdTrace* trace = nullptr;

 private:
  void reset_ssm_parameters();
  torch::Tensor time_step(const torch::Tensor& dt_raw) const;

  MixerConfig cfg_;
};
TORCH_MODULE(Mamba2Mixer);

}  // namespace dm::model
