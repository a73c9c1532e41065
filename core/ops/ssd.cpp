#include "core/ops/ssd.h"

#include <torch/torch.h>

#include "core/common/error.h"

namespace dm::ops {
namespace {

using torch::indexing::None;
using torch::indexing::Slice;

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

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

// [B, L, G, N] -> [B, L, H, N] (head h reads group h / (H / G)); a view when G == 1.
torch::Tensor groups_to_heads(const torch::Tensor& t, int64_t heads) {
  const int64_t g = t.size(2);
  if (g == heads) return t;
  if (g == 1) return t.expand({t.size(0), t.size(1), heads, t.size(3)});
  return t.repeat_interleave(heads / g, 2);
}

}  // namespace

torch::Tensor segsum(const torch::Tensor& v) {
  const int64_t t = v.size(-1);
  auto opts = torch::TensorOptions().dtype(torch::kBool).device(v.device());
  auto strict_lower = torch::ones({t, t}, opts).tril(-1);
  auto lower = torch::ones({t, t}, opts).tril(0);
  // rep[..., i, j] = v[..., i]; keep only i > j, then cumulative-sum down the rows.
  std::vector<int64_t> sizes(v.sizes().begin(), v.sizes().end());
  sizes.push_back(t);
  auto rep = v.unsqueeze(-1).expand(sizes).masked_fill(strict_lower.logical_not(), 0.0);
  auto s = rep.cumsum(-2);
  return s.masked_fill(lower.logical_not(), -std::numeric_limits<double>::infinity());
}

SsdResult ssd_step(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A, const torch::Tensor& Bm,
                   const torch::Tensor& Cm, const torch::Tensor& D, const torch::Tensor& state) {
  require(x.dim() == 3, "step x must be [B, H, P], got " + shape_str(x));
  const int64_t h = x.size(1);
  require(state.dim() == 4 && state.size(0) == x.size(0) && state.size(1) == h && state.size(2) == x.size(2),
          "step state must be [B, H, P, N], got " + shape_str(state));
  require(Bm.dim() == 3 && h % Bm.size(1) == 0 && Bm.size(2) == state.size(3),
          "step B must be [B, G, N], got " + shape_str(Bm));
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
  for (int64_t t = 0; t < l; ++t) {
    auto r = ssd_step(x.select(1, t), dt.select(1, t), A, Bm.select(1, t), Cm.select(1, t), D, state);
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
  const auto ct = compute_dtype(x);
  const int64_t q = std::min<int64_t>(chunk_size, std::max<int64_t>(l, 1));
  const int64_t nc = (l + q - 1) / q;
  const int64_t pad = nc * q - l;

  auto xs = x.to(ct);
  auto dts = dt.to(ct);
  auto bs = groups_to_heads(Bm.to(ct), h);
  auto cs = groups_to_heads(Cm.to(ct), h);
  if (pad > 0) {
    // Padded steps have dt = 0: decay exp(0) = 1 and zero input, so they leave the state unchanged.
    xs = torch::constant_pad_nd(xs, {0, 0, 0, 0, 0, pad});
    dts = torch::constant_pad_nd(dts, {0, 0, 0, pad});
    bs = torch::constant_pad_nd(bs, {0, 0, 0, 0, 0, pad});
    cs = torch::constant_pad_nd(cs, {0, 0, 0, 0, 0, pad});
  }
  // Layout [B, c, H, Q, ·] so every per-chunk product is a batched matmul.
  auto xc = xs.view({b, nc, q, h, p}).permute({0, 1, 3, 2, 4});                 // [B,c,H,Q,P]
  auto dtc = dts.view({b, nc, q, h}).permute({0, 1, 3, 2});                     // [B,c,H,Q]
  auto bc = bs.reshape({b, nc, q, h, n}).permute({0, 1, 3, 2, 4});              // [B,c,H,Q,N]
  auto cc = cs.reshape({b, nc, q, h, n}).permute({0, 1, 3, 2, 4});              // [B,c,H,Q,N]

  auto xdt = xc * dtc.unsqueeze(-1);                                            // X~ = dt·x
  auto adt = dtc * A.to(ct).view({1, 1, h, 1});                                  // log-decay dt·A
  auto acum = adt.cumsum(-1);                                                   // [B,c,H,Q]

  // 1. Intra-chunk outputs: Y_diag[l] = sum_{s<=l} (C_l·B_s) exp(segsum)[l,s] X~_s.
  auto decay_in = torch::exp(segsum(adt));                                      // [B,c,H,Q,Q]
  auto scores = torch::matmul(cc, bc.transpose(-1, -2)) * decay_in;             // [B,c,H,Q,Q]
  auto y = torch::matmul(scores, xdt);                                          // [B,c,H,Q,P]

  // 2. State contributed by each chunk at its end: sum_s exp(cs_end - cs_s) X~_s B_s^T.
  auto decay_to_end = torch::exp(acum.narrow(-1, q - 1, 1) - acum);             // [B,c,H,Q]
  auto chunk_states = torch::matmul((xdt * decay_to_end.unsqueeze(-1)).transpose(-1, -2), bc);  // [B,c,H,P,N]

  // 3. Inter-chunk recurrence: Sin_{c+1} = exp(T_c) Sin_c + st_c, all at once.
  auto init = initial_state.defined() ? initial_state.to(ct).unsqueeze(1)
                                      : torch::zeros({b, 1, h, p, n}, xc.options());
  auto states = torch::cat({init, chunk_states}, 1);                            // [B,c+1,H,P,N]
  auto totals = acum.select(-1, q - 1).permute({0, 2, 1});                      // [B,H,c]
  auto decay_chunk = torch::exp(segsum(torch::constant_pad_nd(totals, {1, 0})));  // [B,H,c+1,c+1]
  auto flat = states.permute({0, 2, 1, 3, 4}).reshape({b, h, nc + 1, p * n});
  auto entered = torch::matmul(decay_chunk, flat).view({b, h, nc + 1, p, n});    // [B,H,c+1,P,N]
  auto final_state = entered.select(2, nc);                                      // [B,H,P,N]
  auto sin = entered.narrow(2, 0, nc).permute({0, 2, 1, 3, 4});                  // [B,c,H,P,N]

  // 4. Contribution of the state entering each chunk: exp(cs_l) (Sin_c C_l).
  auto y_off = torch::matmul(cc, sin.transpose(-1, -2)) * torch::exp(acum).unsqueeze(-1);  // [B,c,H,Q,P]
  y = y + y_off;

  auto out = y.permute({0, 1, 3, 2, 4}).reshape({b, nc * q, h, p});
  if (pad > 0) out = out.narrow(1, 0, l);
  if (D.defined()) out = out + x.to(ct) * D.to(ct).view({1, 1, h, 1});
  return {out.to(x.scalar_type()), final_state};
}

}  // namespace dm::ops
