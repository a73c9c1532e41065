#include "core/ops/dispatch.h"

#include <torch/torch.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "core/common/error.h"

namespace dm::ops {
namespace {
// DM_CUDA_KERNELS=0: CUDA tensors take the LibTorch-ops path (the reference our kernels are checked against).
std::atomic<bool> g_enabled{[] {
  const char* v = std::getenv("DM_CUDA_KERNELS");
  return !(v && std::string(v) == "0");
}()};
std::atomic<bool> g_poison{false};
std::atomic<bool> g_tensor_cores{[] {
  const char* v = std::getenv("DM_SSD_TENSOR_CORES");
  return !(v && std::string(v) == "0");
}()};
std::atomic<bool> g_split{true};
std::atomic<SsdSegsum> g_segsum{[] {
  const char* v = std::getenv("DM_SSD_SEGSUM");
  return v && std::string(v) == "difference" ? SsdSegsum::difference : SsdSegsum::stable;
}()};
std::atomic<int64_t> g_calls[3] = {0, 0, 0};
std::atomic<int64_t> g_bf16_calls{0};
}  // namespace

KernelCalls cuda_kernel_calls() {
  return {g_calls[0].load(), g_calls[1].load(), g_calls[2].load(), g_bf16_calls.load()};
}
void count_kernel_call(KernelOp op, bool bf16) {
  ++g_calls[static_cast<int>(op)];
  if (bf16) ++g_bf16_calls;
}

bool cuda_kernels_built() {
#ifdef DM_HAVE_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

void set_cuda_kernels_enabled(bool enabled) { g_enabled = enabled; }
bool cuda_kernels_enabled() { return g_enabled; }
void set_poison_outputs(bool poison) { g_poison = poison; }
bool poison_outputs() { return g_poison; }
void set_ssd_tensor_cores(bool enabled) { g_tensor_cores = enabled; }
bool ssd_tensor_cores() { return g_tensor_cores; }
void set_ssd_split_operands(bool enabled) { g_split = enabled; }
bool ssd_split_operands() { return g_split; }
void set_ssd_segsum(SsdSegsum form) { g_segsum = form; }
SsdSegsum ssd_segsum() { return g_segsum; }

bool use_cuda_kernel(const torch::Tensor& t) {
  return cuda_kernels_built() && g_enabled && t.defined() && t.is_cuda() &&
         (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16);
}

int64_t ssd_chunk_size(const torch::Tensor& x, int64_t configured) {
  constexpr int64_t kCpuChunk = 64;
  return x.is_cpu() ? std::min(configured, kCpuChunk) : configured;
}

#ifndef DM_HAVE_CUDA_KERNELS
namespace cuda {
namespace {
[[noreturn]] void no_kernels(const char* op) {
  throw Error(std::string(op) + ": this build has no CUDA kernels (configure with -DDM_CUDA=ON and a CUDA LibTorch)");
}
}  // namespace
torch::Tensor causal_conv1d(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, bool) {
  no_kernels("causal_conv1d");
}
torch::Tensor gated_rms_norm(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, double, int64_t) {
  no_kernels("gated_rms_norm");
}
SsdResult ssd_chunked(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                      const torch::Tensor&, const torch::Tensor&, int64_t, const torch::Tensor&) {
  no_kernels("ssd_chunked");
}
std::pair<torch::Tensor, torch::Tensor> causal_conv1d_update(const torch::Tensor&, const torch::Tensor&,
                                                             const torch::Tensor&, const torch::Tensor&, bool) {
  no_kernels("causal_conv1d_update");
}
SsdResult ssd_step(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                   const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  no_kernels("ssd_step");
}
}  // namespace cuda
#endif

}  // namespace dm::ops
