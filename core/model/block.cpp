#include "core/model/block.h"

#include <torch/torch.h>

namespace dm::model {
namespace {

// Inverted dropout with a mask drawn by rand_like: the same distribution as torch::dropout, and
// several times faster on CPU than its bernoulli_ path (bench/RESULTS.md).
torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p <= 0.0) return x;
  auto keep = (torch::rand_like(x) >= p).to(x.scalar_type());
  return x * keep * (1.0 / (1.0 - p));
}

}  // namespace

FeedForwardImpl::FeedForwardImpl(int64_t d_model, int64_t expand, double dropout_) : dropout(dropout_) {
  fc1 = register_module("fc1", Dense(d_model, expand * d_model));
  fc2 = register_module("fc2", Dense(expand * d_model, d_model));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  return fc2->forward(model::dropout(torch::gelu(fc1->forward(x)), dropout, is_training()));
}

BlockImpl::BlockImpl(const ModelConfig& cfg, int64_t index)
    : backbone_(cfg.backbone), index_(index), dropout_(cfg.dropout), residual_in_fp32_(cfg.residual_in_fp32) {
  const int64_t d = cfg.d_model;
  if (cfg.is_ffn_block(index)) {
    kind_ = SubLayer::ffn;
  } else {
    const bool diff = cfg.is_diff_block(index);
    kind_ = cfg.family == Family::diffs6mamba2   ? SubLayer::diffs6mamba2
            : cfg.is_mamba1()                    ? (diff ? SubLayer::diffmamba1 : SubLayer::mamba1)
            : cfg.family == Family::diffmamba2E ? (diff ? SubLayer::diffmamba2E : SubLayer::mamba2)
                                                : (diff ? SubLayer::diffmamba2 : SubLayer::mamba2);
  }
  if (backbone_ == Backbone::hf) {
    rms_norm = register_module("norm", std::make_shared<RMSNormImpl>(d, cfg.norm_eps));
  } else {
    layer_norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5)));
  }
  switch (kind_) {
    case SubLayer::mamba2:
      mixer = register_module("mixer", Mamba2Mixer(cfg.full_mixer()));
      break;
    case SubLayer::diffmamba2:
      mixer_1 = register_module("mixer_1", Mamba2Mixer(cfg.half_mixer()));
      mixer_2 = register_module("mixer_2", Mamba2Mixer(cfg.half_mixer()));
      lambda_q1 = register_parameter("lambda_q1", init_skipped() ? torch::empty({d}) : torch::randn({d}));
      subln = register_module("subln", std::make_shared<RMSNormImpl>(d, 1e-5));
      lambda_init_ = model::lambda_init(index);
      break;
    case SubLayer::mamba1:
      mamba1 = register_module("mixer", Mamba1Mixer(cfg.mamba1_mixer()));
      break;
    case SubLayer::diffs6mamba2:
      s6mamba2 = register_module("mixer", DiffS6Mamba2Mixer(cfg.full_mixer(), index));
      lambda_init_ = model::lambda_init(index);
      break;
    case SubLayer::diffmamba2E:
      mixer = register_module("mixer", Mamba2Mixer(cfg.full_mixer()));
      lambda_q1 = register_parameter("lambda_q1", init_skipped() ? torch::empty({d}) : torch::randn({d}));
      subln = register_module("subln", std::make_shared<RMSNormImpl>(d, 1e-5));
      lambda_init_ = model::lambda_init(index);
      break;
    case SubLayer::diffmamba1: {
      mamba1_1 = register_module("mixer_1", Mamba1Mixer(cfg.mamba1_half_mixer()));
      mamba1_2 = register_module("mixer_2", Mamba1Mixer(cfg.mamba1_half_mixer()));
      const int64_t n = cfg.d_state;
      auto vec = [&] { return init_skipped() ? torch::empty({n}) : torch::randn({n}); };
      lambda_q1 = register_parameter("lambda_q1", vec());
      lambda_k1 = register_parameter("lambda_k1", vec());
      lambda_q2 = register_parameter("lambda_q2", vec());
      lambda_k2 = register_parameter("lambda_k2", vec());
      subln = register_module("subln", std::make_shared<RMSNormImpl>(d, 1e-5));
      lambda_init_ = model::lambda_init(index);
      break;
    }
    case SubLayer::ffn:
      ffn = register_module("ffn", FeedForward(d, cfg.ffn_expand, cfg.dropout));
      break;
  }
}

