// SSD chunked scan, forward: per-chunk cumulative decay, C·Bᵀ, chunk states, state passing, chunk outputs.
// Grids: x = the (batch, chunk, head or group) index, y and z = 64-wide output tiles.
#include "kernels/ssd_internal.cuh"

namespace dm::kernels {
namespace ssd {
namespace {

using detail::from_f;
using detail::to_f;

// acum[b, h, c, q] = Σ_{q' ≤ q} dt·A over chunk c (one thread per (b, h, c)).
__global__ void cumsum_kernel(Layout lay, const float* __restrict__ dt, Strides dts, const float* __restrict__ A,
                              float* __restrict__ ws) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= lay.b * lay.h * lay.nc) return;
  const int64_t c = idx % lay.nc, h = (idx / lay.nc) % lay.h, b = idx / (lay.nc * lay.h);
  const float a = A[h];
  float run = 0.f;
  float* out = ws + lay.acum + lay.acum_at(b, h, c, 0);
  for (int64_t q = 0; q < lay.q; ++q) {
    run += load_dt(dt, dts, b, c * lay.q + q, h, lay.l) * a;
    out[q] = run;
  }
}

// cb[b, c, g, t, s] = Σ_n C[t, n]·B[s, n] for s ≤ t (tiles above the diagonal are skipped).
template <typename T>
__global__ void cb_kernel(Layout lay, const T* __restrict__ Bm, Strides bs, const T* __restrict__ Cm, Strides cs,
                          float* __restrict__ ws) {
  const int64_t t0 = static_cast<int64_t>(blockIdx.y) * kTile, s0 = static_cast<int64_t>(blockIdx.z) * kTile;
  if (s0 > t0 + kTile - 1) return;
  const int64_t z = blockIdx.x, g = z % lay.g, c = (z / lay.g) % lay.nc, b = z / (lay.g * lay.nc);
  __shared__ TileSmem sm;
  __shared__ TcSmem smt;
  float acc[4][4] = {};
  tile_mm<T, true, true, Split::none>(
      lay, acc, sm, smt, 0, lay.n,
      [&](int i, int64_t n) { return t0 + i < lay.q ? load4(Cm, cs, b, c * lay.q + t0 + i, g, n, lay.l, lay.n) : 0.f; },
      [&](int64_t n, int j) {
        return s0 + j < lay.q ? load4(Bm, bs, b, c * lay.q + s0 + j, g, n, lay.l, lay.n) : 0.f;
      });
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  float* cb = ws + lay.cb + lay.cb_at(b, c, g, 0, 0);
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t t = t0 + 4 * ty + i, s = s0 + 4 * tx + j;
      if (t < lay.q && s < lay.q) cb[t * lay.q + s] = acc[i][j];
    }
}

template <typename T>
__global__ void outer_accum_kernel(Layout lay, const T* __restrict__ u, Strides us, const T* __restrict__ v, Strides vs,
                                   const float* __restrict__ dt, Strides dts, bool decay_to_end,
                                   const float* __restrict__ ws, float* __restrict__ out) {
  const int64_t p0 = static_cast<int64_t>(blockIdx.y) * kTile, n0 = static_cast<int64_t>(blockIdx.z) * kTile;
  const int64_t z = blockIdx.x, h = z % lay.h, c = (z / lay.h) % lay.nc, b = z / (lay.h * lay.nc);
  const int64_t g = h / (lay.h / lay.g);
  const float* acum = ws + lay.acum + lay.acum_at(b, h, c, 0);
  const float a_end = acum[lay.q - 1];
  __shared__ TileSmem sm;
  __shared__ TcSmem smt;
  float acc[4][4] = {};
  tile_mm<T, false, false, Split::a>(
      lay, acc, sm, smt, 0, lay.q,
      [&](int i, int64_t s) {
        const int64_t t = c * lay.q + s;
        const float w = decay_to_end ? load_dt(dt, dts, b, t, h, lay.l) * expf(a_end - acum[s]) : expf(acum[s]);
        return w * load4(u, us, b, t, h, p0 + i, lay.l, lay.p);
      },
      [&](int64_t s, int j) { return load4(v, vs, b, c * lay.q + s, g, n0 + j, lay.l, lay.n); });
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t p = p0 + 4 * ty + i, n = n0 + 4 * tx + j;
      if (p < lay.p && n < lay.n) out[lay.state_at(b, c, h, p, n)] = acc[i][j];
    }
}

