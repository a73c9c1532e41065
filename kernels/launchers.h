// Host launchers of the project's CUDA kernels. Raw pointers and element strides only: no LibTorch here.
// Each returns 0 on success or a cudaError_t code (see error_string). Inputs marked T are fp32 or bf16
// (DType); every kernel accumulates in fp32. All launches go to the given stream (a cudaStream_t).
#pragma once

#include <cstdint>

namespace dm::kernels {

enum class DType : int { f32 = 0, bf16 = 1 };

const char* error_string(int code);
// The architectures this library was compiled for, e.g. "90-real;90-virtual".
const char* compiled_architectures();

// Element strides of a 4-d view [d0, d1, d2, d3]; 3-d views leave s3 unused.
struct Strides {
  int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 1;
};

// ---- causal depthwise conv1d (x [B, L, C] T strided; w [C, K] fp32 contiguous; bias [C] fp32 or null)
// y[b,t,c] = act(bias[c] + Σ_k w[c,k] · x[b, t−(K−1)+k, c]); y [B, L, C] T contiguous; act = SiLU when silu.
int causal_conv1d_fwd(DType dtype, const void* x, Strides xs, const float* w, const float* bias, void* y, int64_t batch,
                      int64_t length, int64_t channels, int kernel, bool silu, void* stream);
// Gradients for upstream dy [B, L, C] T contiguous: dx [B, L, C] T contiguous; dw [C, K] and db [C] fp32,
// overwritten (db may be null).
int causal_conv1d_bwd(DType dtype, const void* x, Strides xs, const float* w, const float* bias, const void* dy,
                      void* dx, float* dw, float* db, int64_t batch, int64_t length, int64_t channels, int kernel,
                      bool silu, void* stream);
// One decoding step: state [B, C, K] T contiguous is shifted left in place with x [B, C] appended;
// y [B, C] T = act(bias + Σ_k w[c,k] · state[c,k]).
int causal_conv1d_update(DType dtype, const void* x, void* state, const float* w, const float* bias, void* y,
                         int64_t batch, int64_t channels, int kernel, bool silu, void* stream);

// ---- gated RMSNorm over rows of d channels (y, z, out [rows, d] T contiguous; w [d] fp32)
// g = y · silu(z); out = g · rsqrt(mean_group(g²) + eps) · w over groups of group_size channels.
// rstd [rows, d / group_size] fp32 receives the inverse RMS of each group (kept for the backward).
int gated_rmsnorm_fwd(DType dtype, const void* y, const void* z, const float* w, void* out, float* rstd, int64_t rows,
                      int64_t d, int64_t group_size, float eps, void* stream);
// dy, dz [rows, d] T; dw_partial [ceil(rows / rmsnorm_rows_per_partial), d] fp32 partial sums of dw
// (the caller sums them over the first dimension).
constexpr int64_t rmsnorm_rows_per_partial = 128;
int gated_rmsnorm_bwd(DType dtype, const void* y, const void* z, const float* w, const float* rstd, const void* dout,
                      void* dy, void* dz, float* dw_partial, int64_t rows, int64_t d, int64_t group_size, void* stream);

// ---- SSD (Mamba2's chunked state-space scan); shapes as in core/ops/ssd.h.
struct SsdShape {
  int64_t batch = 0, length = 0, heads = 0, head_dim = 0, groups = 1, state_dim = 0, chunk = 0;
};

struct SsdInputs {
  SsdShape shape;
  DType dtype = DType::f32;  // of x, B, C (and y, dy, dx, dB, dC)
  const void* x = nullptr;   // [B, L, H, P] T
  Strides xs;
  const float* dt = nullptr;  // [B, L, H] fp32 (softplus already applied)
  Strides dts;
  const float* A = nullptr;  // [H] fp32 contiguous
  const void* Bm = nullptr;  // [B, L, G, N] T
  Strides bs;
  const void* Cm = nullptr;  // [B, L, G, N] T
  Strides cs;
  const float* D = nullptr;              // [H] fp32 or null
  const float* initial_state = nullptr;  // [B, H, P, N] fp32 contiguous or null
  // bf16 only: the matrix stages on the tensor cores (bf16 operands, fp32 accumulation); false keeps them on
  // fp32 FMA like the fp32 path. split_operands: the operand computed in fp32 (decay-weighted C·Bᵀ, states,
  // dCB) goes in as bf16 hi + lo, two products instead of one, near-fp32 products; without it that operand
  // is rounded to bf16 (forward only: the backward then runs on FMA, see ssd_internal.cuh).
  bool tensor_cores = true;
  bool split_operands = true;
};

// Floats of device scratch the forward and the backward need (caller allocates; contents undefined).
int64_t ssd_forward_workspace_floats(const SsdShape& s);
int64_t ssd_backward_workspace_floats(const SsdShape& s);

// y [B, L, H, P] T contiguous; final_state [B, H, P, N] fp32 contiguous.
int ssd_forward(const SsdInputs& in, void* y, float* final_state, float* workspace, void* stream);

struct SsdGrads {
  const void* dy = nullptr;              // [B, L, H, P] T contiguous
  const float* d_final_state = nullptr;  // [B, H, P, N] fp32 contiguous or null
  void* dx = nullptr;                    // [B, L, H, P] T contiguous
  float* ddt = nullptr;                  // [B, L, H] fp32 contiguous
  float* dA = nullptr;                   // [H] fp32
  void* dB = nullptr;                    // [B, L, G, N] T contiguous
  void* dC = nullptr;                    // [B, L, G, N] T contiguous
  float* dD = nullptr;                   // [H] fp32 or null
  float* d_initial_state = nullptr;      // [B, H, P, N] fp32 or null
};
// Recomputes the forward's intermediates, then writes every gradient in `g` (all overwritten).
int ssd_backward(const SsdInputs& in, const SsdGrads& g, float* workspace, void* stream);

// ---- one decoding step of the SSM: x [B, H, P] T, dt [B, H] fp32, A [H], Bm/Cm [B, G, N] T, D [H] or null,
// state [B, H, P, N] fp32 updated in place: state = exp(dt·A)·state + dt·x·Bᵀ; y [B, H, P] T = state·C + D·x.
// All contiguous.
int ssm_state_update(DType dtype, const void* x, const float* dt, const float* A, const void* Bm, const void* Cm,
                     const float* D, float* state, void* y, int64_t batch, int64_t heads, int64_t head_dim,
                     int64_t groups, int64_t state_dim, void* stream);

}  // namespace dm::kernels
