// CUDA kernels against the LibTorch-ops reference path on the same GPU and against the memory-bound floor
// (bytes moved / measured device copy bandwidth), plus training tokens/s of 370M-shaped Mamba2 and Diff-Mamba2
// with and without the kernels. Prints one table. Without a GPU it says why and exits 77 (skipped).
#include <ATen/cuda/CUDAEvent.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/kernel_breakdown.h"
#include "core/model/config.h"
#include "core/model/language_model.h"
#include "core/ops/causal_conv1d.h"
#include "core/ops/dispatch.h"
#include "core/ops/doctor.h"
#include "core/ops/rmsnorm.h"
#include "core/ops/ssd.h"
#include "core/runtime.h"
#include "core/train/autocast.h"

namespace {

// Median milliseconds of f over `repeats` runs after `warmup` runs, each timed with CUDA events.
double median_ms(int warmup, int repeats, const std::function<void()>& f) {
  for (int i = 0; i < warmup; ++i) f();
  torch::cuda::synchronize();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
    start.record();
    f();
    stop.record();
    stop.synchronize();
    t.push_back(start.elapsed_time(stop));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Row {
  std::string name, shape;
  double ours_ms = 0, ref_ms = 0, floor_ms = 0;
};

// Times f with the kernels on and with the reference path (kernels off) on the same GPU.
Row time_both(const std::string& name, const std::string& shape, double bytes, double bw, int reps,
              const std::function<void()>& f) {
  Row r{name, shape};
  dm::ops::set_cuda_kernels_enabled(true);
  r.ours_ms = median_ms(3, reps, f);
  dm::ops::set_cuda_kernels_enabled(false);
  r.ref_ms = median_ms(2, reps, f);
  dm::ops::set_cuda_kernels_enabled(true);
  r.floor_ms = bytes / bw * 1e3;
  std::printf("  measured %-34s ours %9.3f ms  reference %9.3f ms\n", name.c_str(), r.ours_ms, r.ref_ms);
  std::fflush(stdout);
  return r;
}

double elem(torch::ScalarType st) { return static_cast<double>(c10::elementSize(st)); }

// Peak GPU memory one call of `f` adds above what was allocated before it (its working memory: the inputs
// and weights already there are not counted), in MiB. bench/peer_gpu.py measures the peers the same way.
double working_mib(const std::function<void()>& f) {
  torch::cuda::synchronize();
  dm::ops::reset_cuda_peak(0);
  const int64_t before = dm::ops::cuda_peak_allocated(0);
  f();
  torch::cuda::synchronize();
  return static_cast<double>(dm::ops::cuda_peak_allocated(0) - before) / (1 << 20);
}

// The GPU-time breakdown by kernel, as text for after the main table; a profiler that cannot run (no
// CUPTI) costs a line, not the benchmark.
std::string breakdown(const std::string& title, int iterations, const std::function<void()>& f) {
  try {
    return dm::bench::format_breakdown(title, dm::bench::kernel_breakdown(f, iterations, c10::DeviceType::CUDA), 15);
  } catch (const std::exception& e) {
    return "\n(no kernel breakdown for " + title + ": " + e.what() + ")\n";
  }
}

struct Options {
  bool breakdown = true;
  bool train = true;
  int64_t train_batch = 2;
  int train_steps = 3;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-train"))
      opt.train = false;
    else if (!std::strcmp(argv[i], "--no-breakdown"))
      opt.breakdown = false;
    else if (!std::strcmp(argv[i], "--train-batch") && i + 1 < argc)
      opt.train_batch = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--train-steps") && i + 1 < argc)
      opt.train_steps = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_kernels [--no-train] [--no-breakdown] [--train-batch N] [--train-steps N]\n");
      return 2;
    }
  }
  dm::init_runtime(0);
  if (const auto why = dm::ops::cuda_unavailable_reason(); !why.empty()) {
    std::printf("bench_kernels: SKIPPED — no GPU: %s\n", why.c_str());
    return 77;
  }
  const auto gpu = dm::ops::doctor().gpus.at(0);
  const torch::Device dev(torch::kCUDA, 0);
  const auto bf = torch::kBFloat16;
  const auto o = torch::TensorOptions().device(dev);
  torch::manual_seed(0);
  std::printf("bench_kernels on %s (%.0f GiB, %d SMs), LibTorch %s\n", gpu.name.c_str(),
              static_cast<double>(gpu.total_memory) / (1ull << 30), gpu.multiprocessors, dm::torch_version().c_str());

