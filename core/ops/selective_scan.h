// Mamba-1's selective scan (S6): a step-by-step oracle and the fast CPU scan used for training.
//
// Shapes: u [B, L, Di], delta [B, L, Di] (already positive: softplus and the dt bias applied),
// A [Di, N] (negative), Bm and Cm [B, L, N] (one B_t, C_t shared by every channel, as Mamba-1's x_proj
// gives them), D [Di] or undefined, initial_state [B, Di, N] or undefined.
// Recurrence per channel d and state n:
//   h_t = exp(Δ_t A) ⊙ h_{t-1} + Δ_t u_t B_t ;   y_t = Σ_n h_t C_t + D u_t.
// Unlike SSD (one scalar decay per head) every (channel, state) pair decays at its own rate, so the scan
// has no matrix form; the fast path is a blocked loop. Both compute in fp32 (fp64 when u is fp64) and
// return y in u's dtype and the final state [B, Di, N] in the compute dtype. The output gate y·silu(z) of
// the Mamba-1 mixer is applied outside.
#pragma once

#include <torch/types.h>

namespace dm::ops {

struct ScanResult {
  torch::Tensor y;            // [B, L, Di]
  torch::Tensor final_state;  // [B, Di, N]
};

// One step (decoding): u, delta [B, Di], Bm, Cm [B, N], state [B, Di, N]. The input state is not modified.
ScanResult selective_scan_step(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                               const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                               const torch::Tensor& state);

// The oracle: selective_scan_step over every position with LibTorch ops. Slow, obviously right;
// differentiable by autograd.
ScanResult selective_scan_sequential(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                     const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                                     const torch::Tensor& initial_state = {});

// Training and prefill. On CPU: one pass over the sequence in C++ loops, channels in parallel blocks, with
// a backward that recomputes each block of `kScanCheckpoint` steps from the state saved at its start, so
// memory is O(B·L·Di + B·(L/64)·Di·N), never B·L·Di·N; deterministic (fixed reduction order). Other
// devices run the oracle's ops (no CUDA kernel yet).
ScanResult selective_scan(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                          const torch::Tensor& Bm, const torch::Tensor& Cm, const torch::Tensor& D,
                          const torch::Tensor& initial_state = {});

constexpr int64_t kScanCheckpoint = 64;  // steps between the states the CPU scan keeps for its backward

}  // namespace dm::ops
