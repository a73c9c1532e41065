// Mamba-1's selective scan (S6): the fast CPU scan against the step-by-step oracle (outputs, final state,
// gradients of every input), its backward against finite differences in double, lengths around the
// checkpoint block, channel counts around the channel block, an initial state, one-token decoding,
// determinism across thread counts, low-precision inputs and shape errors.
#include <torch/torch.h>

#include <QtTest>

#include "core/ops/selective_scan.h"
#include "tests/core/test_util.h"

using dm::ops::kScanCheckpoint;
using dm::ops::selective_scan;
using dm::ops::selective_scan_sequential;
using dm::ops::selective_scan_step;

namespace {

struct Inputs {
  torch::Tensor u, delta, A, B, C, D, h0;
};

// Values like a trained Mamba-1 mixer's: Δ in (1e-3, 0.1]·e^x, A = −exp(A_log) with A_log = ln(1..N).
Inputs make(int64_t b, int64_t l, int64_t di, int64_t n, torch::ScalarType dtype, bool withD, bool withH0,
            uint64_t seed) {
  torch::manual_seed(seed);
  auto opt = torch::TensorOptions().dtype(dtype);
  Inputs in;
  in.u = torch::randn({b, l, di}, opt);
  in.delta = torch::softplus(torch::randn({b, l, di}, opt) - 2.0);
  in.A = -torch::arange(1, n + 1, opt).log().exp().unsqueeze(0).repeat({di, 1}) * (0.5 + torch::rand({di, 1}, opt));
  in.B = torch::randn({b, l, n}, opt);
  in.C = torch::randn({b, l, n}, opt);
  if (withD) in.D = torch::randn({di}, opt);
  if (withH0) in.h0 = torch::randn({b, di, n}, opt);
  return in;
}

std::vector<torch::Tensor> leaves(Inputs& in) {
  std::vector<torch::Tensor> out;
  for (auto* t : {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.h0})
    if (t->defined()) {
      *t = t->detach().requires_grad_(true);
      out.push_back(*t);
    }
  return out;
}

// A loss that reads every output: Σ y·wy + Σ h_final·wh with fixed random weights.
torch::Tensor loss_of(const dm::ops::ScanResult& r, uint64_t seed) {
  torch::manual_seed(seed);
  auto wy = torch::randn(r.y.sizes(), r.y.options());
  auto wh = torch::randn(r.final_state.sizes(), r.final_state.options());
  return (r.y * wy).sum() + (r.final_state * wh).sum();
}

}  // namespace

class TestSelectiveScan : public QObject {
  Q_OBJECT

 private slots:
  void fast_matches_the_oracle();
  void gradients_match_the_oracle();
  void backward_matches_finite_differences();
  void decoding_steps_continue_the_scan();
  void deterministic_across_thread_counts();
  void low_precision_inputs();
  void bad_shapes_are_refused();
};

