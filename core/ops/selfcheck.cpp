#include "core/ops/selfcheck.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/common/error.h"
#include "core/model/config.h"
#include "core/model/language_model.h"
#include "core/ops/causal_conv1d.h"
#include "core/ops/dispatch.h"
#include "core/ops/doctor.h"
#include "core/ops/rmsnorm.h"
#include "core/ops/ssd.h"
#include "core/runtime.h"
#include "core/train/autocast.h"

namespace dm::ops {
namespace {

double rel_error(const torch::Tensor& got, const torch::Tensor& ref) {
  if (!got.defined() || !ref.defined()) return INFINITY;
  auto a = got.detach().to(torch::kCPU, torch::kDouble);
  auto r = ref.detach().to(torch::kCPU, torch::kDouble);
  if (a.sizes() != r.sizes() || !torch::isfinite(a).all().item<bool>()) return INFINITY;
  const double den = r.norm().item<double>(), num = (a - r).norm().item<double>();
  return den > 0 ? num / den : num;
}

struct Recorder {
  std::vector<CheckResult>& out;
  std::string op, dtype;
  double tol;
  void operator()(const std::string& what, const torch::Tensor& got, const torch::Tensor& ref) const {
    out.push_back({op, dtype, what, rel_error(got, ref), tol});
  }
};

// Restores the global switches on every exit path.
struct Switches {  // restores every dispatch switch the checks touch, also when a check throws
  bool poison = poison_outputs(), enabled = cuda_kernels_enabled(), tc = ssd_tensor_cores(),
       split = ssd_split_operands();
  Switches(bool p, bool e) {
    set_poison_outputs(p);
    set_cuda_kernels_enabled(e);
  }
  ~Switches() {
    set_poison_outputs(poison);
    set_cuda_kernels_enabled(enabled);
    set_ssd_tensor_cores(tc);
    set_ssd_split_operands(split);
  }
};

torch::Tensor leaf(const torch::Tensor& t) { return t.detach().clone().requires_grad_(true); }

// SSD inputs (fp64, CPU): x, dt > 0, A < 0, B, C, D, initial state, upstream gradients.
struct SsdCase {
  int64_t b, l, h, p, g, n, chunk;
};
std::vector<torch::Tensor> ssd_inputs(const SsdCase& c) {
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  return {
      torch::randn({c.b, c.l, c.h, c.p}, o), torch::nn::functional::softplus(torch::randn({c.b, c.l, c.h}, o) - 1.0),
      -(torch::rand({c.h}, o) * 2.0 + 0.5),  torch::randn({c.b, c.l, c.g, c.n}, o),
      torch::randn({c.b, c.l, c.g, c.n}, o), torch::randn({c.h}, o),
      torch::randn({c.b, c.h, c.p, c.n}, o), torch::randn({c.b, c.l, c.h, c.p}, o),  // dy
      torch::randn({c.b, c.h, c.p, c.n}, o)};                                        // d final state
}

// ---- CUDA: kernel path on `dev` in dtype `dt` against fp64 CPU autograd of the reference ops ----------------

void check_cuda_conv(std::vector<CheckResult>& out, const torch::Device& dev, torch::ScalarType st,
                     const std::string& name, double tol) {
  const int64_t b = 2, l = 77, c = 96, k = 4;
  auto x = torch::randn({b, l, c}, torch::kDouble).to(st).to(torch::kDouble);
  auto w = torch::randn({c, k}, torch::kDouble) * 0.5, bias = torch::randn({c}, torch::kDouble);
  auto gy = torch::randn({b, l, c}, torch::kDouble).to(st).to(torch::kDouble);
  auto xd = leaf(x.to(dev, st)), wd = leaf(w.to(dev, torch::kFloat)), bd = leaf(bias.to(dev, torch::kFloat));
  auto y = causal_conv1d(xd, wd, bd, true);
  (y.to(torch::kFloat) * gy.to(dev, torch::kFloat)).sum().backward();
  auto xr = leaf(x), wr = leaf(w), br = leaf(bias);
  auto yr = causal_conv1d_reference(xr, wr, br, true);
  (yr * gy).sum().backward();
  Recorder rec{out, "causal_conv1d", name, tol};
  rec("y", y, yr);
  rec("dx", xd.grad(), xr.grad());
  rec("dw", wd.grad(), wr.grad());
  rec("dbias", bd.grad(), br.grad());

  torch::NoGradGuard ng;
  auto state = torch::randn({b, c, k}, torch::kDouble).to(st).to(torch::kDouble);
  auto xs = torch::randn({b, c}, torch::kDouble).to(st).to(torch::kDouble);
  auto [yu, su] = causal_conv1d_update(xs.to(dev, st), state.to(dev, st), w.to(dev, torch::kFloat),
                                       bias.to(dev, torch::kFloat), true);
  auto [yur, sur] = causal_conv1d_update(xs, state, w, bias, true);
  Recorder up{out, "causal_conv1d_update", name, tol};
  up("y", yu, yur);
  up("state", su, sur);
}

void check_cuda_rmsnorm(std::vector<CheckResult>& out, const torch::Device& dev, torch::ScalarType st,
                        const std::string& name, double tol) {
  const int64_t rows = 150, d = 320, group = 160;
  auto y = torch::randn({3, rows / 3, d}, torch::kDouble).to(st).to(torch::kDouble);
  auto z = torch::randn({3, rows / 3, d}, torch::kDouble).to(st).to(torch::kDouble);
  auto w = torch::randn({d}, torch::kDouble);
  auto go = torch::randn({3, rows / 3, d}, torch::kDouble).to(st).to(torch::kDouble);
  auto yd = leaf(y.to(dev, st)), zd = leaf(z.to(dev, st)), wd = leaf(w.to(dev, torch::kFloat));
  auto o = gated_rms_norm(yd, zd, wd, 1e-5, group);
  (o.to(torch::kFloat) * go.to(dev, torch::kFloat)).sum().backward();
  auto yr = leaf(y), zr = leaf(z), wr = leaf(w);
  auto orf = gated_rms_norm(yr, zr, wr, 1e-5, group);
  (orf * go).sum().backward();
  Recorder rec{out, "gated_rms_norm", name, tol};
  rec("out", o, orf);
  rec("dy", yd.grad(), yr.grad());
  rec("dz", zd.grad(), zr.grad());
  rec("dw", wd.grad(), wr.grad());
}

void check_cuda_ssd(std::vector<CheckResult>& out, const torch::Device& dev, torch::ScalarType st,
                    const std::string& name, double tol, const SsdCase& c) {
  auto in = ssd_inputs(c);
  for (int i : {0, 3, 4, 7}) in[i] = in[i].to(st).to(torch::kDouble);  // the values the kernel sees
  std::vector<torch::Tensor> d(7), r(7);
  for (int i = 0; i < 7; ++i) {
    const bool low = i == 0 || i == 3 || i == 4;
    d[i] = leaf(in[i].to(dev, low ? st : torch::kFloat));
    r[i] = leaf(in[i]);
  }
  auto res = ssd_chunked(d[0], d[1], d[2], d[3], d[4], d[5], c.chunk, d[6]);
  ((res.y.to(torch::kFloat) * in[7].to(dev, torch::kFloat)).sum() +
   (res.final_state * in[8].to(dev, torch::kFloat)).sum())
      .backward();
  auto ref = ssd_chunked(r[0], r[1], r[2], r[3], r[4], r[5], c.chunk, r[6]);
  ((ref.y * in[7]).sum() + (ref.final_state * in[8]).sum()).backward();
  const std::string shape = " (B" + std::to_string(c.b) + " L" + std::to_string(c.l) + " H" + std::to_string(c.h) +
                            " P" + std::to_string(c.p) + " G" + std::to_string(c.g) + " N" + std::to_string(c.n) +
                            " Q" + std::to_string(c.chunk) + ")";
  Recorder rec{out, "ssd_chunked" + shape, name, tol};
  rec("y", res.y, ref.y);
  rec("final_state", res.final_state, ref.final_state);
  const char* names[] = {"dx", "ddt", "dA", "dB", "dC", "dD", "d_initial_state"};
  for (int i = 0; i < 7; ++i) rec(names[i], d[i].grad(), r[i].grad());

  torch::NoGradGuard ng;
  auto s0 = in[6];
  auto x1 = in[0].select(1, 0), dt1 = in[1].select(1, 0), b1 = in[3].select(1, 0), c1 = in[4].select(1, 0);
  auto step = ssd_step(x1.to(dev, st), dt1.to(dev, torch::kFloat), in[2].to(dev, torch::kFloat), b1.to(dev, st),
                       c1.to(dev, st), in[5].to(dev, torch::kFloat), s0.to(dev, torch::kFloat));
  auto step_ref = ssd_step(x1, dt1, in[2], b1, c1, in[5], s0);
  Recorder sr{out, "ssd_step", name, tol};
  sr("y", step.y, step_ref.y);
  sr("state", step.final_state, step_ref.final_state);
}

// A small Mamba2 / Diff-Mamba2 language model, forward + backward in fp32 on `dev`, with the kernels against the
// reference ops on the same GPU: the dispatch inside a real model (views of in_proj's output, autograd).
void check_cuda_model(std::vector<CheckResult>& out, const torch::Device& dev, model::Family family) {
  auto cfg = model::ModelConfig::hf_370m(family);
  cfg.vocab_size = 61;
  cfg.d_model = 64;
  cfg.n_layers = 2;
  cfg.head_dim = 16;
  cfg.d_state = 16;
  cfg.n_groups = 2;
  cfg.chunk_size = 32;
  model::LanguageModel m(cfg);
  m->to(dev);
  auto ids = torch::randint(cfg.vocab_size, {2, 75}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  auto tg = torch::randint(cfg.vocab_size, {2, 75}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  // Loss and all gradients; with bf16 the forward runs under bf16 autocast and the backward outside it, as the
  // trainer does.
  auto run = [&](bool kernels, bool bf16 = false) {
    set_cuda_kernels_enabled(kernels);
    m->zero_grad();
    torch::Tensor loss;
    if (bf16) {
      const train::AutocastScope autocast(dev.type(), at::kBFloat16);
      loss = m->loss(ids, tg).to(torch::kFloat);
    } else {
      loss = m->loss(ids, tg);
    }
    loss.backward();
    std::vector<torch::Tensor> g;
    for (const auto& p : m->parameters())
      if (p.grad().defined()) g.push_back(p.grad().flatten().clone());
    return std::make_pair(loss.detach().clone(), torch::cat(g));
  };
  // The reference must be plain fp32: cuDNN's convolutions default to TF32 (about 1e-3), cuBLAS may be set so.
  struct NoTf32 {
    bool cudnn = at::globalContext().allowTF32CuDNN(), cublas = at::globalContext().allowTF32CuBLAS();
    NoTf32() {
      at::globalContext().setAllowTF32CuDNN(false);
      at::globalContext().setAllowTF32CuBLAS(false);
    }
    ~NoTf32() {
      at::globalContext().setAllowTF32CuDNN(cudnn);
      at::globalContext().setAllowTF32CuBLAS(cublas);
    }
  } no_tf32;
  const auto ref = run(false);
  const auto c0 = cuda_kernel_calls();
  const auto ours = run(true);
  const auto c1 = cuda_kernel_calls();
  Recorder rec{out, "language model fwd+bwd (" + model::to_string(family) + ", vs reference ops on GPU)", "fp32", 1e-4};
  rec("loss", ours.first, ref.first);
  rec("all gradients", ours.second, ref.second);

  // bf16 autocast, as training runs it: every op that ran a kernel in fp32 must run one on bf16 activations
  // too (no quiet fall-back to the reference ops over a dtype mismatch), and agree with the reference ops
  // under the same autocast. Both paths round activations to bf16 in different places, hence the wider
  // tolerance; a wrong kernel gives O(1).
  const auto c2 = cuda_kernel_calls();
  const auto ours16 = run(true, true);
  const auto c3 = cuda_kernel_calls();
  const auto ref16 = run(false, true);
  set_cuda_kernels_enabled(true);
  const std::string what = "language model fwd+bwd, bf16 autocast (" + model::to_string(family) + ", vs reference ops)";
  Recorder rec16{out, what, "bf16", 5e-2};
  rec16("loss", ours16.first, ref16.first);
  rec16("all gradients", ours16.second, ref16.second);
  const int64_t ssd = c3.ssd - c2.ssd, conv = c3.conv1d - c2.conv1d, norm = c3.rmsnorm - c2.rmsnorm,
                bf16 = c3.bf16 - c2.bf16, fp32_total = c1.total() - c0.total();
  const bool ran = ssd == c1.ssd - c0.ssd && conv == c1.conv1d - c0.conv1d && norm == c1.rmsnorm - c0.rmsnorm &&
                   bf16 == fp32_total && fp32_total > 0;
  out.push_back({what, "bf16",
                 "kernel launches on bf16: ssd " + std::to_string(ssd) + ", conv1d " + std::to_string(conv) +
                     ", rmsnorm " + std::to_string(norm) + " (" + std::to_string(bf16) + " bf16 of " +
                     std::to_string(fp32_total) + " in fp32)",
                 ran ? 0.0 : INFINITY, 0.0});
}

// ---- CPU: the fast CPU paths against their independent oracles in fp64 ---------------------------------------

void check_cpu(std::vector<CheckResult>& out) {
  // fp64 against fp64: agreement is ~1e-16. LibTorch's first exp of a process was sometimes 3e-9 off (the SSD
  // rows then read 4e-10); dm::warm_up_exp prevents that (0 misses in 200 processes at 1e-10), and 1e-9 keeps
  // a margin. A real indexing or formula error gives O(1).
  warm_up_exp();
  const double tol = 1e-9;
  const SsdCase c{2, 45, 4, 8, 2, 6, 16};
  auto in = ssd_inputs(c);
  std::vector<torch::Tensor> v(7);
  for (int i = 0; i < 7; ++i) v[i] = leaf(in[i]);
  auto res = ssd_chunked(v[0], v[1], v[2], v[3], v[4], v[5], c.chunk, v[6]);
  {
    torch::NoGradGuard ng;
    auto seq = ssd_sequential(in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
    Recorder rec{out, "ssd_chunked vs sequential", "fp64", tol};
    rec("y", res.y, seq.y);
    rec("final_state", res.final_state, seq.final_state);
  }
  ((res.y * in[7]).sum() + (res.final_state * in[8]).sum()).backward();
  auto g = ssd_chunked_backward_reference(in[0], in[1], in[2], in[3], in[4], in[5], c.chunk, in[6], in[7], in[8]);
  Recorder rb{out, "ssd backward reference vs autograd", "fp64", tol};
  const torch::Tensor mine[] = {g.dx, g.ddt, g.dA, g.dB, g.dC, g.dD, g.d_initial_state};
  const char* names[] = {"dx", "ddt", "dA", "dB", "dC", "dD", "d_initial_state"};
  for (int i = 0; i < 7; ++i) rb(names[i], mine[i], v[i].grad());

  auto x = torch::randn({2, 33, 24}, torch::kDouble), w = torch::randn({24, 4}, torch::kDouble),
       b = torch::randn({24}, torch::kDouble), gy = torch::randn({2, 33, 24}, torch::kDouble);
  auto xa = leaf(x), wa = leaf(w), ba = leaf(b), xr = leaf(x), wr = leaf(w), br = leaf(b);
  (causal_conv1d(xa, wa, ba, true) * gy).sum().backward();
  (causal_conv1d_reference(xr, wr, br, true) * gy).sum().backward();
  Recorder rc{out, "causal_conv1d cpu kernel vs conv1d", "fp64", tol};
  rc("y", causal_conv1d(x, w, b, true), causal_conv1d_reference(x, w, b, true));
  rc("dx", xa.grad(), xr.grad());
  rc("dw", wa.grad(), wr.grad());
  rc("dbias", ba.grad(), br.grad());
}

}  // namespace

int SelfcheckReport::failures() const {
  int n = 0;
  for (const auto& r : results) n += r.passed() ? 0 : 1;
  return n;
}

SelfcheckReport selfcheck(const std::string& device, uint64_t seed, bool models) {
  SelfcheckReport rep;
  rep.device = device;
  rep.seed = seed;
  torch::Device dev(torch::kCPU);
  try {
    dev = require_device(device);
  } catch (const ConfigError& e) {
    if (e.value().rfind("cuda", 0) != 0) throw;  // a malformed name is an error, not a skip
    rep.skip_reason = e.rule();
    return rep;
  }
  torch::manual_seed(seed);
  const torch::AutoGradMode grad(true);
  if (dev.is_cpu()) {
    check_cpu(rep.results);
    return rep;
  }
  if (!cuda_kernels_built()) {
    rep.skip_reason = "this build has no CUDA kernels (configure with -DDM_CUDA=ON and a CUDA LibTorch)";
    return rep;
  }
  torch::cuda::manual_seed_all(seed);
  const Switches sw(true, true);
  const bool tensor_cores = ssd_tensor_cores(), split = ssd_split_operands();
  const std::pair<torch::ScalarType, std::pair<const char*, double>> dtypes[] = {{torch::kFloat, {"fp32", 1e-5}},
                                                                                 {torch::kBFloat16, {"bf16", 1e-2}}};
  for (const auto& [st, nt] : dtypes) {
    check_cuda_conv(rep.results, dev, st, nt.first, nt.second);
    check_cuda_rmsnorm(rep.results, dev, st, nt.first, nt.second);
    // bf16: the matrix stages on the tensor cores with hi + lo operands (default), with plain bf16
    // operands (the backward then on FMA), and on fp32 FMA.
    struct Mode {
      const char* name;
      bool tc, split;
    };
    const std::vector<Mode> modes = st == torch::kBFloat16
                                        ? std::vector<Mode>{{"bf16", true, true},
                                                            {"bf16 plain operands", true, false},
                                                            {"bf16 FMA", false, true}}
                                        : std::vector<Mode>{{nt.first, false, true}};
    for (const auto& m : modes) {
      set_ssd_tensor_cores(m.tc);
      set_ssd_split_operands(m.split);
      check_cuda_ssd(rep.results, dev, st, m.name, nt.second, {2, 100, 4, 16, 2, 8, 32});    // L % Q != 0, G = 2
      check_cuda_ssd(rep.results, dev, st, m.name, nt.second, {1, 300, 8, 64, 1, 128, 64});  // Mamba2-like P, N
    }
    set_ssd_tensor_cores(tensor_cores);
    set_ssd_split_operands(split);
  }
  if (models)
    for (auto family : {model::Family::mamba2, model::Family::diffmamba2}) check_cuda_model(rep.results, dev, family);
  torch::cuda::synchronize();
  return rep;
}

std::string format_selfcheck(const SelfcheckReport& r) {
  std::ostringstream os;
  if (r.skipped()) {
    os << "selfcheck " << r.device << ": SKIPPED — " << r.skip_reason << "\n";
    return os.str();
  }
  os << "selfcheck " << r.device << " (seed " << r.seed << "): relative error ‖got − ref‖/‖ref‖ against the fp64 "
     << "reference\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-54s %-8s %-16s %11s %9s %s\n", "op", "dtype", "output", "rel error", "tol",
                "result");
  os << line;
  for (const auto& c : r.results) {
    std::snprintf(line, sizeof line, "%-54s %-8s %-16s %11.3e %9.1e %s\n", c.op.c_str(), c.dtype.c_str(),
                  c.output.c_str(), c.rel_error, c.tolerance, c.passed() ? "ok" : "FAIL");
    os << line;
  }
  os << r.results.size() - static_cast<size_t>(r.failures()) << " passed, " << r.failures() << " failed\n";
  return os.str();
}

}  // namespace dm::ops
