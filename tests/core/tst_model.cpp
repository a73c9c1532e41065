// Mamba2 / Diff-Mamba2 models: decoding against the full forward, the Diff-Mamba combination and
// λ_init, closed-form parameter counts, parameter names, and construction-time validation.
#include <torch/torch.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/io/model_file.h"
#include "core/io/safetensors.h"
#include "core/model/language_model.h"
#include "tests/core/test_util.h"

using dm::model::Backbone;
using dm::model::Family;
using dm::model::LanguageModel;
using dm::model::ModelConfig;

namespace {

ModelConfig small(Backbone bb, Family fam) {
  ModelConfig c = bb == Backbone::lm ? ModelConfig::lm_defaults(fam) : ModelConfig::hf_370m(fam);
  c.vocab_size = 50;
  c.d_model = 32;
  c.n_layers = bb == Backbone::lm ? 2 : 4;
  c.expand = 2;
  c.head_dim = 16;
  c.d_state = 8;
  c.chunk_size = 8;
  c.dropout = 0.0;
  return c;
}

// Closed-form parameter counts (upstream.md §2.1, §6.1, §6.8).
int64_t mixer_params(int64_t d, int64_t e, int64_t p, int64_t n, int64_t g, int64_t k, bool bias, bool conv_bias) {
  const int64_t di = e * d, h = di / p, r = 2 * di + 2 * g * n + h, c = di + 2 * g * n;
  return r * d + (bias ? r : 0) + c * k + (conv_bias ? c : 0) + 3 * h + di + di * d + (bias ? d : 0);
}

int64_t model_params(const ModelConfig& c) {
  const int64_t d = c.d_model;
  const int64_t full = mixer_params(d, c.expand, c.head_dim, c.d_state, c.n_groups, c.conv_kernel, c.use_bias, c.use_conv_bias);
  const int64_t pair = 2 * mixer_params(d, c.expand / 2, c.head_dim / 2, c.d_state, c.n_groups, c.conv_kernel,
                                        c.use_bias, c.use_conv_bias) + 2 * d;  // + lambda_q1 + subln
  int64_t total = c.vocab_size * d + (c.tie_embeddings ? 0 : c.vocab_size * d);
  if (c.has_output_bias()) total += c.vocab_size;                                             // output_bias
  if (c.has_cluster_logits()) total += static_cast<int64_t>(c.cutoffs.size()) * (d + 1);      // cluster logits
  if (c.backbone == Backbone::hf) {
    for (int64_t i = 0; i < c.n_layers; ++i) total += d + (c.is_diff_block(i) ? pair : full);
    total += d;  // norm_f
  } else {
    const int64_t ffn = d * c.ffn_expand * d + c.ffn_expand * d + c.ffn_expand * d * d + d;
    const int64_t sub = c.family == Family::diffmamba2 ? pair : full;
    total += c.n_layers * (2 * sub + ffn + 3 * 2 * d);  // three LayerNorms (weight + bias)
  }
  return total;
}

int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

class TestModel : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::set_num_threads(2); }
  void decoding_matches_forward_data();
  void decoding_matches_forward();
  void lambda_init_values();
  void diff_blocks_get_their_index();
  void diff_combination_formula();
  void hf_block_forward_formula();
  void lm_block_forward_formula();
  void mixer_counts_match_spec();
  void model_counts_match_closed_form_data();
  void model_counts_match_closed_form();
  void hf_370m_names_and_counts();
  void memory_budget_refuses_before_building();
  void invalid_hyperparameters_raise_at_construction();
  void mixer_initialisation();
  void layers_match_libtorch_init_and_skip_it();
  void published_head_bias_and_clusters();
  void output_bias_in_files_and_legacy_files();
  void output_bias_learns_the_unigram();
};

void TestModel::decoding_matches_forward_data() {
  QTest::addColumn<int>("backbone");
  QTest::addColumn<int>("family");
  QTest::addColumn<QString>("diff_layers");
  QTest::addColumn<int>("groups");
  QTest::newRow("lm mamba2") << int(Backbone::lm) << int(Family::mamba2) << "alternate" << 1;
  QTest::newRow("lm diffmamba2") << int(Backbone::lm) << int(Family::diffmamba2) << "alternate" << 1;
  QTest::newRow("hf mamba2") << int(Backbone::hf) << int(Family::mamba2) << "alternate" << 1;
  QTest::newRow("hf diffmamba2 alternate") << int(Backbone::hf) << int(Family::diffmamba2) << "alternate" << 1;
  QTest::newRow("hf diffmamba2 all, 2 groups") << int(Backbone::hf) << int(Family::diffmamba2) << "all" << 2;
}

