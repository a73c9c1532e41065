// Implicit attention maps (core/model/implicit_attention): M·x + D·x reproduces the scan output the model's
// own forward produced, for every family with a Mamba2 scan and lengths across chunk boundaries; maps are
// lower-triangular; differential layers combine their branches with the block's λ; the metrics equal a
// direct computation.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "core/io/npz.h"
#include "core/jobs/attention_job.h"
#include "core/model/implicit_attention.h"
#include "tests/core/test_util.h"

using namespace dm;
using namespace dm::model;

namespace {

ModelConfig config_for(Family f, int64_t groups, int64_t chunk) {
  auto c = test::tiny_hf(f, 3);
  c.n_groups = groups;
  c.chunk_size = chunk;
  return c;
}

// Direct per-row metrics (a plain loop over the map's entries), the oracle of attention_stats.
AttentionStats direct_stats(const torch::Tensor& m, const std::vector<int64_t>& needle, const std::vector<int64_t>& rows) {
  const auto a = m.to(torch::kDouble).abs().contiguous();
  const auto* p = a.data_ptr<double>();
  const int64_t L = a.size(1);
  std::vector<bool> is_needle(L, false);
  for (auto j : needle) is_needle[j] = true;
  double mass = 0, ent = 0, nt = 0, ot = 0, nc = 0, oc = 0;
  AttentionStats s;
  for (auto i : rows) {
    double total = 0, nm = 0;
    int64_t nn = 0;
    for (int64_t j = 0; j <= i; ++j) {
      total += p[i * L + j];
      if (is_needle[j]) nm += p[i * L + j], ++nn;
    }
    if (!(total > 0)) continue;
    double e = 0;
    for (int64_t j = 0; j <= i; ++j) {
      const double q = p[i * L + j] / total;
      if (q > 0) e -= q * std::log(q);
    }
    mass += nm / total, ent += e, nt += nm, ot += total - nm, nc += nn, oc += i + 1 - nn;
    ++s.rows;
  }
  s.needle_mass = mass / s.rows;
  s.entropy = ent / s.rows;
  s.snr = (nt / nc) / (ot / oc);
  return s;
}

}  // namespace

