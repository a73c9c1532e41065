// Linear and embedding layers with LibTorch's parameter names and initialisation, which can skip that
// initialisation when the weights are about to be overwritten (loading a 370M checkpoint spends most
// of its time drawing random numbers otherwise).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace dm::model {

// While a SkipInit lives on this thread, new layers get uninitialised weights (torch::empty) and the
// models' own init recipes do nothing. Only for code that overwrites every parameter right after.
class SkipInit {
 public:
  SkipInit();
  ~SkipInit();
  SkipInit(const SkipInit&) = delete;
  SkipInit& operator=(const SkipInit&) = delete;

 private:
  bool previous_;
};
bool init_skipped();

// y = x Wᵀ + b; weight [out, in], bias [out]; initialised exactly as torch::nn::Linear (same draws).
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in_features, int64_t out_features, bool with_bias = true);
  torch::Tensor forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }
  torch::Tensor weight, bias;
};
TORCH_MODULE(Dense);

// Lookup table weight [num, dim]; initialised N(0, 1) as torch::nn::Embedding.
class EmbedImpl : public torch::nn::Module {
 public:
  EmbedImpl(int64_t num, int64_t dim);
  torch::Tensor forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }
  torch::Tensor weight;
};
TORCH_MODULE(Embed);

// Depthwise 1-D convolution weights, weight [channels, 1, kernel], bias [channels], initialised as
// torch::nn::Conv1d with groups = channels (same draws). The causal convolution itself is ops::causal_conv1d.
class DepthwiseConvImpl : public torch::nn::Module {
 public:
  DepthwiseConvImpl(int64_t channels, int64_t kernel, bool with_bias = true);
  torch::Tensor weight, bias;
};
TORCH_MODULE(DepthwiseConv);

}  // namespace dm::model