  // The floor's bandwidth: a 2 GiB device-to-device copy, bytes read + written.
  double bw = 0;
  {
    auto src = torch::randn({int64_t{1} << 29}, o), dst = torch::empty_like(src);
    const double ms = median_ms(3, 20, [&] { dst.copy_(src); });
    bw = 2.0 * static_cast<double>(src.nbytes()) / (ms * 1e-3);
    std::printf("device copy bandwidth: %.0f GB/s (read + write of %.1f GiB in %.3f ms)\n", bw / 1e9,
                static_cast<double>(src.nbytes()) / (1ull << 30), ms);
  }
  std::vector<Row> rows;
  std::vector<std::string> breakdowns;  // printed after the main table
  std::vector<std::pair<std::string, double>> memory;  // working memory (MiB) of the rows peers are compared on

  {  // SSD at the shape
    const int64_t B = 4, L = 4096, H = 32, P = 64, N = 128, G = 1, Q = 256;
    const std::string shape = "B4 L4096 H32 P64 N128 bf16";
    auto x = torch::randn({B, L, H, P}, o.dtype(bf)), bm = torch::randn({B, L, G, N}, o.dtype(bf)),
         cm = torch::randn({B, L, G, N}, o.dtype(bf));
    auto dt = torch::nn::functional::softplus(torch::randn({B, L, H}, o) - 1.0), A = -(torch::rand({H}, o) + 0.5),
         D = torch::randn({H}, o), dy = torch::randn({B, L, H, P}, o.dtype(bf));
    const double io_fwd =
        (2.0 * x.numel() + bm.numel() + cm.numel()) * elem(bf) + dt.numel() * 4.0 + B * H * P * N * 4.0;
    const double io_bwd = (3.0 * x.numel() + 2.0 * (bm.numel() + cm.numel())) * elem(bf) + 2.0 * dt.numel() * 4.0;
    {
      torch::NoGradGuard ng;
      rows.push_back(time_both("ssd_chunked forward", shape, io_fwd, bw, 10,
                               [&] { dm::ops::ssd_chunked(x, dt, A, bm, cm, D, Q); }));
      dm::ops::set_ssd_split_operands(false);  // fp32-valued operands rounded to bf16: one product, not two
      rows.push_back(time_both("ssd_chunked forward, plain bf16 operands", shape, io_fwd, bw, 10,
                               [&] { dm::ops::ssd_chunked(x, dt, A, bm, cm, D, Q); }));
      dm::ops::set_ssd_split_operands(true);
      dm::ops::set_ssd_tensor_cores(false);  // the bf16 matrix stages on fp32 FMA instead
      rows.push_back(time_both("ssd_chunked forward, FMA (no tensor cores)", shape, io_fwd, bw, 10,
                               [&] { dm::ops::ssd_chunked(x, dt, A, bm, cm, D, Q); }));
      dm::ops::set_ssd_tensor_cores(true);
    }
    auto xg = x.clone().requires_grad_(true), bg = bm.clone().requires_grad_(true),
         cg = cm.clone().requires_grad_(true), dtg = dt.clone().requires_grad_(true);
    auto fwd_bwd = [&](int64_t chunk) {
      auto r = dm::ops::ssd_chunked(xg, dtg, A, bg, cg, D, chunk);
      torch::autograd::backward({r.y}, {dy});
    };
    rows.push_back(time_both("ssd_chunked forward+backward", shape, io_fwd + io_bwd, bw, 10, [&] { fwd_bwd(Q); }));
    memory.emplace_back("ssd_chunked forward+backward, " + shape, working_mib([&] { fwd_bwd(Q); }));
    dm::ops::set_ssd_tensor_cores(false);
    rows.push_back(time_both("ssd_chunked forward+backward, FMA (no tensor cores)", shape, io_fwd + io_bwd, bw, 10,
                             [&] { fwd_bwd(Q); }));
    dm::ops::set_ssd_tensor_cores(true);
    // The same scan with 64-step chunks: a quarter of the intra-chunk work, four times the chunk states.
    rows.push_back(
        time_both("ssd_chunked forward+backward, chunk 64", shape, io_fwd + io_bwd, bw, 10, [&] { fwd_bwd(64); }));
    if (opt.breakdown)
      breakdowns.push_back(breakdown("ssd_chunked forward+backward, " + shape + ", kernels", 3, [&] { fwd_bwd(Q); }));
  }
  {                                                            // causal conv1d over Mamba2-370M's xBC channels
    const int64_t B = 4, L = 4096, C = 2048 + 2 * 128, K = 4;  // d_inner 2048 + 2·G·N
    const std::string shape = "B4 L4096 C2304 K4 bf16";
    auto x = torch::randn({B, L, C}, o.dtype(bf)), w = torch::randn({C, K}, o) * 0.3, b = torch::randn({C}, o);
    auto dy = torch::randn({B, L, C}, o.dtype(bf));
    const double io = 2.0 * x.numel() * elem(bf);
    {
      torch::NoGradGuard ng;
      rows.push_back(
          time_both("causal_conv1d+SiLU forward", shape, io, bw, 20, [&] { dm::ops::causal_conv1d(x, w, b, true); }));
    }
    auto xg = x.clone().requires_grad_(true), wg = w.clone().requires_grad_(true), bg = b.clone().requires_grad_(true);
    rows.push_back(time_both("causal_conv1d+SiLU forward+backward", shape, io + 3.0 * x.numel() * elem(bf), bw, 20,
                             [&] { torch::autograd::backward({dm::ops::causal_conv1d(xg, wg, bg, true)}, {dy}); }));
    torch::NoGradGuard ng;
    const int64_t Bd = 16;
    auto xs = torch::randn({Bd, C}, o.dtype(bf)), st = torch::randn({Bd, C, K}, o.dtype(bf));
    rows.push_back(time_both("causal_conv1d_update (decode)", "B16 C2304 K4 bf16",
                             (2.0 * st.numel() + 2.0 * xs.numel()) * elem(bf), bw, 50,
                             [&] { dm::ops::causal_conv1d_update(xs, st, w, b, true); }));
  }
  {  // gated RMSNorm over d_inner
    const int64_t R = 4 * 4096, Dd = 2048;
    const std::string shape = "rows16384 d2048 bf16";
    auto y = torch::randn({R, Dd}, o.dtype(bf)), z = torch::randn({R, Dd}, o.dtype(bf)), w = torch::randn({Dd}, o);
    auto go = torch::randn({R, Dd}, o.dtype(bf));
    {
      torch::NoGradGuard ng;
      rows.push_back(time_both("gated_rms_norm forward", shape, 3.0 * y.numel() * elem(bf), bw, 20,
                               [&] { dm::ops::gated_rms_norm(y, z, w, 1e-5, Dd); }));
    }
    auto yg = y.clone().requires_grad_(true), zg = z.clone().requires_grad_(true), wg = w.clone().requires_grad_(true);
    rows.push_back(time_both("gated_rms_norm forward+backward", shape, 8.0 * y.numel() * elem(bf), bw, 20, [&] {
      torch::autograd::backward({dm::ops::gated_rms_norm(yg, zg, wg, 1e-5, Dd)}, {go});
    }));
  }
  {  // one decoding step of the SSM
    torch::NoGradGuard ng;
    const int64_t B = 16, H = 32, P = 64, N = 128;
    auto x = torch::randn({B, H, P}, o.dtype(bf)), dt = torch::rand({B, H}, o), A = -(torch::rand({H}, o) + 0.5);
    auto bm = torch::randn({B, 1, N}, o.dtype(bf)), cm = torch::randn({B, 1, N}, o.dtype(bf)), D = torch::randn({H}, o);
    auto s = torch::randn({B, H, P, N}, o);
    rows.push_back(time_both("ssd_step (decode)", "B16 H32 P64 N128 bf16", 2.0 * s.numel() * 4.0, bw, 50,
                             [&] { dm::ops::ssd_step(x, dt, A, bm, cm, D, s); }));
  }

