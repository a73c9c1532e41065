// Turns CUDA tensors into pointers and strides for kernels/ (built only with DM_CUDA): checks, output
// allocation (NaN-poisoned on request) and the autograd Functions whose backward runs the backward kernels.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/ops/dispatch.h"
#include "core/ops/doctor.h"
#include "kernels/launchers.h"

namespace dm::ops::cuda {
namespace {

namespace k = dm::kernels;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

void check(int code, const char* op) {
  if (code != 0) throw Error(std::string(op) + ": CUDA kernel failed: " + k::error_string(code));
}

void* stream() { return at::cuda::getCurrentCUDAStream().stream(); }

k::DType dtype_of(const torch::Tensor& t, const char* op) {
  if (t.scalar_type() == torch::kFloat) return k::DType::f32;
  if (t.scalar_type() == torch::kBFloat16) return k::DType::bf16;
  throw ShapeError(std::string(op) + ": CUDA kernels take float32 or bfloat16, got " +
                   std::string(c10::toString(t.scalar_type())));
}

// Every tensor on the device of `ref` (one GPU per call), else a clear error.
void same_device(const char* op, const torch::Tensor& ref, std::initializer_list<torch::Tensor> ts) {
  for (const auto& t : ts)
    if (t.defined() && t.device() != ref.device())
      throw ShapeError(std::string(op) + ": all tensors must be on " + ref.device().str() + ", got one on " +
                       t.device().str());
}

// An output buffer: NaN-filled while poisoning is on, so an unwritten element fails the comparison.
torch::Tensor output(at::IntArrayRef sizes, const torch::TensorOptions& opts) {
  return poison_outputs() ? torch::full(sizes, std::numeric_limits<float>::quiet_NaN(), opts)
                          : torch::empty(sizes, opts);
}

k::Strides strides_of(const torch::Tensor& t) {
  k::Strides s;
  s.s0 = t.stride(0);
  s.s1 = t.dim() > 1 ? t.stride(1) : 0;
  s.s2 = t.dim() > 2 ? t.stride(2) : 0;
  s.s3 = t.dim() > 3 ? t.stride(3) : 1;
  return s;
}

const float* f32_or_null(const torch::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }
torch::Tensor f32c(const torch::Tensor& t) { return t.defined() ? t.to(torch::kFloat).contiguous() : t; }

// ---- causal conv1d --------------------------------------------------------------------------------------

class CausalConvCuda : public torch::autograd::Function<CausalConvCuda> {
 public:
  // x [B, L, C] (fp32/bf16, any strides), w [C, K] fp32, bias [C] fp32 or undefined.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& bias, bool silu) {
    count_kernel_call(KernelOp::conv1d, x.scalar_type() == torch::kBFloat16);
    const c10::cuda::CUDAGuard guard(x.device());
    const int64_t b = x.size(0), l = x.size(1), c = x.size(2), kk = w.size(1);
    auto wc = w.contiguous();
    auto bc = bias.defined() ? bias.contiguous() : bias;
    auto y = output({b, l, c}, x.options());
    check(k::causal_conv1d_fwd(dtype_of(x, "causal_conv1d"), x.data_ptr(), strides_of(x), wc.data_ptr<float>(),
                               f32_or_null(bc), y.data_ptr(), b, l, c, static_cast<int>(kk), silu, stream()),
          "causal_conv1d");
    ctx->save_for_backward({x, wc, bc});
    ctx->saved_data["silu"] = silu;
    ctx->saved_data["has_bias"] = bias.defined();
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &bias = saved[2];
    const c10::cuda::CUDAGuard guard(x.device());
    const int64_t b = x.size(0), l = x.size(1), c = x.size(2), kk = w.size(1);
    auto dy = grads[0].to(x.scalar_type()).contiguous();
    auto dx = output({b, l, c}, x.options());
    auto dw = output({c, kk}, w.options());
    const bool has_bias = ctx->saved_data["has_bias"].toBool();
    auto db = has_bias ? output({c}, w.options()) : torch::Tensor();
    check(k::causal_conv1d_bwd(dtype_of(x, "causal_conv1d"), x.data_ptr(), strides_of(x), w.data_ptr<float>(),
                               f32_or_null(bias), dy.data_ptr(), dx.data_ptr(), dw.data_ptr<float>(),
                               has_bias ? db.data_ptr<float>() : nullptr, b, l, c, static_cast<int>(kk),
                               ctx->saved_data["silu"].toBool(), stream()),
          "causal_conv1d backward");
    return {dx, dw, db, torch::Tensor()};
  }
};

// ---- gated RMSNorm --------------------------------------------------------------------------------------

class GatedRmsNormCuda : public torch::autograd::Function<GatedRmsNormCuda> {
 public:
  // y, z [rows, d] contiguous, same dtype; w [d] fp32.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& y, const torch::Tensor& z,
                               const torch::Tensor& w, double eps, int64_t group_size) {
    count_kernel_call(KernelOp::rmsnorm, y.scalar_type() == torch::kBFloat16);
    const c10::cuda::CUDAGuard guard(y.device());
    const int64_t rows = y.size(0), d = y.size(1);
    auto out = output({rows, d}, y.options());
    auto rstd = output({rows, d / group_size}, y.options().dtype(torch::kFloat));
    check(k::gated_rmsnorm_fwd(dtype_of(y, "gated_rms_norm"), y.data_ptr(), z.data_ptr(), w.data_ptr<float>(),
                               out.data_ptr(), rstd.data_ptr<float>(), rows, d, group_size, static_cast<float>(eps),
                               stream()),
          "gated_rms_norm");
    ctx->save_for_backward({y, z, w, rstd});
    ctx->saved_data["group_size"] = group_size;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &y = saved[0], &z = saved[1], &w = saved[2], &rstd = saved[3];
    const c10::cuda::CUDAGuard guard(y.device());
    const int64_t rows = y.size(0), d = y.size(1), group_size = ctx->saved_data["group_size"].toInt();
    auto dout = grads[0].to(y.scalar_type()).contiguous();
    auto dy = output({rows, d}, y.options());
    auto dz = output({rows, d}, y.options());
    const int64_t parts = (rows + k::rmsnorm_rows_per_partial - 1) / k::rmsnorm_rows_per_partial;
    auto dw_partial = output({std::max<int64_t>(parts, 1), d}, w.options());
    if (rows == 0) dw_partial.zero_();
    check(k::gated_rmsnorm_bwd(dtype_of(y, "gated_rms_norm"), y.data_ptr(), z.data_ptr(), w.data_ptr<float>(),
                               rstd.data_ptr<float>(), dout.data_ptr(), dy.data_ptr(), dz.data_ptr(),
                               dw_partial.data_ptr<float>(), rows, d, group_size, stream()),
          "gated_rms_norm backward");
    return {dy, dz, dw_partial.sum(0), torch::Tensor(), torch::Tensor()};
  }
};

