// SSD chunked scan, backward. With X~_s = dt_s·x_s, a = cumulative dt·A in a chunk, S_in the state entering
// it and G_{c+1} = dL/dS_in of the next chunk (state passing run in reverse):
//   dX~_s = Σ_{t≥s} C_t·B_s e^{a_t−a_s} dy_t + e^{a_end−a_s} G_{c+1} B_s
//   dC_t  = Σ_{s≤t} dCB_ts B_s + e^{a_t} S_inᵀ dy_t,   dB_s = Σ_{t≥s} dCB_ts C_t + e^{a_end−a_s} G_{c+1}ᵀ X~_s
//   with dCB_ts = Σ_heads e^{a_t−a_s} dy_t·X~_s (heads of a group summed), and
//   da_t  = dy_t·(y_t − D x_t) − X~_t·dX~_t + [t = end] (Σ_s X~_s·(e^{a_end−a_s} G B_s) + e^{a_end}⟨G, S_in⟩),
// then d(dt·A) is the reverse cumulative sum of da, ddt = x·dX~ + A·d(dt·A), dA = Σ dt·d(dt·A).
#include "kernels/ssd_internal.cuh"

namespace dm::kernels {
namespace ssd {
namespace {

using detail::from_f;
using detail::to_f;

struct Ctx {  // what every backward kernel reads
  Layout lay;
  SsdInputs in;
  SsdGrads gr;
  float* ws;
};

__device__ __forceinline__ void decode_z(const Layout& lay, int64_t z, int64_t& b, int64_t& c, int64_t& h, int64_t& g) {
  h = z % lay.h;
  c = (z / lay.h) % lay.nc;
  b = z / (lay.h * lay.nc);
  g = h / (lay.h / lay.g);
}

// Reverse state passing: gnext[c] ← G_{c+1}; da[end of c] += e^{a_end}⟨G_{c+1}, S_in_c⟩; d_initial_state.
__global__ void state_passing_bwd_kernel(Ctx k) {
  const Layout& lay = k.lay;
  const int64_t pn_total = lay.p * lay.n;
  const int64_t pn = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t bh = blockIdx.y, h = bh % lay.h, b = bh / lay.h;
  const bool active = pn < pn_total;
  float g = (active && k.gr.d_final_state) ? k.gr.d_final_state[bh * pn_total + pn] : 0.f;
  for (int64_t c = lay.nc - 1; c >= 0; --c) {
    const int64_t at = lay.state_at(b, c, h, 0, 0) + pn;
    const float decay = expf(k.ws[lay.acum + lay.acum_at(b, h, c, lay.q - 1)]);
    float contribution = 0.f;
    if (active) {
      const float local = k.ws[lay.gnext + at];
      k.ws[lay.gnext + at] = g;
      contribution = decay * g * k.ws[lay.states + at];
      g = local + decay * g;
    }
    contribution = detail::group_sum(contribution, 32);
    if ((threadIdx.x & 31) == 0 && contribution != 0.f)
      atomicAdd(&k.ws[lay.da + lay.acum_at(b, h, c, lay.q - 1)], contribution);
  }
  if (active && k.gr.d_initial_state) k.gr.d_initial_state[bh * pn_total + pn] = g;
}

// dCB (summed over a group's heads) and da_t += Σ_s CB_ts·dCBh_ts (= dy_t·y_diag_t).
template <typename T>
__global__ void dcb_kernel(Ctx k) {
  const Layout& lay = k.lay;
  const int64_t t0 = static_cast<int64_t>(blockIdx.y) * kTile, s0 = static_cast<int64_t>(blockIdx.z) * kTile;
  if (s0 > t0 + kTile - 1) return;
  int64_t b, c, h, g;
  decode_z(lay, blockIdx.x, b, c, h, g);
  const T* x = static_cast<const T*>(k.in.x);
  const T* dy = static_cast<const T*>(k.gr.dy);
  const Strides dys{lay.l * lay.h * lay.p, lay.h * lay.p, lay.p, 1};
  __shared__ TileSmem sm;
  __shared__ TcSmem smt;
  float acc[4][4] = {};
  tile_mm<T, true, true, Split::none>(
      lay, acc, sm, smt, 0, lay.p,
      [&](int i, int64_t p) {
        return t0 + i < lay.q ? load4(dy, dys, b, c * lay.q + t0 + i, h, p, lay.l, lay.p) : 0.f;
      },
      [&](int64_t p, int j) {
        return s0 + j < lay.q ? load4(x, k.in.xs, b, c * lay.q + s0 + j, h, p, lay.l, lay.p) : 0.f;
      });
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const float* acum = k.ws + lay.acum + lay.acum_at(b, h, c, 0);
  const float* cb = k.ws + lay.cb + lay.cb_at(b, c, g, 0, 0);
  float* dcb = k.ws + lay.dcb + lay.cb_at(b, c, g, 0, 0);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + 4 * ty + i;
    float row = 0.f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t s = s0 + 4 * tx + j;
      if (s <= t && t < lay.q) {
        const float v = expf(acum[t] - acum[s]) * load_dt(k.in.dt, k.in.dts, b, c * lay.q + s, h, lay.l) * acc[i][j];
        atomicAdd(&dcb[t * lay.q + s], v);
        row += cb[t * lay.q + s] * v;
      }
    }
    row = detail::group_sum(row, 16);
    if (tx == 0 && t < lay.q && row != 0.f) atomicAdd(&k.ws[lay.da + lay.acum_at(b, h, c, t)], row);
  }
}

// Chunk-output part of dC: w_t = e^{a_t} S_inᵀ dy_t; dC_t += w_t; da_t += C_t·w_t (= dy_t·y_off_t).
// State part of dB (as_db): v_s = e^{a_end−a_s} dt_s G_{c+1}ᵀ x_s; dB_s += v_s; da_end += B_s·v_s.
template <typename T>
__global__ void dbc_state_kernel(Ctx k, bool as_db) {
  const Layout& lay = k.lay;
  const int64_t t0 = static_cast<int64_t>(blockIdx.y) * kTile, n0 = static_cast<int64_t>(blockIdx.z) * kTile;
  int64_t b, c, h, g;
  decode_z(lay, blockIdx.x, b, c, h, g);
  const Strides dys{lay.l * lay.h * lay.p, lay.h * lay.p, lay.p, 1};
  const T* rows = as_db ? static_cast<const T*>(k.in.x) : static_cast<const T*>(k.gr.dy);
  const Strides rs = as_db ? k.in.xs : dys;
  const float* mat = k.ws + (as_db ? lay.gnext : lay.states) + lay.state_at(b, c, h, 0, 0);  // [P, N]
  __shared__ TileSmem sm;
  __shared__ TcSmem smt;
  float acc[4][4] = {};
  tile_mm<T, true, false, Split::b>(
      lay, acc, sm, smt, 0, lay.p,
      [&](int i, int64_t p) {
        return t0 + i < lay.q ? load4(rows, rs, b, c * lay.q + t0 + i, h, p, lay.l, lay.p) : 0.f;
      },
      [&](int64_t p, int j) { return n0 + j < lay.n ? mat[p * lay.n + n0 + j] : 0.f; });
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const float* acum = k.ws + lay.acum + lay.acum_at(b, h, c, 0);
  const T* other = static_cast<const T*>(as_db ? k.in.Bm : k.in.Cm);
  const Strides os = as_db ? k.in.bs : k.in.cs;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t t = t0 + 4 * ty + i, tg = c * lay.q + t;
    float dot = 0.f;
    if (t < lay.q && tg < lay.l) {
      const float scale =
          as_db ? expf(acum[lay.q - 1] - acum[t]) * load_dt(k.in.dt, k.in.dts, b, tg, h, lay.l) : expf(acum[t]);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int64_t n = n0 + 4 * tx + j;
        if (n >= lay.n) continue;
        const float w = scale * acc[i][j];
        atomicAdd(&k.ws[(as_db ? lay.db32 : lay.dc32) + lay.bc32_at(b, tg, g, n)], w);
        dot += load4(other, os, b, tg, g, n, lay.l, lay.n) * w;
      }
    }
    dot = detail::group_sum(dot, 16);
    if (tx == 0 && dot != 0.f) atomicAdd(&k.ws[lay.da + lay.acum_at(b, h, c, as_db ? lay.q - 1 : t)], dot);
  }
}