  struct TrainRow {
    std::string family;
    double ours = 0, ref = 0;
  };
  std::vector<TrainRow> train;
  const int64_t TL = 2048;
  if (opt.train) {
    for (auto fam : {dm::model::Family::mamba2, dm::model::Family::diffmamba2}) {
      auto cfg = dm::model::ModelConfig::hf_370m(fam);
      dm::model::LanguageModel m(cfg);
      m->to(dev);
      torch::optim::AdamW adam(m->parameters(), torch::optim::AdamWOptions(1e-4));
      auto ids = torch::randint(cfg.vocab_size, {opt.train_batch, TL}, o.dtype(torch::kLong));
      auto tg = torch::randint(cfg.vocab_size, {opt.train_batch, TL}, o.dtype(torch::kLong));
      auto step = [&] {
        adam.zero_grad();
        torch::Tensor loss;
        {
          const dm::train::AutocastScope bf16(dev.type(), torch::kBFloat16);
          loss = m->loss(ids, tg).to(torch::kFloat);
        }
        loss.backward();
        adam.step();
      };
      TrainRow tr{dm::model::to_string(fam)};
      {  // which kernels one step runs (a dtype mismatch would quietly send an op to the reference path)
        dm::ops::set_cuda_kernels_enabled(true);
        const auto c0 = dm::ops::cuda_kernel_calls();
        step();
        torch::cuda::synchronize();
        const auto c1 = dm::ops::cuda_kernel_calls();
        std::printf("  kernel launches in one %s step (forward): ssd %lld, conv1d %lld, rmsnorm %lld\n",
                    tr.family.c_str(), static_cast<long long>(c1.ssd - c0.ssd),
                    static_cast<long long>(c1.conv1d - c0.conv1d), static_cast<long long>(c1.rmsnorm - c0.rmsnorm));
      }
      const double tokens = static_cast<double>(opt.train_batch * TL);
      dm::ops::set_cuda_kernels_enabled(true);
      tr.ours = tokens / (median_ms(2, opt.train_steps, step) * 1e-3);
      memory.emplace_back("training step " + tr.family + ", 370M-shaped, batch " + std::to_string(opt.train_batch) +
                              " L " + std::to_string(TL),
                          working_mib(step));
      dm::ops::set_cuda_kernels_enabled(false);
      tr.ref = tokens / (median_ms(1, opt.train_steps, step) * 1e-3);
      dm::ops::set_cuda_kernels_enabled(true);
      std::printf("  measured training %s: %.0f tokens/s with kernels, %.0f without\n", tr.family.c_str(), tr.ours,
                  tr.ref);
      if (opt.breakdown && fam == dm::model::Family::diffmamba2)
        breakdowns.push_back(breakdown("one 370M-shaped " + tr.family + " training step, kernels", 1, step));
      std::fflush(stdout);
      train.push_back(tr);
    }
  }

