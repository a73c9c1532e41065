// The training job end to end on a corpus the test writes: the loss falls, metrics land in the
// store, an interrupted + resumed run reproduces an uninterrupted one exactly, divergence and
// cancellation end with the right status and keep the checkpoint.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "core/common/error.h"
#include "core/config/experiment_config.h"
#include "core/jobs/train_job.h"
#include "tests/core/test_util.h"
#include "core/io/model_file.h"
#include "core/train/grad_scaler.h"
#include "core/store/run_store.h"
#include "core/train/schedule.h"

using dm::jobs::Workspace;

namespace {

// A text8-style corpus of random sentences (a small vocabulary, so a tiny model learns quickly).
std::string corpus_dir(const QTemporaryDir& d) {
  QDir(d.path()).mkpath("corpus");
  const std::vector<std::string> words = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away"};
  std::mt19937 rng(7);
  std::string text;
  while (text.size() < 60000) text += words[rng() % words.size()] + " ";
  std::ofstream(d.filePath("corpus/text8").toStdString()) << text;
  return d.filePath("corpus").toStdString();
}

std::vector<std::string> tiny(const std::string& data, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"dataset.name=text8", "dataset.data_dir=" + data, "model.d_model=32", "model.n_layers=1",
                                "model.head_dim=16", "model.d_state=8", "model.chunk_size=16", "loader.batch_size=4",
                                "loader.l_max=64", "optimizer.lr=3e-3", "scheduler.num_warmup_steps=5",
                                "scheduler.num_training_steps=100", "trainer.precision=32", "trainer.log_every_n_steps=1",
                                "trainer.limit_val_batches=4", "train.seed=5"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::map<int64_t, double> losses(const std::string& db_path, int64_t run) {
  dm::store::RunStore db(db_path);
  std::map<int64_t, double> out;
  for (const auto& m : db.metrics(run, "train/loss")) out[m.step] = m.value;
  return out;
}

}  // namespace

class TestTrain : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::set_num_threads(2); }
  void schedule_values();
  void loss_falls_and_metrics_are_stored();
  void resume_reproduces_uninterrupted_run();
  void fp16_loss_scaling();
  void wikitext_adaptive_softmax_learns();
  void bf16_autocast_trains();
  void job_on_worker_thread_cancels();
  void divergence_stops_with_status();
  void bad_requests_fail_cleanly();
};

void TestTrain::schedule_values() {
  using dm::train::lr_multiplier;
  QCOMPARE(lr_multiplier("cosine_warmup", 0, 10, 110), 0.0);  // transformers: the first step has lr 0
  QCOMPARE(lr_multiplier("cosine_warmup", 5, 10, 110), 0.5);
  QCOMPARE(lr_multiplier("cosine_warmup", 10, 10, 110), 1.0);
  QVERIFY(std::abs(lr_multiplier("cosine_warmup", 60, 10, 110) - 0.5) < 1e-12);
  QCOMPARE(lr_multiplier("cosine_warmup", 110, 10, 110), 0.0);
  QCOMPARE(lr_multiplier("constant_warmup", 500, 10, 110), 1.0);
}

