// The MAD task generators (core/mad/tasks): every task and setting has instances of its length with tokens
// in its vocabulary; each task's structure holds instance by instance (what is scored, and that it can be
// answered from the context); data are deterministic in the seed; the settings are the seed's. Training:
// mad-lab's accuracy, the seed's layer configs, a run that learns and is recorded, and a benchmark whose
// scores are those of its sweep.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <map>
#include <set>

#include "core/common/error.h"
#include "core/mad/benchmark.h"
#include "core/mad/tasks.h"
#include "core/mad/train.h"
#include "core/store/run_store.h"
#include "tests/core/test_util.h"

using dm::mad::kIgnore;
using dm::mad::Settings;
using dm::mad::Split;

namespace {

Settings small(const std::string& task, const std::string& setting = "baseline", int64_t train = 64, int64_t test = 64) {
  auto s = dm::mad::task_setting(task, setting);
  s.num_train_examples = train;
  s.num_test_examples = test;
  return s;
}

std::vector<int64_t> row(const std::vector<int64_t>& v, const Split& s, int64_t i) {
  return {v.begin() + i * s.len, v.begin() + (i + 1) * s.len};
}

int64_t scored(const std::vector<int64_t>& targets) {
  return std::count_if(targets.begin(), targets.end(), [](int64_t t) { return t != kIgnore; });
}

}  // namespace

class TestMad : public QObject {
  Q_OBJECT

 private slots:
  void settings_are_the_seeds();
  void every_setting_generates_valid_instances();
  void recall_is_answerable_from_the_context();
  void noisy_recall_never_scores_noise();
  void fuzzy_recall_motifs();
  void selective_copying_copies_the_content();
  void compression_and_memorization();
  void deterministic_in_the_seed();
  void bad_settings_are_refused();
  void macro_accuracy_is_torchmetrics();
  void model_configs();
  void training_learns_and_is_recorded();
  void benchmark_scores_the_sweep();
};

void TestMad::settings_are_the_seeds() {
  // Baseline first, then one change at a time (spec upstream.md §11, the seed's vendored lists).
  const std::map<std::string, std::vector<std::string>> want = {
      {"in-context-recall", {"baseline", "vocab_size=32", "vocab_size=64", "seq_len=256", "seq_len=512", "num_train_examples=6400"}},
      {"noisy-in-context-recall", {"baseline", "vocab_size=48", "seq_len=512", "num_train_examples=6400", "frac_noise=0.6"}},
      {"fuzzy-in-context-recall", {"baseline", "vocab_size=32", "vocab_size=64", "seq_len=512", "num_train_examples=6400"}},
      {"selective-copying", {"baseline", "vocab_size=32", "seq_len=512", "num_train_examples=6400", "num_tokens_to_copy=32"}},
      {"compression", {"baseline", "vocab_size=32", "vocab_size=64", "seq_len=64", "seq_len=128", "num_train_examples=6400"}},
      {"memorization", {"baseline", "vocab_size=512", "vocab_size=1024", "vocab_size=2048", "vocab_size=4096", "vocab_size=8192"}}};
  QCOMPARE(dm::mad::task_names().size(), want.size());
  for (const auto& [task, names] : want) {
    std::vector<std::string> got;
    for (const auto& s : dm::mad::task_settings(task)) {
      got.push_back(s.name);
      QCOMPARE(s.num_test_examples, int64_t{1280});
      QCOMPARE(s.seed, uint64_t{12345});
    }
    QVERIFY2(got == names, task.c_str());
  }
  const auto cr = dm::mad::task_setting("in-context-recall", "baseline");
  QCOMPARE(cr.vocab_size, int64_t{16});
  QCOMPARE(cr.seq_len, int64_t{128});
  QCOMPARE(cr.num_train_examples, int64_t{12800});
  QCOMPARE(cr.instance_length(), int64_t{127});  // multi-query: the last input is dropped by the shift
  const auto nr = dm::mad::task_setting("noisy-in-context-recall", "frac_noise=0.6");
  QCOMPARE(nr.vocab_size, int64_t{32});
  QCOMPARE(nr.noise_vocab_size, int64_t{16});
  QCOMPARE(nr.frac_noise, 0.6);
  const auto fr = dm::mad::task_setting("fuzzy-in-context-recall", "baseline");
  QCOMPARE(fr.k_motif_size, int64_t{3});
  QCOMPARE(fr.instance_length(), int64_t{128});
  const auto sc = dm::mad::task_setting("selective-copying", "num_tokens_to_copy=32");
  QCOMPARE(sc.seq_len, int64_t{256});
  QCOMPARE(sc.num_tokens_to_copy, int64_t{32});
  const auto m = dm::mad::task_setting("memorization", "baseline");
  QCOMPARE(m.vocab_size, int64_t{256});
  QCOMPARE(m.seq_len, int64_t{32});
  QCOMPARE(m.num_train_examples, int64_t{256});
  QCOMPARE(dm::mad::task_setting("compression", "baseline").seq_len, int64_t{32});
}