void TestModel::decoding_matches_forward() {
  QFETCH(int, backbone);
  QFETCH(int, family);
  QFETCH(QString, diff_layers);
  QFETCH(int, groups);
  auto cfg = small(Backbone(backbone), Family(family));
  cfg.diff_layers = diff_layers.toStdString();
  cfg.n_groups = groups;
  torch::manual_seed(11);
  LanguageModel m(cfg);
  m->to(torch::kDouble);
  m->eval();
  torch::NoGradGuard ng;
  const int64_t b = 2, l = 21;  // not a multiple of the chunk (8)
  auto ids = torch::randint(0, cfg.vocab_size, {b, l}, torch::kLong);
  auto full = m->forward(ids);
  QCOMPARE(full.sizes().vec(), (std::vector<int64_t>{b, l, cfg.vocab_size}));
  // 1. Token by token from an empty state.
  auto st = m->initial_state(b);
  std::vector<torch::Tensor> steps;
  for (int64_t t = 0; t < l; ++t) steps.push_back(m->step(ids.select(1, t), st));
  DM_COMPARE_REL(torch::stack(steps, 1), full, 1e-10, "step-by-step logits vs forward");
  QCOMPARE(st.position, l);
  // 2. Prefill a prefix with the chunked forward, then decode the rest.
  dm::model::DecodeState pre;
  auto head = m->forward_ex(ids.narrow(1, 0, 13), nullptr, &pre);
  DM_COMPARE_REL(head, full.narrow(1, 0, 13), 1e-10, "prefix logits");
  std::vector<torch::Tensor> rest;
  for (int64_t t = 13; t < l; ++t) rest.push_back(m->step(ids.select(1, t), pre));
  DM_COMPARE_REL(torch::stack(rest, 1), full.narrow(1, 13, l - 13), 1e-10, "prefill + decode logits");
  // 3. The same in fp32 with an fp32 tolerance.
  m->to(torch::kFloat);
  auto full32 = m->forward(ids);
  auto st32 = m->initial_state(b);
  std::vector<torch::Tensor> steps32;
  for (int64_t t = 0; t < l; ++t) steps32.push_back(m->step(ids.select(1, t), st32));
  DM_COMPARE_REL(torch::stack(steps32, 1), full32, 1e-4, "fp32 step-by-step logits vs forward");
}

void TestModel::lambda_init_values() {
  // upstream.md §4.1 (4 decimals) and checkpoint-formats.md §5.3 (6 decimals).
  const std::vector<std::pair<int, double>> four = {{0, 0.2000}, {1, 0.3555}, {2, 0.4707}, {3, 0.5561}, {4, 0.6193},
                                                    {6, 0.7008}, {7, 0.7265}, {10, 0.7701}, {20, 0.7985}};
  for (auto [l, v] : four)
    QVERIFY2(std::abs(dm::model::lambda_init(l) - v) < 5e-5, qPrintable(QString("lambda_init(%1)").arg(l)));
  const std::vector<std::pair<int, double>> six = {{0, 0.2},       {2, 0.470713},  {4, 0.619283},
                                                   {6, 0.700821},  {8, 0.745569},  {10, 0.770128},
                                                   {16, 0.795062}, {22, 0.799184}, {46, 0.799999}};
  for (auto [l, v] : six)
    QVERIFY2(std::abs(dm::model::lambda_init(l) - v) < 5e-7, qPrintable(QString("lambda_init(%1)").arg(l)));
}

void TestModel::diff_blocks_get_their_index() {
  // lm: ℓ is the flattened sub-layer position, FFN positions counted: 0, 1, 3, 4, 6, 7.
  auto lm = small(Backbone::lm, Family::diffmamba2);
  lm.n_layers = 3;
  LanguageModel a(lm);
  std::vector<int64_t> diff_idx;
  for (const auto& blk : a->backbone->layers) {
    if (blk->kind() == dm::model::SubLayer::diffmamba2) {
      diff_idx.push_back(blk->index());
      QCOMPARE(blk->lambda_init(), dm::model::lambda_init(blk->index()));
    }
    QCOMPARE(blk->kind() == dm::model::SubLayer::ffn, blk->index() % 3 == 2);
  }
  QCOMPARE(diff_idx, (std::vector<int64_t>{0, 1, 3, 4, 6, 7}));
  // hf: which blocks are differential follows diff_layers; ℓ = block index.
  auto hf = small(Backbone::hf, Family::diffmamba2);
  hf.n_layers = 8;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> cases = {
      {"alternate", {0, 2, 4, 6}}, {"all", {0, 1, 2, 3, 4, 5, 6, 7}}, {"quarter", {6, 7}}, {"3", {5, 6, 7}}};
  for (const auto& [setting, want] : cases) {
    hf.diff_layers = setting;
    LanguageModel m(hf);
    std::vector<int64_t> got;
    for (const auto& blk : m->backbone->layers)
      if (blk->kind() == dm::model::SubLayer::diffmamba2) {
        got.push_back(blk->index());
        QCOMPARE(blk->lambda_init(), dm::model::lambda_init(blk->index()));
      }
    QVERIFY2(got == want, setting.c_str());
  }
}