class TestAttention : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::manual_seed(7); }

  void reproduces_scan_output_data() {
    QTest::addColumn<int>("family");
    QTest::addColumn<int>("groups");
    QTest::addColumn<int>("length");
    QTest::addColumn<int>("chunk");
    QTest::newRow("mamba2 L5") << int(Family::mamba2) << 1 << 5 << 16;
    QTest::newRow("mamba2 L40 chunk16 2 groups") << int(Family::mamba2) << 2 << 40 << 16;
    QTest::newRow("diffmamba2 L33 chunk8") << int(Family::diffmamba2) << 1 << 33 << 8;
    QTest::newRow("diffmamba2 L300 chunk256") << int(Family::diffmamba2) << 2 << 300 << 256;
    QTest::newRow("diffmamba2E L40 chunk16") << int(Family::diffmamba2E) << 1 << 40 << 16;
    QTest::newRow("diffs6mamba2 L40 chunk16") << int(Family::diffs6mamba2) << 1 << 40 << 16;
  }

  // Σ_j M[h, i, j] x_j + D_h x_i equals the scan output of the model's own forward, for every head of every
  // traced scan; every map is zero above the diagonal.
  void reproduces_scan_output() {
    QFETCH(int, family);
    QFETCH(int, groups);
    QFETCH(int, length);
    QFETCH(int, chunk);
    LanguageModel m(config_for(static_cast<Family>(family), groups, chunk));
    auto ids = torch::randint(0, 27, {length}, torch::kLong);
    const auto a = ImplicitAttention::trace(m, ids, {}, /*keep_values=*/true);
    QVERIFY(!a.layers().empty());
    QCOMPARE(a.length(), int64_t(length));
    int checked = 0;
    for (size_t li = 0; li < a.layers().size(); ++li) {
      const auto& l = a.layers()[li];
      for (size_t k = 0; k < l.branches.size(); ++k) {
        const auto& t = l.branches[k];
        const auto which = !l.differential() ? AttentionMap::combined : (k == 0 ? AttentionMap::branch1 : AttentionMap::branch2);
        for (int64_t h = 0; h < l.heads; ++h) {
          const int64_t th = h + l.head_offset[k];
          const auto M = a.matrix(li, h, which);
          QCOMPARE(M.sizes(), torch::IntArrayRef({length, length}));
          QCOMPARE(torch::triu(M, 1).abs().max().item<double>(), 0.0);
          auto x = t.x.index({0, torch::indexing::Slice(), th}).to(torch::kFloat);  // [L, P]
          auto y = torch::matmul(M, x) + t.d.index({th}).to(torch::kFloat) * x;
          DM_COMPARE_REL(y, t.y.index({0, torch::indexing::Slice(), th}), 1e-5, "M·x + D·x vs the forward's scan output");
          ++checked;
        }
      }
    }
    // Every head of every scan was checked (Diff-Mamba2E: both halves of its one scan).
    int64_t expected = 0;
    for (const auto& l : a.layers()) expected += l.heads * static_cast<int64_t>(l.branches.size());
    QCOMPARE(int64_t(checked), expected);
  }

  // The combined map of a differential layer is M₁ − λ·M₂ with the λ the block applies (λ set by hand).
  void differential_combination() {
    for (auto f : {Family::diffmamba2, Family::diffmamba2E}) {
      auto cfg = config_for(f, 1, 16);
      cfg.diff_layers = "all";
      LanguageModel m(cfg);
      {
        torch::NoGradGuard ng;
        auto& blk = m->backbone->layers[1];
        blk->lambda_q1.fill_(0.0);  // sigmoid(0) = 0.5
      }
      const double want = 0.5 + m->backbone->layers[1]->lambda_init();
      auto ids = torch::randint(0, 27, {24}, torch::kLong);
      const auto a = ImplicitAttention::trace(m, ids, {1});
      QCOMPARE(a.layers().size(), size_t(1));
      const auto& l = a.layers()[0];
      QVERIFY(l.differential());
      QCOMPARE(l.block, int64_t(1));
      QVERIFY(std::abs(l.lambda - want) < 1e-6);
      for (int64_t h = 0; h < l.heads; ++h) {
        auto c = a.matrix(0, h), b1 = a.matrix(0, h, AttentionMap::branch1), b2 = a.matrix(0, h, AttentionMap::branch2);
        DM_COMPARE_REL(c, b1 - want * b2, 1e-6, "combined = branch1 − λ·branch2");
        QVERIFY(!torch::allclose(b1, b2));
      }
    }
  }

  // Row blocks agree with the full map; the metrics equal the direct loop; needle = everything → mass 1.
  void metrics_equal_direct_computation() {
    LanguageModel m(config_for(Family::diffmamba2, 1, 16));
    auto ids = torch::randint(0, 27, {300}, torch::kLong);
    const auto a = ImplicitAttention::trace(m, ids);
    QVERIFY(a.layers()[0].differential() && !a.layers()[1].differential());  // alternate: even blocks
    const auto full = a.matrix(0, 0, AttentionMap::branch2);
    DM_COMPARE_REL(a.rows(0, 0, AttentionMap::branch2, 100, 290), full.slice(0, 100, 290), 1e-6, "rows vs matrix");
    const std::vector<int64_t> needle = {3, 4, 5, 120, 121, 299}, queries = {2, 50, 200, 260, 299};
    for (auto which : {AttentionMap::combined, AttentionMap::branch1}) {
      const auto s = attention_stats(a, 0, 0, which, needle, queries);
      const auto d = direct_stats(a.matrix(0, 0, which), needle, queries);
      QCOMPARE(s.rows, d.rows);
      // The maps are float32, computed here in row blocks of other sizes than the oracle's whole matrix (BLAS
      // may round a row differently): agreement to 1e-6 relative.
      QVERIFY2(std::abs(s.needle_mass - d.needle_mass) < 1e-6 * std::abs(d.needle_mass), qPrintable(QString::number(s.needle_mass)));
      QVERIFY(std::abs(s.entropy - d.entropy) < 1e-6 * std::abs(d.entropy));
      QVERIFY(std::abs(s.snr - d.snr) < 1e-6 * std::abs(d.snr));
      if (which == AttentionMap::combined) {
        double kept = 0, branch = 0;
        const auto c = a.matrix(0, 0).abs().to(torch::kDouble), b1 = a.matrix(0, 0, AttentionMap::branch1).abs().to(torch::kDouble);
        for (auto i : queries) kept += c[i].sum().item<double>(), branch += b1[i].sum().item<double>();
        QVERIFY(std::abs(s.removed - (1.0 - kept / branch)) < 1e-6);
      } else {
        QVERIFY(std::isnan(s.removed));
      }
    }
    std::vector<int64_t> all(300);
    for (int64_t i = 0; i < 300; ++i) all[i] = i;
    const auto s = attention_stats(a, 1, 1, AttentionMap::combined, all, {});
    QVERIFY(std::abs(s.needle_mass - 1.0) < 1e-12);
    QCOMPARE(s.rows, int64_t(300));
    QVERIFY(std::isnan(s.snr));  // no other tokens
    const auto avg = layer_attention_stats(a, 0, AttentionMap::combined, needle, queries);
    double mean = 0;
    for (int64_t h = 0; h < a.layers()[0].heads; ++h) mean += attention_stats(a, 0, h, AttentionMap::combined, needle, queries).needle_mass;
    QVERIFY(std::abs(avg.needle_mass - mean / a.layers()[0].heads) < 1e-12);
  }

  // Clear errors, and the model is left as it was (mode, no probes installed).
  void errors_and_cleanup() {
    LanguageModel m(config_for(Family::mamba2, 1, 16));
    m->train();
    auto ids = torch::randint(0, 27, {10}, torch::kLong);
    const auto a = ImplicitAttention::trace(m, ids, {2});
    QVERIFY(m->is_training());
    QVERIFY(!a.layers()[0].branches[0].x.defined() && a.layers()[0].branches[0].b.defined());  // only what maps need
    QVERIFY(m->backbone->layers[2]->mixer->trace == nullptr);
    QVERIFY(test::error_of([&] { ImplicitAttention::trace(m, ids, {3}); }).contains("blocks with a map: 0, 1, 2"));
    QVERIFY(test::error_of([&] { ImplicitAttention::trace(m, ids, {1, 0, 1}); }).contains("named twice"));
    QVERIFY(test::error_of([&] { a.rows(0, 99, AttentionMap::combined, 0, 10); }).contains("head"));
    QVERIFY(test::error_of([&] { a.rows(0, 0, AttentionMap::combined, 5, 11); }).contains("rows"));
    QVERIFY(test::error_of([&] { a.matrix(0, 0, AttentionMap::branch1); }).contains("only differential layers"));
    QVERIFY(test::error_of([&] { attention_stats(a, 0, 0, AttentionMap::combined, {10}, {}); }).contains("needle"));
    QVERIFY(test::error_of([&] { ImplicitAttention::trace(m, torch::zeros({0}, torch::kLong)); }).contains("one sequence"));
    LanguageModel s6(test::tiny_hf(Family::mamba, 2));
    QVERIFY(test::error_of([&] { ImplicitAttention::trace(s6, ids); }).contains("no Mamba2-family block"));
  }

  // Needle and question tokens are found in the text as the codec sees it (text8: lower case, one space).
  void sample_positions_from_text() {
    const auto codec = data::text8_codec();
    const std::string text = "Bob ran. Mary went to the kitchen. Fred left. Mary went to the kitchen! Where is Mary?";
    const auto s = jobs::attention_sample_from_text(*codec, text, {"Mary went to the kitchen."}, "Where is Mary?");
    QCOMPARE(s.ids.size(), s.tokens.size());
    std::string all;
    for (const auto& t : s.tokens) all += t;
    QCOMPARE(all, codec->normalize(text));
    const std::string key = "mary went to the kitchen";
    // Every occurrence, exactly its characters (one token per character in text8).
    std::vector<int64_t> want;
    for (size_t p = all.find(key); p != std::string::npos; p = all.find(key, p + 1))
      for (size_t k = 0; k < key.size(); ++k) want.push_back(static_cast<int64_t>(p + k));
    QCOMPARE(s.needle, want);
    const auto q = all.rfind("where is mary");
    QCOMPARE(s.question.front(), int64_t(q));
    QCOMPARE(s.question.size(), size_t(13));
    QCOMPARE(s.needle_origin, std::string("--needle"));
    QVERIFY(test::error_of([&] { jobs::attention_sample_from_text(*codec, "", {}, ""); }).contains("no tokens"));
  }

  // A BABILong record: its facts are the needle; without facts, the input's sentences naming the question's
  // words; the question's tokens are the last ones of the prompt.
  void sample_positions_from_record() {
    const auto codec = data::text8_codec();
    babilong::Record r{"qa1", "0k", "The sun rose. Mary moved to the office. It rained. John went to the garden.",
                       "Where is Mary?", "office", 0, {"Mary moved to the office."}};
    auto s = jobs::attention_sample_from_record(*codec, r);
    QCOMPARE(s.needle_origin, std::string("facts"));
    std::string all;
    for (const auto& t : s.tokens) all += t;
    const auto p = all.find("mary moved to the office");
    QCOMPARE(s.needle.front(), int64_t(p));
    QCOMPARE(s.needle.size(), std::string("mary moved to the office").size());
    QCOMPARE(s.question.front(), int64_t(all.rfind("where is mary")));
    QCOMPARE(s.question.size(), size_t(13));
    QVERIFY(all.size() - all.rfind("where is mary") <= 14);  // the question ends the prompt
    r.facts.clear();
    s = jobs::attention_sample_from_record(*codec, r);
    QCOMPARE(s.needle_origin, std::string("question words"));
    QCOMPARE(s.needle_sentences, std::vector<std::string>{"Mary moved to the office."});
    s = jobs::attention_sample_from_record(*codec, r, {"It rained."});
    QCOMPARE(s.needle_origin, std::string("--needle"));
    QCOMPARE(s.needle.front(), int64_t(all.find("it rained")));
  }

  // The file holds exactly the maps the core computes, the tokens and positions, and the report's metrics;
  // --heads keeps a subset; maps past 4 GiB are refused before anything is written.
  void npz_holds_maps_and_metrics() {
    QTemporaryDir d;
    const auto codec = data::text8_codec();
    LanguageModel m(config_for(Family::diffmamba2, 1, 16));
    const auto s = jobs::attention_sample_from_text(*codec, "mary went to the office then she asked where is mary",
                                                    {"went to the office"}, "where is mary");
    const auto a = ImplicitAttention::trace(m, torch::tensor(s.ids, torch::kLong));
    const auto report = jobs::attention_report(a, s);
    QCOMPARE(report.size(), size_t(3));
    QCOMPARE(report[0].kind, std::string("Diff-Mamba2"));
    QCOMPARE(report[1].kind, std::string("Mamba2"));
    QVERIFY(std::isnan(report[1].lambda) && std::isnan(report[1].combined.removed) && !std::isnan(report[0].combined.removed));
    const auto direct = layer_attention_stats(a, 0, AttentionMap::combined, s.needle, s.question);
    QCOMPARE(report[0].combined.needle_mass, direct.needle_mass);
    const auto path = d.filePath("a.npz").toStdString();
    jobs::AttentionFileOptions o;
    o.model = "tiny";
    jobs::write_attention_npz(path, a, s, report, o);
    io::NpzReader r(path);
    QCOMPARE(r.strings("tokens"), s.tokens);
    QVERIFY(torch::equal(r.tensor("needle"), torch::tensor(s.needle, torch::kLong)));
    QVERIFY(torch::equal(r.tensor("blocks"), torch::tensor(std::vector<int64_t>{0, 1, 2}, torch::kLong)));
    QCOMPARE(r.tensor("metrics/snr")[0].item<double>(), report[0].combined.snr);
    QCOMPARE(r.strings("kinds")[0], std::string("Diff-Mamba2"));
    QVERIFY(!r.contains("block1/branch1") && r.contains("block0/branch2") && r.contains("block2/branch1"));
    const auto maps = r.tensor("block0/combined");
    QCOMPARE(maps.sizes(), torch::IntArrayRef({a.layers()[0].heads, a.length(), a.length()}));
    for (int64_t h = 0; h < a.layers()[0].heads; ++h) QVERIFY(torch::equal(maps[h], a.matrix(0, h)));
    QVERIFY(torch::equal(r.tensor("block0/branch2")[0], a.matrix(0, 0, AttentionMap::branch2)));
    // A subset of heads, float16.
    o.heads = {1};
    o.float16 = true;
    jobs::write_attention_npz(path, a, s, report, o);
    io::NpzReader r2(path);
    QCOMPARE(r2.tensor("block1/combined").scalar_type(), torch::kHalf);
    QCOMPARE(r2.tensor("block1/combined").size(0), int64_t(1));
    DM_COMPARE_REL(r2.tensor("block1/combined")[0], a.matrix(1, 1), 1e-3, "float16 map");
    o.heads = {99};
    QVERIFY(test::error_of([&] { jobs::write_attention_npz(path, a, s, report, o); }).contains("has heads 0"));
    // 4 layers' maps of a 16k-token sample pass 4 GiB: refused with the ways out, no file left behind.
    const auto long_ids = torch::randint(0, 27, {16384}, torch::kLong);
    const auto big = ImplicitAttention::trace(m, long_ids);
    jobs::AttentionSample bs;
    bs.ids.assign(long_ids.data_ptr<int64_t>(), long_ids.data_ptr<int64_t>() + 16384);
    bs.tokens.assign(16384, "a");
    const auto big_path = d.filePath("big.npz").toStdString();
    const auto e = test::error_of([&] { jobs::write_attention_npz(big_path, big, bs, std::vector<jobs::AttentionLayerReport>(3), {}); });
    QVERIFY2(e.contains("at most 4 GiB") && e.contains("--float16"), qPrintable(e));
    QVERIFY(!QFileInfo::exists(QString::fromStdString(big_path)));
  }
};

QTEST_GUILESS_MAIN(TestAttention)
#include "tst_attention.moc"