void TestMad::every_setting_generates_valid_instances() {
  for (const auto& task : dm::mad::task_names())
    for (const auto& base : dm::mad::task_settings(task)) {
      auto s = base;
      s.num_train_examples = 8;
      s.num_test_examples = 8;
      const auto d = dm::mad::generate(s);
      const QByteArray what = QByteArray::fromStdString(task + " " + s.name);
      for (const Split* split : {&d.train, &d.test}) {
        QCOMPARE(split->len, s.instance_length());
        QCOMPARE(static_cast<int64_t>(split->inputs.size()), split->n * split->len);
        QCOMPARE(split->targets.size(), split->inputs.size());
        for (int64_t t : split->inputs) QVERIFY2(t >= 0 && t < s.vocab_size, what.constData());
        for (int64_t t : split->targets) QVERIFY2(t == kIgnore || (t >= 0 && t < s.vocab_size), what.constData());
        for (int64_t i = 0; i < split->n; ++i) QVERIFY2(scored(row(split->targets, *split, i)) > 0, what.constData());
      }
    }
}

void TestMad::recall_is_answerable_from_the_context() {
  // Test instances score the value of a key seen before, at the key's position (the model predicts the next
  // token); the pair stood earlier in the same context. Training instances are next-token targets everywhere.
  const auto s = small("in-context-recall");
  const auto d = dm::mad::generate(s);
  int64_t total = 0;
  for (int64_t i = 0; i < d.test.n; ++i) {
    const auto in = row(d.test.inputs, d.test, i), tg = row(d.test.targets, d.test, i);
    for (int64_t t = 0; t < d.test.len; ++t) {
      if (tg[t] == kIgnore) continue;
      ++total;
      QVERIFY(in[t] < 8 && tg[t] >= 8);  // a key (0..7) asks for a value (8..15)
      bool earlier = false;
      for (int64_t j = 0; j + 1 < t; ++j) earlier |= in[j] == in[t] && in[j + 1] == tg[t];
      QVERIFY2(earlier, "the scored value was shown with its key before");
    }
    QVERIFY(tg.back() != kIgnore);  // the final probe
  }
  QVERIFY(total > d.test.n);  // multi-query: more than the probe alone
  for (int64_t i = 0; i < d.train.n; ++i) {
    const auto in = row(d.train.inputs, d.train, i), tg = row(d.train.targets, d.train, i);
    QCOMPARE(scored(tg), d.train.len);
    for (int64_t t = 0; t + 1 < d.train.len; ++t) QCOMPARE(tg[t], in[t + 1]);
  }
}

void TestMad::noisy_recall_never_scores_noise() {
  auto s = small("noisy-in-context-recall", "baseline", 8, 200);
  const auto d = dm::mad::generate(s);
  int64_t noise = 0, tokens = 0;
  for (int64_t i = 0; i < d.test.n * d.test.len; ++i) {
    const bool is_noise = d.test.inputs[static_cast<size_t>(i)] >= 16;  // noise tokens 16..31
    noise += is_noise;
    ++tokens;
    if (d.test.targets[static_cast<size_t>(i)] != kIgnore) QVERIFY(d.test.targets[static_cast<size_t>(i)] < 16);
  }
  // Pairs are noise with probability 0.2 (one pair of each context never is).
  const double frac = static_cast<double>(noise) / static_cast<double>(tokens);
  QVERIFY2(frac > 0.17 && frac < 0.23, qPrintable(QString::number(frac)));
}