void TestModel::diff_combination_formula() {
  auto cfg = small(Backbone::hf, Family::diffmamba2);
  LanguageModel m(cfg);
  auto blk = m->backbone->layers[2];  // ℓ = 2
  QCOMPARE(blk->kind(), dm::model::SubLayer::diffmamba2);
  torch::NoGradGuard ng;
  // Hand-set weights: Σ lambda_q1 = 0.75 → λ = sigmoid(0.75) + λ_init(2).
  blk->lambda_q1.fill_(0.75 / cfg.d_model);
  blk->subln->weight.copy_(torch::linspace(0.5, 1.5, cfg.d_model));
  auto y1 = torch::randn({2, 3, cfg.d_model});
  auto y2 = torch::randn({2, 3, cfg.d_model});
  const double li = 0.8 - 0.6 * std::exp(-0.6);
  const double lam = 1.0 / (1.0 + std::exp(-0.75)) + li;
  QVERIFY(std::abs(blk->lambda().item<double>() - lam) < 1e-6);
  auto a = (y1 - lam * y2).to(torch::kDouble);
  auto want = a / torch::sqrt(a.pow(2).mean(-1, true) + 1e-5) * torch::linspace(0.5, 1.5, cfg.d_model, torch::kDouble) * (1 - li);
  DM_COMPARE_REL(blk->combine(y1, y2), want, 1e-6, "subln(y1 - λ y2)(1 - λ_init)");
}

void TestModel::hf_block_forward_formula() {
  auto cfg = small(Backbone::hf, Family::diffmamba2);
  LanguageModel m(cfg);
  m->to(torch::kDouble);
  torch::NoGradGuard ng;
  auto x = torch::randn({2, 10, cfg.d_model}, torch::kDouble);
  auto diff = m->backbone->layers[0];
  auto h = diff->rms_norm->forward(x);
  auto want = x + diff->combine(diff->mixer_1->forward(h), diff->mixer_2->forward(h));
  DM_COMPARE_REL(diff->forward(x), want, 1e-12, "hf diff block = x + combine(m1(norm x), m2(norm x))");
  auto plain = m->backbone->layers[1];
  QCOMPARE(plain->kind(), dm::model::SubLayer::mamba2);
  DM_COMPARE_REL(plain->forward(x), x + plain->mixer->forward(plain->rms_norm->forward(x)), 1e-12,
                 "hf block = x + mixer(norm x)");
  // Full model = norm_f then the tied head.
  auto ids = torch::randint(0, cfg.vocab_size, {1, 6}, torch::kLong);
  auto hs = m->backbone->embeddings->forward(ids);
  for (auto& blk : m->backbone->layers) hs = blk->forward(hs);
  auto logits = torch::matmul(m->backbone->norm_f->forward(hs), m->backbone->embeddings->weight.t());
  DM_COMPARE_REL(m->forward(ids), logits, 1e-12, "hf model logits");
}

void TestModel::lm_block_forward_formula() {
  auto cfg = small(Backbone::lm, Family::diffmamba2);
  cfg.dropout = 0.3;
  LanguageModel m(cfg);
  m->to(torch::kDouble);
  m->eval();  // dropout off
  torch::NoGradGuard ng;
  auto x = torch::randn({2, 9, cfg.d_model}, torch::kDouble);
  auto blk = m->backbone->layers[0];
  auto f = blk->combine(blk->mixer_1->forward(x), blk->mixer_2->forward(x));
  DM_COMPARE_REL(blk->forward(x), blk->layer_norm->forward(x + f), 1e-12, "lm block = LN(x + f(x))");
  auto ffn = m->backbone->layers[2];
  auto g = ffn->ffn->fc2->forward(torch::gelu(ffn->ffn->fc1->forward(x)));
  DM_COMPARE_REL(ffn->forward(x), ffn->layer_norm->forward(x + g), 1e-12, "lm FFN block");
  // Embedding scaled by √D, tied output, no final norm.
  auto ids = torch::randint(0, cfg.vocab_size, {1, 5}, torch::kLong);
  auto hs = m->backbone->embeddings->forward(ids) * std::sqrt(double(cfg.d_model));
  for (auto& b : m->backbone->layers) hs = b->forward(hs);
  DM_COMPARE_REL(m->forward(ids), torch::matmul(hs, m->backbone->embeddings->weight.t()) + m->output_bias, 1e-12,
                 "lm model logits (tied output + per-token bias)");
  // In training mode dropout is active and the output changes.
  m->train();
  QVERIFY((blk->forward(x) - blk->layer_norm->forward(x + f)).abs().max().item<double>() > 1e-6);
}

