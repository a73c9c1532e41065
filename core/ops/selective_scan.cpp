#include "core/ops/selective_scan.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/common/error.h"
#include "core/ops/shape.h"

namespace dm::ops {
namespace {

void require(bool ok, const std::string& msg) {
  if (!ok) throw ShapeError("selective_scan: " + msg);
}

torch::ScalarType compute_dtype(const torch::Tensor& u) {
  return u.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

// Checks the full-sequence arguments and returns {B, L, Di, N}.
std::array<int64_t, 4> check_seq(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                 const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                                 const torch::Tensor& init) {
  require(u.dim() == 3, "u must be [B, L, Di], got " + shape_str(u));
  const int64_t b = u.size(0), l = u.size(1), di = u.size(2);
  require(delta.sizes() == u.sizes(), "delta must have u's shape " + shape_str(u) + ", got " + shape_str(delta));
  require(A.dim() == 2 && A.size(0) == di, "A must be [Di, N] with Di = " + std::to_string(di) + ", got " + shape_str(A));
  const int64_t n = A.size(1);
  require(Bm.dim() == 3 && Bm.size(0) == b && Bm.size(1) == l && Bm.size(2) == n,
          "B must be [B, L, N] = [" + std::to_string(b) + ", " + std::to_string(l) + ", " + std::to_string(n) +
              "], got " + shape_str(Bm));
  require(Cm.sizes() == Bm.sizes(), "C must have B's shape " + shape_str(Bm) + ", got " + shape_str(Cm));
  require(!D.defined() || (D.dim() == 1 && D.size(0) == di), "D must be [Di], got " + shape_str(D));
  require(!init.defined() || (init.dim() == 3 && init.size(0) == b && init.size(1) == di && init.size(2) == n),
          "initial_state must be [B, Di, N], got " + shape_str(init));
  return {b, l, di, n};
}

// exp for the scan's fp32 decays exp(Δ·A), written so that GCC vectorizes loops of it at the baseline ISA
// (libm's expf is a call per element): Cephes' expf — x = n·ln2 + r with |r| ≤ ln2/2, a degree-7 polynomial
// for e^r, 2^n from the exponent bits; within 2 ulp of expf over [−87.3, 88.7]; below −87.3 it returns 0
// (expf's result there is a denormal ≤ 1.2e-38, which a decay multiplies into nothing). fp64 uses std::exp.
inline float exp_vec(float x) {
  const float lo = -87.3f, hi = 88.7f;
  const bool under = x < lo;
  x = x < lo ? lo : (x > hi ? hi : x);
  const float fx = x * 1.44269504088896341f;
  const float n = (fx + 12582912.0f) - 12582912.0f;  // round to nearest (|fx| < 2^22)
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return under ? 0.0f : p * scale;
}
inline double exp_vec(double x) { return std::exp(x); }

// The kernels vectorize across channels: a group holds kLanes channels side by side, its state laid out
// [N][kLanes], so every operation is a full-width vector op over the group's channels (Δ_t and u_t of
// neighbouring channels are neighbours in memory) and the sums over the states (y, dΔ, du) need no lane
// reduction. Only dB_t and dC_t sum over channels: one lane sum per (step, state, group). A group past the
// last channel is padded with Δ = u = dy = 0, which leaves its state at 0.
constexpr int64_t kLanes = 16;

// Channels per task: a multiple of kLanes, and at most 32 blocks per sequence, so the partial sums of dB and
// dC (one slice per block, summed in block order) stay small and do not depend on the thread count.
int64_t channel_block(int64_t di) {
  const int64_t want = std::max<int64_t>(kLanes, (di + 31) / 32);
  return (want + kLanes - 1) / kLanes * kLanes;
}

struct Sizes {
  int64_t B, L, Di, N, DB, blocks, chunks, Dpad;  // Dpad: Di rounded up to kLanes (the saved states' layout)
};

// x86-64: each kernel is compiled twice, for AVX2 + FMA (x86-64-v3: 8 lanes) and the baseline, and the
// loader picks the one this CPU runs (GCC function multiversioning). Results are deterministic on a given
// machine; the lane sums may differ in the last bits between the two.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DM_SCAN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DM_SCAN_CLONES
#endif

// One group's per-step inputs, padded: lanes past the last channel read 0.
template <typename T>
inline void load_lanes(T* dst, const T* src, int64_t w) {
  if (w == kLanes) {
    std::memcpy(dst, src, sizeof(T) * kLanes);
  } else {
    std::fill(dst, dst + kLanes, T(0));
    std::copy(src, src + w, dst);
  }
}

// A block's channels [d0, d1) in groups: the state and A as [groups][N][kLanes], from [.., Di, N].
template <typename T>
void to_lanes(T* dst, const T* src, int64_t d0, int64_t d1, int64_t N) {
  const int64_t groups = (d1 - d0 + kLanes - 1) / kLanes;
  std::fill(dst, dst + groups * N * kLanes, T(0));
  for (int64_t d = d0; d < d1; ++d) {
    const int64_t g = (d - d0) / kLanes, l = (d - d0) % kLanes;
    for (int64_t n = 0; n < N; ++n) dst[(g * N + n) * kLanes + l] = src[d * N + n];
  }
}
template <typename T>
void from_lanes(T* dst, const T* src, int64_t d0, int64_t d1, int64_t N) {
  for (int64_t d = d0; d < d1; ++d) {
    const int64_t g = (d - d0) / kLanes, l = (d - d0) % kLanes;
    for (int64_t n = 0; n < N; ++n) dst[d * N + n] = src[(g * N + n) * kLanes + l];
  }
}

// Forward over the channels [d0, d1) of batch element b. Saves the state at the start of every chunk of
// kScanCheckpoint steps into ckpt [B, chunks, Dpad, N], each group's state in its [N][kLanes] layout.
// NC > 0: the number of states fixed at compile time (the common 16: the loops over n unroll fully).
template <typename T, int NC>
DM_SCAN_CLONES void scan_fwd(const Sizes& s, int64_t b, int64_t d0, int64_t d1, const T* u, const T* delta,
                             const T* A, const T* Bm, const T* Cm, const T* D, const T* h0, T* y, T* hT, T* ckpt) {
  constexpr int64_t W = kLanes;
  const int64_t N = NC > 0 ? NC : s.N, Di = s.Di, L = s.L, groups = (d1 - d0 + W - 1) / W;
  const size_t plane = static_cast<size_t>(groups * N * W);
  std::vector<T> h(plane), Al(plane);
  to_lanes(h.data(), h0 + b * Di * N, d0, d1, N);
  to_lanes(Al.data(), A, d0, d1, N);
  alignas(64) T dt[W], uu[W], du[W], acc[W];
  for (int64_t c = 0; c < s.chunks; ++c) {
    std::copy(h.begin(), h.end(), ckpt + ((b * s.chunks + c) * s.Dpad + d0) * N);
    const int64_t t1 = std::min(L, (c + 1) * kScanCheckpoint);
    for (int64_t t = c * kScanCheckpoint; t < t1; ++t) {
      const int64_t row = b * L + t;
      const T* __restrict Bt = Bm + row * N;
      const T* __restrict Ct = Cm + row * N;
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t dd = d0 + g * W, w = std::min(W, d1 - dd);
        load_lanes(dt, delta + row * Di + dd, w);
        load_lanes(uu, u + row * Di + dd, w);
        for (int64_t l = 0; l < W; ++l) du[l] = dt[l] * uu[l], acc[l] = T(0);
        for (int64_t n = 0; n < N; ++n) {
          const T bn = Bt[n], cn = Ct[n];
          T* __restrict hn = h.data() + (g * N + n) * W;
          const T* __restrict an = Al.data() + (g * N + n) * W;
          for (int64_t l = 0; l < W; ++l) {
            const T v = exp_vec(dt[l] * an[l]) * hn[l] + du[l] * bn;
            hn[l] = v;
            acc[l] += v * cn;
          }
        }
        T* yr = y + row * Di + dd;
        for (int64_t l = 0; l < w; ++l) yr[l] = acc[l] + D[dd + l] * uu[l];
      }
    }
  }
  from_lanes(hT + b * Di * N, h.data(), d0, d1, N);
}

// Backward over the channels of block blk of batch element b, chunk by chunk from the end: the chunk's
// states and decays are recomputed from its saved start state, then walked back with g = ∂loss/∂h_t:
//   g_t = dy_t C_t + exp(Δ_{t+1} A) g_{t+1}   (g_{L-1} starts from ∂loss/∂h_final)
//   dC_t += dy_t h_t,  dB_t += g_t Δ_t u_t,  dΔ_t = Σ_n g_t (h_{t-1} a_t A + u_t B_t),  dA += g_t h_{t-1} a_t Δ_t,
//   du_t = Σ_n g_t Δ_t B_t + D dy_t,  dD += dy_t u_t,  ∂loss/∂h_0 = a_0 g_0.
// dB, dC go to this block's slice of the partial sums [blocks, B, L, N]; dA, dD to [B, Di, N], [B, Di].
template <typename T, int NC>
DM_SCAN_CLONES void scan_bwd(const Sizes& s, int64_t b, int64_t blk, const T* u, const T* delta, const T* A,
                             const T* Bm, const T* Cm, const T* D, const T* ckpt, const T* dy, const T* dhT, T* du,
                             T* ddelta, T* dApart, T* dDpart, T* dBpart, T* dCpart, T* dh0) {
  constexpr int64_t W = kLanes;
  const int64_t N = NC > 0 ? NC : s.N, Di = s.Di, L = s.L;
  const int64_t d0 = blk * s.DB, d1 = std::min(Di, d0 + s.DB), groups = (d1 - d0 + W - 1) / W;
  const size_t plane = static_cast<size_t>(groups * N * W);
  std::vector<T> g(plane, T(0)), Al(plane), dA(plane, T(0)), H(plane * static_cast<size_t>(kScanCheckpoint + 1)),
      decay(plane * static_cast<size_t>(kScanCheckpoint)), dD(static_cast<size_t>(groups * W), T(0));
  if (dhT) to_lanes(g.data(), dhT + b * Di * N, d0, d1, N);
  to_lanes(Al.data(), A, d0, d1, N);
  alignas(64) T dt[W], uu[W], dtu[W], dyt[W], dut[W], ddt[W], sBv[W], sCv[W];
  T* dBb = dBpart + (blk * s.B + b) * L * N;
  T* dCb = dCpart + (blk * s.B + b) * L * N;
  for (int64_t c = s.chunks - 1; c >= 0; --c) {
    const int64_t t0 = c * kScanCheckpoint, t1 = std::min(L, t0 + kScanCheckpoint);
    const T* saved = ckpt + ((b * s.chunks + c) * s.Dpad + d0) * N;
    std::copy(saved, saved + plane, H.begin());
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t row = b * L + t, i = t - t0;
      const T* __restrict Bt = Bm + row * N;
      for (int64_t gr = 0; gr < groups; ++gr) {
        const int64_t dd = d0 + gr * W, w = std::min(W, d1 - dd);
        load_lanes(dt, delta + row * Di + dd, w);
        load_lanes(uu, u + row * Di + dd, w);
        for (int64_t l = 0; l < W; ++l) dtu[l] = dt[l] * uu[l];
        for (int64_t n = 0; n < N; ++n) {
          const size_t at = static_cast<size_t>((gr * N + n) * W);
          const T bn = Bt[n];
          const T* __restrict an = Al.data() + at;
          T* __restrict a = decay.data() + static_cast<size_t>(i) * plane + at;
          const T* __restrict hp = H.data() + static_cast<size_t>(i) * plane + at;
          T* __restrict hc = H.data() + static_cast<size_t>(i + 1) * plane + at;
          for (int64_t l = 0; l < W; ++l) {
            a[l] = exp_vec(dt[l] * an[l]);
            hc[l] = a[l] * hp[l] + dtu[l] * bn;
          }
        }
      }
    }
    for (int64_t t = t1 - 1; t >= t0; --t) {
      const int64_t row = b * L + t, i = t - t0;
      const T* __restrict Bt = Bm + row * N;
      const T* __restrict Ct = Cm + row * N;
      T* __restrict dBt = dBb + t * N;
      T* __restrict dCt = dCb + t * N;
      for (int64_t gr = 0; gr < groups; ++gr) {
        const int64_t dd = d0 + gr * W, w = std::min(W, d1 - dd);
        load_lanes(dt, delta + row * Di + dd, w);
        load_lanes(uu, u + row * Di + dd, w);
        load_lanes(dyt, dy + row * Di + dd, w);
        for (int64_t l = 0; l < W; ++l) dut[l] = T(0), ddt[l] = T(0), dtu[l] = dt[l] * uu[l];
        for (int64_t n = 0; n < N; ++n) {
          const size_t at = static_cast<size_t>((gr * N + n) * W);
          const T bn = Bt[n], cn = Ct[n];
          const T* __restrict an = Al.data() + at;
          const T* __restrict a = decay.data() + static_cast<size_t>(i) * plane + at;
          const T* __restrict hp = H.data() + static_cast<size_t>(i) * plane + at;
          const T* __restrict hc = H.data() + static_cast<size_t>(i + 1) * plane + at;
          T* __restrict gn = g.data() + at;
          T* __restrict dAn = dA.data() + at;
          for (int64_t l = 0; l < W; ++l) {
            const T gi = gn[l] + dyt[l] * cn;
            const T da = gi * hp[l] * a[l];
            sCv[l] = dyt[l] * hc[l];
            sBv[l] = gi * dtu[l];
            dAn[l] += da * dt[l];
            gn[l] = a[l] * gi;
            ddt[l] += da * an[l] + gi * uu[l] * bn;
            dut[l] += gi * dt[l] * bn;
          }
          // The sums over the group's channels, in a fixed order.
          T sB = T(0), sC = T(0);
#pragma omp simd reduction(+ : sB, sC)
          for (int64_t l = 0; l < W; ++l) sB += sBv[l], sC += sCv[l];
          dBt[n] += sB;
          dCt[n] += sC;
        }
        T* __restrict dur = du + row * Di + dd;
        T* __restrict ddr = ddelta + row * Di + dd;
        for (int64_t l = 0; l < w; ++l) {
          dur[l] = dut[l] + D[dd + l] * dyt[l];
          ddr[l] = ddt[l];
        }
        T* __restrict dDg = dD.data() + gr * W;
        for (int64_t l = 0; l < W; ++l) dDg[l] += dyt[l] * uu[l];
      }
    }
  }
  // ∂loss/∂h_0 = g (already multiplied by the first step's decay in the walk back).
  from_lanes(dh0 + b * Di * N, g.data(), d0, d1, N);
  from_lanes(dApart + b * Di * N, dA.data(), d0, d1, N);
  for (int64_t d = d0; d < d1; ++d) dDpart[b * Di + d] = dD[static_cast<size_t>(d - d0)];
}

Sizes sizes_of(const torch::Tensor& u, const torch::Tensor& A) {
  Sizes s;
  s.B = u.size(0);
  s.L = u.size(1);
  s.Di = u.size(2);
  s.N = A.size(1);
  s.DB = channel_block(s.Di);
  s.blocks = (s.Di + s.DB - 1) / s.DB;
  s.chunks = std::max<int64_t>(1, (s.L + kScanCheckpoint - 1) / kScanCheckpoint);
  s.Dpad = (s.Di + kLanes - 1) / kLanes * kLanes;
  return s;
}

// Inputs already contiguous, on the CPU, in one floating dtype; D and h0 are given (zeros when absent).
class SelectiveScanCpu : public torch::autograd::Function<SelectiveScanCpu> {
 public:
  static torch::autograd::tensor_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u,
                                              const torch::Tensor& delta, const torch::Tensor& A,
                                              const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                                              const torch::Tensor& h0) {
    const Sizes s = sizes_of(u, A);
    auto y = torch::empty({s.B, s.L, s.Di}, u.options());
    auto hT = torch::empty({s.B, s.Di, s.N}, u.options());
    auto ckpt = torch::empty({s.B, s.chunks, s.Dpad, s.N}, u.options());
    AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_cpu", [&] {
      at::parallel_for(0, s.B * s.blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
          const int64_t b = task / s.blocks, blk = task % s.blocks;
          const int64_t d0 = blk * s.DB, d1 = std::min(s.Di, d0 + s.DB);
          (s.N == 16 ? scan_fwd<scalar_t, 16> : scan_fwd<scalar_t, 0>)(
              s, b, d0, d1, u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(),
              Bm.data_ptr<scalar_t>(), Cm.data_ptr<scalar_t>(), D.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
              y.data_ptr<scalar_t>(), hT.data_ptr<scalar_t>(), ckpt.data_ptr<scalar_t>());
        }
      });
    });
    ctx->save_for_backward({u, delta, A, Bm, Cm, D, ckpt});
    return {y, hT};
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list g) {
    const auto saved = ctx->get_saved_variables();
    const auto &u = saved[0], &delta = saved[1], &A = saved[2], &Bm = saved[3], &Cm = saved[4], &D = saved[5],
               &ckpt = saved[6];
    const Sizes s = sizes_of(u, A);
    auto dy = g[0].defined() ? g[0].contiguous() : torch::zeros_like(u);
    auto dhT = g[1].defined() ? g[1].contiguous() : torch::Tensor();
    auto du = torch::empty_like(u), ddelta = torch::empty_like(u);
    auto dApart = torch::zeros({s.B, s.Di, s.N}, u.options());
    auto dDpart = torch::zeros({s.B, s.Di}, u.options());
    auto dBpart = torch::zeros({s.blocks, s.B, s.L, s.N}, u.options());
    auto dCpart = torch::zeros({s.blocks, s.B, s.L, s.N}, u.options());
    auto dh0 = torch::empty({s.B, s.Di, s.N}, u.options());
    AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_cpu_bwd", [&] {
      at::parallel_for(0, s.B * s.blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task)
          (s.N == 16 ? scan_bwd<scalar_t, 16> : scan_bwd<scalar_t, 0>)(s, task / s.blocks, task % s.blocks, u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(),
                             A.data_ptr<scalar_t>(), Bm.data_ptr<scalar_t>(), Cm.data_ptr<scalar_t>(),
                             D.data_ptr<scalar_t>(), ckpt.data_ptr<scalar_t>(), dy.data_ptr<scalar_t>(),
                             dhT.defined() ? dhT.data_ptr<scalar_t>() : nullptr, du.data_ptr<scalar_t>(),
                             ddelta.data_ptr<scalar_t>(), dApart.data_ptr<scalar_t>(), dDpart.data_ptr<scalar_t>(),
                             dBpart.data_ptr<scalar_t>(), dCpart.data_ptr<scalar_t>(), dh0.data_ptr<scalar_t>());
      });
    });
    return {du, ddelta, dApart.sum(0), dBpart.sum(0), dCpart.sum(0), dDpart.sum(0), dh0};
  }
};

}  // namespace