void TestMad::fuzzy_recall_motifs() {
  // Keys 0..6, values 7..14, pad 15 on the left; the test set ends with a 3-token key and its value motif,
  // which is scored token by token.
  const auto s = small("fuzzy-in-context-recall");
  const auto d = dm::mad::generate(s);
  for (int64_t i = 0; i < d.test.n; ++i) {
    const auto in = row(d.test.inputs, d.test, i), tg = row(d.test.targets, d.test, i);
    int64_t last_scored = -1, run = 0;
    for (int64_t t = 0; t < d.test.len; ++t)
      if (tg[t] != kIgnore) {
        QVERIFY(tg[t] >= 7 && tg[t] <= 14);
        last_scored = t;
      }
    QCOMPARE(last_scored, d.test.len - 1);
    for (int64_t t = d.test.len - 1; t >= 0 && tg[t] != kIgnore; --t) ++run;
    QVERIFY(run >= 1 && run <= 3);
    // The probe key: the three inputs before the value motif, all keys, distinct.
    const int64_t k0 = d.test.len - run - 2;
    std::set<int64_t> key(in.begin() + k0, in.begin() + k0 + 3);
    QCOMPARE(key.size(), size_t{3});
    for (int64_t k : key) QVERIFY(k <= 6);
    QCOMPARE(in[0], int64_t{15});  // left padding
  }
}

void TestMad::selective_copying_copies_the_content() {
  const auto s = small("selective-copying");
  const auto d = dm::mad::generate(s);
  for (const Split* split : {&d.train, &d.test})  // the same format in both
    for (int64_t i = 0; i < split->n; ++i) {
      const auto in = row(split->inputs, *split, i), tg = row(split->targets, *split, i);
      const int64_t copy_at = s.seq_len - s.num_tokens_to_copy - 1;
      QCOMPARE(in[copy_at], int64_t{15});
      std::vector<int64_t> content;
      for (int64_t t = 0; t < copy_at; ++t)
        if (in[t] != 14) content.push_back(in[t]);
      const std::vector<int64_t> copied(tg.begin() + copy_at + 1, tg.end());
      QVERIFY(content == copied);
      QCOMPARE(scored(tg), s.num_tokens_to_copy);
      for (int64_t t = copy_at + 1; t < s.seq_len; ++t) QCOMPARE(in[t], int64_t{14});
    }
}

void TestMad::compression_and_memorization() {
  const auto c = dm::mad::generate(small("compression"));
  QVERIFY(c.train.inputs == c.train.targets);  // every token is reconstructed
  for (int64_t i = 0; i < c.train.n; ++i) QCOMPARE(c.train.inputs[static_cast<size_t>((i + 1) * c.train.len - 1)], int64_t{15});
  // Memorisation: key, insert token (255) → the key's value, one fixed map shared by train and test.
  const auto m = dm::mad::generate(small("memorization"));
  std::map<int64_t, int64_t> map;
  for (const Split* split : {&m.train, &m.test})
    for (int64_t t = 0; t + 1 < split->n * split->len; t += 2) {
      const auto k = split->inputs[static_cast<size_t>(t)], v = split->targets[static_cast<size_t>(t + 1)];
      QCOMPARE(split->inputs[static_cast<size_t>(t + 1)], int64_t{255});
      QCOMPARE(split->targets[static_cast<size_t>(t)], kIgnore);
      QVERIFY(k < 127 && v >= 127 && v < 255);
      auto [it, fresh] = map.emplace(k, v);
      QCOMPARE(it->second, v);
    }
  QVERIFY(map.size() > 100);  // most of the 127 keys appear
}

void TestMad::deterministic_in_the_seed() {
  for (const auto& task : dm::mad::task_names()) {
    auto s = small(task, "baseline", 16, 16);
    const auto a = dm::mad::generate(s), b = dm::mad::generate(s);
    QVERIFY(a.train.inputs == b.train.inputs && a.test.targets == b.test.targets);
    s.seed = 7;
    const auto c = dm::mad::generate(s);
    QVERIFY2(c.train.inputs != a.train.inputs, task.c_str());
  }
  // The test set continues the train set's stream: more training examples, another test set.
  auto s = small("in-context-recall", "baseline", 16, 16);
  const auto a = dm::mad::generate(s);
  s.num_train_examples = 17;
  QVERIFY(dm::mad::generate(s).test.inputs != a.test.inputs);
}

