#include "core/model/norms.h"

#include <torch/torch.h>

#include "core/ops/rmsnorm.h"

namespace dm::model {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_, int64_t group_size_) : eps(eps_), group_size(group_size_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) const { return ops::rms_norm(x, weight, eps); }

torch::Tensor RMSNormImpl::gated(const torch::Tensor& y, const torch::Tensor& z) const {
  return ops::gated_rms_norm(y, z, weight, eps, group_size);
}

}  // namespace dm::model