// ---- SSD ------------------------------------------------------------------------------------------------

k::SsdInputs ssd_inputs(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                        const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                        const torch::Tensor& init, int64_t chunk) {
  k::SsdInputs in;
  in.shape = {x.size(0), x.size(1), x.size(2), x.size(3), Bm.size(2), Bm.size(3), chunk};
  in.dtype = dtype_of(x, "ssd_chunked");
  in.x = x.data_ptr();
  in.xs = strides_of(x);
  in.dt = dt.data_ptr<float>();
  in.dts = strides_of(dt);
  in.A = A.data_ptr<float>();
  in.Bm = Bm.data_ptr();
  in.bs = strides_of(Bm);
  in.Cm = Cm.data_ptr();
  in.cs = strides_of(Cm);
  in.D = f32_or_null(D);
  in.initial_state = f32_or_null(init);
  in.tensor_cores = ssd_tensor_cores();
  in.split_operands = ssd_split_operands();
  return in;
}

class SsdChunkedCuda : public torch::autograd::Function<SsdChunkedCuda> {
 public:
  // x [B, L, H, P] and Bm/Cm [B, L, G, N] (fp32/bf16, innermost dim contiguous), dt [B, L, H] fp32,
  // A [H] fp32, D [H] fp32 or undefined, init [B, H, P, N] fp32 contiguous or undefined.
  static tensor_list forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& dt,
                             const torch::Tensor& A, const torch::Tensor& Bm, const torch::Tensor& Cm,
                             const torch::Tensor& D, const torch::Tensor& init, int64_t chunk) {
    count_kernel_call(KernelOp::ssd, x.scalar_type() == torch::kBFloat16);
    const c10::cuda::CUDAGuard guard(x.device());
    ctx->set_materialize_grads(false);
    const auto in = ssd_inputs(x, dt, A, Bm, Cm, D, init, chunk);
    const auto& s = in.shape;
    auto y = output({s.batch, s.length, s.heads, s.head_dim}, x.options());
    auto fin = output({s.batch, s.heads, s.head_dim, s.state_dim}, x.options().dtype(torch::kFloat));
    auto ws = torch::empty({std::max<int64_t>(k::ssd_forward_workspace_floats(s), 1)}, fin.options());
    check(k::ssd_forward(in, y.data_ptr(), fin.data_ptr<float>(), ws.data_ptr<float>(), stream()), "ssd_chunked");
    ctx->save_for_backward({x, dt, A, Bm, Cm, D, init});
    ctx->saved_data["chunk"] = chunk;
    return {y, fin};
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto sv = ctx->get_saved_variables();
    const auto &x = sv[0], &dt = sv[1], &A = sv[2], &Bm = sv[3], &Cm = sv[4], &D = sv[5], &init = sv[6];
    const c10::cuda::CUDAGuard guard(x.device());
    const auto in = ssd_inputs(x, dt, A, Bm, Cm, D, init, ctx->saved_data["chunk"].toInt());
    const auto& s = in.shape;
    auto dy = grads[0].defined() ? grads[0].to(x.scalar_type()).contiguous() : torch::zeros_like(x).contiguous();
    auto dfin = grads[1].defined() ? grads[1].to(torch::kFloat).contiguous() : torch::Tensor();
    const auto f32 = x.options().dtype(torch::kFloat);
    auto dx = output(x.sizes(), x.options());
    auto ddt = output({s.batch, s.length, s.heads}, f32);
    auto dA = output({s.heads}, f32);
    auto dB = output(Bm.sizes(), x.options());
    auto dC = output(Cm.sizes(), x.options());
    auto dD = D.defined() ? output({s.heads}, f32) : torch::Tensor();
    auto dinit = init.defined() ? output(init.sizes(), f32) : torch::Tensor();
    auto ws = torch::empty({std::max<int64_t>(k::ssd_backward_workspace_floats(s), 1)}, f32);
    k::SsdGrads g;
    g.dy = dy.data_ptr();
    g.d_final_state = f32_or_null(dfin);
    g.dx = dx.data_ptr();
    g.ddt = ddt.data_ptr<float>();
    g.dA = dA.data_ptr<float>();
    g.dB = dB.data_ptr();
    g.dC = dC.data_ptr();
    g.dD = D.defined() ? dD.data_ptr<float>() : nullptr;
    g.d_initial_state = init.defined() ? dinit.data_ptr<float>() : nullptr;
    check(k::ssd_backward(in, g, ws.data_ptr<float>(), stream()), "ssd_chunked backward");
    return {dx, ddt, dA, dB, dC, dD, dinit, torch::Tensor()};
  }
};