ScanResult selective_scan_step(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                               const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                               const torch::Tensor& state) {
  require(u.dim() == 2, "step u must be [B, Di], got " + shape_str(u));
  const int64_t b = u.size(0), di = u.size(1);
  require(delta.sizes() == u.sizes(), "step delta must have u's shape " + shape_str(u) + ", got " + shape_str(delta));
  require(A.dim() == 2 && A.size(0) == di, "A must be [Di, N] with Di = " + std::to_string(di) + ", got " + shape_str(A));
  const int64_t n = A.size(1);
  require(Bm.dim() == 2 && Bm.size(0) == b && Bm.size(1) == n, "step B must be [B, N], got " + shape_str(Bm));
  require(Cm.sizes() == Bm.sizes(), "step C must have B's shape " + shape_str(Bm) + ", got " + shape_str(Cm));
  require(!D.defined() || (D.dim() == 1 && D.size(0) == di), "D must be [Di], got " + shape_str(D));
  require(state.dim() == 3 && state.size(0) == b && state.size(1) == di && state.size(2) == n,
          "step state must be [B, Di, N], got " + shape_str(state));
  const auto ct = compute_dtype(u);
  auto us = u.to(ct), dts = delta.to(ct);
  auto decay = torch::exp(dts.unsqueeze(-1) * A.to(ct).unsqueeze(0));                     // [B, Di, N]
  auto h = decay * state.to(ct) + (dts * us).unsqueeze(-1) * Bm.to(ct).unsqueeze(1);      // [B, Di, N]
  auto y = torch::matmul(h, Cm.to(ct).unsqueeze(-1)).squeeze(-1);                         // [B, Di]
  if (D.defined()) y = y + us * D.to(ct).unsqueeze(0);
  return {y.to(u.scalar_type()), h};
}