// dX~ for a tile of (s, p); writes dx = dt·dX~ + D·dy and adds x·dX~ to ddt, −dt·x·dX~ to da, dy·x to dD.
template <typename T>
__global__ void dx_kernel(Ctx k) {
  const Layout& lay = k.lay;
  const int64_t s0 = static_cast<int64_t>(blockIdx.y) * kTile, p0 = static_cast<int64_t>(blockIdx.z) * kTile;
  int64_t b, c, h, g;
  decode_z(lay, blockIdx.x, b, c, h, g);
  const T* dy = static_cast<const T*>(k.gr.dy);
  const T* x = static_cast<const T*>(k.in.x);
  const Strides dys{lay.l * lay.h * lay.p, lay.h * lay.p, lay.p, 1};
  const float* acum = k.ws + lay.acum + lay.acum_at(b, h, c, 0);
  const float* cb = k.ws + lay.cb + lay.cb_at(b, c, g, 0, 0);
  const float* gn = k.ws + lay.gnext + lay.state_at(b, c, h, 0, 0);
  __shared__ TileSmem sm;
  __shared__ TcSmem smt;
  float diag[4][4] = {}, state[4][4] = {};
  tile_mm<T, false, false, Split::a>(
      lay, diag, sm, smt, s0, lay.q,
      [&](int i, int64_t t) {
        const int64_t s = s0 + i;
        return (t >= s && s < lay.q) ? cb[t * lay.q + s] * expf(acum[t] - acum[s]) : 0.f;
      },
      [&](int64_t t, int j) { return load4(dy, dys, b, c * lay.q + t, h, p0 + j, lay.l, lay.p); });
  tile_mm<T, true, true, Split::b>(
      lay, state, sm, smt, 0, lay.n,
      [&](int i, int64_t n) {
        return s0 + i < lay.q
                   ? load4(static_cast<const T*>(k.in.Bm), k.in.bs, b, c * lay.q + s0 + i, g, n, lay.l, lay.n)
                   : 0.f;
      },
      [&](int64_t n, int j) { return p0 + j < lay.p ? gn[(p0 + j) * lay.n + n] : 0.f; });
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const float dd = k.in.D ? k.in.D[h] : 0.f;
  float dyx = 0.f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t s = s0 + 4 * ty + i, sg = c * lay.q + s;
    const bool row_ok = s < lay.q && sg < lay.l;
    const float dt_s = row_ok ? load_dt(k.in.dt, k.in.dts, b, sg, h, lay.l) : 0.f;
    const float decay = row_ok ? expf(acum[lay.q - 1] - acum[s]) : 0.f;
    float xdot = 0.f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t p = p0 + 4 * tx + j;
      if (!row_ok || p >= lay.p) continue;
      const float dxt = diag[i][j] + decay * state[i][j];
      const float xv = to_f(x[b * k.in.xs.s0 + sg * k.in.xs.s1 + h * k.in.xs.s2 + p * k.in.xs.s3]);
      const float dyv = to_f(dy[((b * lay.l + sg) * lay.h + h) * lay.p + p]);
      static_cast<T*>(k.gr.dx)[((b * lay.l + sg) * lay.h + h) * lay.p + p] = from_f<T>(dt_s * dxt + dd * dyv);
      xdot += xv * dxt;
      dyx += dyv * xv;
    }
    xdot = detail::group_sum(xdot, 16);
    if (tx == 0 && row_ok && xdot != 0.f) {
      atomicAdd(&k.ws[lay.ddtp + lay.acum_at(b, h, c, s)], xdot);
      atomicAdd(&k.ws[lay.da + lay.acum_at(b, h, c, s)], -dt_s * xdot);
    }
  }
  dyx = detail::group_sum(dyx, 32);
  if ((threadIdx.x & 31) == 0 && k.gr.dD && dyx != 0.f) atomicAdd(&k.gr.dD[h], dyx);
}