void TestModel::mixer_counts_match_spec() {
  // upstream.md §2.1 table and §6.8.
  auto make = [](int64_t e, int64_t p, int64_t n) {
    dm::model::MixerConfig c;
    c.d_model = 1024;
    c.expand = e;
    c.head_dim = p;
    c.d_state = n;
    return c;
  };
  QCOMPARE(count(dm::model::Mamba2MixerImpl(make(2, 128, 64))), int64_t(6451888));
  QCOMPARE(count(dm::model::Mamba2MixerImpl(make(1, 64, 64))), int64_t(3300016));
  QCOMPARE(count(dm::model::Mamba2MixerImpl(make(2, 64, 128))), int64_t(6600032));
  QCOMPARE(count(dm::model::Mamba2MixerImpl(make(1, 32, 128))), int64_t(3448160));
  // A Diff-Mamba2 sub-layer of the lm backbone (pair + λ + subln) and the FFN at D = 1024.
  auto cfg = ModelConfig::lm_defaults(Family::diffmamba2);
  cfg.n_layers = 1;
  cfg.vocab_size = 27;
  LanguageModel lm(cfg);
  auto blk = lm->backbone->layers[0];
  QCOMPARE(count(*blk) - 2 * 1024, int64_t(6602080));  // minus the LayerNorm
  QCOMPARE(count(*lm->backbone->layers[2]->ffn), int64_t(8393728));
}

void TestModel::model_counts_match_closed_form_data() {
  QTest::addColumn<int>("backbone");
  QTest::addColumn<int>("family");
  QTest::addColumn<int>("d");
  QTest::addColumn<int>("layers");
  QTest::addColumn<bool>("tied");
  QTest::addColumn<bool>("bias");
  QTest::newRow("lm mamba2 64x2") << int(Backbone::lm) << int(Family::mamba2) << 64 << 2 << true << false;
  QTest::newRow("lm diffmamba2 64x2") << int(Backbone::lm) << int(Family::diffmamba2) << 64 << 2 << true << false;
  QTest::newRow("lm diffmamba2 128x3 untied") << int(Backbone::lm) << int(Family::diffmamba2) << 128 << 3 << false << false;
  QTest::newRow("lm mamba2 64x2 cluster logits (bias column: faithful_clusters)") << int(Backbone::lm)
                                                                                    << int(Family::mamba2) << 64 << 2
                                                                                    << true << true;
  QTest::newRow("hf mamba2 64x5 bias") << int(Backbone::hf) << int(Family::mamba2) << 64 << 5 << true << true;
  QTest::newRow("hf diffmamba2 64x5") << int(Backbone::hf) << int(Family::diffmamba2) << 64 << 5 << true << false;
  QTest::newRow("hf diffmamba2 96x4 untied bias") << int(Backbone::hf) << int(Family::diffmamba2) << 96 << 4 << false << true;
}

void TestModel::model_counts_match_closed_form() {
  QFETCH(int, backbone);
  QFETCH(int, family);
  QFETCH(int, d);
  QFETCH(int, layers);
  QFETCH(bool, tied);
  QFETCH(bool, bias);
  auto cfg = small(Backbone(backbone), Family(family));
  cfg.d_model = d;
  cfg.n_layers = layers;
  cfg.tie_embeddings = tied;
  // The lm rows use the bias column for the published head's cluster logits (the lm mixers have no bias).
  if (cfg.backbone == Backbone::lm) cfg.faithful_clusters = bias;
  else cfg.use_bias = bias;
  LanguageModel m(cfg);
  QCOMPARE(m->num_parameters(), model_params(cfg));
  // The library's own count (used to refuse a model before building it) agrees with the built model.
  QCOMPARE(cfg.parameter_count(), static_cast<double>(m->num_parameters()));
  QCOMPARE(bool(m->lm_head), !tied);
  QCOMPARE(m->output_bias.defined(), cfg.backbone == Backbone::lm);
  QCOMPARE(m->cluster_weight.defined(), cfg.backbone == Backbone::lm && bias);
}

