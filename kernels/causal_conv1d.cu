// Causal depthwise conv1d over time with fused bias + SiLU: forward, backward and the decoding step.
#include "kernels/common.cuh"

namespace dm::kernels {
namespace {

using detail::from_f;
using detail::to_f;

constexpr int kThreads = 256;
constexpr int kMaxKernel = 8;  // Mamba2 uses 4; the launchers reject more

// Pre-activation at (b, t, c): bias + Σ_k w[c,k]·x[b, t−K+1+k, c].
template <typename T>
__device__ __forceinline__ float conv_pre(const T* x, Strides xs, const float* w, const float* bias, int64_t b,
                                          int64_t t, int64_t c, int kernel) {
  float acc = bias ? bias[c] : 0.f;
  for (int k = 0; k < kernel; ++k) {
    const int64_t tt = t - (kernel - 1) + k;
    if (tt >= 0) acc += w[c * kernel + k] * to_f(x[b * xs.s0 + tt * xs.s1 + c * xs.s2]);
  }
  return acc;
}

template <typename T>
__global__ void conv_fwd_kernel(const T* __restrict__ x, Strides xs, const float* __restrict__ w,
                                const float* __restrict__ bias, T* __restrict__ y, int64_t length, int64_t channels,
                                int kernel, bool silu, int64_t total) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t c = idx % channels, t = (idx / channels) % length, b = idx / (channels * length);
  const float pre = conv_pre(x, xs, w, bias, b, t, c, kernel);
  y[idx] = from_f<T>(silu ? detail::silu(pre) : pre);
}

// Gradient at the pre-activation of (b, t, c).
template <typename T>
__device__ __forceinline__ float conv_dpre(const T* x, Strides xs, const float* w, const float* bias, const T* dy,
                                           int64_t b, int64_t t, int64_t c, int64_t length, int64_t channels,
                                           int kernel, bool silu) {
  const float g = to_f(dy[(b * length + t) * channels + c]);
  return silu ? g * detail::silu_grad(conv_pre(x, xs, w, bias, b, t, c, kernel)) : g;
}

// dx[b,s,c] = Σ_k w[c,k]·dpre[b, s+K−1−k, c].
template <typename T>
__global__ void conv_bwd_dx_kernel(const T* __restrict__ x, Strides xs, const float* __restrict__ w,
                                   const float* __restrict__ bias, const T* __restrict__ dy, T* __restrict__ dx,
                                   int64_t length, int64_t channels, int kernel, bool silu, int64_t total) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t c = idx % channels, s = (idx / channels) % length, b = idx / (channels * length);
  float acc = 0.f;
  for (int k = 0; k < kernel; ++k) {
    const int64_t t = s + (kernel - 1) - k;
    if (t < length) acc += w[c * kernel + k] * conv_dpre(x, xs, w, bias, dy, b, t, c, length, channels, kernel, silu);
  }
  dx[idx] = from_f<T>(acc);
}

// Each thread owns one channel and a slice of rows; partial sums of dw and db go out by atomicAdd.
template <typename T>
__global__ void conv_bwd_dw_kernel(const T* __restrict__ x, Strides xs, const float* __restrict__ w,
                                   const float* __restrict__ bias, const T* __restrict__ dy, float* __restrict__ dw,
                                   float* __restrict__ db, int64_t batch, int64_t length, int64_t channels, int kernel,
                                   bool silu, int64_t rows_per_block) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  const int64_t rows = batch * length;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_block;
  const int64_t r1 = r0 + rows_per_block < rows ? r0 + rows_per_block : rows;
  float acc[kMaxKernel] = {};
  float bacc = 0.f;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / length, t = r % length;
    const float g = conv_dpre(x, xs, w, bias, dy, b, t, c, length, channels, kernel, silu);
    bacc += g;
#pragma unroll
    for (int k = 0; k < kMaxKernel; ++k) {
      const int64_t tt = t - (kernel - 1) + k;
      if (k < kernel && tt >= 0) acc[k] += g * to_f(x[b * xs.s0 + tt * xs.s1 + c * xs.s2]);
    }
  }
#pragma unroll
  for (int k = 0; k < kMaxKernel; ++k)
    if (k < kernel) atomicAdd(&dw[c * kernel + k], acc[k]);
  if (db) atomicAdd(&db[c], bacc);
}