torch::Tensor BlockImpl::lambda() const {
  const auto ct = torch::promote_types(lambda_q1.scalar_type(), torch::kFloat);
  if (kind_ == SubLayer::diffmamba1)
    return torch::exp((lambda_q1.to(ct) * lambda_k1.to(ct)).sum()) - torch::exp((lambda_q2.to(ct) * lambda_k2.to(ct)).sum()) +
           lambda_init_;
  return torch::sigmoid(lambda_q1.to(ct).sum()) + lambda_init_;
}

torch::Tensor BlockImpl::combine(const torch::Tensor& y1, const torch::Tensor& y2) const {
  auto a = y1 - lambda().to(y2.scalar_type()) * y2;
  if (kind_ == SubLayer::diffmamba2E) a = torch::cat({a, a}, -1);  // [B, L, D/2] tiled back to D
  return subln->forward(a) * (1.0 - lambda_init_);
}

torch::Tensor BlockImpl::sublayer(const torch::Tensor& h, BlockState* state, bool one_step, const torch::Tensor& mask) {
  switch (kind_) {
    case SubLayer::mamba2:
      return one_step ? mixer->step(h, state->m1) : mixer->forward(h, state ? &state->m1 : nullptr, mask);
    case SubLayer::diffmamba2: {
      auto y1 = one_step ? mixer_1->step(h, state->m1) : mixer_1->forward(h, state ? &state->m1 : nullptr, mask);
      auto y2 = one_step ? mixer_2->step(h, state->m2) : mixer_2->forward(h, state ? &state->m2 : nullptr, mask);
      return combine(y1, y2);
    }
    case SubLayer::mamba1:
      return one_step ? mamba1->step(h, state->s6) : mamba1->forward(h, state ? &state->s6 : nullptr, mask);
    case SubLayer::diffs6mamba2:
      return one_step ? s6mamba2->step(h, state->m1, state->m2)
                      : s6mamba2->forward(h, state ? &state->m1 : nullptr, state ? &state->m2 : nullptr, mask);
    case SubLayer::diffmamba2E: {
      auto y = one_step ? mixer->step(h, state->m1) : mixer->forward(h, state ? &state->m1 : nullptr, mask);
      const int64_t half = y.size(-1) / 2;
      return combine(y.narrow(-1, half, half), y.narrow(-1, 0, half));
    }
    case SubLayer::diffmamba1: {
      // The published block has no recurrent path (it forces state=None); each mixer's own state makes the
      // per-position combination exact token by token.
      auto y1 = one_step ? mamba1_1->step(h, state->s6) : mamba1_1->forward(h, state ? &state->s6 : nullptr, mask);
      auto y2 = one_step ? mamba1_2->step(h, state->s6b) : mamba1_2->forward(h, state ? &state->s6b : nullptr, mask);
      return combine(y1, y2);
    }
    case SubLayer::ffn:
      return ffn->forward(h);
  }
  return {};
}

torch::Tensor BlockImpl::wrap(const torch::Tensor& x, BlockState* state, bool one_step, const torch::Tensor& mask) {
  if (backbone_ == Backbone::hf) {
    auto residual = residual_in_fp32_ ? x.to(torch::promote_types(x.scalar_type(), torch::kFloat)) : x;
    auto h = rms_norm->forward(x.to(rms_norm->weight.scalar_type()));
    return residual + sublayer(h, state, one_step, mask).to(residual.scalar_type());
  }
  auto y = model::dropout(sublayer(x, state, one_step, mask), dropout_, is_training());
  return layer_norm->forward(x + y);
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, BlockState* state, const torch::Tensor& mask) {
  return wrap(x, state, false, mask);
}

torch::Tensor BlockImpl::step(const torch::Tensor& x, BlockState& state) { return wrap(x, &state, true, {}); }

BlockState BlockImpl::initial_state(int64_t batch, const torch::TensorOptions& opts) const {
  BlockState s;
  if (kind_ == SubLayer::mamba2 || kind_ == SubLayer::diffmamba2E) s.m1 = mixer->initial_state(batch, opts);
  if (kind_ == SubLayer::mamba1) s.s6 = mamba1->initial_state(batch, opts);
  if (kind_ == SubLayer::diffs6mamba2) {
    s.m1 = s6mamba2->initial_state(batch, opts);
    s.m2 = s6mamba2->initial_state(batch, opts);
  }
  if (kind_ == SubLayer::diffmamba1) {
    s.s6 = mamba1_1->initial_state(batch, opts);
    s.s6b = mamba1_2->initial_state(batch, opts);
  }
  if (kind_ == SubLayer::diffmamba2) {
    s.m1 = mixer_1->initial_state(batch, opts);
    s.m2 = mixer_2->initial_state(batch, opts);
  }
  return s;
}

}  // namespace dm::model
