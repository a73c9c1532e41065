#include "core/model/adaptive.h"

#include <cmath>
#include <torch/torch.h>

#include "core/common/error.h"

namespace dm::model {
namespace {

// A plain module that only holds parameters, so that names like emb_layers.0.weight nest as in the
// Python checkpoints (LibTorch parameter names cannot contain dots).
struct Holder : torch::nn::Module {
  torch::Tensor add(const std::string& name, torch::Tensor t) { return register_parameter(name, std::move(t)); }
};

}  // namespace

std::vector<int64_t> AdaptiveEmbeddingImpl::bounds() const {
  std::vector<int64_t> b{0};
  for (auto c : cfg_.cutoffs)
    if (c > b.back() && c < cfg_.vocab_size) b.push_back(c);
  b.push_back(cfg_.vocab_size);
  return b;
}

AdaptiveEmbeddingImpl::AdaptiveEmbeddingImpl(const AdaptiveConfig& cfg) : cfg_(cfg) {
  if (cfg_.div_val < 1) throw ConfigError("task.div_val", std::to_string(cfg_.div_val), "must be >= 1");
  const auto b = bounds();
  torch::NoGradGuard ng;
  auto layers = register_module("emb_layers", std::make_shared<Holder>());
  auto proj_holder = register_module("emb_projs", std::make_shared<Holder>());
  for (size_t i = 0; i + 1 < b.size(); ++i) {
    int64_t di = cfg_.d_model;
    for (size_t k = 0; k < i; ++k) di /= cfg_.div_val;
    if (di < 1) throw ConfigError("task.div_val", std::to_string(cfg_.div_val), "leaves cluster " + std::to_string(i) + " with width 0");
    auto w = torch::empty({b[i + 1] - b[i], di}).normal_(0.0, cfg_.init_scale / std::sqrt(static_cast<double>(di)));
    auto p = torch::empty({cfg_.d_model, di}).normal_(0.0, cfg_.init_scale / std::sqrt(static_cast<double>(cfg_.d_model)));
    auto layer = layers->register_module(std::to_string(i), std::make_shared<Holder>());
    weights.push_back(layer->add("weight", w));
    projs.push_back(proj_holder->add(std::to_string(i), p));
  }
}

torch::Tensor AdaptiveEmbeddingImpl::forward(const torch::Tensor& ids) {
  const auto b = bounds();
  auto flat = ids.reshape({-1});
  auto out = torch::zeros({flat.numel(), cfg_.d_model}, weights[0].options());
  for (size_t i = 0; i + 1 < b.size(); ++i) {
    auto mask = (flat >= b[i]).logical_and(flat < b[i + 1]);
    auto idx = mask.nonzero().squeeze(1);
    if (idx.numel() == 0) continue;
    auto e = torch::embedding(weights[i], flat.index_select(0, idx) - b[i]);
    e = torch::dropout(e, cfg_.dropemb, is_training());
    out = out.index_add(0, idx, torch::matmul(e, projs[i].t()));
  }
  std::vector<int64_t> shape(ids.sizes().begin(), ids.sizes().end());
  shape.push_back(cfg_.d_model);
  return out.view(shape) * std::sqrt(static_cast<double>(cfg_.d_model));
}

AdaptiveSoftmaxImpl::AdaptiveSoftmaxImpl(const AdaptiveConfig& cfg, AdaptiveEmbedding emb) : cfg_(cfg), emb_(emb) {
  const auto b = emb_->bounds();
  const int64_t clusters = static_cast<int64_t>(b.size()) - 2;
  head_proj = register_module("out_projs", std::make_shared<Holder>())->add("0", torch::zeros({cfg_.d_model, cfg_.d_model}));
  const double bound = cfg_.bias_scale / std::sqrt(static_cast<double>(cfg_.d_model));
  auto layers = register_module("out_layers", std::make_shared<Holder>());
  for (size_t i = 0; i + 1 < b.size(); ++i)
    biases.push_back(layers->register_module(std::to_string(i), std::make_shared<Holder>())
                         ->add("bias", torch::empty({b[i + 1] - b[i]}).uniform_(-bound, bound)));
  cluster_weight = register_parameter("cluster_weight", torch::zeros({clusters, cfg_.d_model}));
  cluster_bias = register_parameter("cluster_bias", torch::zeros({clusters}));
}

torch::Tensor AdaptiveSoftmaxImpl::head_logprob(const torch::Tensor& h) {
  // With div_val 1 the head shares the embedding width D; the seed then has no head projection.
  auto x = cfg_.div_val == 1 ? h : torch::matmul(h, head_proj);
  x = torch::dropout(x, cfg_.dropsoft, is_training() && cfg_.div_val != 1);
  auto w = torch::cat({emb_->weights[0], cluster_weight}, 0);
  auto bias = torch::cat({biases[0], cluster_bias}, 0);
  return torch::log_softmax(torch::addmm(bias, x, w.t()), -1);
}

torch::Tensor AdaptiveSoftmaxImpl::tail_logprob(const torch::Tensor& h, size_t i) {
  auto x = torch::matmul(h, emb_->projs[i]);  // [N, d_i] (tied projection)
  x = torch::dropout(x, cfg_.dropsoft, is_training());
  return torch::log_softmax(torch::addmm(biases[i], x, emb_->weights[i].t()), -1);
}

torch::Tensor AdaptiveSoftmaxImpl::nll(const torch::Tensor& h, const torch::Tensor& target) {
  const auto b = emb_->bounds();
  const int64_t shortlist = b[1];
  auto head = head_logprob(h);
  auto out = torch::zeros({h.size(0)}, head.options());
  for (size_t i = 0; i + 1 < b.size(); ++i) {
    auto idx = ((target >= b[i]).logical_and(target < b[i + 1])).nonzero().squeeze(1);
    if (idx.numel() == 0) continue;
    auto t = target.index_select(0, idx) - b[i];
    auto hi = head.index_select(0, idx);
    torch::Tensor lp;
    if (i == 0) {
      lp = hi.gather(1, t.unsqueeze(1)).squeeze(1);
    } else {
      auto cluster_lp = hi.select(1, shortlist + static_cast<int64_t>(i) - 1);
      auto tail = tail_logprob(h.index_select(0, idx), i);
      lp = cluster_lp + tail.gather(1, t.unsqueeze(1)).squeeze(1);
    }
    out = out.index_copy(0, idx, -lp);
  }
  return out;
}

torch::Tensor AdaptiveSoftmaxImpl::log_prob(const torch::Tensor& h) {
  const auto b = emb_->bounds();
  const int64_t shortlist = b[1];
  auto head = head_logprob(h);
  std::vector<torch::Tensor> parts{head.narrow(1, 0, shortlist)};
  for (size_t i = 1; i + 1 < b.size(); ++i)
    parts.push_back(head.select(1, shortlist + static_cast<int64_t>(i) - 1).unsqueeze(1) + tail_logprob(h, i));
  return torch::cat(parts, 1);
}

}  // namespace dm::model