// Innermost dimension contiguous (the kernels read it with unit stride; other dims may be strided).
torch::Tensor inner_contiguous(const torch::Tensor& t) { return t.stride(-1) == 1 ? t : t.contiguous(); }

}  // namespace

torch::Tensor causal_conv1d(const torch::Tensor& x, const torch::Tensor& weight_2d, const torch::Tensor& bias,
                            bool silu) {
  same_device("causal_conv1d", x, {weight_2d, bias});
  return CausalConvCuda::apply(x, weight_2d.to(torch::kFloat), bias.defined() ? bias.to(torch::kFloat) : bias, silu);
}

std::pair<torch::Tensor, torch::Tensor> causal_conv1d_update(const torch::Tensor& x, const torch::Tensor& state,
                                                             const torch::Tensor& weight_2d, const torch::Tensor& bias,
                                                             bool silu) {
  same_device("causal_conv1d_update", x, {state, weight_2d, bias});
  const c10::cuda::CUDAGuard guard(x.device());
  auto xc = x.contiguous();
  auto new_state = state.contiguous().clone();  // updated in place by the kernel; the caller's state is kept
  auto w = f32c(weight_2d);
  auto b = f32c(bias);
  auto y = output({x.size(0), x.size(1)}, x.options());
  check(k::causal_conv1d_update(dtype_of(x, "causal_conv1d_update"), xc.data_ptr(), new_state.data_ptr(),
                                w.data_ptr<float>(), f32_or_null(b), y.data_ptr(), x.size(0), x.size(1),
                                static_cast<int>(w.size(1)), silu, stream()),
        "causal_conv1d_update");
  return {y, new_state};
}

