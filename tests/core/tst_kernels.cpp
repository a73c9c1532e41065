// The CUDA kernels: their dispatch; every kernel's source run on the CPU through kernels/host_emulation.h
// (dm::kernels_host) against the fp64 references, outputs and scratch NaN-poisoned; the SSD backward
// reference against autograd; and, where a GPU exists, the real kernels (selfcheck). Without one those SKIP.
#include <torch/torch.h>

#include <QtTest>

#include "core/common/error.h"
#include "core/ops/causal_conv1d.h"
#include "core/ops/dispatch.h"
#include "core/ops/doctor.h"
#include "core/ops/rmsnorm.h"
#include "core/ops/selfcheck.h"
#include "core/ops/ssd.h"
#include "core/runtime.h"
#include "tests/core/test_util.h"

#define kernels kernels_host  // the CPU-emulated build of kernels/ (kernels/host/*.cpp)
#include "kernels/launchers.h"
#undef kernels

namespace {

namespace kh = dm::kernels_host;

// fp32 or bf16 case of a data-driven test.
struct Case {
  torch::ScalarType st;
  kh::DType dt;
  double tol;
};
Case case_of(const QString& name) {
  return name == "bf16" ? Case{torch::kBFloat16, kh::DType::bf16, 1e-2} : Case{torch::kFloat, kh::DType::f32, 1e-5};
}

// ‖got − ref‖ / ‖ref‖ in fp64; inf when got holds a NaN (an element no kernel wrote).
double rel_norm(const torch::Tensor& got, const torch::Tensor& ref) {
  auto a = got.detach().to(torch::kDouble), r = ref.detach().to(torch::kDouble);
  if (!torch::isfinite(a).all().item<bool>()) return INFINITY;
  return (a - r).norm().item<double>() / std::max(r.norm().item<double>(), 1e-300);
}
#define CHECK_NEAR(got, ref, tol, what)                                       \
  do {                                                                        \
    const double _e = rel_norm((got), (ref));                                 \
    QVERIFY2(_e <= (tol), dm::test::describe((what), _e, (tol)).constData()); \
  } while (0)

torch::Tensor poisoned(at::IntArrayRef sizes, torch::ScalarType st) {
  return torch::full(sizes, std::numeric_limits<double>::quiet_NaN(), torch::TensorOptions().dtype(st));
}
// Values as the kernel sees them (rounded to st), back in fp64 for the reference.
torch::Tensor rounded(const torch::Tensor& t, torch::ScalarType st) { return t.to(st).to(torch::kDouble); }
kh::Strides strides(const torch::Tensor& t) {
  kh::Strides s;
  s.s0 = t.stride(0);
  s.s1 = t.dim() > 1 ? t.stride(1) : 0;
  s.s2 = t.dim() > 2 ? t.stride(2) : 0;
  s.s3 = t.dim() > 3 ? t.stride(3) : 1;
  return s;
}
float* fp(const torch::Tensor& t) { return t.data_ptr<float>(); }

}  // namespace

class TestKernels : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { dm::warm_up_exp(); }  // fp64 checks near 1e-16 (see core/runtime.cpp)
  void cpu_tensors_take_the_cpu_path();
  void cuda_request_without_gpu_is_an_error();
  void selfcheck_without_gpu_says_why();
  void selfcheck_cpu_passes();
  void ssd_backward_reference_matches_autograd_data();
  void ssd_backward_reference_matches_autograd();
  void doctor_reports_this_build();
  void cuda_kernels_match_reference();
  void cuda_ops_reject_mixed_devices();
  void emulated_conv_data();
  void emulated_conv();
  void emulated_rmsnorm_data();
  void emulated_rmsnorm();
  void emulated_ssd_data();
  void emulated_ssd();
  void emulated_ssm_step_data();
  void emulated_ssm_step();
};

