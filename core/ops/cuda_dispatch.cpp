// Turns CUDA tensors into pointers and strides for kernels/ (built only with DM_CUDA).
#include <ATen/cuda/CUDAContext.h>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/ops/dispatch.h"
#include "kernels/launchers.h"

namespace dm::ops::cuda {
namespace {

void check(int code, const char* op) {
  if (code != 0) throw Error(std::string(op) + ": CUDA kernel failed: " + dm::kernels::error_string(code));
}

}  // namespace

torch::Tensor causal_conv1d_fwd(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                bool silu) {
  const int64_t b = x.size(0), l = x.size(1), c = x.size(2), k = weight.size(1);
  auto w = weight.to(torch::kFloat).contiguous();
  auto bb = bias.defined() ? bias.to(torch::kFloat).contiguous() : torch::Tensor();
  auto y = torch::empty({b, l, c}, x.options());
  check(dm::kernels::causal_conv1d_fwd_f32(x.data_ptr<float>(), x.stride(0), x.stride(1), x.stride(2),
                                           w.data_ptr<float>(), bb.defined() ? bb.data_ptr<float>() : nullptr,
                                           y.data_ptr<float>(), b, l, c, static_cast<int>(k), silu,
                                           at::cuda::getCurrentCUDAStream().stream()),
        "causal_conv1d");
  return y;
}

torch::Tensor gated_rms_norm_fwd(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight,
                                 double eps, int64_t group_size) {
  auto yc = y.contiguous();
  auto zc = z.to(torch::kFloat).contiguous();
  auto w = weight.to(torch::kFloat).contiguous();
  auto out = torch::empty_like(yc);
  const int64_t d = yc.size(-1);
  check(dm::kernels::gated_rmsnorm_fwd_f32(yc.data_ptr<float>(), zc.data_ptr<float>(), w.data_ptr<float>(),
                                           out.data_ptr<float>(), yc.numel() / d, d, group_size,
                                           static_cast<float>(eps), at::cuda::getCurrentCUDAStream().stream()),
        "gated_rms_norm");
  return out;
}

}  // namespace dm::ops::cuda
