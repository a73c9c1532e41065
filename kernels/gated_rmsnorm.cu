// Gated RMSNorm (g = y · silu(z), normalised per group, times the weight): forward and backward.
#include "kernels/common.cuh"

namespace dm::kernels {
namespace {

using detail::from_f;
using detail::to_f;

constexpr int kThreads = 256;

// Sum over the block (blockDim.x == kThreads); every thread gets the result.
__device__ float block_sum(float v) {
  __shared__ float warp_sums[kThreads / 32];
  v = detail::group_sum(v, 32);
  __syncthreads();  // warp_sums may still be read from a previous call
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  float total = 0.f;
#pragma unroll
  for (int i = 0; i < kThreads / 32; ++i) total += warp_sums[i];
  return total;
}

// One block per (row, group).
template <typename T>
__global__ void rmsnorm_fwd_kernel(const T* __restrict__ y, const T* __restrict__ z, const float* __restrict__ w,
                                   T* __restrict__ out, float* __restrict__ rstd, int64_t d, int64_t group_size,
                                   float eps) {
  const int64_t groups = d / group_size;
  const int64_t row = blockIdx.x / groups, grp = blockIdx.x % groups;
  const int64_t start = row * d + grp * group_size, wstart = grp * group_size;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float g = to_f(y[start + i]) * detail::silu(to_f(z[start + i]));
    ss += g * g;
  }
  const float r = rsqrtf(block_sum(ss) / static_cast<float>(group_size) + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  for (int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float g = to_f(y[start + i]) * detail::silu(to_f(z[start + i]));
    out[start + i] = from_f<T>(g * r * w[wstart + i]);
  }
}

// n = g·rstd, dn = dout·w: dg = rstd·(dn − n·mean(dn·n)); dy = dg·silu(z); dz = dg·y·silu'(z).
template <typename T>
__global__ void rmsnorm_bwd_kernel(const T* __restrict__ y, const T* __restrict__ z, const float* __restrict__ w,
                                   const float* __restrict__ rstd, const T* __restrict__ dout, T* __restrict__ dy,
                                   T* __restrict__ dz, int64_t d, int64_t group_size) {
  const int64_t groups = d / group_size;
  const int64_t grp = blockIdx.x % groups;
  const int64_t start = (blockIdx.x / groups) * d + grp * group_size, wstart = grp * group_size;
  const float r = rstd[blockIdx.x];
  float dot = 0.f;
  for (int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float n = to_f(y[start + i]) * detail::silu(to_f(z[start + i])) * r;
    dot += to_f(dout[start + i]) * w[wstart + i] * n;
  }
  const float mean_dot = block_sum(dot) / static_cast<float>(group_size);
  for (int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
    const float yy = to_f(y[start + i]), zz = to_f(z[start + i]);
    const float n = yy * detail::silu(zz) * r;
    const float dg = r * (to_f(dout[start + i]) * w[wstart + i] - n * mean_dot);
    dy[start + i] = from_f<T>(dg * detail::silu(zz));
    dz[start + i] = from_f<T>(dg * yy * detail::silu_grad(zz));
  }
}

// dw partial sums: thread per channel over rmsnorm_rows_per_partial rows.
template <typename T>
__global__ void rmsnorm_dw_kernel(const T* __restrict__ y, const T* __restrict__ z, const float* __restrict__ rstd,
                                  const T* __restrict__ dout, float* __restrict__ dw_partial, int64_t rows, int64_t d,
                                  int64_t group_size) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= d) return;
  const int64_t groups = d / group_size, grp = c / group_size;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rmsnorm_rows_per_partial;
  const int64_t r1 = r0 + rmsnorm_rows_per_partial < rows ? r0 + rmsnorm_rows_per_partial : rows;
  float acc = 0.f;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t i = r * d + c;
    acc += to_f(dout[i]) * to_f(y[i]) * detail::silu(to_f(z[i])) * rstd[r * groups + grp];
  }
  dw_partial[blockIdx.y * d + c] = acc;
}

}  // namespace

int gated_rmsnorm_fwd(DType dtype, const void* y, const void* z, const float* w, void* out, float* rstd, int64_t rows,
                      int64_t d, int64_t group_size, float eps, void* stream) {
  if (group_size < 1 || d % group_size != 0) return static_cast<int>(cudaErrorInvalidValue);
  if (rows == 0) return 0;
  const int64_t blocks = rows * (d / group_size);
  DM_DISPATCH_DTYPE(dtype, [&] {
    DM_LAUNCH(rmsnorm_fwd_kernel<T>, static_cast<unsigned>(blocks), kThreads, detail::as_stream(stream))
    (static_cast<const T*>(y), static_cast<const T*>(z), w, static_cast<T*>(out), rstd, d, group_size, eps);
  });
  return detail::last_error();
}

int gated_rmsnorm_bwd(DType dtype, const void* y, const void* z, const float* w, const float* rstd, const void* dout,
                      void* dy, void* dz, float* dw_partial, int64_t rows, int64_t d, int64_t group_size,
                      void* stream) {
  if (group_size < 1 || d % group_size != 0) return static_cast<int>(cudaErrorInvalidValue);
  if (rows == 0) return 0;
  const int64_t blocks = rows * (d / group_size);
  auto st = detail::as_stream(stream);
  const dim3 wgrid(detail::grid_for(d, kThreads), detail::grid_for(rows, static_cast<int>(rmsnorm_rows_per_partial)));
  DM_DISPATCH_DTYPE(dtype, [&] {
    DM_LAUNCH(rmsnorm_bwd_kernel<T>, static_cast<unsigned>(blocks), kThreads, st)
    (static_cast<const T*>(y), static_cast<const T*>(z), w, rstd, static_cast<const T*>(dout), static_cast<T*>(dy),
     static_cast<T*>(dz), d, group_size);
    DM_LAUNCH(rmsnorm_dw_kernel<T>, wgrid, kThreads, st)
    (static_cast<const T*>(y), static_cast<const T*>(z), rstd, static_cast<const T*>(dout), dw_partial, rows, d,
     group_size);
  });
  return detail::last_error();
}

}  // namespace dm::kernels
