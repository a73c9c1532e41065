// The SSD chunked backward in LibTorch ops, in the stages of kernels/ssd_backward.cu (see its header for the
// formulas). Per chunk c, with a = cumsum(dt·A), X~ = dt·x, L_ts = exp(a_t − a_s) for s ≤ t.
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/ops/ssd.h"

namespace dm::ops {

SsdGradients ssd_chunked_backward_reference(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                                            const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                                            int64_t chunk_size, const torch::Tensor& initial_state,
                                            const torch::Tensor& dy, const torch::Tensor& d_final_state) {
  if (x.dim() != 4 || Bm.dim() != 4 || dy.sizes() != x.sizes())
    throw ShapeError("ssd_chunked_backward_reference: x and dy must be [B, L, H, P] and B, C [B, L, G, N]");
  const int64_t b = x.size(0), l = x.size(1), h = x.size(2), p = x.size(3), g = Bm.size(2), n = Bm.size(3);
  const int64_t q = std::min<int64_t>(chunk_size, std::max<int64_t>(l, 1)), nc = (l + q - 1) / q, pad = nc * q - l;
  const int64_t hg = h / g;
  const auto opts = x.options();
  torch::NoGradGuard no_grad;
  // [B, L, ...] → padded → [B, nc, H, Q, ·]
  auto chunks = [&](const torch::Tensor& t, int64_t last) {  // t [B, L, H, last]
    auto tp = pad > 0 ? torch::constant_pad_nd(t, {0, 0, 0, 0, 0, pad}) : t;
    return tp.reshape({b, nc, q, h, last}).permute({0, 1, 3, 2, 4});
  };
  auto per_head = [&](const torch::Tensor& t) { return t.to(x.scalar_type()).repeat_interleave(hg, 2); };
  auto xc = chunks(x, p), dyc = chunks(dy.to(x.scalar_type()), p);
  auto bc = chunks(per_head(Bm), n), cc = chunks(per_head(Cm), n);
  auto dtc = chunks(dt.to(x.scalar_type()).unsqueeze(-1), 1).squeeze(-1);  // [B,nc,H,Q]
  auto acum = (dtc * A.to(x.scalar_type()).view({1, 1, h, 1})).cumsum(-1);
  auto aend = acum.select(-1, q - 1);  // [B,nc,H]
  auto xt = xc * dtc.unsqueeze(-1);
  auto lower = torch::ones({q, q}, opts.dtype(torch::kBool)).tril();
  auto decay = torch::exp((acum.unsqueeze(-1) - acum.unsqueeze(-2)).masked_fill(lower.logical_not(), -INFINITY));
  auto cb = torch::matmul(cc, bc.transpose(-1, -2));    // [B,nc,H,Q(t),Q(s)]
  auto to_end = torch::exp(aend.unsqueeze(-1) - acum);  // [B,nc,H,Q]

  // Forward stages the backward needs: chunk states and the states entering each chunk.
  auto states = torch::matmul((xt * to_end.unsqueeze(-1)).transpose(-1, -2), bc);  // [B,nc,H,P,N]
  auto s = initial_state.defined() ? initial_state.to(x.scalar_type()) : torch::zeros({b, h, p, n}, opts);
  std::vector<torch::Tensor> entering;
  for (int64_t c = 0; c < nc; ++c) {
    entering.push_back(s);
    s = torch::exp(aend.select(1, c)).view({b, h, 1, 1}) * s + states.select(1, c);
  }
  auto sin = torch::stack(entering, 1);  // [B,nc,H,P,N]

  // Reverse state passing: gnext[c] = dL/dS entering chunk c + 1.
  auto ds_local = torch::matmul((dyc * torch::exp(acum).unsqueeze(-1)).transpose(-1, -2), cc);
  auto gs = d_final_state.defined() ? d_final_state.to(x.scalar_type()) : torch::zeros({b, h, p, n}, opts);
  std::vector<torch::Tensor> gnext(static_cast<size_t>(nc));
  auto da_end = torch::zeros({b, nc, h}, opts);
  for (int64_t c = nc - 1; c >= 0; --c) {
    gnext[static_cast<size_t>(c)] = gs;
    auto e = torch::exp(aend.select(1, c)).view({b, h, 1, 1});
    da_end.select(1, c).add_((e * gs * sin.select(1, c)).sum({-1, -2}));
    gs = ds_local.select(1, c) + e * gs;
  }
  auto gn = torch::stack(gnext, 1);  // [B,nc,H,P,N]

  auto dcb = decay * torch::matmul(dyc, xt.transpose(-1, -2));             // per head, [t, s]
  auto da = (cb * dcb).sum(-1);                                            // dy·y_diag
  auto dc_off = torch::exp(acum).unsqueeze(-1) * torch::matmul(dyc, sin);  // [B,nc,H,Q,N]
  da = da + (cc * dc_off).sum(-1);                                         // dy·y_off
  auto db_state = (to_end * dtc).unsqueeze(-1) * torch::matmul(xc, gn);    // [B,nc,H,Q,N]
  da_end = da_end + (bc * db_state).sum({-1, -2});
  auto dxt = torch::matmul((cb * decay).transpose(-1, -2), dyc) +
             to_end.unsqueeze(-1) * torch::matmul(bc, gn.transpose(-1, -2));  // [B,nc,H,Q,P]
  auto ddtp = (xc * dxt).sum(-1);
  da = da - dtc * ddtp;
  da.select(-1, q - 1).add_(da_end);
  auto dadt = da.flip(-1).cumsum(-1).flip(-1);
  auto ddt_c = ddtp + A.to(x.scalar_type()).view({1, 1, h, 1}) * dadt;
  auto dx_c = dtc.unsqueeze(-1) * dxt;
  auto dc_c = dc_off + torch::matmul(dcb, bc);
  auto db_c = db_state + torch::matmul(dcb.transpose(-1, -2), cc);

  auto unchunk = [&](const torch::Tensor& t, int64_t last) {  // [B,nc,H,Q,last] → [B,L,H,last]
    return t.permute({0, 1, 3, 2, 4}).reshape({b, nc * q, h, last}).narrow(1, 0, l);
  };
  auto per_group = [&](const torch::Tensor& t) { return unchunk(t, n).reshape({b, l, g, hg, n}).sum(3); };
  SsdGradients r;
  r.dx = unchunk(dx_c, p);
  if (D.defined()) r.dx = r.dx + dy.to(x.scalar_type()) * D.to(x.scalar_type()).view({1, 1, h, 1});
  r.ddt = unchunk(ddt_c.unsqueeze(-1), 1).squeeze(-1);
  r.dA = (dtc * dadt).sum({0, 1, 3});
  r.dB = per_group(db_c);
  r.dC = per_group(dc_c);
  if (D.defined()) r.dD = (dy.to(x.scalar_type()) * x).sum({0, 1, 3});
  if (initial_state.defined()) r.d_initial_state = gs;
  return r;
}

}  // namespace dm::ops
