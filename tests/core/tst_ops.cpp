// Causal conv1d and (gated) RMSNorm against their formulas written out element by element.
#include <torch/torch.h>

#include <QtTest>

#include "core/common/error.h"
#include "core/ops/causal_conv1d.h"
#include "core/ops/rmsnorm.h"
#include "tests/core/test_util.h"

namespace {

// y[b,t,c] = bias[c] + Σ_k w[c,k]·x[b, t−(K−1)+k, c], computed with scalar loops.
torch::Tensor conv_by_loops(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias, bool silu) {
  const int64_t B = x.size(0), L = x.size(1), C = x.size(2), K = w.size(1);
  auto y = torch::zeros_like(x);
  auto xa = x.accessor<double, 3>();
  auto wa = w.accessor<double, 2>();
  auto ya = y.accessor<double, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t c = 0; c < C; ++c) {
        double acc = bias.defined() ? bias[c].item<double>() : 0.0;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t s = t - (K - 1) + k;
          if (s >= 0) acc += wa[c][k] * xa[b][s][c];
        }
        ya[b][t][c] = silu ? acc / (1.0 + std::exp(-acc)) : acc;
      }
  return y;
}

}  // namespace

class TestOps : public QObject {
  Q_OBJECT

 private slots:
  void conv_matches_loops_data();
  void conv_matches_loops();
  void conv_cpu_kernel_gradients_match_reference();
  void conv_initial_state_continues_sequence();
  void conv_update_reproduces_full_conv();
  void rms_norm_matches_formula();
  void gated_rms_norm_groups();
  void bad_shapes_raise();
};

void TestOps::conv_matches_loops_data() {
  QTest::addColumn<int>("L");
  QTest::addColumn<int>("K");
  QTest::addColumn<bool>("bias");
  QTest::addColumn<bool>("silu");
  QTest::newRow("K4 bias silu") << 13 << 4 << true << true;
  QTest::newRow("K4 no bias") << 13 << 4 << false << false;
  QTest::newRow("L < K") << 2 << 4 << true << true;
  QTest::newRow("K1") << 5 << 1 << true << false;
}

void TestOps::conv_matches_loops() {
  QFETCH(int, L);
  QFETCH(int, K);
  QFETCH(bool, bias);
  QFETCH(bool, silu);
  torch::manual_seed(3);
  auto x = torch::randn({2, L, 6}, torch::kDouble);
  auto w = torch::randn({6, 1, K}, torch::kDouble);
  auto b = bias ? torch::randn({6}, torch::kDouble) : torch::Tensor();
  auto got = dm::ops::causal_conv1d(x, w, b, silu);
  DM_COMPARE_REL(got, conv_by_loops(x, w.squeeze(1), b, silu), 1e-13, "conv vs loops");
  // A non-contiguous input (a slice of a wider projection, as in the mixer) gives the same result.
  auto wide = torch::randn({2, L, 10}, torch::kDouble);
  wide.narrow(2, 2, 6).copy_(x);
  DM_COMPARE_REL(dm::ops::causal_conv1d(wide.narrow(2, 2, 6), w, b, silu), got, 1e-15, "strided input");
}

void TestOps::conv_cpu_kernel_gradients_match_reference() {
  // The channels-last CPU kernel (autograd Function) against LibTorch's conv1d and its backward.
  for (int variant = 0; variant < 4; ++variant) {
    const bool bias = variant & 1, silu = variant & 2;
    for (int64_t L : {2, 13, 130}) {
      torch::manual_seed(10 + L + variant);
      auto wide = torch::randn({3, L, 9}, torch::kDouble);
      auto w0 = torch::randn({6, 1, 4}, torch::kDouble);
      auto b0 = torch::randn({6}, torch::kDouble);
      auto gy = torch::randn({3, L, 6}, torch::kDouble);
      auto run = [&](bool fast) {
        auto x = wide.clone().requires_grad_(true);
        auto w = w0.clone().requires_grad_(true);
        auto b = b0.clone().requires_grad_(true);
        auto xs = x.narrow(2, 2, 6);  // strided input, as in the mixer
        auto y = fast ? dm::ops::causal_conv1d(xs, w, bias ? b : torch::Tensor(), silu)
                      : dm::ops::causal_conv1d_reference(xs, w, bias ? b : torch::Tensor(), silu);
        (y * gy).sum().backward();
        return std::vector<torch::Tensor>{y.detach(), x.grad(), w.grad(), bias ? b.grad() : torch::zeros({6}, torch::kDouble)};
      };
      auto f = run(true), r = run(false);
      const char* what[] = {"y", "dx", "dw", "db"};
      for (int i = 0; i < 4; ++i) DM_COMPARE_REL(f[i], r[i], 1e-12, what[i]);
    }
  }
}

