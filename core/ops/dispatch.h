// The one place that decides whether an op runs on the LibTorch reference path or a CUDA kernel.
#pragma once

#include <torch/types.h>

namespace dm::ops {

// True when this build carries the CUDA kernels of kernels/ (configured with DM_CUDA).
bool cuda_kernels_built();

// True when `t` may go to a forward-only CUDA kernel: the build has kernels, t is a CUDA fp32
// tensor, and no gradient is needed for this call.
bool use_cuda_kernel(const torch::Tensor& t, bool needs_grad);

// The chunk length the chunked SSD scan uses for tensors like `x`. The result does not depend on it
// (every chunk length computes the same scan); only speed does. On CPU the intra-chunk [Q, Q] work
// dominates and Q = 64 measured fastest (bench/RESULTS.md); elsewhere the model's chunk_size is used.
int64_t ssd_chunk_size(const torch::Tensor& x, int64_t configured);

namespace cuda {
// Implemented in ops/cuda_dispatch.cpp only when the kernels are built.
torch::Tensor causal_conv1d_fwd(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                bool silu);
torch::Tensor gated_rms_norm_fwd(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight,
                                 double eps, int64_t group_size);
}  // namespace cuda

}  // namespace dm::ops
