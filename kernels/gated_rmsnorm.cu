// Gated RMSNorm forward: g = y · silu(z), normalised per group, times the weight (one block per group).
#include <cuda_runtime.h>

#include "kernels/launchers.h"

namespace dm::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void gated_rmsnorm_fwd_kernel(const float* __restrict__ y, const float* __restrict__ z,
                                         const float* __restrict__ w, float* __restrict__ out, int64_t d,
                                         int64_t group_size, float eps) {
  const int64_t groups = d / group_size;
  const int64_t row = blockIdx.x / groups;
  const int64_t start = row * d + (blockIdx.x % groups) * group_size;
  const int64_t wstart = (blockIdx.x % groups) * group_size;
  __shared__ float partial[kThreads];
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float zz = z[start + i];
    const float g = y[start + i] * zz / (1.f + __expf(-zz));
    ss += g * g;
  }
  partial[threadIdx.x] = ss;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  const float scale = rsqrtf(partial[0] / static_cast<float>(group_size) + eps);
  for (int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float zz = z[start + i];
    const float g = y[start + i] * zz / (1.f + __expf(-zz));
    out[start + i] = g * scale * w[wstart + i];
  }
}

}  // namespace

int gated_rmsnorm_fwd_f32(const float* y, const float* z, const float* w, float* out, int64_t rows, int64_t d,
                          int64_t group_size, float eps, void* stream) {
  if (rows == 0) return 0;
  const int64_t blocks = rows * (d / group_size);
  gated_rmsnorm_fwd_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      y, z, w, out, d, group_size, eps);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace dm::kernels