// In place: states[c] (chunk contributions) become the states entering each chunk; writes the final state.
__global__ void state_passing_kernel(Layout lay, const float* __restrict__ init, float* __restrict__ ws,
                                     float* __restrict__ final_state) {
  const int64_t pn_total = lay.p * lay.n;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= lay.b * lay.h * pn_total) return;
  const int64_t pn = idx % pn_total, h = (idx / pn_total) % lay.h, b = idx / (pn_total * lay.h);
  float s = init ? init[idx] : 0.f;
  for (int64_t c = 0; c < lay.nc; ++c) {
    float* st = ws + lay.states + lay.state_at(b, c, h, 0, 0) + pn;
    const float contribution = *st;
    *st = s;
    s = expf(ws[lay.acum + lay.acum_at(b, h, c, lay.q - 1)]) * s + contribution;
  }
  final_state[idx] = s;
}

// y[t, p] = Σ_{s ≤ t} C_t·B_s · exp(a_t − a_s) · dt_s · x[s, p] + exp(a_t) · Σ_n C[t, n] · S_in[p, n] + D · x[t, p].
template <typename T>
__global__ void chunk_scan_kernel(Layout lay, SsdInputs in, const float* __restrict__ ws, T* __restrict__ y) {
  const int64_t t0 = static_cast<int64_t>(blockIdx.y) * kTile, p0 = static_cast<int64_t>(blockIdx.z) * kTile;
  const int64_t z = blockIdx.x, h = z % lay.h, c = (z / lay.h) % lay.nc, b = z / (lay.h * lay.nc);
  const int64_t g = h / (lay.h / lay.g);
  const T* x = static_cast<const T*>(in.x);
  const T* cm = static_cast<const T*>(in.Cm);
  const float* acum = ws + lay.acum + lay.acum_at(b, h, c, 0);
  const float* cb = ws + lay.cb + lay.cb_at(b, c, g, 0, 0);
  const float* sin = ws + lay.states + lay.state_at(b, c, h, 0, 0);
  __shared__ TileSmem sm;
  __shared__ TcSmem smt;
  float diag[4][4] = {}, off[4][4] = {};
  const int64_t s_end = t0 + kTile < lay.q ? t0 + kTile : lay.q;
  tile_mm<T, true, false, Split::a>(
      lay, diag, sm, smt, 0, s_end,
      [&](int i, int64_t s) {
        const int64_t t = t0 + i;
        return (s <= t && t < lay.q)
                   ? cb[t * lay.q + s] * expf(acum[t] - acum[s]) * load_dt(in.dt, in.dts, b, c * lay.q + s, h, lay.l)
                   : 0.f;
      },
      [&](int64_t s, int j) { return load4(x, in.xs, b, c * lay.q + s, h, p0 + j, lay.l, lay.p); });
  tile_mm<T, true, true, Split::b>(
      lay, off, sm, smt, 0, lay.n,
      [&](int i, int64_t n) {
        return t0 + i < lay.q ? load4(cm, in.cs, b, c * lay.q + t0 + i, g, n, lay.l, lay.n) : 0.f;
      },
      [&](int64_t n, int j) { return p0 + j < lay.p ? sin[(p0 + j) * lay.n + n] : 0.f; });
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + 4 * ty + i, tg = c * lay.q + t;
    if (t >= lay.q || tg >= lay.l) continue;
    const float e = expf(acum[t]);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t p = p0 + 4 * tx + j;
      if (p >= lay.p) continue;
      float out = diag[i][j] + e * off[i][j];
      if (in.D) out += in.D[h] * to_f(x[b * in.xs.s0 + tg * in.xs.s1 + h * in.xs.s2 + p * in.xs.s3]);
      y[((b * lay.l + tg) * lay.h + h) * lay.p + p] = from_f<T>(out);
    }
  }
}

}  // namespace