void TestTrain::loss_falls_and_metrics_are_stored() {
  QTemporaryDir d;
  Workspace ws{d.filePath("ws").toStdString()};
  auto cfg = dm::config::resolve(tiny(corpus_dir(d), {"trainer.max_steps=80", "trainer.val_check_interval=40",
                                                       "trainer.checkpoint_every_n_steps=40"}));
  std::atomic<bool> cancel{false};
  int evals = 0;
  std::string bad_shape;
  auto r = dm::jobs::run_train_job(ws, cfg, {}, [&](const dm::train::TrainEvent& ev) {
    if (ev.kind == dm::train::TrainEvent::Kind::eval) ++evals;
    if (bad_shape.empty()) bad_shape = dm::train::check_shape(ev);  // every event keeps its kind's promise
  }, cancel);
  QVERIFY2(bad_shape.empty(), bad_shape.c_str());
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  QCOMPARE(evals, 2);
  dm::store::RunStore db(ws.db_path());
  auto rec = db.run(r.run_id);
  QVERIFY(rec);
  QCOMPARE(QString::fromStdString(rec->status), QString("finished"));
  QCOMPARE(QString::fromStdString(rec->config_hash), QString::fromStdString(cfg.hash()));
  QCOMPARE(QString::fromStdString(rec->config_json), QString::fromStdString(cfg.canonical_json()));
  auto l = losses(ws.db_path(), r.run_id);
  QCOMPARE(int(l.size()), 80);
  QVERIFY2(l.rbegin()->second < 0.75 * l.begin()->second,
           qPrintable(QString("first %1, last %2").arg(l.begin()->second).arg(l.rbegin()->second)));
  auto val = db.metrics(r.run_id, "val/bpc");
  QCOMPARE(int(val.size()), 2);
  QVERIFY(val[1].value < val[0].value);
  QCOMPARE(int(db.metrics(r.run_id, "test/bpc_batchmean").size()), 2);
  QVERIFY(QFile::exists(QString::fromStdString(ws.run_dir(r.run_id) + "/checkpoint.safetensors")));
  QVERIFY(QFile::exists(QString::fromStdString(ws.run_dir(r.run_id) + "/model.safetensors")));
  QCOMPARE(QString::fromStdString(db.integrity_check()), QString("ok"));
}

void TestTrain::resume_reproduces_uninterrupted_run() {
  // Dropout, accumulation over 2 batches and an epoch boundary inside the run: RNG, optimizer and
  // data position must all be restored for the losses to match exactly.
  QTemporaryDir d;
  const auto data = corpus_dir(d);
  auto args = tiny(data, {"trainer.max_steps=40", "model.dropout=0.2", "trainer.accumulate_grad_batches=2",
                          "loader.batch_size=16", "trainer.checkpoint_every_n_steps=7"});
  auto cfg = dm::config::resolve(args);
  std::atomic<bool> no{false};
  Workspace full{d.filePath("full").toStdString()};
  auto a = dm::jobs::run_train_job(full, cfg, {}, nullptr, no);
  QCOMPARE(QString::fromStdString(a.status), QString("finished"));

  Workspace split{d.filePath("split").toStdString()};
  std::atomic<bool> cancel{false};
  auto b = dm::jobs::run_train_job(split, cfg, {}, [&](const dm::train::TrainEvent& ev) {
    if (ev.kind == dm::train::TrainEvent::Kind::step && ev.step == 17) cancel = true;
  }, cancel);
  QCOMPARE(QString::fromStdString(b.status), QString("cancelled"));
  QCOMPARE(b.run_id, int64_t(1));
  {
    dm::store::RunStore db(split.db_path());
    QCOMPARE(QString::fromStdString(db.run(1)->status), QString("cancelled"));
    QCOMPARE(db.last_step(1), int64_t(17));
  }
  dm::jobs::TrainJobOptions resume;
  resume.resume_run = b.run_id;
  std::atomic<bool> no2{false};
  auto c = dm::jobs::run_train_job(split, {}, resume, nullptr, no2);
  QCOMPARE(QString::fromStdString(c.status), QString("finished"));
  const auto la = losses(full.db_path(), a.run_id), lb = losses(split.db_path(), b.run_id);
  QCOMPARE(int(la.size()), 40);
  QCOMPARE(int(lb.size()), 40);
  for (const auto& [step, v] : la)
    QVERIFY2(lb.at(step) == v, qPrintable(QString("step %1: %2 vs %3").arg(step).arg(v, 0, 'g', 17).arg(lb.at(step), 0, 'g', 17)));
  // A resumed run refuses a checkpoint written for another configuration.
  dm::store::RunStore db(split.db_path());
  QCOMPARE(QString::fromStdString(db.run(1)->status), QString("finished"));
}

