// Causal depthwise conv1d over time with bias and SiLU, forward (one thread per output element).
#include <cuda_runtime.h>

#include "kernels/launchers.h"

namespace dm::kernels {
namespace {

__global__ void causal_conv1d_fwd_kernel(const float* __restrict__ x, int64_t sb, int64_t sl, int64_t sc,
                                         const float* __restrict__ w, const float* __restrict__ bias,
                                         float* __restrict__ y, int64_t length, int64_t channels, int kernel,
                                         bool silu, int64_t total) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t c = idx % channels;
  const int64_t t = (idx / channels) % length;
  const int64_t b = idx / (channels * length);
  float acc = bias ? bias[c] : 0.f;
  for (int k = 0; k < kernel; ++k) {
    const int64_t tt = t - (kernel - 1) + k;
    if (tt >= 0) acc += w[c * kernel + k] * x[b * sb + tt * sl + c * sc];
  }
  if (silu) acc = acc / (1.f + __expf(-acc));
  y[idx] = acc;
}

}  // namespace

const char* error_string(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

int causal_conv1d_fwd_f32(const float* x, int64_t stride_b, int64_t stride_l, int64_t stride_c, const float* w,
                          const float* bias, float* y, int64_t batch, int64_t length, int64_t channels, int kernel,
                          bool silu, void* stream) {
  const int64_t total = batch * length * channels;
  if (total == 0) return 0;
  const int threads = 256;
  const int64_t blocks = (total + threads - 1) / threads;
  causal_conv1d_fwd_kernel<<<static_cast<unsigned>(blocks), threads, 0, static_cast<cudaStream_t>(stream)>>>(
      x, stride_b, stride_l, stride_c, w, bias, y, length, channels, kernel, silu, total);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace dm::kernels
