#include "core/model/diffs6mamba2_mixer.h"

#include <cmath>
#include <torch/torch.h>

#include "core/ops/causal_conv1d.h"
#include "core/ops/dispatch.h"
#include "core/ops/ssd.h"

namespace dm::model {

DiffS6Mamba2MixerImpl::DiffS6Mamba2MixerImpl(const MixerConfig& cfg, int64_t index)
    : cfg_(cfg), lambda_init_(model::lambda_init(index)) {
  cfg_.validate();
  const int64_t d = cfg_.d_model, di = cfg_.d_inner(), h = cfg_.n_heads(), c = cfg_.conv_dim();
  in_proj1 = register_module("in_proj1", Dense(d, cfg_.in_proj_rows(), cfg_.use_bias));
  in_proj2 = register_module("in_proj2", Dense(d, cfg_.in_proj_rows(), cfg_.use_bias));
  conv1d = register_module("conv1d", DepthwiseConv(c, cfg_.conv_kernel, cfg_.use_conv_bias));
  dt_bias1 = register_parameter("dt_bias1", torch::empty({h}));
  A_log1 = register_parameter("A_log1", torch::empty({h}));
  D1 = register_parameter("D1", torch::ones({h}));
  dt_bias2 = register_parameter("dt_bias2", torch::empty({h}));
  A_log2 = register_parameter("A_log2", torch::empty({h}));
  D2 = register_parameter("D2", torch::ones({h}));
  lambda_q = register_parameter("lambda_q", init_skipped() ? torch::empty({1}) : torch::randn({1}));
  norm = register_module("norm", std::make_shared<RMSNormImpl>(di, cfg_.norm_eps, di / cfg_.n_groups));
  subln = register_module("subln", std::make_shared<RMSNormImpl>(di, 1e-5));
  out_proj = register_module("out_proj", Dense(di, d, cfg_.use_bias));
  if (init_skipped()) return;
  // Each branch as a Mamba2 mixer initialises its SSM parameters (spec §2.3).
  torch::NoGradGuard no_grad;
  for (auto* p : {&dt_bias1, &dt_bias2}) {
    auto u = torch::rand({h}, torch::kDouble);
    auto dt = torch::exp(u * (std::log(cfg_.dt_max) - std::log(cfg_.dt_min)) + std::log(cfg_.dt_min))
                  .clamp_min(cfg_.dt_init_floor);
    p->copy_(dt + torch::log(-torch::expm1(-dt)));
  }
  for (auto* p : {&A_log1, &A_log2}) {
    if (cfg_.init == InitStyle::hf)
      p->copy_(torch::log(torch::arange(1, h + 1, torch::kDouble)));
    else
      p->copy_(torch::log(torch::empty({h}, torch::kDouble).uniform_(cfg_.a_init_min, cfg_.a_init_max)));
  }
}

torch::Tensor DiffS6Mamba2MixerImpl::lambda() const {
  const auto ct = torch::promote_types(lambda_q.scalar_type(), torch::kFloat);
  return torch::sigmoid(lambda_q.to(ct).sum()) + lambda_init_;
}

torch::Tensor DiffS6Mamba2MixerImpl::time_step(const torch::Tensor& dt_raw, const torch::Tensor& dt_bias) const {
  const auto ct = dt_raw.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto dt = torch::softplus(dt_raw.to(ct) + dt_bias.to(ct));
  if (cfg_.dt_limit_min > 0.0 || std::isfinite(cfg_.dt_limit_max)) dt = dt.clamp(cfg_.dt_limit_min, cfg_.dt_limit_max);
  return dt;
}

torch::Tensor DiffS6Mamba2MixerImpl::branch(const torch::Tensor& zxbcdt, const torch::Tensor& dt_bias,
                                            const torch::Tensor& A_log, const torch::Tensor& D, MixerState* state,
                                            const torch::Tensor& keep, SsdTrace* trace) {
  const int64_t b = zxbcdt.size(0), l = zxbcdt.size(1);
  const int64_t di = cfg_.d_inner(), h = cfg_.n_heads(), p = cfg_.head_dim, g = cfg_.n_groups, n = cfg_.d_state;
  auto parts = zxbcdt.split_with_sizes({di, cfg_.conv_dim(), h}, -1);
  auto z = parts[0], xbc = parts[1];
  // A state with tensors continues the sequence it holds (chunked prefill); a fresh one starts it.
  const torch::Tensor conv_prev = state ? state->conv : torch::Tensor(), ssm_prev = state ? state->ssm : torch::Tensor();
  if (state) state->conv = ops::conv_state_after(conv_prev, xbc, cfg_.conv_kernel).detach();
  xbc = ops::causal_conv1d(xbc, conv1d->weight, cfg_.use_conv_bias ? conv1d->bias : torch::Tensor(), true,
                           ops::conv_initial_inputs(conv_prev, xbc));
  if (keep.defined()) xbc = xbc * keep.to(xbc.scalar_type());
  auto xp = xbc.split_with_sizes({di, g * n, g * n}, -1);
  auto x = xp[0].reshape({b, l, h, p});
  auto a = -torch::exp(A_log.to(zxbcdt.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat));
  const auto dt = time_step(parts[2], dt_bias);
  const auto bm = xp[1].reshape({b, l, g, n}), cm = xp[2].reshape({b, l, g, n});
  auto r = ops::ssd_chunked(x, dt, a, bm, cm, D, ops::ssd_chunk_size(x, cfg_.chunk_size), ssm_prev);
  if (state) state->ssm = r.final_state.detach();
  if (trace) trace->record(x, dt, a, bm, cm, D, r.y);
  return norm->gated(r.y.reshape({b, l, di}), z);
}

torch::Tensor DiffS6Mamba2MixerImpl::forward(const torch::Tensor& u, MixerState* s1, MixerState* s2,
                                             const torch::Tensor& mask) {
  torch::Tensor keep;
  if (mask.defined()) keep = mask.to(u.scalar_type()).unsqueeze(-1);
  const auto in = keep.defined() ? u * keep : u;
  auto y1 = branch(in_proj1->forward(in), dt_bias1, A_log1, D1, s1, keep, trace1);
  auto y2 = branch(in_proj2->forward(in), dt_bias2, A_log2, D2, s2, keep, trace2);
  auto a = subln->forward(y1 - lambda().to(y2.scalar_type()) * y2) * (1.0 - lambda_init_);
  return out_proj->forward(a);
}

torch::Tensor DiffS6Mamba2MixerImpl::branch_step(const torch::Tensor& zxbcdt, const torch::Tensor& dt_bias,
                                                 const torch::Tensor& A_log, const torch::Tensor& D, MixerState& state) {
  const int64_t b = zxbcdt.size(0);
  const int64_t di = cfg_.d_inner(), h = cfg_.n_heads(), p = cfg_.head_dim, g = cfg_.n_groups, n = cfg_.d_state;
  auto z = zxbcdt.narrow(-1, 0, di);
  auto xbc = zxbcdt.narrow(-1, di, cfg_.conv_dim());
  auto dt_raw = zxbcdt.narrow(-1, di + cfg_.conv_dim(), h);
  auto [act, conv_state] = ops::causal_conv1d_update(xbc, state.conv, conv1d->weight,
                                                     cfg_.use_conv_bias ? conv1d->bias : torch::Tensor(), true);
  auto a = -torch::exp(A_log.to(zxbcdt.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat));
  auto r = ops::ssd_step(act.narrow(-1, 0, di).reshape({b, h, p}), time_step(dt_raw, dt_bias), a,
                         act.narrow(-1, di, g * n).reshape({b, g, n}), act.narrow(-1, di + g * n, g * n).reshape({b, g, n}),
                         D, state.ssm);
  state.conv = conv_state;
  state.ssm = r.final_state;
  return norm->gated(r.y.reshape({b, di}), z);
}

torch::Tensor DiffS6Mamba2MixerImpl::step(const torch::Tensor& u, MixerState& s1, MixerState& s2) {
  auto y1 = branch_step(in_proj1->forward(u), dt_bias1, A_log1, D1, s1);
  auto y2 = branch_step(in_proj2->forward(u), dt_bias2, A_log2, D2, s2);
  return out_proj->forward(subln->forward(y1 - lambda().to(y2.scalar_type()) * y2) * (1.0 - lambda_init_));
}

MixerState DiffS6Mamba2MixerImpl::initial_state(int64_t batch, const torch::TensorOptions& opts) const {
  return {torch::zeros({batch, cfg_.conv_dim(), cfg_.conv_kernel}, opts),
          torch::zeros({batch, cfg_.n_heads(), cfg_.head_dim, cfg_.d_state},
                       opts.dtype(torch::promote_types(c10::typeMetaToScalarType(opts.dtype()), torch::kFloat)))};
}

}  // namespace dm::model