// Diagonal parts of dC (as_db false: dC_t += Σ_{s≤t} dCB_ts B_s) or dB (dB_s += Σ_{t≥s} dCB_ts C_t), per group.
template <typename T>
__global__ void dbc_diag_kernel(Ctx k, bool as_db) {
  const Layout& lay = k.lay;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kTile, n0 = static_cast<int64_t>(blockIdx.z) * kTile;
  const int64_t z = blockIdx.x, g = z % lay.g, c = (z / lay.g) % lay.nc, b = z / (lay.g * lay.nc);
  const float* dcb = k.ws + lay.dcb + lay.cb_at(b, c, g, 0, 0);
  const T* other = static_cast<const T*>(as_db ? k.in.Cm : k.in.Bm);
  const Strides os = as_db ? k.in.cs : k.in.bs;
  __shared__ TileSmem sm;
  __shared__ TcSmem smt;
  float acc[4][4] = {};
  auto lb = [&](int64_t kk, int j) { return load4(other, os, b, c * lay.q + kk, g, n0 + j, lay.l, lay.n); };
  if (as_db) {  // rows s, reduce over t ≥ s: dcb[t, s] is contiguous in s
    tile_mm<T, false, false, Split::a>(
        lay, acc, sm, smt, r0, lay.q,
        [&](int i, int64_t t) { return (t >= r0 + i && r0 + i < lay.q) ? dcb[t * lay.q + r0 + i] : 0.f; }, lb);
  } else {  // rows t, reduce over s ≤ t
    const int64_t s_end = r0 + kTile < lay.q ? r0 + kTile : lay.q;
    tile_mm<T, true, false, Split::a>(
        lay, acc, sm, smt, 0, s_end,
        [&](int i, int64_t s) { return (s <= r0 + i && r0 + i < lay.q) ? dcb[(r0 + i) * lay.q + s] : 0.f; }, lb);
  }
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  float* out = k.ws + (as_db ? lay.db32 : lay.dc32);
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t r = r0 + 4 * ty + i, n = n0 + 4 * tx + j;
      if (r < lay.q && n < lay.n) out[lay.bc32_at(b, c * lay.q + r, g, n)] += acc[i][j];
    }
}

