// Depthwise causal convolution over time with bias and optional SiLU, as Mamba2 applies it to xBC.
#pragma once

#include <torch/types.h>

namespace dm::ops {

// x [B, L, C] (channels last), weight [C, K] or [C, 1, K], bias [C] or undefined.
// y[b, t, c] = act(bias[c] + sum_k weight[c, k] · x[b, t - (K-1) + k, c]), zero for negative times.
// initial_state [B, C, K-1] (the K-1 inputs before t = 0) or undefined (zeros).
torch::Tensor causal_conv1d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            bool silu, const torch::Tensor& initial_state = {});

// The same computation through LibTorch's conv1d (the reference the fast CPU kernel is tested against).
torch::Tensor causal_conv1d_reference(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                      bool silu, const torch::Tensor& initial_state = {});

// The last K inputs of x [B, L, C] as a decoding state [B, C, K], left zero-padded when L < K.
torch::Tensor conv_state_from_inputs(const torch::Tensor& x, int64_t kernel_size);
// Continuing a sequence in chunks: the state after x [B, L, C] when the inputs before it are those of
// `prev` [B, C, K] (undefined: x starts the sequence), and the conv's initial inputs [B, C, K-1] taken
// from such a state (undefined when it is).
torch::Tensor conv_state_after(const torch::Tensor& prev, const torch::Tensor& x, int64_t kernel_size);
torch::Tensor conv_initial_inputs(const torch::Tensor& state, const torch::Tensor& like);

// One decoding step: shifts state [B, C, K] left, writes x [B, C] last, returns
// {y [B, C] = act(bias + sum_k w[c, k] · state[c, k]), new state}.
std::pair<torch::Tensor, torch::Tensor> causal_conv1d_update(const torch::Tensor& x, const torch::Tensor& state,
                                                             const torch::Tensor& weight, const torch::Tensor& bias,
                                                             bool silu);

}  // namespace dm::ops
