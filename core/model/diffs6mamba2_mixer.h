// Diff-S6-Mamba2 (spec upstream.md §5, `diffs6mamba2block.py`): the differential at the SSD level of one
// Mamba2 mixer. Two full in_projs (in_proj1, in_proj2 → [z | xBC | dt] each), one depthwise conv shared by
// both branches, separate dt_bias / A_log / D per branch, two SSD scans, the shared gated RMSNorm applied to
// each branch with its own z, then subln_Di(y1 − λ·y2)·(1 − λ_init) → out_proj, with a scalar
// λ = sigmoid(lambda_q) + λ_init.
#pragma once

#include <torch/nn/module.h>

#include "core/model/config.h"
#include "core/model/layers.h"
#include "core/model/mamba2_mixer.h"
#include "core/model/norms.h"

namespace dm::model {

class DiffS6Mamba2MixerImpl : public torch::nn::Module {
 public:
  // `index`: the block's 0-based position (ℓ of λ_init).
  DiffS6Mamba2MixerImpl(const MixerConfig& cfg, int64_t index);

  torch::Tensor forward(const torch::Tensor& u, MixerState* s1 = nullptr, MixerState* s2 = nullptr,
                        const torch::Tensor& mask = {});
  torch::Tensor step(const torch::Tensor& u, MixerState& s1, MixerState& s2);
  MixerState initial_state(int64_t batch, const torch::TensorOptions& opts) const;
  torch::Tensor lambda() const;  // sigmoid(lambda_q) + λ_init
  double lambda_init() const { return lambda_init_; }

  Dense in_proj1{nullptr}, in_proj2{nullptr};
  DepthwiseConv conv1d{nullptr};
  torch::Tensor dt_bias1, A_log1, D1, dt_bias2, A_log2, D2, lambda_q;
  std::shared_ptr<RMSNormImpl> norm, subln;
  Dense out_proj{nullptr};
  // When set, forward() records the scans of branch 1 and branch 2 here (see Mamba2MixerImpl::trace).
  SsdTrace* trace1 = nullptr;
  SsdTrace* trace2 = nullptr;

 private:
  // One branch's gated scan output [.., Di] from its in_proj output.
  torch::Tensor branch(const torch::Tensor& zxbcdt, const torch::Tensor& dt_bias, const torch::Tensor& A_log,
                       const torch::Tensor& D, MixerState* state, const torch::Tensor& keep, SsdTrace* trace);
  torch::Tensor branch_step(const torch::Tensor& zxbcdt, const torch::Tensor& dt_bias, const torch::Tensor& A_log,
                            const torch::Tensor& D, MixerState& state);
  torch::Tensor time_step(const torch::Tensor& dt_raw, const torch::Tensor& dt_bias) const;

  MixerConfig cfg_;
  double lambda_init_;
};
TORCH_MODULE(DiffS6Mamba2Mixer);

}  // namespace dm::model
