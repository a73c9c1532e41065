// Device helpers shared by the kernels: fp32/bf16 loads as float, SiLU, warp sums, launch sizes, and the
// launch macro (CUDA's <<<>>> here; a CPU emulation of the same kernels in host_emulation.h for tests).
#pragma once

#ifdef DM_KERNELS_HOST_EMULATION
#include "kernels/host_emulation.h"
#define DM_LAUNCH(kernel, grid, block, stream) ::dm::emu::Launch(dim3(grid), dim3(block), kernel, stream)
#else
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#define DM_LAUNCH(kernel, grid, block, stream) kernel<<<grid, block, 0, stream>>>
#endif

#include <cstdint>

#include "kernels/launchers.h"

namespace dm::kernels::detail {

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) {
  return __float2bfloat16(v);
}

__device__ __forceinline__ float sigmoid(float v) { return 1.f / (1.f + expf(-v)); }
__device__ __forceinline__ float silu(float v) { return v * sigmoid(v); }
// d silu(v) / dv
__device__ __forceinline__ float silu_grad(float v) {
  const float s = sigmoid(v);
  return s * (1.f + v * (1.f - s));
}

// Sum over groups of `width` consecutive lanes (width a power of two ≤ 32); every lane gets its group's sum.
__device__ __forceinline__ float group_sum(float v, int width) {
  for (int o = width / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

inline unsigned grid_for(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }
inline int last_error() { return static_cast<int>(cudaGetLastError()); }
inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

}  // namespace dm::kernels::detail

// Calls `body` with T = float or __nv_bfloat16 after `dtype`.
#define DM_DISPATCH_DTYPE(dtype, ...)            \
  do {                                           \
    if ((dtype) == ::dm::kernels::DType::bf16) { \
      using T = __nv_bfloat16;                   \
      __VA_ARGS__();                             \
    } else {                                     \
      using T = float;                           \
      __VA_ARGS__();                             \
    }                                            \
  } while (0)