namespace {
void dtype_rows() {
  QTest::addColumn<QString>("dtype");
  QTest::newRow("fp32") << QString("fp32");
  QTest::newRow("bf16") << QString("bf16");
}
}  // namespace

void TestKernels::emulated_conv_data() { dtype_rows(); }

// causal_conv1d forward (x strided in time), backward and the decoding step.
void TestKernels::emulated_conv() {
  QFETCH(QString, dtype);
  const auto c = case_of(dtype);
  torch::manual_seed(11);
  const int64_t B = 2, L = 19, C = 40, K = 4;
  auto wide = rounded(torch::randn({B, L, C + 7}, torch::kDouble), c.st);
  auto x = wide.narrow(2, 3, C);  // strides (L·(C+7), C+7, 1)
  auto w = torch::randn({C, K}, torch::kDouble) * 0.5, bias = torch::randn({C}, torch::kDouble);
  auto dy = rounded(torch::randn({B, L, C}, torch::kDouble), c.st);
  auto wide_k = wide.to(c.st);
  auto xk = wide_k.narrow(2, 3, C);
  auto wk = w.to(torch::kFloat).contiguous(), bk = bias.to(torch::kFloat).contiguous();
  auto y = poisoned({B, L, C}, c.st);
  QCOMPARE(
      kh::causal_conv1d_fwd(c.dt, xk.data_ptr(), strides(xk), fp(wk), fp(bk), y.data_ptr(), B, L, C, K, true, nullptr),
      0);
  auto xr = x.clone().requires_grad_(true), wr = w.clone().requires_grad_(true), br = bias.clone().requires_grad_(true);
  auto yr = dm::ops::causal_conv1d_reference(xr, wr, br, true);
  (yr * dy).sum().backward();
  CHECK_NEAR(y, yr, c.tol, "y");

  auto dyk = dy.to(c.st).contiguous();
  auto dx = poisoned({B, L, C}, c.st), dw = poisoned({C, K}, torch::kFloat), db = poisoned({C}, torch::kFloat);
  QCOMPARE(kh::causal_conv1d_bwd(c.dt, xk.data_ptr(), strides(xk), fp(wk), fp(bk), dyk.data_ptr(), dx.data_ptr(),
                                 fp(dw), fp(db), B, L, C, K, true, nullptr),
           0);
  CHECK_NEAR(dx, xr.grad(), c.tol, "dx");
  CHECK_NEAR(dw, wr.grad(), c.tol, "dw");
  CHECK_NEAR(db, br.grad(), c.tol, "dbias");

  auto state = rounded(torch::randn({B, C, K}, torch::kDouble), c.st),
       xs = rounded(torch::randn({B, C}, torch::kDouble), c.st);
  auto sk = state.to(c.st).contiguous(), xsk = xs.to(c.st).contiguous();
  auto yu = poisoned({B, C}, c.st);
  QCOMPARE(kh::causal_conv1d_update(c.dt, xsk.data_ptr(), sk.data_ptr(), fp(wk), fp(bk), yu.data_ptr(), B, C, K, true,
                                    nullptr),
           0);
  auto [yur, sur] = dm::ops::causal_conv1d_update(xs, state, w, bias, true);
  CHECK_NEAR(yu, yur, c.tol, "update y");
  CHECK_NEAR(sk, sur, c.tol, "update state");
}

void TestKernels::emulated_rmsnorm_data() { dtype_rows(); }