void TestSelectiveScan::fast_matches_the_oracle() {
  // Lengths around the checkpoint block (64) and channel counts around the channel block (16).
  for (int64_t l : {int64_t(1), int64_t(5), kScanCheckpoint - 1, kScanCheckpoint, kScanCheckpoint + 1, int64_t(200)})
    for (int64_t di : {int64_t(3), int64_t(37)})
      for (bool extras : {false, true}) {
        auto in = make(2, l, di, 6, torch::kDouble, extras, extras, 11 + l + di);
        const auto fast = selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0);
        const auto ref = selective_scan_sequential(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0);
        const QByteArray what = "L " + QByteArray::number(qlonglong(l)) + " Di " + QByteArray::number(qlonglong(di)) +
                                (extras ? " with D, h0" : "");
        DM_COMPARE_REL(fast.y, ref.y, 1e-12, (what + " y").constData());
        DM_COMPARE_REL(fast.final_state, ref.final_state, 1e-12, (what + " final state").constData());
        QCOMPARE(fast.y.sizes(), ref.y.sizes());
      }
  // fp32: within fp32 rounding of the double oracle, at a length of 2,000.
  auto in = make(2, 2000, 48, 16, torch::kFloat, true, true, 5);
  const auto fast = selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0);
  const auto ref = selective_scan_sequential(in.u.to(torch::kDouble), in.delta.to(torch::kDouble), in.A.to(torch::kDouble),
                                             in.B.to(torch::kDouble), in.C.to(torch::kDouble), in.D.to(torch::kDouble),
                                             in.h0.to(torch::kDouble));
  QCOMPARE(fast.y.scalar_type(), torch::kFloat);
  DM_COMPARE_REL(fast.y, ref.y, 2e-5, "fp32 y, L 2000");
  DM_COMPARE_REL(fast.final_state, ref.final_state, 2e-5, "fp32 final state, L 2000");
  // Decays far below fp32's range (Δ·A down to about −3,000) vanish as they should: no NaN, the oracle's numbers.
  auto big = make(1, 100, 16, 16, torch::kFloat, true, true, 6);
  big.delta = big.delta * 50;
  const auto fb = selective_scan(big.u, big.delta, big.A, big.B, big.C, big.D, big.h0);
  const auto rb = selective_scan_sequential(big.u, big.delta, big.A, big.B, big.C, big.D, big.h0);
  QVERIFY(torch::isfinite(fb.y).all().item<bool>());
  DM_COMPARE_REL(fb.y, rb.y, 2e-5, "fp32 y, large decays");
  // An empty sequence: no output, the initial state back.
  auto e = make(1, 0, 4, 3, torch::kDouble, true, true, 3);
  const auto empty = selective_scan(e.u, e.delta, e.A, e.B, e.C, e.D, e.h0);
  QCOMPARE(empty.y.size(1), int64_t(0));
  QVERIFY(torch::equal(empty.final_state, e.h0));
}

void TestSelectiveScan::gradients_match_the_oracle() {
  for (int64_t l : {int64_t(7), kScanCheckpoint + 9, int64_t(150)})
    for (bool extras : {false, true}) {
      auto a = make(2, l, 21, 5, torch::kDouble, extras, extras, 40 + l);
      auto b = a;
      auto la = leaves(a), lb = leaves(b);
      loss_of(selective_scan(a.u, a.delta, a.A, a.B, a.C, a.D, a.h0), 9).backward();
      loss_of(selective_scan_sequential(b.u, b.delta, b.A, b.B, b.C, b.D, b.h0), 9).backward();
      const char* names[] = {"du", "ddelta", "dA", "dB", "dC", "dD", "dh0"};
      for (size_t i = 0; i < la.size(); ++i) {
        QVERIFY(la[i].grad().defined());
        DM_COMPARE_REL(la[i].grad(), lb[i].grad(), 1e-11, names[i]);
      }
    }
}

void TestSelectiveScan::backward_matches_finite_differences() {
  // Central differences in double of the loss with respect to single entries of every input.
  auto in = make(1, kScanCheckpoint + 6, 19, 4, torch::kDouble, true, true, 77);
  auto ls = leaves(in);
  loss_of(selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0), 3).backward();
  torch::NoGradGuard off;
  const double eps = 1e-6;
  const char* names[] = {"u", "delta", "A", "B", "C", "D", "h0"};
  for (size_t i = 0; i < ls.size(); ++i) {
    auto flat = ls[i].detach().view(-1);
    for (int64_t k : {int64_t(0), flat.numel() / 2, flat.numel() - 1}) {
      const double keep = flat[k].item<double>();
      auto eval = [&] { return loss_of(selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0), 3).item<double>(); };
      flat[k] = keep + eps;
      const double up = eval();
      flat[k] = keep - eps;
      const double down = eval();
      flat[k] = keep;
      const double numeric = (up - down) / (2 * eps), analytic = ls[i].grad().view(-1)[k].item<double>();
      QVERIFY2(std::abs(numeric - analytic) <= 1e-6 * std::max(1.0, std::abs(numeric)),
               qPrintable(QStringLiteral("d%1[%2]: finite difference %3, backward %4")
                              .arg(names[i]).arg(k).arg(numeric, 0, 'g', 12).arg(analytic, 0, 'g', 12)));
    }
  }
}