void TestTrain::wikitext_adaptive_softmax_learns() {
  // A WikiText-103-shaped corpus (words, <eos> per line) through the adaptive softmax (div_val 2,
  // small cutoffs so that every cluster is used).
  QTemporaryDir d;
  QDir(d.path()).mkpath("wt");
  std::mt19937 rng(11);
  auto write_split = [&](const char* name, int lines) {
    std::ofstream out(d.filePath(QString("wt/") + name).toStdString());
    for (int i = 0; i < lines; ++i) {
      for (int w = 0; w < 8; ++w) out << " w" << (rng() % 7 == 0 ? rng() % 40 : rng() % 6);
      out << " .\n";
    }
  };
  write_split("wiki.train.tokens", 1500);
  write_split("wiki.valid.tokens", 100);
  write_split("wiki.test.tokens", 100);
  Workspace ws{d.filePath("ws").toStdString()};
  auto cfg = dm::config::resolve(tiny("", {"dataset.name=wt103", "dataset.data_dir=" + d.filePath("wt").toStdString(),
                                           "task.div_val=2", "task.cutoffs=[4,10,20]", "trainer.max_steps=60",
                                           "trainer.val_check_interval=30"}));
  std::atomic<bool> no{false};
  auto r = dm::jobs::run_train_job(ws, cfg, {}, nullptr, no);
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  dm::store::RunStore db(ws.db_path());
  auto ppl = db.metrics(r.run_id, "val/ppl");
  QCOMPARE(int(ppl.size()), 2);
  QVERIFY2(ppl[1].value < ppl[0].value, qPrintable(QString("%1 → %2").arg(ppl[0].value).arg(ppl[1].value)));
  QCOMPARE(int(db.metrics(r.run_id, "val/ppl_batchmean").size()), 2);
  auto l = losses(ws.db_path(), r.run_id);
  QVERIFY(l.rbegin()->second < l.begin()->second);
}

void TestTrain::bf16_autocast_trains() {
  QTemporaryDir d;
  const auto data = corpus_dir(d);
  std::atomic<bool> no{false};
  Workspace ws{d.filePath("ws").toStdString()};
  auto fp32 = dm::jobs::run_train_job(ws, dm::config::resolve(tiny(data, {"trainer.max_steps=40"})), {}, nullptr, no);
  auto bf16 = dm::jobs::run_train_job(ws, dm::config::resolve(tiny(data, {"trainer.max_steps=40", "trainer.precision=bf16"})),
                                      {}, nullptr, no);
  QCOMPARE(QString::fromStdString(bf16.status), QString("finished"));
  const auto a = losses(ws.db_path(), fp32.run_id), b = losses(ws.db_path(), bf16.run_id);
  QVERIFY(b.rbegin()->second < 0.85 * b.begin()->second);  // it learns
  // bf16 matmuls really ran: the first losses differ from fp32 (same seed and data), but only a little.
  QVERIFY(a.begin()->second != b.begin()->second);
  QVERIFY(std::abs(a.begin()->second - b.begin()->second) < 0.05 * a.begin()->second);
}

