#include "core/model/mamba2_mixer.h"

#include <cmath>
#include <torch/torch.h>

#include "core/ops/causal_conv1d.h"
#include "core/ops/dispatch.h"
#include "core/ops/ssd.h"

namespace dm::model {

Mamba2MixerImpl::Mamba2MixerImpl(const MixerConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  const int64_t d = cfg_.d_model, di = cfg_.d_inner(), h = cfg_.n_heads(), c = cfg_.conv_dim();
  in_proj = register_module("in_proj",
                            Dense(d, cfg_.in_proj_rows(), cfg_.use_bias));
  conv1d = register_module("conv1d", DepthwiseConv(c, cfg_.conv_kernel, cfg_.use_conv_bias));
  dt_bias = register_parameter("dt_bias", torch::empty({h}));
  A_log = register_parameter("A_log", torch::empty({h}));
  D = register_parameter("D", torch::ones({h}));
  norm = register_module("norm", std::make_shared<RMSNormImpl>(di, cfg_.norm_eps, di / cfg_.n_groups));
  out_proj = register_module("out_proj", Dense(di, d, cfg_.use_bias));
  if (!init_skipped()) reset_ssm_parameters();
}

void Mamba2MixerImpl::reset_ssm_parameters() {
  torch::NoGradGuard no_grad;
  const int64_t h = cfg_.n_heads();
  // dt log-uniform in [dt_min, dt_max], floored; dt_bias = softplus⁻¹(dt) = dt + log(−expm1(−dt)).
  auto u = torch::rand({h}, torch::kDouble);
  auto dt = torch::exp(u * (std::log(cfg_.dt_max) - std::log(cfg_.dt_min)) + std::log(cfg_.dt_min))
                .clamp_min(cfg_.dt_init_floor);
  dt_bias.copy_(dt + torch::log(-torch::expm1(-dt)));
  if (cfg_.init == InitStyle::hf) {
    A_log.copy_(torch::log(torch::arange(1, h + 1, torch::kDouble)));
    if (cfg_.use_bias) {
      in_proj->bias.zero_();
      out_proj->bias.zero_();
    }
  } else {
    A_log.copy_(torch::log(torch::empty({h}, torch::kDouble).uniform_(cfg_.a_init_min, cfg_.a_init_max)));
  }
  D.fill_(1.0);
}

torch::Tensor Mamba2MixerImpl::time_step(const torch::Tensor& dt_raw) const {
  const auto ct = dt_raw.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto dt = torch::softplus(dt_raw.to(ct) + dt_bias.to(ct));  // threshold 20: identity above it
  if (cfg_.dt_limit_min > 0.0 || std::isfinite(cfg_.dt_limit_max)) dt = dt.clamp(cfg_.dt_limit_min, cfg_.dt_limit_max);
  return dt;
}

torch::Tensor Mamba2MixerImpl::forward(const torch::Tensor& u, MixerState* state, const torch::Tensor& mask) {
  const int64_t b = u.size(0), l = u.size(1);
  const int64_t di = cfg_.d_inner(), h = cfg_.n_heads(), p = cfg_.head_dim, g = cfg_.n_groups, n = cfg_.d_state;
  torch::Tensor keep;  // [B, L, 1] in the activations' dtype
  if (mask.defined()) {
    TORCH_CHECK(mask.dim() == 2 && mask.size(0) == b && mask.size(1) == l, "Mamba2Mixer: mask must be [", b, ", ", l,
                "], got ", mask.sizes());
    keep = mask.to(u.scalar_type()).unsqueeze(-1);
  }
  // split (not three slices): its backward writes the three gradients into one tensor with one cat.
  auto parts = in_proj->forward(keep.defined() ? u * keep : u).split_with_sizes({di, cfg_.conv_dim(), h}, -1);
  auto z = parts[0], xbc = parts[1], dt_raw = parts[2];
  // A state with tensors continues the sequence it holds (chunked prefill); a fresh one starts it.
  const torch::Tensor conv_prev = state ? state->conv : torch::Tensor(), ssm_prev = state ? state->ssm : torch::Tensor();
  if (state) state->conv = ops::conv_state_after(conv_prev, xbc, cfg_.conv_kernel).detach();
  xbc = ops::causal_conv1d(xbc, conv1d->weight, cfg_.use_conv_bias ? conv1d->bias : torch::Tensor(), true,
                           ops::conv_initial_inputs(conv_prev, xbc));
  if (keep.defined()) xbc = xbc * keep.to(xbc.scalar_type());
  auto xbc_parts = xbc.split_with_sizes({di, g * n, g * n}, -1);
  auto x = xbc_parts[0].reshape({b, l, h, p});
  auto bm = xbc_parts[1].reshape({b, l, g, n});
  auto cm = xbc_parts[2].reshape({b, l, g, n});
  auto a = -torch::exp(A_log.to(u.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat));
  const auto dt = time_step(dt_raw);
  auto r = ops::ssd_chunked(x, dt, a, bm, cm, D, ops::ssd_chunk_size(x, cfg_.chunk_size), ssm_prev);
  if (state) state->ssm = r.final_state.detach();
  if (trace) trace->record(x, dt, a, bm, cm, D, r.y);
  auto y = norm->gated(r.y.reshape({b, l, di}), z);
  return out_proj->forward(y);
}

torch::Tensor Mamba2MixerImpl::step(const torch::Tensor& u, MixerState& state) {
  const int64_t b = u.size(0);
  const int64_t di = cfg_.d_inner(), h = cfg_.n_heads(), p = cfg_.head_dim, g = cfg_.n_groups, n = cfg_.d_state;
  auto zxbcdt = in_proj->forward(u);
  auto z = zxbcdt.narrow(-1, 0, di);
  auto xbc = zxbcdt.narrow(-1, di, cfg_.conv_dim());
  auto dt_raw = zxbcdt.narrow(-1, di + cfg_.conv_dim(), h);
  auto [act, conv_state] = ops::causal_conv1d_update(xbc, state.conv, conv1d->weight,
                                                     cfg_.use_conv_bias ? conv1d->bias : torch::Tensor(), true);
  auto x = act.narrow(-1, 0, di).reshape({b, h, p});
  auto bm = act.narrow(-1, di, g * n).reshape({b, g, n});
  auto cm = act.narrow(-1, di + g * n, g * n).reshape({b, g, n});
  auto a = -torch::exp(A_log.to(u.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat));
  auto r = ops::ssd_step(x, time_step(dt_raw), a, bm, cm, D, state.ssm);
  state.conv = conv_state;
  state.ssm = r.final_state;
  auto y = norm->gated(r.y.reshape({b, di}), z);
  return out_proj->forward(y);
}

MixerState Mamba2MixerImpl::initial_state(int64_t batch, const torch::TensorOptions& opts) const {
  return {torch::zeros({batch, cfg_.conv_dim(), cfg_.conv_kernel}, opts),
          torch::zeros({batch, cfg_.n_heads(), cfg_.head_dim, cfg_.d_state},
                       opts.dtype(torch::promote_types(c10::typeMetaToScalarType(opts.dtype()), torch::kFloat)))};
}

}  // namespace dm::model
