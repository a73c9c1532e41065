// RMSNorm as a module with a `weight` parameter (block norms, norm_f, subln, the mixer's gated norm).
#pragma once

#include <torch/nn/module.h>

namespace dm::model {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps, int64_t group_size = 0);
  torch::Tensor forward(const torch::Tensor& x) const;
  // Mamba2's gated form: RMSNorm(y · silu(z)) (gate before the norm).
  torch::Tensor gated(const torch::Tensor& y, const torch::Tensor& z) const;

  torch::Tensor weight;
  double eps;
  int64_t group_size;
};

}  // namespace dm::model