// Reverse cumulative sum of da per chunk → ddt and dA (one thread per (b, h, c)).
__global__ void finalize_dt_kernel(Ctx k) {
  const Layout& lay = k.lay;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= lay.b * lay.h * lay.nc) return;
  const int64_t c = idx % lay.nc, h = (idx / lay.nc) % lay.h, b = idx / (lay.nc * lay.h);
  const float a = k.in.A[h];
  const float* da = k.ws + lay.da + lay.acum_at(b, h, c, 0);
  const float* ddtp = k.ws + lay.ddtp + lay.acum_at(b, h, c, 0);
  float run = 0.f, da_sum = 0.f;
  for (int64_t q = lay.q - 1; q >= 0; --q) {
    run += da[q];
    const int64_t t = c * lay.q + q;
    if (t >= lay.l) continue;
    k.gr.ddt[(b * lay.l + t) * lay.h + h] = ddtp[q] + a * run;
    da_sum += load_dt(k.in.dt, k.in.dts, b, t, h, lay.l) * run;
  }
  atomicAdd(&k.gr.dA[h], da_sum);
}

template <typename T>
__global__ void convert_bc_kernel(Ctx k) {
  const Layout& lay = k.lay;
  const int64_t total = lay.b * lay.l * lay.g * lay.n;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t n = idx % lay.n, g = (idx / lay.n) % lay.g, t = (idx / (lay.n * lay.g)) % lay.l,
                b = idx / (lay.n * lay.g * lay.l);
  static_cast<T*>(k.gr.dB)[idx] = from_f<T>(k.ws[lay.db32 + lay.bc32_at(b, t, g, n)]);
  static_cast<T*>(k.gr.dC)[idx] = from_f<T>(k.ws[lay.dc32 + lay.bc32_at(b, t, g, n)]);
}

}  // namespace
}  // namespace ssd