void TestSelectiveScan::decoding_steps_continue_the_scan() {
  // Prefill 30 tokens, then 10 single steps from the final state: the same outputs as one scan of 40.
  auto in = make(2, 40, 24, 8, torch::kDouble, true, false, 8);
  const auto full = selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D);
  auto pre = selective_scan(in.u.narrow(1, 0, 30), in.delta.narrow(1, 0, 30), in.A, in.B.narrow(1, 0, 30),
                            in.C.narrow(1, 0, 30), in.D);
  auto state = pre.final_state;
  for (int64_t t = 30; t < 40; ++t) {
    const auto r = selective_scan_step(in.u.select(1, t), in.delta.select(1, t), in.A, in.B.select(1, t),
                                       in.C.select(1, t), in.D, state);
    DM_COMPARE_REL(r.y, full.y.select(1, t), 1e-12, "decoding step");
    state = r.final_state;
  }
  DM_COMPARE_REL(state, full.final_state, 1e-12, "state after decoding");
}

void TestSelectiveScan::deterministic_across_thread_counts() {
  auto run = [](int threads) {
    at::set_num_threads(threads);
    auto in = make(3, 130, 70, 16, torch::kFloat, true, true, 21);
    auto ls = leaves(in);
    loss_of(selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0), 4).backward();
    std::vector<torch::Tensor> grads;
    for (auto& t : ls) grads.push_back(t.grad().clone());
    return grads;
  };
  const int keep = at::get_num_threads();
  const auto one = run(1), two = run(2);
  at::set_num_threads(keep);
  for (size_t i = 0; i < one.size(); ++i) QVERIFY2(torch::equal(one[i], two[i]), "bit-identical gradients");
}

void TestSelectiveScan::low_precision_inputs() {
  // bf16 activations: computed in fp32, y returned in bf16, gradients in each input's dtype.
  auto in = make(1, 90, 16, 8, torch::kFloat, true, false, 31);
  auto u = in.u.to(torch::kBFloat16).requires_grad_(true);
  const auto r = selective_scan(u, in.delta, in.A, in.B, in.C, in.D);
  QCOMPARE(r.y.scalar_type(), torch::kBFloat16);
  QCOMPARE(r.final_state.scalar_type(), torch::kFloat);
  const auto ref = selective_scan_sequential(u.detach().to(torch::kFloat), in.delta, in.A, in.B, in.C, in.D);
  DM_COMPARE_REL(r.y, ref.y, 1e-2, "bf16 y");
  r.y.to(torch::kFloat).sum().backward();
  QCOMPARE(u.grad().scalar_type(), torch::kBFloat16);
}

void TestSelectiveScan::bad_shapes_are_refused() {
  auto in = make(2, 5, 4, 3, torch::kFloat, true, true, 1);
  using dm::test::error_of;
  QVERIFY(error_of<dm::ShapeError>([&] { selective_scan(in.u, in.delta.narrow(1, 0, 4), in.A, in.B, in.C, in.D); })
              .contains("delta must have u's shape"));
  QVERIFY(error_of<dm::ShapeError>([&] { selective_scan(in.u, in.delta, in.A.t(), in.B, in.C, in.D); })
              .contains("A must be [Di, N]"));
  QVERIFY(error_of<dm::ShapeError>([&] { selective_scan(in.u, in.delta, in.A, in.B.narrow(2, 0, 2), in.C, in.D); })
              .contains("B must be [B, L, N]"));
  QVERIFY(error_of<dm::ShapeError>([&] { selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.h0.narrow(1, 0, 3)); })
              .contains("initial_state must be [B, Di, N]"));
  QVERIFY(error_of<dm::ShapeError>([&] { selective_scan(in.u.select(1, 0), in.delta, in.A, in.B, in.C, in.D); })
              .contains("u must be [B, L, Di]"));
  QVERIFY(error_of<dm::ShapeError>([&] {
            selective_scan_step(in.u.select(1, 0), in.delta.select(1, 0), in.A, in.B.select(1, 0), in.C.select(1, 0),
                                in.D, in.h0.narrow(2, 0, 2));
          }).contains("step state must be [B, Di, N]"));
}

QTEST_APPLESS_MAIN(TestSelectiveScan)
#include "tst_selective_scan.moc"
