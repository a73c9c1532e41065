// SSD kernels' shared pieces: the scratch layout, strided loads, and the forward stages the backward reruns.
#pragma once

#include <type_traits>

#include "kernels/common.cuh"
#ifndef DM_KERNELS_HOST_EMULATION
#include <mma.h>
#endif

namespace dm::kernels::ssd {

// The matrix stages run 256 threads over 64 × 64 output tiles, 4 × 4 outputs per thread, over slabs of 16
// along the reduced dimension staged in shared memory (tile_accumulate).
constexpr int kThreads = 256, kTile = 64, kSlab = 16, kPad = 4;

struct TileSmem {
  float a[kSlab][kTile + kPad];
  float b[kSlab][kTile + kPad];
};

// acc[i][j] += Σ_{k0 ≤ k < k1} A(4·ty + i, k) · B(k, 4·tx + j) with tx = thread % 16, ty = thread / 16.
// la(i, k) and lb(k, j) return the operands (zero outside the matrices) for tile-local i, j. AKFast /
// BKFast: whether consecutive k are adjacent in memory (threads then load along k, else along i / j).
template <bool AKFast, bool BKFast, typename LA, typename LB>
__device__ __forceinline__ void tile_accumulate(float (&acc)[4][4], TileSmem& sm, int64_t k0, int64_t k1, LA la,
                                                LB lb) {
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  for (int64_t kb = k0; kb < k1; kb += kSlab) {
#pragma unroll
    for (int r = 0; r < kSlab * kTile / kThreads; ++r) {
      const int e = tid + kThreads * r;
      const int ka = AKFast ? (e & (kSlab - 1)) : (e / kTile), ia = AKFast ? (e / kSlab) : (e & (kTile - 1));
      sm.a[ka][ia] = kb + ka < k1 ? la(ia, kb + ka) : 0.f;
      const int kbb = BKFast ? (e & (kSlab - 1)) : (e / kTile), jb = BKFast ? (e / kSlab) : (e & (kTile - 1));
      sm.b[kbb][jb] = kb + kbb < k1 ? lb(kb + kbb, jb) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kSlab; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        a[i] = sm.a[kk][4 * ty + i];
        b[i] = sm.b[kk][4 * tx + i];
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
}

// Offsets (in floats) of the scratch buffers. nc = ceil(L / Q); positions past L are padding (dt = 0).
struct Layout {
  int64_t b, l, h, p, g, n, q, nc;
  int64_t acum, cb, states, fwd_end;                       // forward
  int64_t gnext, dcb, da, ddtp, db32, dc32, fin, bwd_end;  // backward
  bool tc = false;     // bf16 matrix stages on the tensor cores
  bool split = false;  // … with fp32-valued operands as bf16 hi + lo (tile_mm)
  explicit Layout(const SsdShape& s, bool tensor_cores = false, bool split_operands = false)
      : b(s.batch),
        l(s.length),
        h(s.heads),
        p(s.head_dim),
        g(s.groups),
        n(s.state_dim),
        q(s.chunk),
        nc(s.chunk > 0 ? (s.length + s.chunk - 1) / s.chunk : 0),
        tc(tensor_cores),
        split(split_operands) {
    acum = 0;                          // [B, H, nc, Q]  cumulative dt·A within each chunk
    cb = acum + b * h * nc * q;        // [B, nc, G, Q, Q]  C_t · B_s
    states = cb + b * nc * g * q * q;  // [B, nc, H, P, N]  chunk states, then the states entering each chunk
    fwd_end = states + b * nc * h * p * n;
    gnext = fwd_end;                   // [B, nc, H, P, N]  local dS, then dL/dS entering chunk c + 1
    dcb = gnext + b * nc * h * p * n;  // [B, nc, G, Q, Q]
    da = dcb + b * nc * g * q * q;     // [B, H, nc, Q]  dL/d(cumulative dt·A)
    ddtp = da + b * h * nc * q;        // [B, H, nc, Q]  x · dX~ (the dt part of ddt)
    db32 = ddtp + b * h * nc * q;      // [B, nc·Q, G, N]
    dc32 = db32 + b * nc * q * g * n;  // [B, nc·Q, G, N]
    fin = dc32 + b * nc * q * g * n;   // [B, H, P, N]  the recomputed final state (unused)
    bwd_end = fin + b * h * p * n;
  }
  __host__ __device__ int64_t acum_at(int64_t bb, int64_t hh, int64_t c, int64_t t) const {
    return ((bb * h + hh) * nc + c) * q + t;
  }
  __host__ __device__ int64_t cb_at(int64_t bb, int64_t c, int64_t gg, int64_t t, int64_t s) const {
    return (((bb * nc + c) * g + gg) * q + t) * q + s;
  }
  __host__ __device__ int64_t state_at(int64_t bb, int64_t c, int64_t hh, int64_t pp, int64_t nn) const {
    return (((bb * nc + c) * h + hh) * p + pp) * n + nn;
  }
  __host__ __device__ int64_t bc32_at(int64_t bb, int64_t t, int64_t gg, int64_t nn) const {
    return ((bb * nc * q + t) * g + gg) * n + nn;
  }
};

// v[i0, t, i2, i3] as float, zero for t ≥ length or i3 ≥ dim3 (padding).
template <typename T>
__device__ __forceinline__ float load4(const T* v, Strides s, int64_t i0, int64_t t, int64_t i2, int64_t i3,
                                       int64_t length, int64_t dim3) {
  return (t < length && i3 < dim3) ? detail::to_f(v[i0 * s.s0 + t * s.s1 + i2 * s.s2 + i3 * s.s3]) : 0.f;
}
__device__ __forceinline__ float load_dt(const float* dt, Strides s, int64_t b, int64_t t, int64_t h, int64_t length) {
  return t < length ? dt[b * s.s0 + t * s.s1 + h * s.s2] : 0.f;
}

// The same product on the tensor cores (bf16 operands, fp32 accumulation): each of the 8 warps owns a
// 16 × 32 block of the 64 × 64 tile (two 16 × 16 × 16 wmma products per slab); the result goes through
// shared memory into the callers' 4 × 4 layout.
//
// In every SSD product one operand is a bf16 input read as is (x, B, C, dy: exact in bf16) and the other
// may be computed in fp32 (decay-weighted C·Bᵀ, states, dCB). Rounding that one to bf16 costs the
// backward's dA about 8% (its terms cancel). With `split`, the fp32 operand v goes in as hi + lo, hi =
// bf16(v) and lo = bf16(v − hi), and each slab takes one more product: about 16 significant bits instead
// of 8, so the products are within ~1e-5 of fp32 FMA at twice the tensor-core work. (A finite v beyond
// bf16's range, ~3.4e38, would split into ±inf and ∓inf; these operands are decays ≤ 1 times activations.)
enum class Split { none, a, b };  // which operand is fp32-valued

struct __align__(32) TcSmem {
  __nv_bfloat16 a[kTile][kSlab + 8];     // [i][k], ld 24
  __nv_bfloat16 b[kSlab][kTile + 8];     // [k][j], ld 72
  __nv_bfloat16 a_lo[kTile][kSlab + 8];  // Split::a: a − bf16(a)
  __nv_bfloat16 b_lo[kSlab][kTile + 8];  // Split::b: b − bf16(b)
  float c[kTile][kTile + kPad];          // ld 68
};

__device__ __forceinline__ __nv_bfloat16 bf16_rest(float v, __nv_bfloat16 hi) {
  return __float2bfloat16(v - __bfloat162float(hi));
}

template <bool AKFast, bool BKFast, Split S, typename LA, typename LB>
__device__ __forceinline__ void tile_accumulate_tc(float (&acc)[4][4], TcSmem& sm, int64_t k0, int64_t k1, LA la,
                                                   LB lb) {
  namespace wmma = nvcuda::wmma;
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4, warp = tid >> 5, wr = warp >> 1, wc = warp & 1;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> c0, c1;
  wmma::fill_fragment(c0, 0.f);
  wmma::fill_fragment(c1, 0.f);
  for (int64_t kb = k0; kb < k1; kb += kSlab) {
#pragma unroll
    for (int r = 0; r < kSlab * kTile / kThreads; ++r) {
      const int e = tid + kThreads * r;
      const int ka = AKFast ? (e & (kSlab - 1)) : (e / kTile), ia = AKFast ? (e / kSlab) : (e & (kTile - 1));
      const float va = kb + ka < k1 ? la(ia, kb + ka) : 0.f;
      sm.a[ia][ka] = __float2bfloat16(va);
      if constexpr (S == Split::a) sm.a_lo[ia][ka] = bf16_rest(va, sm.a[ia][ka]);
      const int kbb = BKFast ? (e & (kSlab - 1)) : (e / kTile), jb = BKFast ? (e / kSlab) : (e & (kTile - 1));
      const float vb = kb + kbb < k1 ? lb(kb + kbb, jb) : 0.f;
      sm.b[kbb][jb] = __float2bfloat16(vb);
      if constexpr (S == Split::b) sm.b_lo[kbb][jb] = bf16_rest(vb, sm.b[kbb][jb]);
    }
    __syncthreads();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> fb0, fb1;
    wmma::load_matrix_sync(fa, &sm.a[16 * wr][0], kSlab + 8);
    wmma::load_matrix_sync(fb0, &sm.b[0][32 * wc], kTile + 8);
    wmma::load_matrix_sync(fb1, &sm.b[0][32 * wc + 16], kTile + 8);
    wmma::mma_sync(c0, fa, fb0, c0);
    wmma::mma_sync(c1, fa, fb1, c1);
    if constexpr (S == Split::a) {
      wmma::load_matrix_sync(fa, &sm.a_lo[16 * wr][0], kSlab + 8);
      wmma::mma_sync(c0, fa, fb0, c0);
      wmma::mma_sync(c1, fa, fb1, c1);
    } else if constexpr (S == Split::b) {
      wmma::load_matrix_sync(fb0, &sm.b_lo[0][32 * wc], kTile + 8);
      wmma::load_matrix_sync(fb1, &sm.b_lo[0][32 * wc + 16], kTile + 8);
      wmma::mma_sync(c0, fa, fb0, c0);
      wmma::mma_sync(c1, fa, fb1, c1);
    }
    __syncthreads();
  }
  wmma::store_matrix_sync(&sm.c[16 * wr][32 * wc], c0, kTile + kPad, wmma::mem_row_major);
  wmma::store_matrix_sync(&sm.c[16 * wr][32 * wc + 16], c1, kTile + kPad, wmma::mem_row_major);
  __syncthreads();
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] += sm.c[4 * ty + i][4 * tx + j];
  __syncthreads();
}

// tile_accumulate, on the tensor cores when T is bf16 and lay.tc is set; S names the fp32-valued operand,
// split into hi + lo when lay.split is set (else rounded to bf16).
template <typename T, bool AKFast, bool BKFast, Split S, typename LA, typename LB>
__device__ __forceinline__ void tile_mm(const Layout& lay, float (&acc)[4][4], TileSmem& sm, TcSmem& smt, int64_t k0,
                                        int64_t k1, LA la, LB lb) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    if (lay.tc) {
      if (S != Split::none && lay.split)
        tile_accumulate_tc<AKFast, BKFast, S>(acc, smt, k0, k1, la, lb);
      else
        tile_accumulate_tc<AKFast, BKFast, Split::none>(acc, smt, k0, k1, la, lb);
      return;
    }
  }
  tile_accumulate<AKFast, BKFast>(acc, sm, k0, k1, la, lb);
}

// Grid over `items` (batch · chunk · head or group) × 64-row tiles × 64-column tiles.
dim3 tile_grid(int64_t items, int64_t rows, int64_t cols);

// Forward stages 1–4 (cumsum, C·Bᵀ, chunk states, state passing) into ws; final_state [B, H, P, N].
int forward_stages(const SsdInputs& in, float* ws, float* final_state, cudaStream_t st);

// out[b, c, h, p, n] = Σ_s w_s · u[b, cQ+s, h, p] · v[b, cQ+s, g, n] with w_s = dt_s·exp(a_end − a_s)
// (decay_to_end, the chunk states) or exp(a_s) (the backward's dS of the chunk outputs).
int outer_accum(DType dtype, const SsdInputs& in, const void* u, Strides us, const void* v, Strides vs,
                bool decay_to_end, const float* ws, float* out, cudaStream_t st);

}  // namespace dm::kernels::ssd