void TestOps::conv_initial_state_continues_sequence() {
  torch::manual_seed(4);
  auto x = torch::randn({2, 20, 5}, torch::kDouble);
  auto w = torch::randn({5, 4}, torch::kDouble);
  auto b = torch::randn({5}, torch::kDouble);
  auto whole = dm::ops::causal_conv1d(x, w, b, true);
  auto head = x.narrow(1, 0, 11);
  auto state = head.narrow(1, 11 - 3, 3).transpose(1, 2);  // the K−1 inputs before position 11
  auto tail = dm::ops::causal_conv1d(x.narrow(1, 11, 9), w, b, true, state);
  DM_COMPARE_REL(tail, whole.narrow(1, 11, 9), 1e-14, "continued conv");
}

void TestOps::conv_update_reproduces_full_conv() {
  torch::manual_seed(5);
  auto x = torch::randn({3, 9, 7}, torch::kDouble);
  auto w = torch::randn({7, 1, 4}, torch::kDouble);
  auto b = torch::randn({7}, torch::kDouble);
  auto whole = dm::ops::causal_conv1d(x, w, b, true);
  // Prefill the first 2 positions (L < K: left zero-padded state), then step.
  auto state = dm::ops::conv_state_from_inputs(x.narrow(1, 0, 2), 4);
  QCOMPARE(state.sizes().vec(), (std::vector<int64_t>{3, 7, 4}));
  QVERIFY(state.narrow(2, 0, 2).abs().max().item<double>() == 0.0);
  for (int64_t t = 2; t < 9; ++t) {
    auto [y, s] = dm::ops::causal_conv1d_update(x.select(1, t), state, w, b, true);
    state = s;
    DM_COMPARE_REL(y, whole.select(1, t), 1e-14, "conv update step");
  }
}

void TestOps::rms_norm_matches_formula() {
  torch::manual_seed(6);
  auto x = torch::randn({3, 4, 10}, torch::kDouble);
  auto w = torch::randn({10}, torch::kDouble);
  auto got = dm::ops::rms_norm(x, w, 1e-5);
  auto acc = x.accessor<double, 3>();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      double ms = 0;
      for (int64_t k = 0; k < 10; ++k) ms += acc[i][j][k] * acc[i][j][k];
      ms /= 10;
      for (int64_t k = 0; k < 10; ++k) {
        const double want = acc[i][j][k] / std::sqrt(ms + 1e-5) * w[k].item<double>();
        QVERIFY(std::abs(got.index({i, j, k}).item<double>() - want) < 1e-12);
      }
    }
  // fp32 input: statistics in fp32, result dtype kept.
  QCOMPARE(dm::ops::rms_norm(x.to(torch::kFloat), w.to(torch::kFloat), 1e-5).scalar_type(), torch::kFloat);
}

void TestOps::gated_rms_norm_groups() {
  torch::manual_seed(7);
  auto y = torch::randn({2, 5, 12}, torch::kDouble);
  auto z = torch::randn({2, 5, 12}, torch::kDouble);
  auto w = torch::randn({12}, torch::kDouble);
  auto g = y * z * torch::sigmoid(z);  // gate first (norm_before_gate = false)
  for (int64_t gs : {12, 4, 3}) {
    auto got = dm::ops::gated_rms_norm(y, z, w, 1e-5, gs);
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < 12; s += gs) {
      auto part = g.narrow(2, s, gs);
      parts.push_back(part / torch::sqrt(part.pow(2).mean(-1, true) + 1e-5));
    }
    DM_COMPARE_REL(got, torch::cat(parts, 2) * w, 1e-13, "gated rms norm");
  }
}

void TestOps::bad_shapes_raise() {
  auto x = torch::randn({2, 5, 6});
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError, dm::ops::causal_conv1d(x, torch::randn({5, 4}), {}, true));
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError, dm::ops::causal_conv1d(x, torch::randn({6, 4}), torch::randn({3}), true));
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError, dm::ops::rms_norm(x, torch::ones({5}), 1e-5));
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError, dm::ops::gated_rms_norm(x, x, torch::ones({6}), 1e-5, 4));
}

QTEST_APPLESS_MAIN(TestOps)
#include "tst_ops.moc"
