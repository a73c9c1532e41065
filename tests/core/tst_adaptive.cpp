// The adaptive input embedding and adaptive softmax (WikiText-103's div_val 4 pipeline) against a
// token-by-token computation written from the definition, and inside a model.
#include <torch/torch.h>

#include <QtTest>

#include "core/model/adaptive.h"
#include "core/model/language_model.h"
#include "tests/core/test_util.h"

using namespace dm::model;

namespace {

AdaptiveConfig small_cfg() {
  AdaptiveConfig c;
  c.vocab_size = 50;
  c.d_model = 16;
  c.cutoffs = {10, 20, 35, 400};  // 400 >= V is dropped: clusters [0,10) [10,20) [20,35) [35,50)
  c.div_val = 2;
  return c;
}

}  // namespace

class TestAdaptive : public QObject {
  Q_OBJECT

 private slots:
  void embedding_matches_definition();
  void softmax_matches_definition();
  void model_names_shapes_and_decoding();
  void initialised_as_published();
};

void TestAdaptive::embedding_matches_definition() {
  torch::manual_seed(1);
  AdaptiveEmbedding emb(small_cfg());
  emb->eval();
  QCOMPARE(emb->bounds(), (std::vector<int64_t>{0, 10, 20, 35, 50}));
  QCOMPARE(emb->weights[2].sizes().vec(), (std::vector<int64_t>{15, 4}));  // 16 / 2²
  QCOMPARE(emb->projs[3].sizes().vec(), (std::vector<int64_t>{16, 2}));
  auto ids = torch::tensor({0, 9, 10, 19, 20, 34, 35, 49}, torch::kLong).view({2, 4});
  auto got = emb->forward(ids);
  QCOMPARE(got.sizes().vec(), (std::vector<int64_t>{2, 4, 16}));
  const std::vector<int64_t> b = {0, 10, 20, 35, 50};
  for (int64_t k = 0; k < 8; ++k) {
    const int64_t id = ids.view({-1})[k].item<int64_t>();
    size_t c = 0;
    while (id >= b[c + 1]) ++c;
    auto want = torch::matmul(emb->projs[c], emb->weights[c][id - b[c]]) * 4.0;  // × √16
    DM_COMPARE_REL(got.view({-1, 16})[k], want, 1e-6, "embedding of one id");
  }
}

void TestAdaptive::softmax_matches_definition() {
  torch::manual_seed(2);
  auto cfg = small_cfg();
  AdaptiveEmbedding emb(cfg);
  AdaptiveSoftmax sm(cfg, emb);
  sm->eval();
  {
    torch::NoGradGuard ng;
    sm->head_proj.normal_(0, 0.3);  // zero-initialised upstream; random here so the test sees it
    sm->cluster_weight.normal_(0, 0.3);
    sm->cluster_bias.normal_(0, 0.3);
  }
  auto h = torch::randn({6, 16});
  auto lp = sm->log_prob(h);
  QCOMPARE(lp.sizes().vec(), (std::vector<int64_t>{6, 50}));
  QVERIFY2(torch::logsumexp(lp, 1).abs().max().item<double>() < 1e-5, "probabilities sum to 1");
  // The definition, token by token: p(t) = p_head(t) for the shortlist, else
  // p_head(cluster of t) · p_tail(t | cluster).
  const std::vector<int64_t> b = {0, 10, 20, 35, 50};
  auto head_logits = torch::matmul(torch::matmul(h, sm->head_proj), torch::cat({emb->weights[0], sm->cluster_weight}).t()) +
                     torch::cat({sm->biases[0], sm->cluster_bias});
  auto head = torch::log_softmax(head_logits, 1);
  for (int64_t n = 0; n < 6; ++n)
    for (int64_t t = 0; t < 50; ++t) {
      size_t c = 0;
      while (t >= b[c + 1]) ++c;
      double want;
      if (c == 0) {
        want = head[n][t].item<double>();
      } else {
        auto tail = torch::log_softmax(torch::matmul(emb->weights[c], torch::matmul(h[n], emb->projs[c])) + sm->biases[c], 0);
        want = head[n][10 + static_cast<int64_t>(c) - 1].item<double>() + tail[t - b[c]].item<double>();
      }
      QVERIFY2(std::abs(lp[n][t].item<double>() - want) < 1e-5, qPrintable(QString("token %1").arg(t)));
    }
  // nll without full logits equals −log p of the target.
  auto target = torch::tensor({3, 12, 25, 40, 49, 0}, torch::kLong);
  DM_COMPARE_REL(sm->nll(h, target), -lp.gather(1, target.unsqueeze(1)).squeeze(1), 1e-6, "nll");
  // Gradients reach the shared embedding matrices and projections.
  sm->nll(h, target).sum().backward();
  for (size_t c = 0; c < 4; ++c) QVERIFY(emb->weights[c].grad().defined() && emb->weights[c].grad().abs().sum().item<double>() > 0);
  QVERIFY(emb->projs[2].grad().abs().sum().item<double>() > 0);
}

