// The chunked SSD scan against the step-by-step recurrence (outputs, final states, gradients) and
// against central finite differences in double precision.
#include <torch/torch.h>

#include <QtTest>

#include "core/common/error.h"
#include "core/ops/dispatch.h"
#include "core/ops/ssd.h"
#include "tests/core/test_util.h"

using dm::ops::ssd_chunked;
using dm::ops::ssd_sequential;

namespace {

struct Inputs {
  torch::Tensor x, dt, A, B, C, D, init;
  std::vector<torch::Tensor> all() const {
    std::vector<torch::Tensor> v{x, dt, A, B, C, D};
    if (init.defined()) v.push_back(init);
    return v;
  }
};

Inputs make_inputs(int64_t b, int64_t l, int64_t h, int64_t p, int64_t n, int64_t g, bool with_init,
                   torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  auto o = torch::TensorOptions().dtype(dtype);
  Inputs in;
  in.x = torch::randn({b, l, h, p}, o);
  in.dt = torch::softplus(torch::randn({b, l, h}, o) - 1.0);       // positive, ~0.05..2
  in.A = -torch::exp(0.5 * torch::randn({h}, o));                   // negative
  in.B = torch::randn({b, l, g, n}, o);
  in.C = torch::randn({b, l, g, n}, o);
  in.D = torch::randn({h}, o);
  if (with_init) in.init = torch::randn({b, h, p, n}, o);
  return in;
}

Inputs with_grad(const Inputs& in) {
  Inputs r = in;
  for (auto* t : {&r.x, &r.dt, &r.A, &r.B, &r.C, &r.D, &r.init})
    if (t->defined()) *t = t->detach().clone().requires_grad_(true);
  return r;
}

// A scalar that depends on every output element and the final state with fixed random weights.
torch::Tensor probe_loss(const dm::ops::SsdResult& r, const torch::Tensor& wy, const torch::Tensor& ws) {
  return (r.y.to(wy.scalar_type()) * wy).sum() + (r.final_state.to(ws.scalar_type()) * ws).sum();
}

// Sets the chunked scan's segment-sum form for a scope and restores the one before after.
struct SegsumForm {
  dm::ops::SsdSegsum before = dm::ops::ssd_segsum();
  explicit SegsumForm(dm::ops::SsdSegsum f) { dm::ops::set_ssd_segsum(f); }
  ~SegsumForm() { dm::ops::set_ssd_segsum(before); }
};

}  // namespace

static void add_shape_rows(bool with_long);

class TestSsd : public QObject {
  Q_OBJECT

 private slots:
  void strong_decay_precision();
  void rare_large_steps_stable_segsum();
  void chunked_matches_oracle_data();
  void chunked_matches_oracle();
  void gradients_match_oracle_data() { add_shape_rows(false); }
  void gradients_match_oracle();
  void gradients_match_finite_differences();
  void chained_chunks_equal_one_call();
  void bad_shapes_raise();
};

void TestSsd::chunked_matches_oracle_data() { add_shape_rows(true); }

// The shapes both data-driven tests use; the long row only for outputs (the oracle's backward over
// 300 steps is slow and adds nothing the shorter rows do not cover).
static void add_shape_rows(bool with_long) {
  QTest::addColumn<int>("b");
  QTest::addColumn<int>("l");
  QTest::addColumn<int>("h");
  QTest::addColumn<int>("p");
  QTest::addColumn<int>("n");
  QTest::addColumn<int>("g");
  QTest::addColumn<int>("chunk");
  QTest::addColumn<bool>("init");
  QTest::newRow("L multiple of chunk, G=1") << 2 << 64 << 4 << 8 << 16 << 1 << 16 << false;
  QTest::newRow("L not a multiple, G=2, init") << 2 << 50 << 4 << 8 << 16 << 2 << 16 << true;
  QTest::newRow("L < chunk") << 1 << 10 << 2 << 4 << 8 << 1 << 32 << false;
  QTest::newRow("L < chunk, init") << 2 << 7 << 2 << 4 << 8 << 2 << 32 << true;
  QTest::newRow("odd sizes, G=3, init") << 3 << 37 << 6 << 5 << 7 << 3 << 8 << true;
  QTest::newRow("L = 1, init") << 2 << 1 << 4 << 8 << 4 << 1 << 16 << true;
  QTest::newRow("chunk 1") << 1 << 9 << 2 << 3 << 4 << 1 << 1 << true;
  if (with_long) QTest::newRow("long, chunk 64, G=2") << 2 << 300 << 4 << 16 << 16 << 2 << 64 << true;
}

