#include "core/ops/ssd.h"

#include <torch/torch.h>

#include "core/common/error.h"
#include "core/ops/shape.h"
#include "core/ops/dispatch.h"

namespace dm::ops {
namespace {

using torch::indexing::None;
using torch::indexing::Slice;

void require(bool ok, const std::string& msg) {
  if (!ok) throw ShapeError("ssd: " + msg);
}

torch::ScalarType compute_dtype(const torch::Tensor& x) {
  return x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

// Checks the full-sequence arguments and returns {B, L, H, P, G, N}.
std::array<int64_t, 6> check_seq(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                                 const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                                 const torch::Tensor& init) {
  require(x.dim() == 4, "x must be [B, L, H, P], got " + shape_str(x));
  const int64_t b = x.size(0), l = x.size(1), h = x.size(2), p = x.size(3);
  require(dt.dim() == 3 && dt.size(0) == b && dt.size(1) == l && dt.size(2) == h,
          "dt must be [B, L, H] = [" + std::to_string(b) + ", " + std::to_string(l) + ", " + std::to_string(h) +
              "], got " + shape_str(dt));
  require(A.dim() == 1 && A.size(0) == h, "A must be [H] with H = " + std::to_string(h) + ", got " + shape_str(A));
  require(Bm.dim() == 4 && Bm.size(0) == b && Bm.size(1) == l, "B must be [B, L, G, N], got " + shape_str(Bm));
  require(Cm.sizes() == Bm.sizes(), "C must have B's shape " + shape_str(Bm) + ", got " + shape_str(Cm));
  const int64_t g = Bm.size(2), n = Bm.size(3);
  require(g >= 1 && h % g == 0, "the number of groups G = " + std::to_string(g) + " must divide H = " +
                                    std::to_string(h));
  require(!D.defined() || (D.dim() == 1 && D.size(0) == h), "D must be [H], got " + shape_str(D));
  require(!init.defined() || (init.dim() == 4 && init.size(0) == b && init.size(1) == h && init.size(2) == p &&
                              init.size(3) == n),
          "initial_state must be [B, H, P, N], got " + shape_str(init));
  return {b, l, h, p, g, n};
}

}  // namespace

SsdResult ssd_step(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A, const torch::Tensor& Bm,
                   const torch::Tensor& Cm, const torch::Tensor& D, const torch::Tensor& state) {
  require(x.dim() == 3, "step x must be [B, H, P], got " + shape_str(x));
  const int64_t h = x.size(1);
  require(dt.dim() == 2 && dt.size(0) == x.size(0) && dt.size(1) == h, "step dt must be [B, H], got " + shape_str(dt));
  require(state.dim() == 4 && state.size(0) == x.size(0) && state.size(1) == h && state.size(2) == x.size(2),
          "step state must be [B, H, P, N], got " + shape_str(state));
  require(Bm.dim() == 3 && h % Bm.size(1) == 0 && Bm.size(2) == state.size(3),
          "step B must be [B, G, N], got " + shape_str(Bm));
  require(Cm.sizes() == Bm.sizes(), "step C must have B's shape " + shape_str(Bm) + ", got " + shape_str(Cm));
  const bool needs_grad = torch::GradMode::is_enabled() && (x.requires_grad() || dt.requires_grad() ||
                                                            Bm.requires_grad() || Cm.requires_grad() ||
                                                            state.requires_grad());
  if (!needs_grad && use_cuda_kernel(x) && Bm.scalar_type() == x.scalar_type() && Cm.scalar_type() == x.scalar_type())
    return cuda::ssd_step(x, dt, A, Bm, Cm, D, state);
  const auto ct = compute_dtype(x);
  auto xs = x.to(ct);
  auto dts = dt.to(ct);                                                 // [B, H]
  const int64_t g = Bm.size(1);
  auto bh = Bm.to(ct).repeat_interleave(h / g, 1);                      // [B, H, N]
  auto chh = Cm.to(ct).repeat_interleave(h / g, 1);                     // [B, H, N]
  auto decay = torch::exp(dts * A.to(ct).unsqueeze(0));                // [B, H]
  auto new_state = state.to(ct) * decay.unsqueeze(-1).unsqueeze(-1) +
                   (dts.unsqueeze(-1) * xs).unsqueeze(-1) * bh.unsqueeze(2);  // [B, H, P, N]
  auto y = torch::matmul(new_state, chh.unsqueeze(-1)).squeeze(-1);     // [B, H, P]
  if (D.defined()) y = y + xs * D.to(ct).view({1, h, 1});
  return {y.to(x.scalar_type()), new_state};
}

SsdResult ssd_sequential(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                         const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                         const torch::Tensor& initial_state) {
  const auto [b, l, h, p, g, n] = check_seq(x, dt, A, Bm, Cm, D, initial_state);
  auto state = initial_state.defined()
                   ? initial_state.to(compute_dtype(x))
                   : torch::zeros({b, h, p, n}, x.options().dtype(compute_dtype(x)));
  std::vector<torch::Tensor> ys;
  ys.reserve(static_cast<size_t>(l));
  const auto xs = x.unbind(1), dts = dt.unbind(1), bs = Bm.unbind(1), cs = Cm.unbind(1);
  for (int64_t t = 0; t < l; ++t) {
    auto r = ssd_step(xs[t], dts[t], A, bs[t], cs[t], D, state);
    ys.push_back(r.y);
    state = r.final_state;
  }
  auto y = l > 0 ? torch::stack(ys, 1) : torch::empty({b, 0, h, p}, x.options());
  return {y, state};
}

SsdResult ssd_chunked(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                      const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D, int64_t chunk_size,
                      const torch::Tensor& initial_state) {
  const auto [b, l, h, p, g, n] = check_seq(x, dt, A, Bm, Cm, D, initial_state);
  require(chunk_size >= 1, "chunk_size must be >= 1, got " + std::to_string(chunk_size));
  if (use_cuda_kernel(x) && Bm.scalar_type() == x.scalar_type() && Cm.scalar_type() == x.scalar_type())
    return cuda::ssd_chunked(x, dt, A, Bm, Cm, D, std::min<int64_t>(chunk_size, std::max<int64_t>(l, 1)), initial_state);
  const auto ct = compute_dtype(x);
  const int64_t q = std::min<int64_t>(chunk_size, std::max<int64_t>(l, 1));
  const int64_t nc = (l + q - 1) / q;
  const int64_t pad = nc * q - l;
  const int64_t hg = h / g;  // heads per group: head index = group · hg + j

  auto xs = x.to(ct);
  auto dts = dt.to(ct);
  auto bs = Bm.to(ct);
  auto cs = Cm.to(ct);
  if (pad > 0) {
    // Padded steps have dt = 0: decay exp(0) = 1 and zero input, so they leave the state unchanged.
    xs = torch::constant_pad_nd(xs, {0, 0, 0, 0, 0, pad});
    dts = torch::constant_pad_nd(dts, {0, 0, 0, pad});
    bs = torch::constant_pad_nd(bs, {0, 0, 0, 0, 0, pad});
    cs = torch::constant_pad_nd(cs, {0, 0, 0, 0, 0, pad});
  }
  // Layout [B, c, G, hg, Q, ·]: B and C stay per group (never copied per head), so C·Bᵀ is computed
  // once per group and the state products are one matmul over all heads of a group.
  auto xc = xs.view({b, nc, q, g, hg, p}).permute({0, 1, 3, 4, 2, 5});          // [B,c,G,hg,Q,P]
  auto dtc = dts.view({b, nc, q, g, hg}).permute({0, 1, 3, 4, 2});              // [B,c,G,hg,Q]
  auto bc = bs.view({b, nc, q, g, n}).permute({0, 1, 3, 2, 4});                 // [B,c,G,Q,N]
  auto cc = cs.view({b, nc, q, g, n}).permute({0, 1, 3, 2, 4});                 // [B,c,G,Q,N]

  auto xdt = xc * dtc.unsqueeze(-1);                                            // X~ = dt·x
  auto adt = dtc * A.to(ct).view({1, 1, g, hg, 1});                             // log-decay dt·A
  auto acum = adt.cumsum(-1);                                                   // [B,c,G,hg,Q]

  // 1. Intra-chunk outputs: Y_diag[l] = sum_{s<=l} (C_l·B_s) exp(seg[l, s]) X~_s, where seg[l, s] is the
  //    sum of the log-decays of steps s+1..l (−inf above the diagonal). 2. needs its last row, the decay
  //    from each step to the chunk's end. Stable form: running sums kept in fp64 and differenced there,
  //    then rounded, so each segment sum is exact to fp32 rounding however large the running sum has
  //    grown (the reference's masked cumulative sum over [Q, Q] gives the same, 13-55 % slower here).
  //    Difference form: fp32 running sums subtracted, as the CUDA kernels do. tst_ssd checks both
  //    against the fp64 oracle.
  auto upper = torch::ones({q, q}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1);
  torch::Tensor seg;                                                            // [B,c,G,hg,Q,Q]
  if (ssd_segsum() == SsdSegsum::stable) {
    auto acum64 = adt.to(torch::kDouble).cumsum(-1);
    seg = (acum64.unsqueeze(-1) - acum64.unsqueeze(-2)).to(ct).masked_fill(upper, -INFINITY);
  } else {
    seg = (acum.unsqueeze(-1) - acum.unsqueeze(-2)).masked_fill(upper, -INFINITY);
  }
  auto cb = torch::matmul(cc, bc.transpose(-1, -2)).unsqueeze(3);               // [B,c,G,1,Q,Q]
  auto scores = cb * torch::exp(seg);                                           // [B,c,G,hg,Q,Q]
  auto y = torch::matmul(scores, xdt);                                          // [B,c,G,hg,Q,P]

  // 2. State contributed by each chunk at its end: sum_s exp(seg[end, s]) X~_s B_s^T.
  auto decay_to_end = torch::exp(seg.select(-2, q - 1));                        // [B,c,G,hg,Q]
  auto weighted = (xdt * decay_to_end.unsqueeze(-1)).permute({0, 1, 2, 3, 5, 4}).reshape({b, nc, g, hg * p, q});
  auto chunk_states = torch::matmul(weighted, bc).view({b, nc, g, hg, p, n});   // [B,c,G,hg,P,N]

  // 3. Inter-chunk recurrence Sin_{c+1} = exp(T_c)·Sin_c + st_c, a linear scan over the chunks (the
  //    all-at-once (c+1)×(c+1) form of the minimal algorithm is quadratic in L/Q).
  auto chunk_decay = torch::exp(acum.select(-1, q - 1));                        // [B,c,G,hg]
  auto state = initial_state.defined() ? initial_state.to(ct).view({b, g, hg, p, n})
                                        : torch::zeros({b, g, hg, p, n}, xc.options());
  std::vector<torch::Tensor> entering;
  entering.reserve(static_cast<size_t>(nc));
  // unbind, not select: select's backward would write a full-size gradient per chunk (quadratic).
  const auto decays = chunk_decay.unbind(1);
  const auto contributions = chunk_states.unbind(1);
  for (int64_t c = 0; c < nc; ++c) {
    entering.push_back(state);
    state = state * decays[c].unsqueeze(-1).unsqueeze(-1) + contributions[c];
  }
  auto final_state = state.reshape({b, h, p, n});
  auto sin = torch::stack(entering, 1);                                          // [B,c,G,hg,P,N]

  // 4. Contribution of the state entering each chunk: exp(cs_l) (Sin_c C_l), one matmul per group.
  auto sin_t = sin.reshape({b, nc, g, hg * p, n}).transpose(-1, -2);             // [B,c,G,N,hg·P]
  auto y_off = torch::matmul(cc, sin_t).view({b, nc, g, q, hg, p}).permute({0, 1, 2, 4, 3, 5});
  y = y + y_off * torch::exp(acum).unsqueeze(-1);                                // [B,c,G,hg,Q,P]

  auto out = y.permute({0, 1, 4, 2, 3, 5}).reshape({b, nc * q, h, p});
  if (pad > 0) out = out.narrow(1, 0, l);
  if (D.defined()) out = out + x.to(ct) * D.to(ct).view({1, 1, h, 1});
  return {out.to(x.scalar_type()), final_state};
}

}  // namespace dm::ops
