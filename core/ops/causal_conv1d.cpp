#include "core/ops/causal_conv1d.h"

#include <torch/torch.h>

#include "core/common/error.h"
#include "core/ops/dispatch.h"

namespace dm::ops {
namespace {

torch::Tensor weight_2d(const torch::Tensor& weight, int64_t channels) {
  auto w = weight.dim() == 3 ? weight.squeeze(1) : weight;
  if (w.dim() != 2 || w.size(0) != channels)
    throw ShapeError("causal_conv1d: weight must be [C, K] or [C, 1, K] with C = " + std::to_string(channels));
  return w;
}

}  // namespace

torch::Tensor causal_conv1d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            bool silu, const torch::Tensor& initial_state) {
  if (x.dim() != 3) throw ShapeError("causal_conv1d: x must be [B, L, C]");
  const int64_t c = x.size(2);
  auto w = weight_2d(weight, c);
  const int64_t k = w.size(1);
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != c))
    throw ShapeError("causal_conv1d: bias must be [C] with C = " + std::to_string(c));
  const bool needs_grad = torch::GradMode::is_enabled() &&
                          (x.requires_grad() || w.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (!initial_state.defined() && use_cuda_kernel(x, needs_grad)) return cuda::causal_conv1d_fwd(x, w, bias, silu);

  auto xt = x.transpose(1, 2);  // [B, C, L]
  torch::Tensor y;
  if (initial_state.defined()) {
    if (initial_state.dim() != 3 || initial_state.size(0) != x.size(0) || initial_state.size(1) != c ||
        initial_state.size(2) != k - 1)
      throw ShapeError("causal_conv1d: initial_state must be [B, C, K-1]");
    const std::vector<int64_t> one{1}, zero{0};
    y = torch::conv1d(torch::cat({initial_state.to(x.scalar_type()), xt}, 2), w.unsqueeze(1), bias, one, zero, one, c);
  } else {
    const std::vector<int64_t> one{1}, pad{k - 1};
    y = torch::conv1d(xt, w.unsqueeze(1), bias, one, pad, one, c).narrow(2, 0, x.size(1));
  }
  if (silu) y = torch::silu(y);
  return y.transpose(1, 2);
}

torch::Tensor conv_state_from_inputs(const torch::Tensor& x, int64_t kernel_size) {
  auto xt = x.transpose(1, 2);  // [B, C, L]
  const int64_t l = xt.size(2);
  if (l >= kernel_size) return xt.narrow(2, l - kernel_size, kernel_size).contiguous();
  return torch::constant_pad_nd(xt, {kernel_size - l, 0}).contiguous();
}

std::pair<torch::Tensor, torch::Tensor> causal_conv1d_update(const torch::Tensor& x, const torch::Tensor& state,
                                                             const torch::Tensor& weight, const torch::Tensor& bias,
                                                             bool silu) {
  if (x.dim() != 2 || state.dim() != 3 || state.size(0) != x.size(0) || state.size(1) != x.size(1))
    throw ShapeError("causal_conv1d_update: x must be [B, C] and state [B, C, K]");
  auto w = weight_2d(weight, x.size(1));
  if (w.size(1) != state.size(2)) throw ShapeError("causal_conv1d_update: state width must equal the kernel size");
  auto new_state = torch::cat({state.narrow(2, 1, state.size(2) - 1), x.unsqueeze(2).to(state.scalar_type())}, 2);
  auto y = (new_state * w.unsqueeze(0)).sum(2);
  if (bias.defined()) y = y + bias;
  if (silu) y = torch::silu(y);
  return {y.to(x.scalar_type()), new_state};
}

}  // namespace dm::ops