int ssd_backward(const SsdInputs& given, const SsdGrads& gr, float* workspace, void* stream) {
  using namespace ssd;
  // bf16 on the tensor cores only with split operands: plain bf16 rounding of the fp32-valued operands costs
  // dA about 8% (emulated multi-tile test; its terms cancel), so without the split the backward uses FMA.
  SsdInputs in = given;
  in.tensor_cores = given.tensor_cores && given.split_operands;
  const Layout lay(in.shape, in.tensor_cores, in.split_operands);
  if (lay.q < 1 || lay.g < 1 || lay.h % lay.g != 0) return static_cast<int>(cudaErrorInvalidValue);
  if (lay.b * lay.nc * lay.h > 0x7fffffff) return static_cast<int>(cudaErrorInvalidConfiguration);  // grid x
  auto st = detail::as_stream(stream);
  auto zero = [&](void* p, int64_t floats) {
    return floats > 0 ? static_cast<int>(cudaMemsetAsync(p, 0, sizeof(float) * floats, st)) : 0;
  };
  if (int e = zero(gr.dA, lay.h)) return e;
  if (gr.dD)
    if (int e = zero(gr.dD, lay.h)) return e;
  if (lay.l == 0 || lay.b * lay.h * lay.p * lay.n == 0) {
    if (gr.d_initial_state) {
      const size_t bytes = sizeof(float) * lay.b * lay.h * lay.p * lay.n;
      return gr.d_final_state
                 ? cudaMemcpyAsync(gr.d_initial_state, gr.d_final_state, bytes, cudaMemcpyDeviceToDevice, st)
                 : cudaMemsetAsync(gr.d_initial_state, 0, bytes, st);
    }
    return 0;
  }
  // dcb, da, ddtp, db32, dc32 are accumulated: zero them (they are contiguous in the layout).
  if (int e = zero(workspace + lay.dcb, lay.fin - lay.dcb)) return e;
  if (int e = forward_stages(in, workspace, workspace + lay.fin, st)) return e;
  const Strides dys{lay.l * lay.h * lay.p, lay.h * lay.p, lay.p, 1};
  if (int e = outer_accum(in.dtype, in, gr.dy, dys, in.Cm, in.cs, false, workspace, workspace + lay.gnext, st))
    return e;
  const Ctx ctx{lay, in, gr, workspace};
  const int64_t zh = lay.b * lay.nc * lay.h, zg = lay.b * lay.nc * lay.g;
  DM_LAUNCH(state_passing_bwd_kernel, dim3(detail::grid_for(lay.p * lay.n, 256), static_cast<unsigned>(lay.b * lay.h)),
            256, st)
  (ctx);
  DM_DISPATCH_DTYPE(in.dtype, [&] {
    DM_LAUNCH(dcb_kernel<T>, tile_grid(zh, lay.q, lay.q), kThreads, st)(ctx);
    DM_LAUNCH(dbc_state_kernel<T>, tile_grid(zh, lay.q, lay.n), kThreads, st)(ctx, false);
    DM_LAUNCH(dbc_state_kernel<T>, tile_grid(zh, lay.q, lay.n), kThreads, st)(ctx, true);
    DM_LAUNCH(dx_kernel<T>, tile_grid(zh, lay.q, lay.p), kThreads, st)(ctx);
    DM_LAUNCH(dbc_diag_kernel<T>, tile_grid(zg, lay.q, lay.n), kThreads, st)(ctx, false);
    DM_LAUNCH(dbc_diag_kernel<T>, tile_grid(zg, lay.q, lay.n), kThreads, st)(ctx, true);
    DM_LAUNCH(finalize_dt_kernel, detail::grid_for(lay.b * lay.h * lay.nc, 128), 128, st)(ctx);
    DM_LAUNCH(convert_bc_kernel<T>, detail::grid_for(lay.b * lay.l * lay.g * lay.n, 256), 256, st)(ctx);
  });
  return detail::last_error();
}

}  // namespace dm::kernels