void TestModel::memory_budget_refuses_before_building() {
  // The adaptive (WikiText-103) head and the 370M hf models: the closed form matches what is built.
  auto wt = small(Backbone::lm, Family::diffmamba2);
  wt.vocab_size = 1000;
  wt.div_val = 4;
  wt.cutoffs = {100, 300};
  QCOMPARE(wt.parameter_count(), static_cast<double>(LanguageModel(wt)->num_parameters()));
  for (auto fam : {Family::mamba2, Family::diffmamba2}) {
    const auto cfg = ModelConfig::hf_370m(fam);
    dm::model::SkipInit skip;
    QCOMPARE(cfg.parameter_count(), static_cast<double>(LanguageModel(cfg)->num_parameters()));
  }
  // A million layers: refused at once, naming the sizes and the budget, with nothing allocated.
  auto huge = small(Backbone::hf, Family::mamba2);
  huge.n_layers = 1000000;
  huge.d_model = 4096;
  QElapsedTimer t;
  t.start();
  QString e;
  try {
    LanguageModel m(huge);
  } catch (const dm::ConfigError& err) {
    e = err.what();
  }
  QVERIFY2(e.contains("n_layers 1000000") && e.contains("memory budget") && e.contains("DM_MAX_MODEL_GB"), qPrintable(e));
  QVERIFY2(t.elapsed() < 5000, "the refusal must not build anything");
  // The budget is an option: a tiny one refuses the 370M model, a broken value is named.
  qputenv("DM_MAX_MODEL_GB", "0.5");
  QVERIFY_THROWS_EXCEPTION(dm::ConfigError, ModelConfig::hf_370m(Family::mamba2).check_memory_budget());
  small(Backbone::lm, Family::mamba2).check_memory_budget();  // a small one still fits
  // Training: a lower bound of weights, gradients, optimizer state and activations against the same budget.
  small(Backbone::lm, Family::mamba2).check_training_budget(8, 512);
  try {
    small(Backbone::lm, Family::mamba2).check_training_budget(4096, 1 << 20);
    QFAIL("4096 × 2^20 tokens fit half a GiB");
  } catch (const dm::ConfigError& err) {
    QVERIFY2(QString(err.what()).contains("loader.l_max") && QString(err.what()).contains("4096 × 1048576"), err.what());
  }
  qputenv("DM_MAX_MODEL_GB", "lots");
  QVERIFY_THROWS_EXCEPTION(dm::ConfigError, small(Backbone::lm, Family::mamba2).check_memory_budget());
  qunsetenv("DM_MAX_MODEL_GB");
  // Sizes beyond 2^24 are refused by validation, before any product of them can overflow.
  auto wide = small(Backbone::hf, Family::mamba2);
  wide.d_model = int64_t{1} << 40;
  QVERIFY_THROWS_EXCEPTION(dm::ConfigError, wide.validate());
}

void TestModel::hf_370m_names_and_counts() {
  // checkpoint-formats.md §3.2 / §5.2: 434 keys vanilla, 674 with "alternate"; tied head not stored.
  for (auto fam : {Family::mamba2, Family::diffmamba2}) {
    auto cfg = ModelConfig::hf_370m(fam);
    LanguageModel m(cfg);
    auto names = m->named_parameters();
    QCOMPARE(int(names.size()), fam == Family::mamba2 ? 434 : 674);
    QCOMPARE(m->num_parameters(), model_params(cfg));
    QVERIFY(names.contains("backbone.embeddings.weight"));
    QVERIFY(names.contains("backbone.norm_f.weight"));
    QVERIFY(!names.contains("lm_head.weight"));
    if (fam == Family::mamba2) {
      QCOMPARE(names["backbone.layers.47.mixer.in_proj.weight"].sizes().vec(), (std::vector<int64_t>{4384, 1024}));
      QCOMPARE(names["backbone.layers.3.mixer.conv1d.weight"].sizes().vec(), (std::vector<int64_t>{2304, 1, 4}));
      QCOMPARE(names["backbone.layers.0.mixer.norm.weight"].sizes().vec(), (std::vector<int64_t>{2048}));
    } else {
      QCOMPARE(names["backbone.layers.0.mixer_1.in_proj.weight"].sizes().vec(), (std::vector<int64_t>{2336, 1024}));
      QCOMPARE(names["backbone.layers.46.mixer_2.conv1d.weight"].sizes().vec(), (std::vector<int64_t>{1280, 1, 4}));
      QCOMPARE(names["backbone.layers.2.mixer_2.out_proj.weight"].sizes().vec(), (std::vector<int64_t>{1024, 1024}));
      QCOMPARE(names["backbone.layers.2.lambda_q1"].sizes().vec(), (std::vector<int64_t>{1024}));
      QCOMPARE(names["backbone.layers.2.subln.weight"].sizes().vec(), (std::vector<int64_t>{1024}));
      QVERIFY(names.contains("backbone.layers.1.mixer.A_log"));
      QVERIFY(!names.contains("backbone.layers.0.mixer.A_log"));
      // 6,899,392 parameters per differential block (§5.2).
      QCOMPARE(count(*m->backbone->layers[0]), int64_t(6899392));
    }
  }
}

