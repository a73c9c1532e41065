#include "core/model/language_model.h"

#include <cmath>
#include <torch/torch.h>

namespace dm::model {

namespace {

AdaptiveConfig adaptive_config(const ModelConfig& cfg) {
  AdaptiveConfig a;
  a.vocab_size = cfg.vocab_size;
  a.d_model = cfg.d_model;
  a.cutoffs = cfg.cutoffs;
  a.div_val = cfg.div_val;
  a.dropemb = cfg.emb_dropout;
  a.dropsoft = cfg.dropsoft;
  return a;
}

}  // namespace

Mamba2BackboneImpl::Mamba2BackboneImpl(const ModelConfig& cfg) {
  if (cfg.div_val > 1)
    adaptive_embeddings = register_module("embeddings", AdaptiveEmbedding(adaptive_config(cfg)));
  else
    embeddings = register_module("embeddings", Embed(cfg.vocab_size, cfg.d_model));
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < cfg.num_blocks(); ++i) {
    layers.emplace_back(cfg, i);
    list->push_back(layers.back());
  }
  register_module("layers", list);
  if (cfg.backbone == Backbone::hf)
    norm_f = register_module("norm_f", std::make_shared<RMSNormImpl>(cfg.d_model, cfg.norm_eps));
}

LanguageModelImpl::LanguageModelImpl(const ModelConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  cfg_.check_memory_budget();
  backbone = register_module("backbone", Mamba2Backbone(cfg_));
  if (cfg_.div_val > 1)
    adaptive_head = register_module("lm_head", AdaptiveSoftmax(adaptive_config(cfg_), backbone->adaptive_embeddings));
  else if (!cfg_.tie_embeddings)
    lm_head = register_module("lm_head",
                              Dense(cfg_.d_model, cfg_.vocab_size, false));
  if (cfg_.has_output_bias()) output_bias = register_parameter("output_bias", torch::zeros({cfg_.vocab_size}));
  if (cfg_.has_cluster_logits()) {
    const auto c = static_cast<int64_t>(cfg_.cutoffs.size());
    cluster_weight = register_parameter("cluster_weight", torch::zeros({c, cfg_.d_model}));
    cluster_bias = register_parameter("cluster_bias", torch::zeros({c}));
  }
  if (init_skipped()) return;
  torch::NoGradGuard no_grad;
  // The seed's per-token biases: U(±bias_scale · D^-1/2), bias_scale 1.
  if (output_bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(cfg_.d_model));
    output_bias.uniform_(-bound, bound);
  }
  if (cfg_.div_val > 1) {
    // AdaptiveEmbedding initialises itself (per-cluster widths).
  } else if (cfg_.backbone == Backbone::lm) {
    // AdaptiveEmbedding with div_val 1: N(0, (init_scale · D^-1/2)²), init_scale 0.5.
    backbone->embeddings->weight.normal_(0.0, 0.5 / std::sqrt(static_cast<double>(cfg_.d_model)));
  } else {
    backbone->embeddings->weight.normal_(0.0, cfg_.initializer_range);
    if (cfg_.rescale_prenorm_residual) {
      for (auto& blk : backbone->layers) {
        for (auto* m : {blk->mixer.get(), blk->mixer_1.get(), blk->mixer_2.get()}) {
          if (!m) continue;
          torch::nn::init::kaiming_uniform_(m->out_proj->weight, std::sqrt(5.0));
          m->out_proj->weight.div_(std::sqrt(static_cast<double>(cfg_.n_layers)));
        }
        for (auto* m : {blk->mamba1.get(), blk->mamba1_1.get(), blk->mamba1_2.get()}) {
          if (!m) continue;
          torch::nn::init::kaiming_uniform_(m->out_proj->weight, std::sqrt(5.0));
          m->out_proj->weight.div_(std::sqrt(static_cast<double>(cfg_.n_layers)));
        }
      }
    }
  }
}

torch::Tensor LanguageModelImpl::embed(const torch::Tensor& ids) {
  if (backbone->adaptive_embeddings) return backbone->adaptive_embeddings->forward(ids);
  auto h = backbone->embeddings->forward(ids);
  if (cfg_.backbone == Backbone::lm) {
    if (is_training() && cfg_.emb_dropout > 0) h = torch::dropout(h, cfg_.emb_dropout, true);
    h = h * std::sqrt(static_cast<double>(cfg_.d_model));
  }
  return h;
}

