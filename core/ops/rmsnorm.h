// RMSNorm and Mamba2's gated RMSNorm (gate first, then normalise), computed in fp32.
#pragma once

#include <torch/types.h>

namespace dm::ops {

// x · rsqrt(mean(x², last dim) + eps) · weight; statistics in fp32, result in x's dtype.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// g = y · silu(z), then RMSNorm of g over groups of group_size channels of the last dim (group_size
// must divide it; 0 means the whole dim), times weight. Result in y's dtype.
torch::Tensor gated_rms_norm(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight, double eps,
                             int64_t group_size = 0);

}  // namespace dm::ops