void TestMad::bad_settings_are_refused() {
  using dm::test::error_of;
  QVERIFY(error_of<dm::ConfigError>([] { dm::mad::task_settings("recall"); }).contains("in-context-recall"));
  const auto e = error_of<dm::ConfigError>([] { dm::mad::task_setting("compression", "vocab_size=7"); });
  QVERIFY2(e.contains("baseline") && e.contains("seq_len=128"), qPrintable(e));
  auto s = small("in-context-recall");
  s.seq_len = 127;
  QVERIFY(error_of<dm::ConfigError>([&] { dm::mad::generate(s); }).contains("even"));
  s = small("selective-copying");
  s.num_tokens_to_copy = 200;
  QVERIFY(error_of<dm::ConfigError>([&] { dm::mad::generate(s); }).contains("num_tokens_to_copy"));
  s = small("noisy-in-context-recall");
  s.frac_noise = 1.0;
  QVERIFY(error_of<dm::ConfigError>([&] { dm::mad::generate(s); }).contains("frac_noise"));
  s = small("memorization");
  s.num_train_examples = 5'000'000;
  s.seq_len = 1000;
  QVERIFY(error_of<dm::ConfigError>([&] { dm::mad::generate(s); }).contains("10^9"));
}

void TestMad::macro_accuracy_is_torchmetrics() {
  // Classes 0..3; targets [0 0 0 1 | 2, -100]: predictions [0 0 1 1 | 3, x]. Per class recall: 0 → 2/3,
  // 1 → 1/1, 2 → 0/1, 3 → predicted but absent: 0; mean over the 4 present-or-predicted classes = 0.41667.
  auto logits = torch::full({1, 6, 4}, -5.0);
  const int64_t pred[6] = {0, 0, 1, 1, 3, 2};
  for (int64_t t = 0; t < 6; ++t) logits[0][t][pred[t]] = 5.0;
  auto targets = torch::tensor({0, 0, 0, 1, 2, -100}, torch::kLong).reshape({1, 6});
  double micro = 0;
  int64_t scored = 0;
  const double macro = dm::mad::macro_accuracy(logits, targets, 4, &micro, &scored);
  QCOMPARE(scored, int64_t{5});
  QVERIFY(std::abs(micro - 3.0 / 5.0) < 1e-12);
  QVERIFY2(std::abs(macro - (2.0 / 3.0 + 1.0 + 0.0 + 0.0) / 4.0) < 1e-12, qPrintable(QString::number(macro)));
}

void TestMad::model_configs() {
  // The seed's layer configs at width 1024: Mamba2 (expand 2, head_dim 128, d_state 64) and Diff-Mamba2
  // (two mixers of expand 1, head_dim 64), 4 layers, untied head, every layer differential.
  const auto m = dm::mad::model_config("mamba2", 16, 1024);
  QCOMPARE(m.expand, int64_t{2});
  QCOMPARE(m.head_dim, int64_t{128});
  QCOMPARE(m.d_state, int64_t{64});
  QCOMPARE(m.n_layers, int64_t{4});
  QVERIFY(!m.tie_embeddings);
  const auto d = dm::mad::model_config("diffmamba2", 16, 1024);
  QCOMPARE(d.half_mixer().expand, int64_t{1});
  QCOMPARE(d.half_mixer().head_dim, int64_t{64});
  for (int64_t b = 0; b < 4; ++b) QVERIFY(d.is_diff_block(b));
  QCOMPARE(dm::mad::model_config("mamba2", 16, 32).head_dim, int64_t{64});  // shrinks at CPU widths
  QVERIFY(dm::test::error_of<dm::ConfigError>([] { dm::mad::model_config("transformer", 16, 64); }).contains("mamba2"));
  // The compression autoencoder maps a sequence to logits for every position.
  dm::mad::CompressionModel ae(dm::mad::model_config("mamba2", 16, 32, 1), 32);
  const auto out = ae->forward(torch::randint(0, 16, {3, 32}, torch::kLong));
  QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{3, 32, 16}));
}