template <typename T>
__global__ void conv_update_kernel(const T* __restrict__ x, T* __restrict__ state, const float* __restrict__ w,
                                   const float* __restrict__ bias, T* __restrict__ y, int64_t channels, int kernel,
                                   bool silu, int64_t total) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t c = idx % channels;
  T* st = state + idx * kernel;
  float acc = bias ? bias[c] : 0.f;
  for (int k = 0; k < kernel; ++k) {
    const float v = k + 1 < kernel ? to_f(st[k + 1]) : to_f(x[idx]);
    acc += w[c * kernel + k] * v;
    st[k] = from_f<T>(v);
  }
  y[idx] = from_f<T>(silu ? detail::silu(acc) : acc);
}

}  // namespace

const char* error_string(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

const char* compiled_architectures() {
#ifdef DM_KERNEL_ARCHS
  return DM_KERNEL_ARCHS;
#else
  return "unknown";
#endif
}

int causal_conv1d_fwd(DType dtype, const void* x, Strides xs, const float* w, const float* bias, void* y, int64_t batch,
                      int64_t length, int64_t channels, int kernel, bool silu, void* stream) {
  const int64_t total = batch * length * channels;
  if (kernel < 1 || kernel > kMaxKernel) return static_cast<int>(cudaErrorInvalidValue);
  if (total == 0) return 0;
  DM_DISPATCH_DTYPE(dtype, [&] {
    DM_LAUNCH(conv_fwd_kernel<T>, detail::grid_for(total, kThreads), kThreads, detail::as_stream(stream))
    (static_cast<const T*>(x), xs, w, bias, static_cast<T*>(y), length, channels, kernel, silu, total);
  });
  return detail::last_error();
}

int causal_conv1d_bwd(DType dtype, const void* x, Strides xs, const float* w, const float* bias, const void* dy,
                      void* dx, float* dw, float* db, int64_t batch, int64_t length, int64_t channels, int kernel,
                      bool silu, void* stream) {
  const int64_t total = batch * length * channels;
  if (kernel < 1 || kernel > kMaxKernel) return static_cast<int>(cudaErrorInvalidValue);
  auto st = detail::as_stream(stream);
  if (cudaError_t e = cudaMemsetAsync(dw, 0, sizeof(float) * channels * kernel, st); e != cudaSuccess) return e;
  if (db)
    if (cudaError_t e = cudaMemsetAsync(db, 0, sizeof(float) * channels, st); e != cudaSuccess) return e;
  if (total == 0) return 0;
  const int64_t rows = batch * length, rows_per_block = 256;
  const dim3 wgrid(detail::grid_for(channels, kThreads), detail::grid_for(rows, static_cast<int>(rows_per_block)));
  DM_DISPATCH_DTYPE(dtype, [&] {
    DM_LAUNCH(conv_bwd_dx_kernel<T>, detail::grid_for(total, kThreads), kThreads, st)
    (static_cast<const T*>(x), xs, w, bias, static_cast<const T*>(dy), static_cast<T*>(dx), length, channels, kernel,
     silu, total);
    DM_LAUNCH(conv_bwd_dw_kernel<T>, wgrid, kThreads, st)
    (static_cast<const T*>(x), xs, w, bias, static_cast<const T*>(dy), dw, db, batch, length, channels, kernel, silu,
     rows_per_block);
  });
  return detail::last_error();
}

int causal_conv1d_update(DType dtype, const void* x, void* state, const float* w, const float* bias, void* y,
                         int64_t batch, int64_t channels, int kernel, bool silu, void* stream) {
  const int64_t total = batch * channels;
  if (kernel < 1) return static_cast<int>(cudaErrorInvalidValue);
  if (total == 0) return 0;
  DM_DISPATCH_DTYPE(dtype, [&] {
    DM_LAUNCH(conv_update_kernel<T>, detail::grid_for(total, kThreads), kThreads, detail::as_stream(stream))
    (static_cast<const T*>(x), static_cast<T*>(state), w, bias, static_cast<T*>(y), channels, kernel, silu, total);
  });
  return detail::last_error();
}

}  // namespace dm::kernels