torch::Tensor LanguageModelImpl::head(const torch::Tensor& h) {
  if (adaptive_head) {
    std::vector<int64_t> shape(h.sizes().begin(), h.sizes().end() - 1);
    shape.push_back(cfg_.vocab_size);
    return adaptive_head->log_prob(h.reshape({-1, h.size(-1)})).view(shape);
  }
  auto x = h;
  if (backbone->norm_f) x = backbone->norm_f->forward(x.to(backbone->norm_f->weight.scalar_type()));
  const auto& w = cfg_.tie_embeddings ? backbone->embeddings->weight : lm_head->weight;
  const auto out_type = torch::promote_types(w.scalar_type(), torch::kFloat);
  auto logits = torch::matmul(x.to(w.scalar_type()), w.t()).to(out_type);
  if (output_bias.defined()) logits = logits + output_bias.to(out_type);
  if (!cluster_weight.defined()) return logits;
  // The seed's head softmax runs over the V tokens and the C cluster logits; every target is a token.
  auto clusters = torch::matmul(x.to(cluster_weight.scalar_type()), cluster_weight.t()).to(out_type) +
                  cluster_bias.to(out_type);
  return torch::log_softmax(torch::cat({logits, clusters}, -1), -1).narrow(-1, 0, cfg_.vocab_size);
}

torch::Tensor LanguageModelImpl::forward_ex(const torch::Tensor& ids, std::vector<torch::Tensor>* all,
                                            DecodeState* state) {
  return head(hidden(ids, all, state));
}

torch::Tensor LanguageModelImpl::hidden(const torch::Tensor& ids, std::vector<torch::Tensor>* hidden,
                                        DecodeState* state, const torch::Tensor& mask) {
  TORCH_CHECK(ids.dim() == 2, "LanguageModel: ids must be [B, L]");
  auto h = embed(ids);
  if (state) {
    // A state at position 0 starts the sequence; one past it continues it (chunked prefill: every mixer
    // carries its conv window and SSM state into this chunk).
    if (state->position == 0) {
      state->blocks.assign(backbone->layers.size(), BlockState{});
    } else {
      TORCH_CHECK(state->blocks.size() == backbone->layers.size(), "LanguageModel: state has ", state->blocks.size(),
                  " blocks, the model ", backbone->layers.size());
    }
    state->position += ids.size(1);
  }
  for (size_t i = 0; i < backbone->layers.size(); ++i) {
    h = backbone->layers[i]->forward(h, state ? &state->blocks[i] : nullptr, mask);
    if (hidden) hidden->push_back(h);
  }
  return h;
}

torch::Tensor LanguageModelImpl::forward(const torch::Tensor& ids) { return forward_ex(ids, nullptr, nullptr); }

torch::Tensor LanguageModelImpl::step(const torch::Tensor& ids, DecodeState& state) {
  TORCH_CHECK(ids.dim() == 1, "LanguageModel::step: ids must be [B]");
  TORCH_CHECK(state.blocks.size() == backbone->layers.size(), "LanguageModel::step: state has ",
              state.blocks.size(), " blocks, the model ", backbone->layers.size());
  auto h = embed(ids);
  for (size_t i = 0; i < backbone->layers.size(); ++i) h = backbone->layers[i]->step(h, state.blocks[i]);
  state.position += 1;
  return head(h);
}

DecodeState LanguageModelImpl::initial_state(int64_t batch) const {
  DecodeState s;
  const auto& w = backbone->embeddings ? backbone->embeddings->weight : backbone->adaptive_embeddings->weights[0];
  for (const auto& blk : backbone->layers) s.blocks.push_back(blk->initial_state(batch, w.options()));
  return s;
}

torch::Tensor LanguageModelImpl::token_nll(const torch::Tensor& ids, const torch::Tensor& targets,
                                           const torch::Tensor& mask) {
  auto h = hidden(ids, nullptr, nullptr, mask);
  if (adaptive_head) return adaptive_head->nll(h.reshape({-1, h.size(-1)}), targets.reshape({-1})).view(targets.sizes());
  auto logits = head(h);
  if (cluster_weight.defined()) {  // already log-probabilities (normalised with the cluster logits)
    const auto valid = targets != -100;
    const auto picked = logits.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1);
    return -(picked * valid);
  }
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}),
                                              torch::nn::functional::CrossEntropyFuncOptions()
                                                  .ignore_index(-100)
                                                  .reduction(torch::kNone))
      .view(targets.sizes());
}

torch::Tensor LanguageModelImpl::loss(const torch::Tensor& ids, const torch::Tensor& targets,
                                      const torch::Tensor& mask) {
  auto nll = token_nll(ids, targets, mask);
  auto valid = targets != -100;
  return (nll * valid).sum() / valid.sum().clamp_min(1);
}

int64_t LanguageModelImpl::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace dm::model
