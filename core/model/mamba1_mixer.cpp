#include "core/model/mamba1_mixer.h"

#include <cmath>
#include <sstream>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/ops/causal_conv1d.h"
#include "core/ops/selective_scan.h"

namespace dm::model {

void Mamba1Config::validate(const std::string& prefix) const {
  auto need = [&prefix](bool ok, const std::string& key, double value, const std::string& rule) {
    if (!ok) {
      std::ostringstream v;
      v << value;
      throw ConfigError(prefix + key, v.str(), rule);
    }
  };
  need(d_model >= 1, "d_model", double(d_model), "must be at least 1");
  need(expand >= 1, "expand", double(expand), "must be at least 1");
  need(d_state >= 1 && d_state <= 1024, "d_state", double(d_state), "must be in [1, 1024]");
  need(conv_kernel >= 1 && conv_kernel <= 64, "conv_kernel", double(conv_kernel), "must be in [1, 64]");
  need(dt_rank >= 0, "dt_rank", double(dt_rank), "must be 0 (⌈d_model / 16⌉) or positive");
  need(dt_min > 0 && dt_max >= dt_min, "dt_min", dt_min, "must be positive and at most dt_max");
  need(dt_init_floor >= 0, "dt_init_floor", dt_init_floor, "must be non-negative");
}

Mamba1MixerImpl::Mamba1MixerImpl(const Mamba1Config& cfg) : cfg_(cfg) {
  cfg_.validate();
  const int64_t d = cfg_.d_model, di = cfg_.d_inner(), n = cfg_.d_state, r = cfg_.rank();
  in_proj = register_module("in_proj", Dense(d, 2 * di, cfg_.use_bias));
  conv1d = register_module("conv1d", DepthwiseConv(di, cfg_.conv_kernel, cfg_.use_conv_bias));
  x_proj = register_module("x_proj", Dense(di, r + 2 * n, false));
  dt_proj = register_module("dt_proj", Dense(r, di, true));
  A_log = register_parameter("A_log", torch::empty({di, n}));
  D = register_parameter("D", torch::ones({di}));
  out_proj = register_module("out_proj", Dense(di, d, cfg_.use_bias));
  if (cfg_.diff_s6) {
    x_proj_2 = register_module("x_proj_2", Dense(di, r + 2 * n, false));
    dt_proj_2 = register_module("dt_proj_2", Dense(r, di, true));
    A_log_2 = register_parameter("A_log_2", torch::empty({di, n}));
    D_2 = register_parameter("D_2", torch::ones({di}));
  }
  if (init_skipped()) return;
  reset_ssm_parameters(dt_proj, A_log, D);
  if (cfg_.diff_s6) reset_ssm_parameters(dt_proj_2, A_log_2, D_2);
}

// As mambablock.py / transformers: dt_proj.weight U(±dt_scale·rank^−½); dt_proj.bias = softplus⁻¹(Δ) with Δ
// log-uniform in [dt_min, dt_max], floored; A_log = ln(1..N) for every channel (S4D-real); D = 1.
void Mamba1MixerImpl::reset_ssm_parameters(Dense& dt_proj, torch::Tensor& A_log, torch::Tensor& D) {
  torch::NoGradGuard no_grad;
  const int64_t di = cfg_.d_inner(), n = cfg_.d_state;
  const double std = cfg_.dt_scale / std::sqrt(static_cast<double>(cfg_.rank()));
  dt_proj->weight.uniform_(-std, std);
  auto u = torch::rand({di}, torch::kDouble);
  auto dt = torch::exp(u * (std::log(cfg_.dt_max) - std::log(cfg_.dt_min)) + std::log(cfg_.dt_min))
                .clamp_min(cfg_.dt_init_floor);
  dt_proj->bias.copy_(dt + torch::log(-torch::expm1(-dt)));
  A_log.copy_(torch::log(torch::arange(1, n + 1, torch::kDouble)).unsqueeze(0).expand({di, n}));
  D.fill_(1.0);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> Mamba1MixerImpl::ssm_inputs(const torch::Tensor& x, Dense& x_proj,
                                                                                    Dense& dt_proj) {
  const auto ct = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto parts = x_proj->forward(x).split_with_sizes({cfg_.rank(), cfg_.d_state, cfg_.d_state}, -1);
  auto delta = torch::softplus(dt_proj->forward(parts[0]).to(ct));  // threshold 20: identity above it
  return {delta, parts[1].to(ct), parts[2].to(ct)};
}

torch::Tensor Mamba1MixerImpl::forward(const torch::Tensor& u, Mamba1State* state, const torch::Tensor& mask) {
  const int64_t b = u.size(0), l = u.size(1), di = cfg_.d_inner();
  torch::Tensor keep;  // [B, L, 1] in the activations' dtype
  if (mask.defined()) {
    TORCH_CHECK(mask.dim() == 2 && mask.size(0) == b && mask.size(1) == l, "Mamba1Mixer: mask must be [", b, ", ", l,
                "], got ", mask.sizes());
    keep = mask.to(u.scalar_type()).unsqueeze(-1);
  }
  auto parts = in_proj->forward(keep.defined() ? u * keep : u).split_with_sizes({di, di}, -1);
  auto x = parts[0], z = parts[1];
  // A state with tensors continues the sequence it holds (chunked prefill); a fresh one starts it.
  const torch::Tensor conv_prev = state ? state->conv : torch::Tensor();
  if (state) state->conv = ops::conv_state_after(conv_prev, x, cfg_.conv_kernel).detach();
  x = ops::causal_conv1d(x, conv1d->weight, cfg_.use_conv_bias ? conv1d->bias : torch::Tensor(), true,
                         ops::conv_initial_inputs(conv_prev, x));
  if (keep.defined()) x = x * keep;
  auto scan = [&](Dense& xp, Dense& dp, const torch::Tensor& a_log, const torch::Tensor& d_skip, const torch::Tensor& h0) {
    auto [delta, bm, cm] = ssm_inputs(x, xp, dp);
    const auto ct = delta.scalar_type();
    return ops::selective_scan(x, delta, -torch::exp(a_log.to(ct)), bm, cm, d_skip.to(ct), h0);
  };
  auto r = scan(x_proj, dt_proj, A_log, D, state ? state->ssm : torch::Tensor());
  if (state) state->ssm = r.final_state.detach();
  auto y = r.y.to(r.final_state.scalar_type());
  if (cfg_.diff_s6) {  // both branches gated by the same silu(z): (y1 − y2)·silu(z)
    auto r2 = scan(x_proj_2, dt_proj_2, A_log_2, D_2, state ? state->ssm2 : torch::Tensor());
    if (state) state->ssm2 = r2.final_state.detach();
    y = y - r2.y.to(y.scalar_type());
  }
  y = y * torch::silu(z.to(y.scalar_type()));
  return out_proj->forward(y.to(u.scalar_type()));
}

torch::Tensor Mamba1MixerImpl::step(const torch::Tensor& u, Mamba1State& state) {
  const int64_t di = cfg_.d_inner();
  auto parts = in_proj->forward(u).split_with_sizes({di, di}, -1);
  auto [x, conv_state] = ops::causal_conv1d_update(parts[0], state.conv, conv1d->weight,
                                                   cfg_.use_conv_bias ? conv1d->bias : torch::Tensor(), true);
  auto step = [&](Dense& xp, Dense& dp, const torch::Tensor& a_log, const torch::Tensor& d_skip, const torch::Tensor& s) {
    auto [delta, bm, cm] = ssm_inputs(x, xp, dp);
    const auto ct = delta.scalar_type();
    return ops::selective_scan_step(x, delta, -torch::exp(a_log.to(ct)), bm, cm, d_skip.to(ct), s);
  };
  auto r = step(x_proj, dt_proj, A_log, D, state.ssm);
  state.conv = conv_state;
  state.ssm = r.final_state;
  auto y = r.y.to(r.final_state.scalar_type());
  if (cfg_.diff_s6) {
    auto r2 = step(x_proj_2, dt_proj_2, A_log_2, D_2, state.ssm2);
    state.ssm2 = r2.final_state;
    y = y - r2.y.to(y.scalar_type());
  }
  y = y * torch::silu(parts[1].to(y.scalar_type()));
  return out_proj->forward(y.to(u.scalar_type()));
}

Mamba1State Mamba1MixerImpl::initial_state(int64_t batch, const torch::TensorOptions& opts) const {
  const auto state_opts = opts.dtype(torch::promote_types(c10::typeMetaToScalarType(opts.dtype()), torch::kFloat));
  Mamba1State s{torch::zeros({batch, cfg_.d_inner(), cfg_.conv_kernel}, opts),
                torch::zeros({batch, cfg_.d_inner(), cfg_.d_state}, state_opts), {}};
  if (cfg_.diff_s6) s.ssm2 = torch::zeros({batch, cfg_.d_inner(), cfg_.d_state}, state_opts);
  return s;
}

}  // namespace dm::model
