#include "core/model/layers.h"

#include <cmath>
#include <torch/torch.h>

namespace dm::model {
namespace {
thread_local bool g_skip_init = false;
}

SkipInit::SkipInit() : previous_(g_skip_init) { g_skip_init = true; }
SkipInit::~SkipInit() { g_skip_init = previous_; }
bool init_skipped() { return g_skip_init; }

DenseImpl::DenseImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}));
  if (init_skipped()) return;
  torch::NoGradGuard ng;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

DepthwiseConvImpl::DepthwiseConvImpl(int64_t channels, int64_t kernel, bool with_bias) {
  weight = register_parameter("weight", torch::empty({channels, 1, kernel}));
  if (with_bias) bias = register_parameter("bias", torch::empty({channels}));
  if (init_skipped()) return;
  torch::NoGradGuard ng;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(kernel));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

EmbedImpl::EmbedImpl(int64_t num, int64_t dim) {
  weight = register_parameter("weight", torch::empty({num, dim}));
  if (init_skipped()) return;
  torch::NoGradGuard ng;
  torch::nn::init::normal_(weight);
}

}  // namespace dm::model