void TestAdaptive::model_names_shapes_and_decoding() {
  auto cfg = ModelConfig::lm_defaults(Family::diffmamba2);
  cfg.vocab_size = 60;
  cfg.d_model = 32;
  cfg.n_layers = 1;
  cfg.head_dim = 16;
  cfg.d_state = 8;
  cfg.chunk_size = 8;
  cfg.div_val = 4;
  cfg.cutoffs = {20, 40};
  torch::manual_seed(3);
  LanguageModel m(cfg);
  auto names = m->named_parameters();
  for (const char* k : {"backbone.embeddings.emb_layers.0.weight", "backbone.embeddings.emb_layers.2.weight",
                        "backbone.embeddings.emb_projs.1", "lm_head.out_projs.0", "lm_head.out_layers.2.bias",
                        "lm_head.cluster_weight", "lm_head.cluster_bias"})
    QVERIFY2(names.contains(k), k);
  QCOMPARE(names["backbone.embeddings.emb_layers.2.weight"].sizes().vec(), (std::vector<int64_t>{20, 2}));  // 32 / 4²
  QCOMPARE(names["lm_head.out_projs.0"].abs().max().item<double>(), 0.0);  // zero-initialised head projection
  for (const auto& item : names) QVERIFY2(item.key().find("lm_head") == std::string::npos || item.key().find("weight") == std::string::npos ||
                                              item.key() == "lm_head.cluster_weight", item.key().c_str());  // output weights are tied
  m->eval();
  torch::NoGradGuard ng;
  auto ids = torch::randint(0, 60, {2, 11}, torch::kLong);
  auto full = m->forward(ids);
  QVERIFY2(torch::logsumexp(full, -1).abs().max().item<double>() < 1e-5, "normalised");
  auto st = m->initial_state(2);
  std::vector<torch::Tensor> steps;
  for (int64_t t = 0; t < 11; ++t) steps.push_back(m->step(ids.select(1, t), st));
  DM_COMPARE_REL(torch::stack(steps, 1), full, 1e-4, "decoding with the adaptive head");
  auto targets = torch::randint(0, 60, {2, 11}, torch::kLong);
  DM_COMPARE_REL(m->token_nll(ids, targets), -full.gather(2, targets.unsqueeze(2)).squeeze(2), 1e-5, "token_nll");
}

void TestAdaptive::initialised_as_published() {
  // upstream.md §6.2 for the WT103 head: per-token biases of the head and of every tail U(±bias_scale·D^-1/2),
  // cluster logits and the head projection zero (the same per-token bias as the div_val-1 head's output_bias).
  auto c = small_cfg();
  c.vocab_size = 4000;
  c.cutoffs = {1000, 2000, 3000};
  c.d_model = 64;
  torch::manual_seed(0);
  AdaptiveEmbedding emb(c);
  AdaptiveSoftmax sm(c, emb);
  const double bound = 1.0 / 8.0;
  QCOMPARE(sm->biases.size(), size_t(4));
  for (const auto& b : sm->biases) {
    QVERIFY(b.abs().max().item<double>() <= bound);
    // Uniform on ±bound: standard deviation bound/√3 (1000 draws: within 10 %).
    QVERIFY(std::abs(b.std().item<double>() - bound / std::sqrt(3.0)) < 0.1 * bound / std::sqrt(3.0));
  }
  QCOMPARE(sm->cluster_weight.abs().sum().item<double>(), 0.0);
  QCOMPARE(sm->cluster_bias.abs().sum().item<double>(), 0.0);
  QCOMPARE(sm->head_proj.abs().sum().item<double>(), 0.0);
}

QTEST_APPLESS_MAIN(TestAdaptive)
#include "tst_adaptive.moc"