void TestSsd::chunked_matches_oracle() {
  QFETCH(int, b);
  QFETCH(int, l);
  QFETCH(int, h);
  QFETCH(int, p);
  QFETCH(int, n);
  QFETCH(int, g);
  QFETCH(int, chunk);
  QFETCH(bool, init);
  auto in = make_inputs(b, l, h, p, n, g, init, torch::kFloat, 42 + l);
  torch::NoGradGuard ng;
  // The oracle runs in double so that the tolerance measures the chunked fp32 error alone.
  auto ref = ssd_sequential(in.x.to(torch::kDouble), in.dt.to(torch::kDouble), in.A.to(torch::kDouble),
                            in.B.to(torch::kDouble), in.C.to(torch::kDouble), in.D.to(torch::kDouble),
                            init ? in.init.to(torch::kDouble) : torch::Tensor());
  SegsumForm form(dm::ops::SsdSegsum::stable);
  for (auto f : {dm::ops::SsdSegsum::stable, dm::ops::SsdSegsum::difference}) {
    dm::ops::set_ssd_segsum(f);
    auto got = ssd_chunked(in.x, in.dt, in.A, in.B, in.C, in.D, chunk, in.init);
    QCOMPARE(got.y.sizes().vec(), (std::vector<int64_t>{b, l, h, p}));
    QCOMPARE(got.final_state.sizes().vec(), (std::vector<int64_t>{b, h, p, n}));
    QCOMPARE(got.y.scalar_type(), torch::kFloat);
    DM_COMPARE_REL(got.y, ref.y, 1e-5, "fp32 chunked y vs oracle");
    DM_COMPARE_REL(got.final_state, ref.final_state, 1e-5, "fp32 chunked final state vs oracle");
  }
  // The fp32 oracle agrees too (checks the oracle itself at the working precision).
  auto ref32 = ssd_sequential(in.x, in.dt, in.A, in.B, in.C, in.D, in.init);
  DM_COMPARE_REL(ref32.y, ref.y, 1e-5, "fp32 oracle y vs fp64 oracle");
}

void TestSsd::strong_decay_precision() {
  // Fast decay (|dt·A| ≈ 3.5 per step, ≈ −220 summed over a 64-step chunk): the fp32 chunked scan
  // still meets the fp32 tolerance against the fp64 oracle.
  torch::manual_seed(17);
  const int64_t b = 2, l = 200, h = 4, p = 8, n = 16;
  auto x = torch::randn({b, l, h, p});
  auto dt = torch::softplus(torch::randn({b, l, h}) + 1.0);
  auto A = -torch::exp(0.5 * torch::randn({h}) + 1.0);
  auto B = torch::randn({b, l, 1, n}), C = torch::randn({b, l, 1, n});
  auto init = torch::randn({b, h, p, n});
  torch::NoGradGuard ng;
  for (int64_t q : {64, 256}) {
    auto got = ssd_chunked(x, dt, A, B, C, {}, q, init);
    auto ref = ssd_sequential(x.to(torch::kDouble), dt.to(torch::kDouble), A.to(torch::kDouble),
                              B.to(torch::kDouble), C.to(torch::kDouble), {}, init.to(torch::kDouble));
    DM_COMPARE_REL(got.y, ref.y, 1e-5, q == 64 ? "y, chunk 64" : "y, chunk 256");
    DM_COMPARE_REL(got.final_state, ref.final_state, 1e-5, "final state");
  }
}