dim3 tile_grid(int64_t items, int64_t rows, int64_t cols) {
  return dim3(static_cast<unsigned>(items), detail::grid_for(rows, kTile), detail::grid_for(cols, kTile));
}

int outer_accum(DType dtype, const SsdInputs& in, const void* u, Strides us, const void* v, Strides vs,
                bool decay_to_end, const float* ws, float* out, cudaStream_t st) {
  const Layout lay(in.shape, in.tensor_cores, in.split_operands);
  DM_DISPATCH_DTYPE(dtype, [&] {
    DM_LAUNCH(outer_accum_kernel<T>, tile_grid(lay.b * lay.nc * lay.h, lay.p, lay.n), kThreads, st)
    (lay, static_cast<const T*>(u), us, static_cast<const T*>(v), vs, in.dt, in.dts, decay_to_end, ws, out);
  });
  return detail::last_error();
}

int forward_stages(const SsdInputs& in, float* ws, float* final_state, cudaStream_t st) {
  const Layout lay(in.shape, in.tensor_cores, in.split_operands);
  DM_LAUNCH(cumsum_kernel, detail::grid_for(lay.b * lay.h * lay.nc, 128), 128, st)(lay, in.dt, in.dts, in.A, ws);
  DM_DISPATCH_DTYPE(in.dtype, [&] {
    DM_LAUNCH(cb_kernel<T>, tile_grid(lay.b * lay.nc * lay.g, lay.q, lay.q), kThreads, st)
    (lay, static_cast<const T*>(in.Bm), in.bs, static_cast<const T*>(in.Cm), in.cs, ws);
  });
  if (int e = detail::last_error()) return e;
  if (int e = outer_accum(in.dtype, in, in.x, in.xs, in.Bm, in.bs, true, ws, ws + lay.states, st)) return e;
  DM_LAUNCH(state_passing_kernel, detail::grid_for(lay.b * lay.h * lay.p * lay.n, 256), 256, st)
  (lay, in.initial_state, ws, final_state);
  return detail::last_error();
}

}  // namespace ssd

int64_t ssd_forward_workspace_floats(const SsdShape& s) { return ssd::Layout(s).fwd_end; }
int64_t ssd_backward_workspace_floats(const SsdShape& s) { return ssd::Layout(s).bwd_end; }

int ssd_forward(const SsdInputs& in, void* y, float* final_state, float* workspace, void* stream) {
  const ssd::Layout lay(in.shape, in.tensor_cores, in.split_operands);
  if (lay.q < 1 || lay.g < 1 || lay.h % lay.g != 0) return static_cast<int>(cudaErrorInvalidValue);
  if (lay.b * lay.nc * lay.h > 0x7fffffff) return static_cast<int>(cudaErrorInvalidConfiguration);  // grid x
  auto st = detail::as_stream(stream);
  if (lay.b * lay.h * lay.p * lay.n == 0) return 0;
  if (lay.l == 0) {  // no steps: the final state is the initial one
    const size_t bytes = sizeof(float) * lay.b * lay.h * lay.p * lay.n;
    return in.initial_state ? cudaMemcpyAsync(final_state, in.initial_state, bytes, cudaMemcpyDeviceToDevice, st)
                            : cudaMemsetAsync(final_state, 0, bytes, st);
  }
  if (int e = ssd::forward_stages(in, workspace, final_state, st)) return e;
  DM_DISPATCH_DTYPE(in.dtype, [&] {
    DM_LAUNCH(ssd::chunk_scan_kernel<T>, ssd::tile_grid(lay.b * lay.nc * lay.h, lay.q, lay.p), ssd::kThreads, st)
    (lay, in, workspace, static_cast<T*>(y));
  });
  return detail::last_error();
}

}  // namespace dm::kernels
