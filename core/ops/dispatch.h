// The one place that decides whether an op runs on the LibTorch reference path or a CUDA kernel of kernels/.
#pragma once

#include <torch/types.h>

#include <utility>

#include "core/ops/ssd.h"

namespace dm::ops {

// True when this build carries the CUDA kernels of kernels/ (configured with DM_CUDA).
bool cuda_kernels_built();

// Process-wide switch (default on; DM_CUDA_KERNELS=0 in the environment starts it off): off sends CUDA
// tensors through the LibTorch reference path too, so benchmarks and checks can compare both on one GPU.
// Thread-safe.
void set_cuda_kernels_enabled(bool enabled);
bool cuda_kernels_enabled();

// While set, the CUDA path fills every output with NaN before a kernel runs, so an element a kernel
// fails to write shows up in a comparison (used by selfcheck). Thread-safe.
void set_poison_outputs(bool poison);
bool poison_outputs();

// bf16 SSD on CUDA: the matrix stages on the tensor cores (default; DM_SSD_TENSOR_CORES=0 in the
// environment turns it off at start) or on fp32 FMA. Both accumulate in fp32. Thread-safe.
void set_ssd_tensor_cores(bool enabled);
bool ssd_tensor_cores();
// On the tensor cores, each product's fp32-valued operand goes in as bf16 hi + lo (default: near-fp32
// products, twice the tensor-core work) or rounded to bf16 (faster; the backward then runs on FMA, since
// plain rounding costs its dA about 8%). For benchmarks. Thread-safe.
void set_ssd_split_operands(bool enabled);
bool ssd_split_operands();

// How the chunked SSD on the LibTorch path forms the segment sums a_t − a_s of the log-decays inside a
// chunk. `stable` (default) differences running sums kept in fp64 and rounds the result, so a rare large
// step never cancels the digits of tiny ones (as exact as the SSD paper's reference segsum, a masked
// cumulative sum over [Q, Q], and cheaper); `difference` subtracts fp32 running sums, as the CUDA kernels
// and mamba-ssm's do (up to ~10-100x less exact when one large dt·A sits among tiny ones).
// DM_SSD_SEGSUM=difference in the environment selects it at start. The CUDA kernels always use the
// difference form. Thread-safe.
enum class SsdSegsum { stable, difference };
void set_ssd_segsum(SsdSegsum form);
SsdSegsum ssd_segsum();

// Forward launches of each differentiable CUDA kernel op since the start of the process, so a check can tell
// that the kernels really ran (under autocast, say) rather than the reference ops. Thread-safe.
struct KernelCalls {
  int64_t ssd = 0, conv1d = 0, rmsnorm = 0;
  int64_t bf16 = 0;  // of those, launches on bf16 activations
  int64_t total() const { return ssd + conv1d + rmsnorm; }
};
KernelCalls cuda_kernel_calls();
enum class KernelOp { ssd, conv1d, rmsnorm };
void count_kernel_call(KernelOp op, bool bf16);  // by core/ops/cuda_dispatch.cpp

// True when `t` goes to a kernel: kernels built and enabled, t on CUDA, dtype fp32 or bf16.
bool use_cuda_kernel(const torch::Tensor& t);

// The chunk length the chunked SSD scan uses for tensors like `x`. The result does not depend on it
// (every chunk length computes the same scan); only speed does. On CPU the intra-chunk [Q, Q] work
// dominates and Q = 64 measured fastest (bench/RESULTS.md); elsewhere the model's chunk_size is used.
int64_t ssd_chunk_size(const torch::Tensor& x, int64_t configured);

namespace cuda {
// Implemented in ops/cuda_dispatch.cpp when the kernels are built; otherwise each throws dm::Error.
// Arguments are already shape-checked by the public ops; these check dtype, device and strides.
// Differentiable (torch::autograd::Function whose backward runs the backward kernels):
torch::Tensor causal_conv1d(const torch::Tensor& x, const torch::Tensor& weight_2d, const torch::Tensor& bias,
                            bool silu);
torch::Tensor gated_rms_norm(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight, double eps,
                             int64_t group_size);
SsdResult ssd_chunked(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A, const torch::Tensor& Bm,
                      const torch::Tensor& Cm, const torch::Tensor& D, int64_t chunk_size,
                      const torch::Tensor& initial_state);
// Decoding steps (no gradient):
std::pair<torch::Tensor, torch::Tensor> causal_conv1d_update(const torch::Tensor& x, const torch::Tensor& state,
                                                             const torch::Tensor& weight_2d, const torch::Tensor& bias,
                                                             bool silu);
SsdResult ssd_step(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A, const torch::Tensor& Bm,
                   const torch::Tensor& Cm, const torch::Tensor& D, const torch::Tensor& state);
}  // namespace cuda

}  // namespace dm::ops
