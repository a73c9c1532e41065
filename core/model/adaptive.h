// Adaptive input embedding and adaptive softmax (Baevski & Auli; Transformer-XL's projected form), as
// the seed's WikiText-103 pipeline uses them (spec §6.2): vocabulary clusters cut at `cutoffs`,
// cluster i embedded in D / div_val^i dimensions and projected to D; the output shares the embedding
// matrices and the tail projections; the head sees the shortlist plus one logit per tail cluster.
#pragma once

#include <torch/nn/module.h>
#include <vector>

namespace dm::model {

struct AdaptiveConfig {
  int64_t vocab_size = 0;
  int64_t d_model = 0;
  std::vector<int64_t> cutoffs;  // e.g. {19997, 39997, 199997}; those >= vocab_size are dropped
  int64_t div_val = 4;
  double init_scale = 0.5;
  double bias_scale = 1.0;
  double dropemb = 0.0;   // on each cluster's embedding, before its projection
  double dropsoft = 0.0;  // between the projection and the output matrix
};

class AdaptiveEmbeddingImpl : public torch::nn::Module {
 public:
  explicit AdaptiveEmbeddingImpl(const AdaptiveConfig& cfg);
  // ids [..] → [.., D], multiplied by √D.
  torch::Tensor forward(const torch::Tensor& ids);
  const AdaptiveConfig& config() const { return cfg_; }
  std::vector<int64_t> bounds() const;  // [0, c1, …, V]

  std::vector<torch::Tensor> weights;  // emb_layers.{i}.weight [V_i, d_i]
  std::vector<torch::Tensor> projs;    // emb_projs.{i} [D, d_i]

 private:
  AdaptiveConfig cfg_;
};
TORCH_MODULE(AdaptiveEmbedding);

class AdaptiveSoftmaxImpl : public torch::nn::Module {
 public:
  // Shares `emb`'s matrices (tied weights) and tail projections (tied projections).
  AdaptiveSoftmaxImpl(const AdaptiveConfig& cfg, AdaptiveEmbedding emb);
  // h [N, D], target [N] → negative log-likelihood [N] (nats), without building [N, V].
  torch::Tensor nll(const torch::Tensor& h, const torch::Tensor& target);
  // h [N, D] → log-probabilities [N, V] (for decoding and small vocabularies).
  torch::Tensor log_prob(const torch::Tensor& h);

  torch::Tensor head_proj;                 // out_projs.0 [D, D] (not tied; zero-initialised as upstream)
  std::vector<torch::Tensor> biases;       // out_layers.{i}.bias [V_i]
  torch::Tensor cluster_weight, cluster_bias;

 private:
  // Head log-probs [N, shortlist + clusters] and, per tail cluster, a lambda for its log-probs.
  torch::Tensor head_logprob(const torch::Tensor& h);
  torch::Tensor tail_logprob(const torch::Tensor& h, size_t cluster);

  AdaptiveConfig cfg_;
  AdaptiveEmbedding emb_;
};
TORCH_MODULE(AdaptiveSoftmax);

}  // namespace dm::model