void TestModel::invalid_hyperparameters_raise_at_construction() {
  auto expect = [](ModelConfig c, const std::string& param) {
    try {
      LanguageModel m(c);
      QFAIL(qPrintable(QString::fromStdString("no error for bad " + param)));
    } catch (const dm::ConfigError& e) {
      QVERIFY2(e.parameter().find(param) != std::string::npos,
               qPrintable(QString::fromStdString("error names '" + e.parameter() + "', expected " + param + ": " + e.what())));
      QVERIFY(!e.rule().empty());
    }
  };
  auto c = small(Backbone::lm, Family::mamba2);
  auto bad = c;
  bad.head_dim = 24;  // d_inner 64 not divisible by 24
  expect(bad, "head_dim");
  bad = c;
  bad.n_groups = 3;  // 4 heads
  expect(bad, "n_groups");
  for (int which = 0; which < 6; ++which) {
    bad = c;
    int64_t* fields[] = {&bad.d_model, &bad.n_layers, &bad.vocab_size, &bad.d_state, &bad.chunk_size, &bad.expand};
    *fields[which] = 0;
    try {
      LanguageModel m(bad);
      QFAIL("a zero size was accepted");
    } catch (const dm::ConfigError& e) {
      QVERIFY2(QString(e.what()).contains("positive"), e.what());
    }
  }
  bad = small(Backbone::hf, Family::diffmamba2);
  bad.diff_layers = "every-other";
  expect(bad, "diff_layers");
  bad = small(Backbone::hf, Family::diffmamba2);
  bad.expand = 3;
  bad.head_dim = 32;
  expect(bad, "expand");
  bad = c;
  bad.dropout = 1.5;
  expect(bad, "dropout");
  bad = c;
  bad.dt_min = 0.5;
  bad.dt_max = 0.1;
  expect(bad, "dt_min");
}

void TestModel::mixer_initialisation() {
  dm::model::MixerConfig c;
  c.d_model = 256;
  c.expand = 2;
  c.head_dim = 8;  // 64 heads: enough draws to check the ranges
  torch::manual_seed(0);
  dm::model::Mamba2MixerImpl lm(c);
  torch::NoGradGuard ng;
  auto dt = torch::softplus(lm.dt_bias.to(torch::kDouble));
  QVERIFY(dt.min().item<double>() >= 1e-4 - 1e-9 && dt.max().item<double>() <= 0.1 + 1e-7);
  auto a = torch::exp(lm.A_log);
  QVERIFY(a.min().item<double>() >= 1.0 && a.max().item<double>() <= 16.0);
  QVERIFY(a.std().item<double>() > 1.0);  // spread over the range, not constant
  QCOMPARE(lm.D.min().item<double>(), 1.0);
  QCOMPARE(lm.norm->weight.max().item<double>(), 1.0);
  QVERIFY(lm.conv1d->weight.abs().max().item<double>() <= 0.5);
  c.init = dm::model::InitStyle::hf;
  dm::model::Mamba2MixerImpl hf(c);
  DM_COMPARE_REL(hf.A_log, torch::log(torch::arange(1, c.n_heads() + 1, torch::kFloat)), 1e-7, "hf A_log = log(1..H)");
}