torch::Tensor gated_rms_norm(const torch::Tensor& y, const torch::Tensor& z, const torch::Tensor& weight, double eps,
                             int64_t group_size) {
  same_device("gated_rms_norm", y, {z, weight});
  const int64_t d = y.size(-1);
  auto out =
      GatedRmsNormCuda::apply(y.reshape({-1, d}).contiguous(), z.to(y.scalar_type()).reshape({-1, d}).contiguous(),
                              weight.to(torch::kFloat).contiguous(), eps, group_size);
  return out.view(y.sizes());
}

SsdResult ssd_chunked(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A, const torch::Tensor& Bm,
                      const torch::Tensor& Cm, const torch::Tensor& D, int64_t chunk_size,
                      const torch::Tensor& initial_state) {
  same_device("ssd_chunked", x, {dt, A, Bm, Cm, D, initial_state});
  auto r = SsdChunkedCuda::apply(inner_contiguous(x), dt.to(torch::kFloat), f32c(A), inner_contiguous(Bm),
                                 inner_contiguous(Cm), f32c(D), f32c(initial_state), chunk_size);
  return {r[0], r[1]};
}

SsdResult ssd_step(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A, const torch::Tensor& Bm,
                   const torch::Tensor& Cm, const torch::Tensor& D, const torch::Tensor& state) {
  same_device("ssd_step", x, {dt, A, Bm, Cm, D, state});
  const c10::cuda::CUDAGuard guard(x.device());
  auto xc = x.contiguous();
  auto bc = Bm.contiguous();
  auto cc = Cm.contiguous();
  auto dtc = f32c(dt);
  auto a = f32c(A);
  auto d = f32c(D);
  auto new_state = state.to(torch::kFloat).contiguous().clone();
  auto y = output(x.sizes(), x.options());
  check(k::ssm_state_update(dtype_of(x, "ssd_step"), xc.data_ptr(), dtc.data_ptr<float>(), a.data_ptr<float>(),
                            bc.data_ptr(), cc.data_ptr(), f32_or_null(d), new_state.data_ptr<float>(), y.data_ptr(),
                            x.size(0), x.size(1), x.size(2), Bm.size(1), state.size(3), stream()),
        "ssd_step");
  return {y, new_state};
}

}  // namespace dm::ops::cuda

// ---- device facts for `diffmamba doctor` ------------------------------------------------------------------

namespace dm::ops {

int64_t cuda_peak_allocated(int device) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
  return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
}

void reset_cuda_peak(int device) {
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
}

}  // namespace dm::ops

namespace dm::ops::detail {

std::vector<GpuInfo> cuda_gpus() {
  std::vector<GpuInfo> out;
  const int n = static_cast<int>(torch::cuda::device_count());
  for (int i = 0; i < n; ++i) {
    const auto* p = at::cuda::getDeviceProperties(i);
    out.push_back({i, p->name, p->major, p->minor, static_cast<int64_t>(p->totalGlobalMem), p->multiProcessorCount});
  }
  return out;
}

std::string kernel_architectures() { return dm::kernels::compiled_architectures(); }

}  // namespace dm::ops::detail
