#include "core/ops/dispatch.h"

#include <torch/torch.h>

#include "core/common/error.h"

namespace dm::ops {

bool cuda_kernels_built() {
#ifdef DM_HAVE_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

bool use_cuda_kernel(const torch::Tensor& t, bool needs_grad) {
  return cuda_kernels_built() && t.is_cuda() && t.scalar_type() == torch::kFloat && !needs_grad;
}

int64_t ssd_chunk_size(const torch::Tensor& x, int64_t configured) {
  constexpr int64_t kCpuChunk = 64;
  return x.is_cpu() ? std::min(configured, kCpuChunk) : configured;
}

#ifndef DM_HAVE_CUDA_KERNELS
namespace cuda {
torch::Tensor causal_conv1d_fwd(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, bool) {
  throw Error("causal_conv1d: this build has no CUDA kernels (configure with -DDM_CUDA=ON)");
}
torch::Tensor gated_rms_norm_fwd(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, double, int64_t) {
  throw Error("gated_rms_norm: this build has no CUDA kernels (configure with -DDM_CUDA=ON)");
}
}  // namespace cuda
#endif

}  // namespace dm::ops