void TestModel::layers_match_libtorch_init_and_skip_it() {
  // Dense / Embed draw exactly what torch::nn::Linear / Embedding draw for the same seed.
  torch::manual_seed(11);
  torch::nn::Linear ref(torch::nn::LinearOptions(7, 5).bias(true));
  torch::nn::Embedding ref_e(9, 4);
  torch::nn::Conv1d ref_c(torch::nn::Conv1dOptions(6, 6, 4).groups(6).bias(true));
  torch::manual_seed(11);
  dm::model::Dense ours(7, 5, true);
  dm::model::Embed ours_e(9, 4);
  dm::model::DepthwiseConv ours_c(6, 4, true);
  QVERIFY(torch::equal(ours_c->weight, ref_c->weight));
  QVERIFY(torch::equal(ours_c->bias, ref_c->bias));
  QVERIFY(torch::equal(ours->weight, ref->weight));
  QVERIFY(torch::equal(ours->bias, ref->bias));
  QVERIFY(torch::equal(ours_e->weight, ref_e->weight));
  auto x = torch::randn({3, 7});
  QVERIFY(torch::allclose(ours->forward(x), ref->forward(x)));
  // Under SkipInit nothing is drawn: the generator is where it was, and the guard nests and restores.
  auto cfg = small(Backbone::hf, Family::diffmamba2);
  torch::manual_seed(5);
  const auto before = torch::rand({1});
  torch::manual_seed(5);
  {
    dm::model::SkipInit outer;
    {
      dm::model::SkipInit inner;
    }
    QVERIFY(dm::model::init_skipped());
    dm::model::LanguageModel m(cfg);
  }
  QVERIFY(!dm::model::init_skipped());
  QVERIFY(torch::equal(torch::rand({1}), before));
}

QTEST_APPLESS_MAIN(TestModel)
void TestModel::published_head_bias_and_clusters() {
  // The published div_val-1 output layer, written from its formula by tests/data/make_fixtures.py
  // published_head: tied weight + per-token bias, and (faithful_clusters) the 3 cluster logits in the
  // head softmax.
  const auto ref = dm::io::read_safetensors(std::string(DM_TEST_DATA) + "/lm_head/published_head.safetensors");
  const auto h = *ref.find("h");
  for (bool faithful : {true, false}) {
    auto cfg = small(Backbone::lm, Family::mamba2);
    cfg.vocab_size = 27;
    cfg.d_model = 16;
    cfg.head_dim = 8;
    cfg.faithful_clusters = faithful;
    LanguageModel m(cfg);
    m->eval();
    torch::NoGradGuard ng;
    m->backbone->embeddings->weight.copy_(*ref.find("weight"));
    m->output_bias.copy_(*ref.find("output_bias"));
    if (faithful) {
      m->cluster_weight.copy_(*ref.find("cluster_weight"));
      m->cluster_bias.copy_(*ref.find("cluster_bias"));
    }
    const auto got = faithful ? m->head(h) : torch::log_softmax(m->head(h), -1);
    DM_COMPARE_REL(got, *ref.find(faithful ? "logp_faithful" : "logp_bias_only"), 1e-6,
                   faithful ? "log-probs with the cluster logits" : "log-probs with the output bias");
    if (faithful) {  // the dummy clusters keep some probability: the tokens' sum below 1
      const double mass = got.exp().sum(-1).max().item<double>();
      QVERIFY2(mass < 1.0 - 1e-4, qPrintable(QString::number(mass)));
    }
  }
  // The loss path agrees with the head: token_nll = −log p(target) through the whole model.
  auto cfg = small(Backbone::lm, Family::mamba2);
  cfg.faithful_clusters = true;
  LanguageModel m(cfg);
  m->eval();
  torch::NoGradGuard ng;
  m->cluster_bias.fill_(0.7);
  auto ids = torch::randint(0, cfg.vocab_size, {2, 9});
  auto targets = torch::randint(0, cfg.vocab_size, {2, 9});
  targets[0][3] = -100;
  const auto nll = m->token_nll(ids, targets);
  const auto logp = m->forward(ids);
  QCOMPARE(nll[0][3].item<double>(), 0.0);
  DM_COMPARE_REL(nll[1], -logp[1].gather(-1, targets[1].unsqueeze(-1)).squeeze(-1), 1e-6, "token_nll vs the head");
}