void TestSsd::rare_large_steps_stable_segsum() {
  // Tiny steps (dt 0.01) with a rare large one (1 %, dt 5..55) over L 2048: a running sum reaches
  // hundreds, and the difference form's segment sums a_t − a_s lose the tiny steps' digits to it. The
  // stable form sums each segment on its own and stays at the fp32 recurrence's own error or better.
  torch::manual_seed(5);
  const int64_t b = 1, l = 2048, h = 4, p = 8, n = 16;
  auto x = torch::randn({b, l, h, p});
  auto B = torch::randn({b, l, 1, n}), C = torch::randn({b, l, 1, n});
  auto large = torch::rand({b, l, h}) < 0.01;
  auto dt = torch::where(large, torch::rand({b, l, h}) * 50.0 + 5.0, torch::full({b, l, h}, 0.01));
  QVERIFY(large.sum().item<int64_t>() > 40);
  auto A = -torch::exp(0.5 * torch::randn({h}));
  torch::NoGradGuard ng;
  const auto dbl = [](const torch::Tensor& t) { return t.to(torch::kDouble); };
  auto ref = ssd_sequential(dbl(x), dbl(dt), dbl(A), dbl(B), dbl(C), {});
  const double recurrence = dm::test::rel_err(ssd_sequential(x, dt, A, B, C, {}).y, ref.y);
  SegsumForm form(dm::ops::SsdSegsum::stable);
  for (int64_t q : {64, 256}) {
    dm::ops::set_ssd_segsum(dm::ops::SsdSegsum::stable);
    auto stable = ssd_chunked(x, dt, A, B, C, {}, q);
    dm::ops::set_ssd_segsum(dm::ops::SsdSegsum::difference);
    auto difference = ssd_chunked(x, dt, A, B, C, {}, q);
    const double es = dm::test::rel_err(stable.y, ref.y), ed = dm::test::rel_err(difference.y, ref.y);
    qInfo("chunk %lld: y vs fp64 oracle: stable %.2e, difference %.2e, fp32 recurrence %.2e", static_cast<long long>(q),
          es, ed, recurrence);
    QVERIFY2(es <= std::max(recurrence, 1e-6), qPrintable(QString("stable %1 vs recurrence %2").arg(es).arg(recurrence)));
    QVERIFY2(es * 4 <= ed, qPrintable(QString("stable %1 not clearly better than difference %2").arg(es).arg(ed)));
    DM_COMPARE_REL(difference.y, ref.y, 1e-4, "difference form, within its documented bound");
    DM_COMPARE_REL(stable.final_state, ref.final_state, 1e-5, "stable final state");
  }
}

void TestSsd::gradients_match_oracle() {
  QFETCH(int, b);
  QFETCH(int, l);
  QFETCH(int, h);
  QFETCH(int, p);
  QFETCH(int, n);
  QFETCH(int, g);
  QFETCH(int, chunk);
  QFETCH(bool, init);
  auto base = make_inputs(b, l, h, p, n, g, init, torch::kDouble, 7 + l);
  auto wy = torch::randn({b, l, h, p}, torch::kDouble);
  auto ws = torch::randn({b, h, p, n}, torch::kDouble);
  auto a = with_grad(base);
  probe_loss(ssd_chunked(a.x, a.dt, a.A, a.B, a.C, a.D, chunk, a.init), wy, ws).backward();
  auto r = with_grad(base);
  probe_loss(ssd_sequential(r.x, r.dt, r.A, r.B, r.C, r.D, r.init), wy, ws).backward();
  const char* names[] = {"dx", "ddt", "dA", "dB", "dC", "dD", "dinit"};
  auto ga = a.all(), gr = r.all();
  for (size_t i = 0; i < ga.size(); ++i) DM_COMPARE_REL(ga[i].grad(), gr[i].grad(), 1e-10, names[i]);
  // fp32 chunked backward against the fp64 oracle gradients.
  Inputs f = base;
  for (auto* t : {&f.x, &f.dt, &f.A, &f.B, &f.C, &f.D, &f.init})
    if (t->defined()) *t = t->to(torch::kFloat);
  f = with_grad(f);
  probe_loss(ssd_chunked(f.x, f.dt, f.A, f.B, f.C, f.D, chunk, f.init), wy, ws).backward();
  auto gf = f.all();
  for (size_t i = 0; i < gf.size(); ++i) DM_COMPARE_REL(gf[i].grad(), gr[i].grad(), 2e-4, names[i]);
}

