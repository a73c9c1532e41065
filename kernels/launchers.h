// Host launchers of the project's CUDA kernels. Raw pointers and strides only: no LibTorch here.
// Each returns 0 on success or a cudaError_t code (see error_string).
#pragma once

#include <cstdint>

namespace dm::kernels {

const char* error_string(int code);

// y[b, t, c] = act(bias[c] + sum_k w[c, k] · x[b, t - (K-1) + k, c]); x strided, w [C, K] and y [B, L, C]
// contiguous; bias may be null; act = SiLU when silu.
int causal_conv1d_fwd_f32(const float* x, int64_t stride_b, int64_t stride_l, int64_t stride_c, const float* w,
                          const float* bias, float* y, int64_t batch, int64_t length, int64_t channels, int kernel,
                          bool silu, void* stream);

// out = RMSNorm_groups(y · silu(z)) · w over rows of d channels, groups of group_size channels.
int gated_rmsnorm_fwd_f32(const float* y, const float* z, const float* w, float* out, int64_t rows, int64_t d,
                          int64_t group_size, float eps, void* stream);

}  // namespace dm::kernels