void TestModel::output_bias_in_files_and_legacy_files() {
  auto cfg = small(Backbone::lm, Family::diffmamba2);
  LanguageModel m(cfg);
  // Initialised as published: U(±D^-1/2), not zero.
  QVERIFY(m->output_bias.abs().max().item<double>() <= 1.0 / std::sqrt(32.0));
  QVERIFY(m->output_bias.abs().max().item<double>() > 0.05);
  QTemporaryDir d;
  const std::string path = d.filePath("m.safetensors").toStdString();
  dm::io::save_model(m, path);
  const auto file = dm::io::read_safetensors(path);
  QVERIFY(file.find("output_bias"));
  auto back = dm::io::load_model(path);
  QVERIFY(torch::equal(back->output_bias, m->output_bias));
  // A file from before the bias (no tensor, no config key) loads with a zero bias.
  dm::io::NamedTensors old;
  for (const auto& [name, t] : file.tensors)
    if (name != "output_bias") old.emplace_back(name, t);
  auto meta = file.metadata;
  auto j = nlohmann::json::parse(meta.at("dm_model_config"));
  j.erase("output_bias");
  j.erase("faithful_clusters");
  meta["dm_model_config"] = j.dump();
  const std::string legacy = d.filePath("old.safetensors").toStdString();
  dm::io::write_safetensors(legacy, old, meta);
  auto loaded = dm::io::load_model(legacy);
  QCOMPARE(loaded->output_bias.abs().sum().item<double>(), 0.0);
  // A file that says it has the bias but lacks the tensor is damaged.
  meta["dm_model_config"] = nlohmann::json::parse(file.metadata.at("dm_model_config")).dump();
  dm::io::write_safetensors(legacy, old, meta);
  QVERIFY(dm::test::error_of([&] { dm::io::load_model(legacy); }).contains("output_bias"));
}

void TestModel::output_bias_learns_the_unigram() {
  // A skewed text8-style stream (symbol 5 is 70 % of it, the rest uniform): the same tiny model, same seed,
  // with and without the output bias, 20 AdamW steps. The bias is a direct unigram term: the model with it
  // ends with the lower held-out loss, and its bias grew most for symbol 5.
  auto draw = [](int64_t rows, uint64_t seed) {
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto other = torch::randint(0, 27, {rows, 33}, g, torch::kLong);
    auto skew = torch::rand({rows, 33}, g) < 0.7;
    return torch::where(skew, torch::full_like(other, 5), other);
  };
  const auto held = draw(8, 99);
  std::vector<double> final_loss;
  for (bool with_bias : {true, false}) {
    auto cfg = small(Backbone::lm, Family::mamba2);
    cfg.vocab_size = 27;
    cfg.n_layers = 1;
    cfg.output_bias = with_bias;
    torch::manual_seed(3);
    LanguageModel m(cfg);
    torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
    const auto bias_before = with_bias ? m->output_bias.detach().clone() : torch::Tensor();
    for (int step = 0; step < 20; ++step) {
      const auto b = draw(8, static_cast<uint64_t>(step));
      opt.zero_grad();
      m->loss(b.narrow(1, 0, 32), b.narrow(1, 1, 32)).backward();
      opt.step();
    }
    m->eval();
    torch::NoGradGuard ng;
    final_loss.push_back(m->loss(held.narrow(1, 0, 32), held.narrow(1, 1, 32)).item<double>());
    // The bias moved most toward the frequent symbol.
    if (with_bias) QCOMPARE((m->output_bias - bias_before).argmax().item<int64_t>(), int64_t{5});
  }
  qInfo("held-out loss after 20 steps: with output bias %.4f, without %.4f", final_loss[0], final_loss[1]);
  QVERIFY2(final_loss[0] < final_loss[1], qPrintable(QString("%1 vs %2").arg(final_loss[0]).arg(final_loss[1])));

  // The bias alone (every other parameter frozen) learns the unigram: the held-out loss falls and the
  // frequent symbol gets the largest bias.
  auto cfg = small(Backbone::lm, Family::mamba2);
  cfg.vocab_size = 27;
  cfg.n_layers = 1;
  torch::manual_seed(3);
  LanguageModel m(cfg);
  for (auto& p : m->parameters()) p.requires_grad_(false);
  m->output_bias.requires_grad_(true);
  auto held_loss = [&] {
    torch::NoGradGuard ng;
    m->eval();
    const double l = m->loss(held.narrow(1, 0, 32), held.narrow(1, 1, 32)).item<double>();
    m->train();
    return l;
  };
  const double before = held_loss();
  torch::optim::Adam opt({m->output_bias}, torch::optim::AdamOptions(0.05));
  for (int step = 0; step < 100; ++step) {
    const auto b = draw(8, 1000 + static_cast<uint64_t>(step));
    opt.zero_grad();
    m->loss(b.narrow(1, 0, 32), b.narrow(1, 1, 32)).backward();
    opt.step();
  }
  const double after = held_loss();
  qInfo("bias only: held-out loss %.4f -> %.4f", before, after);
  QVERIFY(after < before - 0.1);
  QCOMPARE(m->output_bias.argmax().item<int64_t>(), int64_t{5});
}

#include "tst_model.moc"