void TestKernels::emulated_rmsnorm() {
  QFETCH(QString, dtype);
  const auto c = case_of(dtype);
  torch::manual_seed(12);
  const int64_t R = 150, D = 96, G = 48;  // 2 groups; more rows than one dw partial
  auto y = rounded(torch::randn({R, D}, torch::kDouble), c.st), z = rounded(torch::randn({R, D}, torch::kDouble), c.st);
  auto w = torch::randn({D}, torch::kDouble), go = rounded(torch::randn({R, D}, torch::kDouble), c.st);
  auto yk = y.to(c.st).contiguous(), zk = z.to(c.st).contiguous(), wk = w.to(torch::kFloat).contiguous();
  auto out = poisoned({R, D}, c.st), rstd = poisoned({R, D / G}, torch::kFloat);
  QCOMPARE(kh::gated_rmsnorm_fwd(c.dt, yk.data_ptr(), zk.data_ptr(), fp(wk), out.data_ptr(), fp(rstd), R, D, G, 1e-5f,
                                 nullptr),
           0);
  auto yr = y.clone().requires_grad_(true), zr = z.clone().requires_grad_(true), wr = w.clone().requires_grad_(true);
  auto ref = dm::ops::gated_rms_norm(yr, zr, wr, 1e-5, G);
  (ref * go).sum().backward();
  CHECK_NEAR(out, ref, c.tol, "out");

  auto gk = go.to(c.st).contiguous();
  const int64_t parts = (R + kh::rmsnorm_rows_per_partial - 1) / kh::rmsnorm_rows_per_partial;
  auto dy = poisoned({R, D}, c.st), dz = poisoned({R, D}, c.st), dwp = poisoned({parts, D}, torch::kFloat);
  QCOMPARE(kh::gated_rmsnorm_bwd(c.dt, yk.data_ptr(), zk.data_ptr(), fp(wk), fp(rstd), gk.data_ptr(), dy.data_ptr(),
                                 dz.data_ptr(), fp(dwp), R, D, G, nullptr),
           0);
  CHECK_NEAR(dy, yr.grad(), c.tol, "dy");
  CHECK_NEAR(dz, zr.grad(), c.tol, "dz");
  CHECK_NEAR(dwp.sum(0), wr.grad(), c.tol, "dw");
}

void TestKernels::emulated_ssd_data() {
  QTest::addColumn<QString>("dtype");
  QTest::addColumn<int>("l");
  QTest::addColumn<int>("chunk");
  QTest::addColumn<int>("groups");
  QTest::addColumn<int>("head_dim");
  QTest::addColumn<int>("state_dim");
  QTest::addColumn<bool>("tensor_cores");  // bf16 only: the wmma path (operands rounded to bf16)
  QTest::newRow("fp32 ragged L, G = 2") << QString("fp32") << 37 << 16 << 2 << 8 << 8 << false;
  QTest::newRow("bf16 tensor cores, ragged L, G = 2") << QString("bf16") << 37 << 16 << 2 << 8 << 8 << true;
  QTest::newRow("bf16 FMA, ragged L, G = 2") << QString("bf16") << 37 << 16 << 2 << 8 << 8 << false;
  QTest::newRow("fp32 Q = 20, G = 1") << QString("fp32") << 45 << 20 << 1 << 8 << 8 << false;
  QTest::newRow("fp32 one chunk, G = H") << QString("fp32") << 9 << 16 << 4 << 8 << 8 << false;
  // Several 64-wide tiles in every matrix stage (Q, P and N > 64, none a multiple of 64).
  QTest::newRow("fp32 multi-tile Q 80 P 72 N 70") << QString("fp32") << 170 << 80 << 2 << 72 << 70 << false;
  QTest::newRow("bf16 tensor cores, multi-tile") << QString("bf16") << 170 << 80 << 2 << 72 << 70 << true;
  QTest::newRow("bf16 FMA, multi-tile") << QString("bf16") << 170 << 80 << 2 << 72 << 70 << false;
}