// fp16 with dynamic loss scaling (torch.amp.GradScaler's rules): the scaler on its own (unscaling, backoff and
// growth, state), then training: a step whose gradients hold an inf is skipped (the weights equal those of a run
// that stopped before it) and the scale halves; a stopped fp16 run resumes to the same losses and scales.
void TestTrain::fp16_loss_scaling() {
  dm::train::GradScaler s(true, dm::train::GradScalerOptions{8.0, 2.0, 0.5, 3});
  auto w = torch::ones({2, 2}, torch::requires_grad());
  w.mutable_grad() = torch::full({2, 2}, 16.0);
  QCOMPARE(s.scale_loss(torch::tensor(1.5)).item<double>(), 12.0);
  QVERIFY(s.unscale({w}));
  QVERIFY(torch::equal(w.grad(), torch::full({2, 2}, 2.0)));
  for (int i = 0; i < 3; ++i) s.update(false);
  QCOMPARE(s.scale(), 16.0);
  QCOMPARE(s.growth_tracker(), int64_t(0));
  s.update(false);
  w.mutable_grad()[0][1] = std::numeric_limits<float>::infinity();
  QVERIFY(!s.unscale({w}));
  s.update(true);
  QCOMPARE(s.scale(), 8.0);
  QCOMPARE(s.growth_tracker(), int64_t(0));
  dm::train::GradScaler t(true);
  t.load_state(s.state());
  QCOMPARE(t.scale(), 8.0);
  QVERIFY(dm::test::error_of<dm::ConfigError>([&] { t.load_state({{"scale", -1.0}, {"growth_tracker", 0}}); }).contains("positive"));
  QCOMPARE(dm::train::GradScaler(false).scale(), 1.0);

  QTemporaryDir d;
  const auto data = corpus_dir(d);
  std::atomic<bool> no{false};
  auto run = [&](const QString& ws, std::vector<std::string> extra, const char* inf_at) {
    if (inf_at) qputenv("DM_FAULT_INF_GRAD_AT_STEP", inf_at);
    extra.push_back("trainer.precision=16-mixed");
    Workspace w{d.filePath(ws).toStdString()};
    auto r = dm::jobs::run_train_job(w, dm::config::resolve(tiny(data, extra)), {}, nullptr, no);
    qunsetenv("DM_FAULT_INF_GRAD_AT_STEP");
    return std::pair{w, r};
  };
  // Step 5 (index 4) with an inf gradient: skipped. Its weights equal a 4-step run's; its scale halved.
  auto [wa, a] = run("a", {"trainer.max_steps=5"}, "4");
  auto [wb, b] = run("b", {"trainer.max_steps=4"}, nullptr);
  QCOMPARE(QString::fromStdString(a.status), QString("finished"));
  QCOMPARE(QString::fromStdString(b.status), QString("finished"));
  auto ma = dm::io::load_model(wa.run_dir(a.run_id) + "/model.safetensors");
  auto mb = dm::io::load_model(wb.run_dir(b.run_id) + "/model.safetensors");
  const auto pa = ma->named_parameters(), pb = mb->named_parameters();
  for (const auto& item : pa) QVERIFY2(torch::equal(item.value(), pb[item.key()]), item.key().c_str());
  dm::store::RunStore da(wa.db_path());
  const auto scales = da.metrics(a.run_id, "train/loss_scale");
  QCOMPARE(int(scales.size()), 5);
  QCOMPARE(scales[3].value, 65536.0);
  QCOMPARE(scales[4].value, 32768.0);
  // It learns, and a stopped run resumes exactly (the scaler's state is in the checkpoint).
  auto [wf, f] = run("full", {"trainer.max_steps=30", "trainer.checkpoint_every_n_steps=5"}, "7");
  const auto lf = losses(wf.db_path(), f.run_id);
  QVERIFY(lf.rbegin()->second < 0.9 * lf.begin()->second);
  Workspace split{d.filePath("split").toStdString()};
  std::atomic<bool> cancel{false};
  qputenv("DM_FAULT_INF_GRAD_AT_STEP", "7");
  auto c = dm::jobs::run_train_job(split, dm::config::resolve(tiny(data, {"trainer.max_steps=30", "trainer.checkpoint_every_n_steps=5",
                                                                          "trainer.precision=16-mixed"})),
                                   {}, [&](const dm::train::TrainEvent& ev) {
                                     if (ev.kind == dm::train::TrainEvent::Kind::step && ev.step == 12) cancel = true;
                                   }, cancel);
  QCOMPARE(QString::fromStdString(c.status), QString("cancelled"));
  dm::jobs::TrainJobOptions resume;
  resume.resume_run = c.run_id;
  std::atomic<bool> no2{false};
  auto e = dm::jobs::run_train_job(split, {}, resume, nullptr, no2);
  qunsetenv("DM_FAULT_INF_GRAD_AT_STEP");
  QCOMPARE(QString::fromStdString(e.status), QString("finished"));
  const auto lc = losses(split.db_path(), c.run_id);
  QCOMPARE(lc.size(), lf.size());
  for (const auto& [step, v] : lf) QVERIFY2(lc.at(step) == v, qPrintable(QString("step %1").arg(step)));
  dm::store::RunStore ds(split.db_path());
  const auto sc = ds.metrics(c.run_id, "train/loss_scale");
  QCOMPARE(sc.back().value, 32768.0);  // halved at step 8, kept through the resume
}