void TestMad::training_learns_and_is_recorded() {
  // Memorisation at toy size: a fixed map the model can learn; test accuracy rises far above chance (1/15),
  // the run holds its per-epoch metrics, its eval cells and mad-lab's results.csv.
  QTemporaryDir d;
  dm::jobs::Workspace ws{d.path().toStdString()};
  ws.ensure();
  dm::mad::TrainOptions o;
  o.data = dm::mad::task_setting("memorization", "baseline");
  o.data.vocab_size = 32;
  o.data.seq_len = 16;
  o.data.num_train_examples = 256;
  o.data.num_test_examples = 64;
  o.width = 32;
  o.n_layers = 2;
  o.epochs = 40;
  o.batch_size = 32;
  o.lr = 1e-2;
  o.device = "cpu";
  std::atomic<bool> cancel{false};
  const auto r = dm::mad::run_mad_train(ws, o, {}, cancel);
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  QVERIFY2(r.test.acc_micro > 0.5, qPrintable(QString::number(r.test.acc_micro)));
  dm::store::RunStore db(ws.db_path());
  const auto rec = db.run(r.run_id);
  QCOMPARE(QString::fromStdString(rec->kind), QString("mad"));
  QCOMPARE(static_cast<int64_t>(db.metrics(r.run_id, "test/acc").size()), r.epochs);
  bool cell = false;
  for (const auto& c : db.eval_cells(r.run_id))
    if (c.metric == "test_acc" && c.task == "memorization" && c.length == "baseline") cell = std::abs(c.value - r.test.acc) < 1e-12;
  QVERIFY(cell);
  QFile csv(QString::fromStdString(rec->run_dir) + "/results.csv");
  QVERIFY(csv.open(QIODevice::ReadOnly));
  QVERIFY(csv.readLine().startsWith("train_acc,train_ppl,train_loss,test_acc,test_ppl,test_loss"));
}

void TestMad::benchmark_scores_the_sweep() {
  // Two tasks × two learning rates, one family, the quick profile's size: one sweep holds the runs; a task's
  // score is the best test accuracy over the grid (one setting each), the total their mean; the CSV is the
  // seed's layout.
  QTemporaryDir d;
  dm::jobs::Workspace ws{d.path().toStdString()};
  ws.ensure();
  auto o = dm::mad::BenchmarkOptions::quick();
  o.families = {"mamba2"};
  o.tasks = {"memorization", "compression"};
  o.epochs = 1;
  o.train_examples = 64;
  o.test_examples = 32;
  o.device = "cpu";
  std::atomic<bool> cancel{false};
  const auto r = dm::mad::run_mad_benchmark(ws, o, {}, cancel);
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  QCOMPARE(r.runs, int64_t{4});
  dm::store::RunStore db(ws.db_path());
  const auto runs = db.runs_of_sweep(r.sweep_id);
  QCOMPARE(runs.size(), size_t{5});  // 4 trainings and the scores run
  std::map<std::string, double> best;
  for (const auto& run : runs)
    for (const auto& c : db.eval_cells(run.id))
      if (c.metric == "test_acc") best[c.task] = std::max(best[c.task], c.value);
  QCOMPARE(best.size(), size_t{2});
  for (const auto& [task, b] : best) QVERIFY(std::abs(r.scores.at("mamba2").at(task) - b) < 1e-12);
  QVERIFY(std::abs(r.total.at("mamba2") - (best["memorization"] + best["compression"]) / 2) < 1e-12);
  const auto csv = dm::mad::scores_csv(r);
  QVERIFY2(QString::fromStdString(csv).startsWith("memorization,compression,total,model\n"), csv.c_str());
  QVERIFY(QString::fromStdString(csv).contains(",mamba2\n"));
  bool stored = false;
  for (const auto& c : db.eval_cells(r.score_runs.at("mamba2")))
    if (c.task == "total") stored = std::abs(c.value - r.total.at("mamba2")) < 1e-12;
  QVERIFY(stored);
  QVERIFY(db.sweep(r.sweep_id)->grid_json.find("weight_decay") != std::string::npos);
}

QTEST_APPLESS_MAIN(TestMad)
#include "tst_mad.moc"