// The SSD forward and backward launchers against fp64 autograd of ssd_chunked; x strided (a slice of xBC).
void TestKernels::emulated_ssd() {
  QFETCH(QString, dtype);
  QFETCH(int, l);
  QFETCH(int, chunk);
  QFETCH(int, groups);
  QFETCH(int, head_dim);
  QFETCH(int, state_dim);
  QFETCH(bool, tensor_cores);
  const auto c = case_of(dtype);
  torch::manual_seed(13 + l);
  const int64_t B = 2, H = 4, P = head_dim, N = state_dim, G = groups;
  auto xbc = rounded(torch::randn({B, l, H * P + 2 * G * N}, torch::kDouble), c.st);
  auto x = xbc.narrow(2, 0, H * P).view({B, l, H, P});
  auto bm = xbc.narrow(2, H * P, G * N).view({B, l, G, N});
  auto cm = xbc.narrow(2, H * P + G * N, G * N).view({B, l, G, N});
  auto dt = torch::nn::functional::softplus(torch::randn({B, l, H}, torch::kDouble) - 1.0)
                .to(torch::kFloat)
                .to(torch::kDouble);
  auto A = (-(torch::rand({H}, torch::kDouble) * 2 + 0.5)).to(torch::kFloat).to(torch::kDouble);
  auto D = torch::randn({H}, torch::kDouble).to(torch::kFloat).to(torch::kDouble);
  auto init = torch::randn({B, H, P, N}, torch::kDouble).to(torch::kFloat).to(torch::kDouble);
  auto dy = rounded(torch::randn({B, l, H, P}, torch::kDouble), c.st);
  auto dfin = torch::randn({B, H, P, N}, torch::kDouble).to(torch::kFloat).to(torch::kDouble);

  std::vector<torch::Tensor> r{x, dt, A, bm, cm, D, init};
  for (auto& t : r) t = t.clone().requires_grad_(true);
  auto ref = dm::ops::ssd_chunked(r[0], r[1], r[2], r[3], r[4], r[5], chunk, r[6]);
  ((ref.y * dy).sum() + (ref.final_state * dfin).sum()).backward();

  auto xbck = xbc.to(c.st);
  auto xk = xbck.narrow(2, 0, H * P).view({B, l, H, P});
  auto bk = xbck.narrow(2, H * P, G * N).view({B, l, G, N});
  auto ck = xbck.narrow(2, H * P + G * N, G * N).view({B, l, G, N});
  auto dtk = dt.to(torch::kFloat).contiguous(), Ak = A.to(torch::kFloat).contiguous(),
       Dk = D.to(torch::kFloat).contiguous();
  auto initk = init.to(torch::kFloat).contiguous();
  kh::SsdInputs in;
  in.shape = {B, l, H, P, G, N, chunk};
  in.dtype = c.dt;
  in.x = xk.data_ptr();
  in.xs = strides(xk);
  in.dt = fp(dtk);
  in.dts = strides(dtk);
  in.A = fp(Ak);
  in.Bm = bk.data_ptr();
  in.bs = strides(bk);
  in.Cm = ck.data_ptr();
  in.cs = strides(ck);
  in.D = fp(Dk);
  in.initial_state = fp(initk);
  in.tensor_cores = tensor_cores;
  auto y = poisoned({B, l, H, P}, c.st), fin = poisoned({B, H, P, N}, torch::kFloat);
  auto ws = poisoned({kh::ssd_forward_workspace_floats(in.shape)}, torch::kFloat);
  QCOMPARE(kh::ssd_forward(in, y.data_ptr(), fp(fin), fp(ws), nullptr), 0);
  CHECK_NEAR(y, ref.y, c.tol, "y");
  CHECK_NEAR(fin, ref.final_state, c.tol, "final_state");
  if (tensor_cores) {  // the wmma path really ran: its rounding differs from the FMA path's
    auto y_fma = poisoned({B, l, H, P}, c.st), fin_fma = poisoned({B, H, P, N}, torch::kFloat);
    auto fma = in;
    fma.tensor_cores = false;
    QCOMPARE(kh::ssd_forward(fma, y_fma.data_ptr(), fp(fin_fma), fp(ws), nullptr), 0);
    CHECK_NEAR(y_fma, ref.y, c.tol, "y (FMA)");
    QVERIFY(!torch::equal(y, y_fma));
    // Plain bf16 operands (no hi + lo split): faster, less exact; the final state (fp32) shows it.
    auto plain = in;
    plain.split_operands = false;
    auto y_plain = poisoned({B, l, H, P}, c.st), fin_plain = poisoned({B, H, P, N}, torch::kFloat);
    QCOMPARE(kh::ssd_forward(plain, y_plain.data_ptr(), fp(fin_plain), fp(ws), nullptr), 0);
    CHECK_NEAR(y_plain, ref.y, c.tol, "y (plain bf16 operands)");
    qInfo("final state: split %.3g, plain %.3g, FMA %.3g", rel_norm(fin, ref.final_state),
          rel_norm(fin_plain, ref.final_state), rel_norm(fin_fma, ref.final_state));
    QVERIFY(rel_norm(fin, ref.final_state) < rel_norm(fin_plain, ref.final_state));
  }

  auto dyk = dy.to(c.st).contiguous(), dfink = dfin.to(torch::kFloat).contiguous();
  auto wsb = poisoned({kh::ssd_backward_workspace_floats(in.shape)}, torch::kFloat);
  // Every gradient of one backward launch, in the order of `refs`.
  const char* names[] = {"dx", "ddt", "dA", "dB", "dC", "dD", "d_initial_state"};
  auto backward = [&](const kh::SsdInputs& run) {
    std::vector<torch::Tensor> o{poisoned({B, l, H, P}, c.st), poisoned({B, l, H}, torch::kFloat),
                                 poisoned({H}, torch::kFloat),      poisoned({B, l, G, N}, c.st),
                                 poisoned({B, l, G, N}, c.st),      poisoned({H}, torch::kFloat),
                                 poisoned({B, H, P, N}, torch::kFloat)};
    wsb.fill_(std::numeric_limits<double>::quiet_NaN());
    kh::SsdGrads g;
    g.dy = dyk.data_ptr();
    g.d_final_state = fp(dfink);
    g.dx = o[0].data_ptr();
    g.ddt = fp(o[1]);
    g.dA = fp(o[2]);
    g.dB = o[3].data_ptr();
    g.dC = o[4].data_ptr();
    g.dD = fp(o[5]);
    g.d_initial_state = fp(o[6]);
    if (kh::ssd_backward(run, g, fp(wsb), nullptr) != 0) o.clear();
    return o;
  };
  const auto got = backward(in);
  QCOMPARE(got.size(), r.size());
  for (size_t i = 0; i < r.size(); ++i) CHECK_NEAR(got[i], r[i].grad(), c.tol, names[i]);
  if (tensor_cores) {
    // The backward ran on the tensor cores (its sums differ from FMA's) with hi + lo operands: the fp32
    // gradients are then close to FMA's. With plain bf16 operands the backward falls back to FMA.
    auto fma = in;
    fma.tensor_cores = false;
    const auto on_fma = backward(fma);
    QCOMPARE(on_fma.size(), r.size());
    QVERIFY(!torch::equal(got[0], on_fma[0]));
    for (size_t i : {1, 2, 5, 6}) {  // measured: dA 1.3e-4 (FMA 5e-6), the others ≤ 1.3e-5
      qInfo("%s: tensor cores %.3g, FMA %.3g", names[i], rel_norm(got[i], r[i].grad()),
            rel_norm(on_fma[i], r[i].grad()));
      CHECK_NEAR(got[i], r[i].grad(), 1e-3, names[i]);
    }
    auto plain = in;
    plain.split_operands = false;
    const auto fallback = backward(plain);
    QCOMPARE(fallback.size(), r.size());
    QVERIFY(torch::equal(fallback[0], on_fma[0]));  // dx has no atomics: bitwise the FMA result
  }
}

