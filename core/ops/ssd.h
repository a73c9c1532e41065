// The SSD (state-space duality) scan of Mamba2: a step-by-step oracle and the chunked algorithm.
//
// Shapes: x [B, L, H, P], dt [B, L, H] (already positive: softplus applied, limits clamped),
// A [H] (negative), Bm and Cm [B, L, G, N] with H % G == 0 (head h reads group h / (H / G)),
// D [H] or undefined, initial_state [B, H, P, N] or undefined.
// Recurrence per head: S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T ;  y_t = S_t C_t + D x_t.
// Both functions compute in fp32 (fp64 when x is fp64) and return y in x's dtype and the final
// state [B, H, P, N] in the compute dtype.
#pragma once

#include <torch/types.h>

namespace dm::ops {

struct SsdResult {
  torch::Tensor y;            // [B, L, H, P]
  torch::Tensor final_state;  // [B, H, P, N]
};

// One recurrence step: x [B, H, P], dt [B, H], Bm/Cm [B, G, N], state [B, H, P, N].
// Returns y [B, H, P] and the new state (the input state is not modified).
SsdResult ssd_step(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                   const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                   const torch::Tensor& state);

// The oracle: runs ssd_step over every position. Slow, obviously right; differentiable.
SsdResult ssd_sequential(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                         const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                         const torch::Tensor& initial_state = {});

// The chunked algorithm used for training and prefill. Any L (padded internally to a multiple of
// chunk_size). Memory is O(B·L·H·(chunk + P + N) + B·(L/chunk)·H·P·N), never B·L·H·P·N.
SsdResult ssd_chunked(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                      const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                      int64_t chunk_size, const torch::Tensor& initial_state = {});

// Gradients of ssd_chunked's inputs (undefined where the input was undefined).
struct SsdGradients {
  torch::Tensor dx, ddt, dA, dB, dC, dD, d_initial_state;
};

// The chunked backward written with LibTorch ops, stage for stage as kernels/ssd_backward.cu computes it
// (ssd_backward.cpp). Autograd of ssd_chunked is its oracle on the CPU; it is the readable statement of
// the kernels' math. dy [B, L, H, P]; d_final_state [B, H, P, N] or undefined. Computes in x's dtype.
SsdGradients ssd_chunked_backward_reference(const torch::Tensor& x, const torch::Tensor& dt, const torch::Tensor& A,
                                            const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                                            int64_t chunk_size, const torch::Tensor& initial_state,
                                            const torch::Tensor& dy, const torch::Tensor& d_final_state);

}  // namespace dm::ops
