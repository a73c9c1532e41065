// One decoding step of the SSM (what generation runs per token): state update and output in one pass.
#include "kernels/common.cuh"

namespace dm::kernels {
namespace {

using detail::from_f;
using detail::to_f;

// One warp per (b, h, p): lanes split the state dimension, then a warp sum gives y.
template <typename T>
__global__ void ssm_update_kernel(const T* __restrict__ x, const float* __restrict__ dt, const float* __restrict__ A,
                                  const T* __restrict__ Bm, const T* __restrict__ Cm, const float* __restrict__ D,
                                  float* __restrict__ state, T* __restrict__ y, int64_t heads, int64_t head_dim,
                                  int64_t groups, int64_t state_dim, int64_t total) {
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (warp >= total) return;  // the whole warp leaves together
  const int64_t h = (warp / head_dim) % heads, b = warp / (head_dim * heads);
  const int64_t g = h / (heads / groups);
  const float d = dt[b * heads + h];
  const float decay = expf(d * A[h]);
  const float xv = to_f(x[warp]);
  const T* bp = Bm + (b * groups + g) * state_dim;
  const T* cp = Cm + (b * groups + g) * state_dim;
  float* sp = state + warp * state_dim;
  float acc = 0.f;
  for (int64_t n = lane; n < state_dim; n += 32) {
    const float s = sp[n] * decay + d * xv * to_f(bp[n]);
    sp[n] = s;
    acc += s * to_f(cp[n]);
  }
  acc = detail::group_sum(acc, 32);
  if (lane == 0) y[warp] = from_f<T>(acc + (D ? D[h] * xv : 0.f));
}

}  // namespace

int ssm_state_update(DType dtype, const void* x, const float* dt, const float* A, const void* Bm, const void* Cm,
                     const float* D, float* state, void* y, int64_t batch, int64_t heads, int64_t head_dim,
                     int64_t groups, int64_t state_dim, void* stream) {
  if (groups < 1 || heads % groups != 0) return static_cast<int>(cudaErrorInvalidValue);
  const int64_t total = batch * heads * head_dim;
  if (total == 0) return 0;
  constexpr int kThreads = 256;
  DM_DISPATCH_DTYPE(dtype, [&] {
    DM_LAUNCH(ssm_update_kernel<T>, detail::grid_for(total * 32, kThreads), kThreads, detail::as_stream(stream))
    (static_cast<const T*>(x), dt, A, static_cast<const T*>(Bm), static_cast<const T*>(Cm), D, state,
     static_cast<T*>(y), heads, head_dim, groups, state_dim, total);
  });
  return detail::last_error();
}

}  // namespace dm::kernels