void TestKernels::emulated_ssm_step_data() { dtype_rows(); }

void TestKernels::emulated_ssm_step() {
  QFETCH(QString, dtype);
  const auto c = case_of(dtype);
  torch::manual_seed(14);
  const int64_t B = 3, H = 4, P = 8, G = 2, N = 40;  // N > 32: lanes loop over the state
  auto x = rounded(torch::randn({B, H, P}, torch::kDouble), c.st),
       bm = rounded(torch::randn({B, G, N}, torch::kDouble), c.st);
  auto cm = rounded(torch::randn({B, G, N}, torch::kDouble), c.st);
  auto dt = torch::rand({B, H}, torch::kDouble).to(torch::kFloat).to(torch::kDouble);
  auto A = (-(torch::rand({H}, torch::kDouble) + 0.5)).to(torch::kFloat).to(torch::kDouble);
  auto D = torch::randn({H}, torch::kDouble).to(torch::kFloat).to(torch::kDouble);
  auto s0 = torch::randn({B, H, P, N}, torch::kDouble).to(torch::kFloat).to(torch::kDouble);
  auto ref = dm::ops::ssd_step(x, dt, A, bm, cm, D, s0);
  auto xk = x.to(c.st).contiguous(), bk = bm.to(c.st).contiguous(), ck = cm.to(c.st).contiguous();
  auto dtk = dt.to(torch::kFloat).contiguous(), Ak = A.to(torch::kFloat).contiguous(),
       Dk = D.to(torch::kFloat).contiguous();
  auto state = s0.to(torch::kFloat).contiguous();
  auto y = poisoned({B, H, P}, c.st);
  QCOMPARE(kh::ssm_state_update(c.dt, xk.data_ptr(), fp(dtk), fp(Ak), bk.data_ptr(), ck.data_ptr(), fp(Dk), fp(state),
                                y.data_ptr(), B, H, P, G, N, nullptr),
           0);
  CHECK_NEAR(y, ref.y, c.tol, "y");
  CHECK_NEAR(state, ref.final_state, c.tol, "state");
}