ScanResult selective_scan_sequential(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                     const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                                     const torch::Tensor& initial_state) {
  const auto [b, l, di, n] = check_seq(u, delta, A, Bm, Cm, D, initial_state);
  auto state = initial_state.defined() ? initial_state.to(compute_dtype(u))
                                       : torch::zeros({b, di, n}, u.options().dtype(compute_dtype(u)));
  std::vector<torch::Tensor> ys;
  ys.reserve(static_cast<size_t>(l));
  const auto us = u.unbind(1), dts = delta.unbind(1), bs = Bm.unbind(1), cs = Cm.unbind(1);
  for (int64_t t = 0; t < l; ++t) {
    auto r = selective_scan_step(us[t], dts[t], A, bs[t], cs[t], D, state);
    ys.push_back(r.y);
    state = r.final_state;
  }
  auto y = l > 0 ? torch::stack(ys, 1) : torch::empty({b, 0, di}, u.options());
  return {y, state};
}

ScanResult selective_scan(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                          const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                          const torch::Tensor& initial_state) {
  const auto [b, l, di, n] = check_seq(u, delta, A, Bm, Cm, D, initial_state);
  if (!u.is_cpu()) return selective_scan_sequential(u, delta, A, Bm, Cm, D, initial_state);
  const auto ct = compute_dtype(u);
  auto prep = [ct](const torch::Tensor& t) { return t.to(ct).contiguous(); };
  auto Dt = D.defined() ? prep(D) : torch::zeros({di}, u.options().dtype(ct));
  auto h0 = initial_state.defined() ? prep(initial_state) : torch::zeros({b, di, n}, u.options().dtype(ct));
  auto out = SelectiveScanCpu::apply(prep(u), prep(delta), prep(A), prep(Bm), prep(Cm), Dt, h0);
  return {out[0].to(u.scalar_type()), out[1]};
}

}  // namespace dm::ops
