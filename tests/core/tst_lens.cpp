// Tuned lens: a new (identity) lens on the last block reproduces the model's logits exactly; training
// lowers the held-out KL of every block; evaluation on a hand-built model whose answer probability is
// known (uniform output: 1/V at every layer); the seed's results text round trip; mismatched or
// damaged lens files give clear errors and change nothing. Both families.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/io/model_file.h"
#include "core/jobs/lens_job.h"
#include "core/lens/tuned_lens.h"
#include "core/store/run_store.h"
#include "tests/core/test_util.h"

using namespace dm;
using dm::test::error_of;

namespace {

model::ModelConfig tiny(model::Family f, int64_t layers = 3) {
  auto c = model::ModelConfig::hf_370m(f);
  c.vocab_size = 27;  // text8 characters
  c.d_model = 32;
  c.n_layers = layers;
  c.head_dim = 16;
  c.d_state = 8;
  c.chunk_size = 16;
  return c;
}

}  // namespace

class TestLens : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::set_num_threads(2); }
  void identity_lens_reproduces_logits_data();
  void identity_lens_reproduces_logits();
  void training_lowers_heldout_kl();
  void known_answer_probability_data();
  void known_answer_probability();
  void seed_results_round_trip();
  void mismatched_and_damaged_lens_files();
};

void TestLens::identity_lens_reproduces_logits_data() {
  QTest::addColumn<int>("family");
  QTest::newRow("mamba2") << int(model::Family::mamba2);
  QTest::newRow("diffmamba2") << int(model::Family::diffmamba2);
}

void TestLens::identity_lens_reproduces_logits() {
  QFETCH(int, family);
  torch::manual_seed(1);
  model::LanguageModel m(tiny(model::Family(family)));
  m->eval();
  auto lens = lens::lens_for(m);
  QCOMPARE(lens->num_layers(), int64_t{3});
  torch::NoGradGuard ng;
  const auto ids = torch::randint(0, 27, {2, 40}, torch::kLong);
  std::vector<torch::Tensor> hidden;
  const auto logits = m->forward_ex(ids, &hidden, nullptr);
  QCOMPARE(hidden.size(), size_t{3});
  QVERIFY(torch::equal(lens->logits(m, 2, hidden[2]), logits));
  QVERIFY(torch::equal(m->forward(ids), logits));
  // Earlier blocks read out through the same head differ from the output (else the test is vacuous).
  QVERIFY(!torch::allclose(lens->logits(m, 0, hidden[0]), logits));
}

void TestLens::training_lowers_heldout_kl() {
  QTemporaryDir d;
  torch::manual_seed(2);
  model::LanguageModel m(tiny(model::Family::diffmamba2));
  io::save_model(m, d.filePath("m.safetensors").toStdString());
  jobs::LensTrainOptions o;
  o.ckpt_path = d.filePath("m.safetensors").toStdString();
  o.output = d.filePath("lens").toStdString();
  o.num_steps = 40;
  o.max_seq_len = 64;
  o.tokens_per_step = 256;
  o.per_gpu_batch_size = 2;
  jobs::Workspace ws{d.filePath("ws").toStdString()};
  std::atomic<bool> cancel{false};
  std::string bad_shape;  // every event keeps its kind's promise
  const auto r = jobs::run_lens_train(ws, o, [&](const train::TrainEvent& ev) {
    if (bad_shape.empty()) bad_shape = train::check_shape(ev);
  }, cancel);
  QVERIFY2(bad_shape.empty(), bad_shape.c_str());
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  store::RunStore db(ws.db_path());
  const auto before = db.metrics(r.run_id, "lens/heldout_kl_before"), after = db.metrics(r.run_id, "lens/heldout_kl_after");
  QCOMPARE(before.size(), size_t{3});
  QCOMPARE(after.size(), size_t{3});
  // Every block below the last gets closer to the final distribution; the last block's lens starts at
  // the optimum (identity on the final residual stream: KL 0) and stays there.
  for (size_t i = 0; i + 1 < 3; ++i)
    QVERIFY2(after[i].value < 0.9 * before[i].value,
             qPrintable(QString("block %1: KL %2 → %3").arg(i).arg(before[i].value).arg(after[i].value)));
  QCOMPARE(before[2].value, 0.0);
  QVERIFY(after[2].value < 1e-6);
  // The saved lens loads for this model and gives the same held-out KL.
  auto lens = lens::load_lens(o.output, m);
  QVERIFY(QFileInfo::exists(d.filePath("lens/config.json")));
  QCOMPARE(lens->num_layers(), int64_t{3});
}

void TestLens::known_answer_probability_data() { identity_lens_reproduces_logits_data(); }