void TestKernels::cpu_tensors_take_the_cpu_path() {
  for (auto st : {torch::kFloat, torch::kBFloat16, torch::kDouble})
    QVERIFY(!dm::ops::use_cuda_kernel(torch::zeros({2}, st)));
  QVERIFY(!dm::ops::use_cuda_kernel(torch::Tensor()));
  // The switch only ever narrows: off sends everything to the reference path.
  dm::ops::set_cuda_kernels_enabled(false);
  QVERIFY(!dm::ops::cuda_kernels_enabled());
  dm::ops::set_cuda_kernels_enabled(true);
  QVERIFY(dm::ops::cuda_kernels_enabled());
  if (torch::cuda::is_available() && dm::ops::cuda_kernels_built()) {
    auto g = torch::zeros({2}, torch::TensorOptions().device(torch::kCUDA));
    QVERIFY(dm::ops::use_cuda_kernel(g));
    QVERIFY(!dm::ops::use_cuda_kernel(g.to(torch::kDouble)));  // fp64 stays on the reference ops
    dm::ops::set_cuda_kernels_enabled(false);
    QVERIFY(!dm::ops::use_cuda_kernel(g));
    dm::ops::set_cuda_kernels_enabled(true);
  }
}

void TestKernels::cuda_request_without_gpu_is_an_error() {
  QCOMPARE(dm::ops::require_device("cpu").type(), torch::kCPU);
  const auto bad = dm::test::error_of<dm::ConfigError>([] { dm::ops::require_device("gpu0"); });
  QVERIFY2(bad.contains("expected cpu, cuda or cuda:N"), qPrintable(bad));
  if (torch::cuda::is_available()) {
    QCOMPARE(dm::ops::require_device("cuda").type(), torch::kCUDA);
    const auto n = static_cast<int>(torch::cuda::device_count());
    const auto msg = dm::test::error_of<dm::ConfigError>([&] { dm::ops::require_device("cuda:" + std::to_string(n)); });
    QVERIFY2(msg.contains("CUDA device(s)"), qPrintable(msg));
    return;
  }
  for (const char* spec : {"cuda", "cuda:0"}) {
    const auto msg = dm::test::error_of<dm::ConfigError>([&] { dm::ops::require_device(spec); });
    QVERIFY2(msg.contains("no CUDA device can be used here: "), qPrintable(msg));
    QVERIFY2(msg.contains(QString::fromStdString(dm::ops::cuda_unavailable_reason())), qPrintable(msg));
  }
  QVERIFY(!dm::ops::cuda_unavailable_reason().empty());
}

