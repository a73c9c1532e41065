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

// Channels-last CPU kernels: rows (b, t) in parallel, channels innermost and contiguous.
template <typename T>
void conv_rows_fwd(const T* x, const T* wt, const T* bias, T* y, int64_t B, int64_t L, int64_t C, int64_t K) {
  at::parallel_for(0, B * L, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t t = r % L;
      T* out = y + r * C;
      for (int64_t c = 0; c < C; ++c) out[c] = bias ? bias[c] : T(0);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t s = t - (K - 1) + k;
        if (s < 0) continue;
        const T* in = x + (r - (K - 1) + k) * C;
        const T* wk = wt + k * C;
        for (int64_t c = 0; c < C; ++c) out[c] += wk[c] * in[c];
      }
    }
  });
}

// dx[b,s,c] = Σ_k w[c,k]·dy[b, s+K−1−k, c];  dw[c,k] = Σ dy[b,t,c]·x[b, t−K+1+k, c];  db[c] = Σ dy[b,t,c].
template <typename T>
void conv_rows_bwd(const T* x, const T* wt, const T* dy, T* dx, T* partial, int64_t chunks, int64_t B, int64_t L,
                   int64_t C, int64_t K) {
  at::parallel_for(0, B * L, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t s = r % L;
      T* out = dx + r * C;
      for (int64_t c = 0; c < C; ++c) out[c] = T(0);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t t = s + (K - 1) - k;
        if (t >= L) continue;
        const T* g = dy + (r + (K - 1) - k) * C;
        const T* wk = wt + k * C;
        for (int64_t c = 0; c < C; ++c) out[c] += wk[c] * g[c];
      }
    }
  });
  const int64_t rows = B * L, per = (rows + chunks - 1) / chunks;
  at::parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t ch = cb; ch < ce; ++ch) {
      T* acc = partial + ch * (K + 1) * C;  // K rows of dw, then db
      for (int64_t i = 0; i < (K + 1) * C; ++i) acc[i] = T(0);
      for (int64_t r = ch * per; r < std::min(rows, (ch + 1) * per); ++r) {
        const int64_t t = r % L;
        const T* g = dy + r * C;
        for (int64_t c = 0; c < C; ++c) acc[K * C + c] += g[c];
        for (int64_t k = 0; k < K; ++k) {
          if (t - (K - 1) + k < 0) continue;
          const T* in = x + (r - (K - 1) + k) * C;
          T* a = acc + k * C;
          for (int64_t c = 0; c < C; ++c) a[c] += g[c] * in[c];
        }
      }
    }
  });
}

class CausalConvCpu : public torch::autograd::Function<CausalConvCpu> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& bias, bool silu) {
    auto xc = x.contiguous();
    auto wt = w.t().contiguous();  // [K, C]: channels contiguous
    const int64_t B = x.size(0), L = x.size(1), C = x.size(2), K = w.size(1);
    auto pre = torch::empty({B, L, C}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "causal_conv1d_cpu", [&] {
      conv_rows_fwd<scalar_t>(xc.data_ptr<scalar_t>(), wt.data_ptr<scalar_t>(),
                              bias.contiguous().data_ptr<scalar_t>(), pre.data_ptr<scalar_t>(),
                              B, L, C, K);
    });
    ctx->save_for_backward({xc, wt, pre});
    ctx->saved_data["silu"] = silu;
    return silu ? torch::silu(pre) : pre;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list g) {
    auto saved = ctx->get_saved_variables();
    const auto& xc = saved[0];
    const auto& wt = saved[1];
    const auto& pre = saved[2];
    auto dy = g[0].contiguous();
    if (ctx->saved_data["silu"].toBool()) dy = at::silu_backward(dy, pre).contiguous();
    const int64_t B = xc.size(0), L = xc.size(1), C = xc.size(2), K = wt.size(0);
    const int64_t chunks = std::min<int64_t>(B * L, 64);
    auto dx = torch::empty_like(xc);
    auto partial = torch::empty({chunks, K + 1, C}, xc.options());
    AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "causal_conv1d_cpu_bwd", [&] {
      conv_rows_bwd<scalar_t>(xc.data_ptr<scalar_t>(), wt.data_ptr<scalar_t>(), dy.data_ptr<scalar_t>(),
                              dx.data_ptr<scalar_t>(), partial.data_ptr<scalar_t>(), chunks, B, L, C, K);
    });
    auto sums = partial.sum(0);                                  // [K+1, C]
    auto dw = sums.narrow(0, 0, K).t().contiguous();             // [C, K]
    auto db = sums.select(0, K).contiguous();
    return {dx, dw, db, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor causal_conv1d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            bool silu, const torch::Tensor& initial_state) {
  if (x.dim() != 3) throw ShapeError("causal_conv1d: x must be [B, L, C]");
  const int64_t c = x.size(2);
  auto w = weight_2d(weight, c);
  const int64_t k = w.size(1);
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != c))
    throw ShapeError("causal_conv1d: bias must be [C] with C = " + std::to_string(c));
  if (!initial_state.defined() && use_cuda_kernel(x) && k <= 8) return cuda::causal_conv1d(x, w, bias, silu);
  if (!initial_state.defined() && x.is_cpu() && (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble) &&
      w.scalar_type() == x.scalar_type() && (!bias.defined() || bias.scalar_type() == x.scalar_type()))
    return CausalConvCpu::apply(x, w, bias.defined() ? bias : torch::zeros({c}, x.options()), silu);
  return causal_conv1d_reference(x, w, bias, silu, initial_state);
}

torch::Tensor causal_conv1d_reference(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                      bool silu, const torch::Tensor& initial_state) {
  const int64_t c = x.size(2);
  auto w = weight_2d(weight, c);
  const int64_t k = w.size(1);
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

torch::Tensor conv_state_after(const torch::Tensor& prev, const torch::Tensor& x, int64_t kernel_size) {
  if (!prev.defined()) return conv_state_from_inputs(x, kernel_size);
  return conv_state_from_inputs(torch::cat({prev.transpose(1, 2).to(x.scalar_type()), x}, 1), kernel_size);
}

torch::Tensor conv_initial_inputs(const torch::Tensor& state, const torch::Tensor& like) {
  if (!state.defined()) return {};
  return state.narrow(2, 1, state.size(2) - 1).to(like.scalar_type()).contiguous();
}

std::pair<torch::Tensor, torch::Tensor> causal_conv1d_update(const torch::Tensor& x, const torch::Tensor& state,
                                                             const torch::Tensor& weight, const torch::Tensor& bias,
                                                             bool silu) {
  if (x.dim() != 2 || state.dim() != 3 || state.size(0) != x.size(0) || state.size(1) != x.size(1))
    throw ShapeError("causal_conv1d_update: x must be [B, C] and state [B, C, K]");
  auto w = weight_2d(weight, x.size(1));
  if (w.size(1) != state.size(2)) throw ShapeError("causal_conv1d_update: state width must equal the kernel size");
  const bool needs_grad = torch::GradMode::is_enabled() && (x.requires_grad() || state.requires_grad() ||
                                                            w.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (!needs_grad && use_cuda_kernel(x) && state.scalar_type() == x.scalar_type())
    return cuda::causal_conv1d_update(x, state, w, bias, silu);
  auto new_state = torch::cat({state.narrow(2, 1, state.size(2) - 1), x.unsqueeze(2).to(state.scalar_type())}, 2);
  auto y = (new_state * w.unsqueeze(0)).sum(2);
  if (bias.defined()) y = y + bias;
  if (silu) y = torch::silu(y);
  return {y.to(x.scalar_type()), new_state};
}

}  // namespace dm::ops
