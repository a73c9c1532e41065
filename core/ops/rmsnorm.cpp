#include "core/ops/rmsnorm.h"

#include <torch/torch.h>

#include "core/common/error.h"
#include "core/ops/dispatch.h"

namespace dm::ops {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  if (weight.dim() != 1 || weight.size(0) != x.size(-1))
    throw ShapeError("rms_norm: weight must be [" + std::to_string(x.size(-1)) + "]");
  const auto ct = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto xf = x.to(ct);
  auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
  return (normed * weight.to(ct)).to(x.scalar_type());
}

torch::Tensor gated_rms_norm(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight, double eps,
                             int64_t group_size) {
  const int64_t d = y.size(-1);
  if (z.sizes() != y.sizes()) throw ShapeError("gated_rms_norm: z must have y's shape");
  if (weight.dim() != 1 || weight.size(0) != d)
    throw ShapeError("gated_rms_norm: weight must be [" + std::to_string(d) + "]");
  if (group_size == 0) group_size = d;
  if (group_size < 1 || d % group_size != 0)
    throw ShapeError("gated_rms_norm: group_size " + std::to_string(group_size) + " must divide " + std::to_string(d));
  if (use_cuda_kernel(y)) return cuda::gated_rms_norm(y, z, weight, eps, group_size);

  const auto ct = y.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto g = y.to(ct) * torch::silu(z.to(ct));
  std::vector<int64_t> grouped(g.sizes().begin(), g.sizes().end() - 1);
  grouped.push_back(d / group_size);
  grouped.push_back(group_size);
  auto gg = g.reshape(grouped);
  auto normed = (gg * torch::rsqrt(gg.pow(2).mean(-1, true) + eps)).reshape(g.sizes());
  return (normed * weight.to(ct)).to(y.scalar_type());
}

}  // namespace dm::ops