void TestKernels::selfcheck_without_gpu_says_why() {
  if (torch::cuda::is_available() && dm::ops::cuda_kernels_built())
    QSKIP("a GPU and the kernels are here: cuda_kernels_match_reference runs the CUDA selfcheck instead");
  const auto rep = dm::ops::selfcheck("cuda", 7);
  QVERIFY(rep.skipped());
  QVERIFY(rep.results.empty());
  const auto text = QString::fromStdString(dm::ops::format_selfcheck(rep));
  QVERIFY2(text.contains("SKIPPED"), qPrintable(text));
  QVERIFY2(text.contains(QString::fromStdString(rep.skip_reason)), qPrintable(text));
}

void TestKernels::selfcheck_cpu_passes() {
  const auto rep = dm::ops::selfcheck("cpu", 12345);
  QVERIFY(!rep.skipped());
  QVERIFY(rep.results.size() >= 12);
  QVERIFY2(rep.failures() == 0, dm::ops::format_selfcheck(rep).c_str());
}

void TestKernels::ssd_backward_reference_matches_autograd_data() {
  QTest::addColumn<int>("l");
  QTest::addColumn<int>("h");
  QTest::addColumn<int>("g");
  QTest::addColumn<int>("chunk");
  QTest::addColumn<bool>("with_init");
  QTest::addColumn<bool>("with_d");
  QTest::addColumn<bool>("with_dfinal");
  QTest::newRow("L multiple of Q, G = 1") << 32 << 2 << 1 << 8 << false << true << false;
  QTest::newRow("ragged L, G = 2, init + dfinal") << 37 << 4 << 2 << 8 << true << true << true;
  QTest::newRow("one chunk longer than L, G = H") << 5 << 3 << 3 << 16 << true << false << true;
  QTest::newRow("Q = 1") << 6 << 2 << 1 << 1 << true << true << true;
}