void TestTrain::job_on_worker_thread_cancels() {
  // The GUI runs jobs on worker threads: events arrive there, cancellation comes from another thread.
  QTemporaryDir d;
  Workspace ws{d.filePath("ws").toStdString()};
  auto cfg = dm::config::resolve(tiny(corpus_dir(d), {"trainer.max_steps=100000"}));
  std::atomic<bool> cancel{false};
  std::atomic<int64_t> last_step{0};
  dm::jobs::JobResult result;
  std::thread worker([&] {
    torch::set_num_threads(1);
    result = dm::jobs::run_train_job(ws, cfg, {}, [&](const dm::train::TrainEvent& ev) {
      if (ev.kind == dm::train::TrainEvent::Kind::step) last_step = ev.step;
    }, cancel);
  });
  while (last_step < 5) QThread::msleep(10);
  cancel = true;
  worker.join();
  QCOMPARE(QString::fromStdString(result.status), QString("cancelled"));
  QVERIFY(last_step >= 5);
  dm::store::RunStore db(ws.db_path());
  QCOMPARE(QString::fromStdString(db.run(result.run_id)->status), QString("cancelled"));
  QVERIFY(QFile::exists(QString::fromStdString(ws.run_dir(result.run_id) + "/checkpoint.safetensors")));
}

void TestTrain::divergence_stops_with_status() {
  QTemporaryDir d;
  Workspace ws{d.filePath("ws").toStdString()};
  std::atomic<bool> no{false};
  // A NaN loss at a known step, through the trainer's fault injection (a real blow-up — lr 10, no
  // warm-up — diverges too, but at a step that depends on the seed and the corpus).
  qputenv("DM_FAULT_NAN_AT_STEP", "12");
  auto forced_cfg = dm::config::resolve(tiny(corpus_dir(d), {"trainer.max_steps=50", "trainer.checkpoint_every_n_steps=5"}));
  auto forced = dm::jobs::run_train_job(ws, forced_cfg, {}, nullptr, no);
  qunsetenv("DM_FAULT_NAN_AT_STEP");
  for (const auto& r : {forced}) {
    QCOMPARE(QString::fromStdString(r.status), QString("diverged"));
    QVERIFY2(QString::fromStdString(r.message).contains("last checkpoint"), r.message.c_str());
    QVERIFY(QFile::exists(QString::fromStdString(ws.run_dir(r.run_id) + "/checkpoint.safetensors")));
    dm::store::RunStore db(ws.db_path());
    QCOMPARE(QString::fromStdString(db.run(r.run_id)->status), QString("diverged"));
  }
  QVERIFY(QString::fromStdString(forced.message).contains("step 12"));
}

void TestTrain::bad_requests_fail_cleanly() {
  QTemporaryDir d;
  Workspace ws{d.filePath("ws").toStdString()};
  std::atomic<bool> no{false};
  // Missing data: the run is recorded as failed with the reader's message.
  auto cfg = dm::config::resolve({"dataset.name=enwik8", "dataset.data_dir=" + d.filePath("nothing").toStdString(),
                                  "trainer.precision=32"});
  QVERIFY_THROWS_EXCEPTION(dm::FileError, dm::jobs::run_train_job(ws, cfg, {}, nullptr, no));
  dm::store::RunStore db(ws.db_path());
  auto rec = db.run(1);
  QCOMPARE(QString::fromStdString(rec->status), QString("failed"));
  QVERIFY(QString::fromStdString(rec->message).contains("get_enwik8.sh"));
  // A GPU asked for on a machine without one.
  if (!torch::cuda::is_available()) {
    auto gpu = dm::config::resolve(tiny(corpus_dir(d), {"trainer.accelerator=gpu"}));
    QVERIFY_THROWS_EXCEPTION(dm::ConfigError, dm::jobs::run_train_job(ws, gpu, {}, nullptr, no));
  }
  // Resuming a run that does not exist.
  dm::jobs::TrainJobOptions o;
  o.resume_run = 99;
  QVERIFY_THROWS_EXCEPTION(dm::Error, dm::jobs::run_train_job(ws, {}, o, nullptr, no));
}

QTEST_APPLESS_MAIN(TestTrain)
#include "tst_train.moc"