void TestSsd::gradients_match_finite_differences() {
  // Tiny shape, two chunks plus padding, G = 2, initial state: every element of every input.
  const int64_t b = 1, l = 5, h = 2, p = 2, n = 3, g = 2, chunk = 2;
  auto base = make_inputs(b, l, h, p, n, g, true, torch::kDouble, 99);
  auto wy = torch::randn({b, l, h, p}, torch::kDouble);
  auto ws = torch::randn({b, h, p, n}, torch::kDouble);
  auto a = with_grad(base);
  probe_loss(ssd_chunked(a.x, a.dt, a.A, a.B, a.C, a.D, chunk, a.init), wy, ws).backward();
  auto inputs = base.all();
  auto grads = a.all();
  const double eps = 1e-6;
  torch::NoGradGuard ng;
  int checked = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    auto flat = inputs[k].view({-1});
    auto gflat = grads[k].grad().reshape({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double orig = flat[i].item<double>();
      auto eval = [&](double v) {
        flat[i] = v;
        auto r = ssd_chunked(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], chunk, inputs[6]);
        return probe_loss(r, wy, ws).item<double>();
      };
      const double fd = (eval(orig + eps) - eval(orig - eps)) / (2 * eps);
      flat[i] = orig;
      const double an = gflat[i].item<double>();
      QVERIFY2(std::abs(fd - an) <= 1e-6 * std::max(1.0, std::abs(fd)),
               qPrintable(QString("input %1 element %2: autograd %3 vs finite difference %4").arg(k).arg(i).arg(an).arg(fd)));
      ++checked;
    }
  }
  QCOMPARE(checked, int(b * l * h * p + b * l * h + h + 2 * b * l * g * n + h + b * h * p * n));
}

void TestSsd::chained_chunks_equal_one_call() {
  // Running the first part, then the rest from its final state, equals one call on the whole.
  auto in = make_inputs(2, 45, 4, 8, 8, 1, true, torch::kDouble, 5);
  torch::NoGradGuard ng;
  auto whole = ssd_chunked(in.x, in.dt, in.A, in.B, in.C, in.D, 16, in.init);
  auto sl = [](const torch::Tensor& t, int64_t a, int64_t len) { return t.narrow(1, a, len); };
  auto first = ssd_chunked(sl(in.x, 0, 20), sl(in.dt, 0, 20), in.A, sl(in.B, 0, 20), sl(in.C, 0, 20), in.D, 16, in.init);
  auto rest = ssd_chunked(sl(in.x, 20, 25), sl(in.dt, 20, 25), in.A, sl(in.B, 20, 25), sl(in.C, 20, 25), in.D, 16,
                          first.final_state);
  DM_COMPARE_REL(torch::cat({first.y, rest.y}, 1), whole.y, 1e-12, "y of chained calls");
  DM_COMPARE_REL(rest.final_state, whole.final_state, 1e-12, "final state of chained calls");
}

void TestSsd::bad_shapes_raise() {
  auto in = make_inputs(1, 8, 4, 2, 3, 1, false, torch::kFloat, 1);
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError, ssd_chunked(in.x, in.dt.narrow(2, 0, 3), in.A, in.B, in.C, in.D, 4));
  auto b3 = torch::randn({1, 8, 3, 3});  // 3 groups do not divide 4 heads
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError, ssd_chunked(in.x, in.dt, in.A, b3, b3, in.D, 4));
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError, ssd_chunked(in.x, in.dt, in.A, in.B, in.C, in.D, 0));
  QVERIFY_THROWS_EXCEPTION(dm::ShapeError,
                           ssd_sequential(in.x, in.dt, in.A, in.B, in.C, in.D, torch::zeros({1, 4, 2, 5})));
}

QTEST_APPLESS_MAIN(TestSsd)
#include "tst_ssd.moc"