// The kernels' backward formulas (kernels/ssd_backward.cu), written in LibTorch ops, against autograd.
void TestKernels::ssd_backward_reference_matches_autograd() {
  QFETCH(int, l);
  QFETCH(int, h);
  QFETCH(int, g);
  QFETCH(int, chunk);
  QFETCH(bool, with_init);
  QFETCH(bool, with_d);
  QFETCH(bool, with_dfinal);
  torch::manual_seed(100 + l + h + g);
  const int64_t b = 2, p = 5, n = 4;
  const auto o = torch::TensorOptions().dtype(torch::kDouble);
  auto x = torch::randn({b, l, h, p}, o).requires_grad_(true);
  auto dt = torch::nn::functional::softplus(torch::randn({b, l, h}, o)).detach().requires_grad_(true);
  auto A = (-(torch::rand({h}, o) + 0.3)).requires_grad_(true);
  auto Bm = torch::randn({b, l, g, n}, o).requires_grad_(true);
  auto Cm = torch::randn({b, l, g, n}, o).requires_grad_(true);
  auto D = with_d ? torch::randn({h}, o).requires_grad_(true) : torch::Tensor();
  auto init = with_init ? torch::randn({b, h, p, n}, o).requires_grad_(true) : torch::Tensor();
  auto dy = torch::randn({b, l, h, p}, o);
  auto dfin = with_dfinal ? torch::randn({b, h, p, n}, o) : torch::Tensor();
  auto r = dm::ops::ssd_chunked(x, dt, A, Bm, Cm, D, chunk, init);
  auto loss = (r.y * dy).sum();
  if (with_dfinal) loss = loss + (r.final_state * dfin).sum();
  loss.backward();
  const auto mine = dm::ops::ssd_chunked_backward_reference(x, dt, A, Bm, Cm, D, chunk, init, dy, dfin);
  const std::pair<const char*, std::pair<torch::Tensor, torch::Tensor>> pairs[] = {{"dx", {mine.dx, x.grad()}},
                                                                                   {"ddt", {mine.ddt, dt.grad()}},
                                                                                   {"dA", {mine.dA, A.grad()}},
                                                                                   {"dB", {mine.dB, Bm.grad()}},
                                                                                   {"dC", {mine.dC, Cm.grad()}}};
  for (const auto& [name, pr] : pairs) {
    const double err = dm::test::rel_err(pr.first, pr.second);
    QVERIFY2(err < 1e-9, dm::test::describe(name, err, 1e-9).constData());
  }
  QCOMPARE(mine.dD.defined(), with_d);
  if (with_d) QVERIFY2(dm::test::rel_err(mine.dD, D.grad()) < 1e-9, "dD");
  QCOMPARE(mine.d_initial_state.defined(), with_init);
  if (with_init) QVERIFY2(dm::test::rel_err(mine.d_initial_state, init.grad()) < 1e-9, "d_initial_state");
}

void TestKernels::doctor_reports_this_build() {
  const auto r = dm::ops::doctor();
  QCOMPARE(r.kernels_built, dm::ops::cuda_kernels_built());
  QCOMPARE(r.cuda_available, torch::cuda::is_available());
  QCOMPARE(r.cuda_reason.empty(), r.cuda_available);
  if (r.kernels_built) QVERIFY2(r.kernel_architectures.find("90") != std::string::npos, r.kernel_architectures.c_str());
  const auto text = QString::fromStdString(dm::ops::format_doctor(r));
  QVERIFY2(text.contains(QString::fromStdString(r.torch_version)), qPrintable(text));
  if (!r.cuda_available) QVERIFY2(text.contains(QString::fromStdString(r.cuda_reason)), qPrintable(text));
}

void TestKernels::cuda_kernels_match_reference() {
  if (!torch::cuda::is_available())
    QSKIP(qPrintable("no GPU here (" + QString::fromStdString(dm::ops::cuda_unavailable_reason()) +
                     "): the CUDA kernels are compared on a machine with one (scripts/device-check.sh)"));
  if (!dm::ops::cuda_kernels_built()) QSKIP("this build has no CUDA kernels (configure with -DDM_CUDA=ON)");
  const auto rep = dm::ops::selfcheck("cuda", static_cast<uint64_t>(QRandomGenerator::global()->generate()));
  QVERIFY(!rep.skipped());
  QVERIFY2(rep.failures() == 0, dm::ops::format_selfcheck(rep).c_str());
}

void TestKernels::cuda_ops_reject_mixed_devices() {
  if (!torch::cuda::is_available() || !dm::ops::cuda_kernels_built())
    QSKIP("needs a GPU and the CUDA kernels: the device check is made on a machine with one");
  const auto cu = torch::TensorOptions().device(torch::kCUDA);
  auto x = torch::randn({1, 8, 2, 4}, cu), dt = torch::rand({1, 8, 2}, cu), A = -torch::ones({2});  // A on CPU
  auto bc = torch::randn({1, 8, 1, 4}, cu);
  const auto msg = dm::test::error_of<dm::ShapeError>([&] { dm::ops::ssd_chunked(x, dt, A, bc, bc, {}, 4); });
  QVERIFY2(msg.contains("all tensors must be on cuda"), qPrintable(msg));
}

QTEST_APPLESS_MAIN(TestKernels)
#include "tst_kernels.moc"