void TestLens::known_answer_probability() {
  // norm_f's weight at 0 makes every readout (lens or model) all-zero logits: the answer's probability is
  // exactly 1/V at every layer, its log-probability −log V per token.
  QFETCH(int, family);
  QTemporaryDir d;
  model::LanguageModel m(tiny(model::Family(family)));
  {
    torch::NoGradGuard ng;
    m->backbone->norm_f->weight.zero_();
  }
  io::save_model(m, d.filePath("m.safetensors").toStdString());
  auto lens = lens::lens_for(m);
  {  // a trained-looking lens: non-zero translators change nothing behind a zero norm
    torch::NoGradGuard ng;
    for (auto& p : lens->parameters()) p.normal_(0, 0.1);
  }
  lens::save_lens(lens, m, d.filePath("lens").toStdString(), "m");
  jobs::LensEvalOptions o;
  o.ckpt_path = d.filePath("m.safetensors").toStdString();
  o.lens = d.filePath("lens").toStdString();
  o.tasks = {"qa1", "qa2"};
  o.samples = 5;
  o.output = d.filePath("out/lens_eval.txt").toStdString();
  jobs::Workspace ws{d.filePath("ws").toStdString()};
  std::atomic<bool> cancel{false};
  const auto r = jobs::run_lens_eval(ws, o, nullptr, cancel);
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  int checked = 0;
  for (const auto& p : r.points) {
    if (p.metric == "avg_prob") {
      QVERIFY(std::abs(p.value - 1.0 / 27) < 1e-6);
      ++checked;
    }
    if (p.metric == "avg_logprob") QVERIFY(std::abs(p.value + std::log(27.0)) < 1e-5);
    if (p.metric == "samples" && p.task == "all") QCOMPARE(p.value, 10.0);
  }
  QCOMPARE(checked, 3 * 4);  // tasks qa1, qa2, all × layers 0 … 3
  QCOMPARE(store::RunStore(ws.db_path()).lens_points(r.run_id).size(), r.points.size());
  const auto seed = jobs::parse_seed_lens_results(io::read_file(o.output), o.output);
  QCOMPARE(seed.size(), size_t{3});  // layers 1 … 3, as the seed reports
  QVERIFY(std::abs(seed.at(3) - 1.0 / 27) < 1e-6);
}

void TestLens::seed_results_round_trip() {
  std::map<int64_t, std::pair<double, int64_t>> in = {{1, {0.25, 100}}, {2, {1.5, 100}}, {48, {37.125, 100}}};
  const auto text = jobs::format_seed_lens_results(in);
  QVERIFY(text.rfind("{1: {'sum': 0.25, 'total': 100, 'avg': 0.0025", 0) == 0);
  const auto back = jobs::parse_seed_lens_results(text, "x");
  QCOMPARE(back.size(), size_t{3});
  QCOMPARE(back.at(1), 0.0025);
  QCOMPARE(back.at(48), 0.37125);
  // What the seed's str(dict) may hold when its sums stayed tensors or numpy floats.
  const auto t = jobs::parse_seed_lens_results(
      "{1: {'sum': tensor(5.), 'total': 10, 'avg': tensor(0.5000, device='cuda:0')}, 2: {'sum': 1, 'total': 10, "
      "'avg': np.float64(1e-05)}}",
      "x");
  QCOMPARE(t.at(1), 0.5);
  QCOMPARE(t.at(2), 1e-05);
  QVERIFY(error_of<FileError>([] { jobs::parse_seed_lens_results("not a dict", "res.txt"); }).contains("res.txt"));
}

void TestLens::mismatched_and_damaged_lens_files() {
  QTemporaryDir d;
  model::LanguageModel m3(tiny(model::Family::mamba2, 3)), m4(tiny(model::Family::mamba2, 4));
  auto lens = lens::lens_for(m3);
  lens::save_lens(lens, m3, d.filePath("lens").toStdString(), "m3");
  const auto file = d.filePath("lens/params.safetensors").toStdString();
  const auto bytes = io::read_file(file);
  const auto other = error_of<FileError>([&] { lens::load_lens(d.filePath("lens").toStdString(), m4); });
  QVERIFY2(other.contains("3 blocks") && other.contains("4 blocks"), qPrintable(other));
  model::LanguageModel m3b(tiny(model::Family::mamba2, 3));  // same shape, other weights
  QVERIFY(error_of<FileError>([&] { lens::load_lens(file, m3b); }).contains("another model"));
  QCOMPARE(io::read_file(file), bytes);  // nothing overwritten by failed loads
  io::write_file_atomic(file, bytes.substr(0, bytes.size() / 2));
  QVERIFY(error_of<FileError>([&] { lens::load_lens(file, m3); }).contains("params.safetensors"));
  QVERIFY(error_of<FileError>([&] { lens::load_lens(d.filePath("none").toStdString(), m3); }).contains("no lens"));
}

QTEST_APPLESS_MAIN(TestLens)
#include "tst_lens.moc"