  std::printf("\n## bench_kernels — %s, LibTorch %s, copy bandwidth %.0f GB/s\n\n", gpu.name.c_str(),
              dm::torch_version().c_str(), bw / 1e9);
  std::printf("| kernel | shape | ours (ms) | PyTorch-ops path (ms) | speed-up | memory floor (ms) | ours / floor |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows)
    std::printf("| %s | %s | %.3f | %.3f | %.2f× | %.3f | %.2f× |\n", r.name.c_str(), r.shape.c_str(), r.ours_ms,
                r.ref_ms, r.ref_ms / r.ours_ms, r.floor_ms, r.ours_ms / r.floor_ms);
  if (!train.empty()) {
    std::printf(
        "\n| training step, 370M-shaped (48 layers, d_model 1024), L %lld, batch %lld, bf16 autocast, AdamW "
        "| with kernels (tokens/s) | PyTorch-ops path (tokens/s) | speed-up |\n|---|---:|---:|---:|\n",
        static_cast<long long>(TL), static_cast<long long>(opt.train_batch));
    for (const auto& t : train)
      std::printf("| %s | %.0f | %.0f | %.2f× |\n", t.family.c_str(), t.ours, t.ref, t.ours / t.ref);
  }
  std::printf(
      "\nmedians of CUDA-event timings after warm-up; floor = bytes each input read once and each output "
      "written once / copy bandwidth\n");
  for (const auto& [what, mib] : memory) std::printf("working memory, %s: %.1f MiB\n", what.c_str(), mib);
  for (const auto& b : breakdowns) std::fputs(b.c_str(), stdout);
  return 0;
}
