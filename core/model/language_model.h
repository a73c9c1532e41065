// A causal language model: embedding → residual blocks → (hf: norm_f) → tied or separate head.
// Parameter names follow the HF Mamba2 layout: backbone.embeddings.weight,
// backbone.layers.{i}.{norm, mixer | mixer_1, mixer_2, lambda_q1, subln | ffn}.*, backbone.norm_f.weight,
// lm_head.weight (only when the head is not tied).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <vector>

#include "core/model/adaptive.h"
#include "core/model/block.h"
#include "core/model/config.h"

namespace dm::model {

// Decoding state of a whole model: one BlockState per block and the number of tokens consumed.
struct DecodeState {
  std::vector<BlockState> blocks;
  int64_t position = 0;
};

class Mamba2BackboneImpl : public torch::nn::Module {
 public:
  explicit Mamba2BackboneImpl(const ModelConfig& cfg);
  Embed embeddings{nullptr};                    // plain embedding, or
  AdaptiveEmbedding adaptive_embeddings{nullptr};       // (div_val > 1) the adaptive one, also "embeddings"
  std::vector<Block> layers;
  std::shared_ptr<RMSNormImpl> norm_f;  // hf backbone only
};
TORCH_MODULE(Mamba2Backbone);

class LanguageModelImpl : public torch::nn::Module {
 public:
  explicit LanguageModelImpl(const ModelConfig& cfg);

  // ids [B, L] (int64) → logits [B, L, V] (fp32).
  torch::Tensor forward(const torch::Tensor& ids);
  // Like forward, and fills `hidden` with the output of every block (the residual stream), if given,
  // and `state` with the decoding state after the last position, if given. A state past position 0 is
  // continued: forward_ex over consecutive chunks with one state equals one forward over their concatenation.
  torch::Tensor forward_ex(const torch::Tensor& ids, std::vector<torch::Tensor>* hidden, DecodeState* state);
  // One token per sequence: ids [B] → logits [B, V], advancing `state`.
  torch::Tensor step(const torch::Tensor& ids, DecodeState& state);
  DecodeState initial_state(int64_t batch) const;

  // Negative log-likelihood (nats) of every target [B, L] (adaptive softmax without full logits).
  // `mask` [B, L] (1 = token, 0 = padding), if given, keeps padding out of every mixer's input
  // (Mamba2MixerImpl::forward); give padding positions the target -100 to keep them out of the loss too.
  torch::Tensor token_nll(const torch::Tensor& ids, const torch::Tensor& targets, const torch::Tensor& mask = {});
  // Mean of token_nll; targets == -100 are ignored.
  torch::Tensor loss(const torch::Tensor& ids, const torch::Tensor& targets, const torch::Tensor& mask = {});
  // The residual stream after the last block (before norm_f / the head); `mask` as for token_nll.
  torch::Tensor hidden(const torch::Tensor& ids, std::vector<torch::Tensor>* all = nullptr, DecodeState* state = nullptr,
                       const torch::Tensor& mask = {});

  // The final hidden state [.., D] → logits (norm_f for hf, then the head). With the cluster logits these
  // are log-probabilities, normalised together with the C dummy clusters (so they sum to less than 1).
  torch::Tensor head(const torch::Tensor& h);
  torch::Tensor embed(const torch::Tensor& ids);

  const ModelConfig& config() const { return cfg_; }
  int64_t num_parameters() const;

  Mamba2Backbone backbone{nullptr};
  Dense lm_head{nullptr};  // only when !tie_embeddings
  torch::Tensor output_bias;                    // [V] when config().has_output_bias()
  torch::Tensor cluster_weight, cluster_bias;   // [C, D], [C] when config().has_cluster_logits()
  AdaptiveSoftmax adaptive_head{nullptr};  // div_val > 1: registered as "lm_head"

 private:
  ModelConfig cfg_;
};
TORCH_MODULE(LanguageModel);

}  // namespace dm::model
