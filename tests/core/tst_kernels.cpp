// The CUDA kernels' dispatch, their CPU-checkable math (the SSD backward reference against autograd) and,
// where a GPU exists, every kernel against its reference (the selfcheck); without one those tests SKIP.
#include <torch/torch.h>

#include <QtTest>

#include "core/common/error.h"
#include "core/ops/dispatch.h"
#include "core/ops/doctor.h"
#include "core/ops/selfcheck.h"
#include "core/ops/ssd.h"
#include "tests/core/test_util.h"

class TestKernels : public QObject {
  Q_OBJECT

 private slots:
  void cpu_tensors_take_the_cpu_path();
  void cuda_request_without_gpu_is_an_error();
  void selfcheck_without_gpu_says_why();
  void selfcheck_cpu_passes();
  void ssd_backward_reference_matches_autograd_data();
  void ssd_backward_reference_matches_autograd();
  void doctor_reports_this_build();
  void cuda_kernels_match_reference();
  void cuda_ops_reject_mixed_devices();
};

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
  const std::pair<const char*, std::pair<torch::Tensor, torch::Tensor>> pairs[] = {
      {"dx", {mine.dx, x.grad()}}, {"ddt", {mine.ddt, dt.grad()}}, {"dA", {mine.dA, A.grad()}},
      {"dB", {mine.dB, Bm.grad()}}, {"dC", {mine.dC, Cm.grad()}}};
  for (const auto& [name, pr] : pairs) {
    const double err = dm::test::rel_err(pr.first, pr.second);
    QVERIFY2(err < 1e-10, dm::test::describe(name, err, 1e-10).constData());
  }
  QCOMPARE(mine.dD.defined(), with_d);
  if (with_d) QVERIFY2(dm::test::rel_err(mine.dD, D.grad()) < 1e-10, "dD");
  QCOMPARE(mine.d_initial_state.defined(), with_init);
  if (with_init) QVERIFY2(dm::test::rel_err(mine.d_initial_state, init.grad()) < 1e-10, "d_initial_state");
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
