// Data-parallel training on c10d (Gloo, CPU) as users launch it: `trainer.accelerator=cpu
// trainer.devices=2` (our launcher), torchrun --no-python from the set-up's venv, and a Slurm environment
// (srun simulated by starting the tasks with its variables). Two ranks × batch 4 must train exactly as
// one process × batch 8; a rank killed with -9 must fail the run within the collective timeout, leaving
// a resumable checkpoint; bad launches must say what is wrong.
#include <torch/torch.h>

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/dist/dist.h"
#include "core/dist/launcher.h"
#include "core/io/model_file.h"
#include "core/io/safetensors.h"
#include "core/store/run_store.h"
#include "tests/core/test_util.h"

namespace {

struct Result {
  int code = -1;
  QString out, err;
};

QProcessEnvironment base_env() {
  auto e = QProcessEnvironment::systemEnvironment();
  for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "DM_LAUNCHER",
                        "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_JOB_NODELIST", "SLURM_JOB_ID"})
    e.remove(k);
  e.insert("OMP_NUM_THREADS", "1");
  e.insert("DM_DIST_TIMEOUT", "30");
  return e;
}

Result finish(QProcess& p, int timeout_ms = 240000) {
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished();
    return {-1, QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError()) + "\n(timeout)"};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

Result run(const QString& program, const QStringList& args, const QProcessEnvironment& env = base_env()) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(program, args);
  if (!p.waitForStarted()) return {-1, {}, "could not start " + program};
  return finish(p);
}

// The demo preset, small and without dropout (dropout masks depend on the batch layout), validating twice.
QStringList train_args(const QString& ws, int batch, int steps, const QStringList& extra = {}) {
  return QStringList{"train", "--workspace", ws, "--quiet", "experiment=demo/mamba2-fortunes", "model.dropout=0",
                     "loader.l_max=64", "trainer.log_every_n_steps=1", "trainer.val_check_interval=10",
                     "trainer.limit_val_batches=3", "trainer.checkpoint_every_n_steps=2",
                     "loader.batch_size=" + QString::number(batch), "trainer.max_steps=" + QString::number(steps)} +
         extra;
}

std::vector<double> series(const QString& ws, const std::string& metric, int64_t run = 1) {
  dm::store::RunStore db((ws + "/runs.db").toStdString());
  std::vector<double> v;
  for (const auto& m : db.metrics(run, metric)) v.push_back(m.value);
  return v;
}

void compare_series(const std::vector<double>& a, const std::vector<double>& b, double rel, const char* what) {
  QVERIFY2(a.size() == b.size() && !a.empty(), qPrintable(QString("%1: %2 vs %3 values").arg(what).arg(a.size()).arg(b.size())));
  for (size_t i = 0; i < a.size(); ++i)
    QVERIFY2(std::abs(a[i] - b[i]) <= rel * std::abs(b[i]),
             qPrintable(QString("%1[%2]: %3 vs %4").arg(what).arg(i).arg(a[i], 0, 'g', 10).arg(b[i], 0, 'g', 10)));
}

// The final weights of run 1 in `ws`, compared tensor by tensor.
void compare_models(const QString& a, const QString& b, double rel) {
  const auto ma = dm::io::read_safetensors((a + "/runs/1/model.safetensors").toStdString());
  const auto mb = dm::io::read_safetensors((b + "/runs/1/model.safetensors").toStdString());
  QVERIFY(!ma.tensors.empty());
  QCOMPARE(ma.tensors.size(), mb.tensors.size());
  for (const auto& [name, t] : ma.tensors) {
    QVERIFY2(mb.find(name), name.c_str());
    DM_COMPARE_REL(t, *mb.find(name), rel, name.c_str());
  }
}

int run_count(const QString& ws) {
  dm::store::RunStore db((ws + "/runs.db").toStdString());
  return static_cast<int>(db.runs().size());
}

std::string run_status(const QString& ws, int64_t id = 1) {
  dm::store::RunStore db((ws + "/runs.db").toStdString());
  auto r = db.run(id);
  return r ? r->status : "(none)";
}

// The children (ranks) of a process, from /proc.
std::vector<pid_t> children_of(pid_t pid) {
  QFile f(QString("/proc/%1/task/%1/children").arg(pid));
  std::vector<pid_t> out;
  if (!f.open(QIODevice::ReadOnly)) return out;
  for (const auto& s : QString::fromUtf8(f.readAll()).split(' ', Qt::SkipEmptyParts)) out.push_back(s.toInt());
  return out;
}

QString torchrun() { return QString(DM_TORCHRUN); }

}  // namespace

class TestDist : public QObject {
  Q_OBJECT

 private slots:
  void environment_of_each_launcher();
  void two_ranks_equal_one_process();
  void torchrun_and_slurm_give_the_same_run();
  void accumulation_under_two_ranks();
  void finetune_two_ranks_equal_one_process();
  void lens_two_ranks_equal_one_process();
  void killed_rank_fails_the_run_and_resume_continues();
  void bad_launches_say_why();
};

void TestDist::environment_of_each_launcher() {
  QCOMPARE(QString::fromStdString(dm::dist::first_slurm_host("gpu[03-07,12],cpu1")), QString("gpu03"));
  QCOMPARE(QString::fromStdString(dm::dist::first_slurm_host("node7,node8")), QString("node7"));
  QCOMPARE(QString::fromStdString(dm::dist::first_slurm_host("a[9]-ib")), QString("a9-ib"));
  QVERIFY(dm::dist::available_backends().front() == "gloo");
  QVERIFY(dm::dist::free_port() > 0);
}

void TestDist::two_ranks_equal_one_process() {
  QTemporaryDir d;
  const QString one = d.filePath("one"), two = d.filePath("two");
  auto r1 = run(DM_CLI_PATH, train_args(one, 8, 20));
  QVERIFY2(r1.code == 0, qPrintable(r1.out + r1.err));
  auto r2 = run(DM_CLI_PATH, train_args(two, 4, 20, {"trainer.accelerator=cpu", "trainer.devices=2"}));
  QVERIFY2(r2.code == 0, qPrintable(r2.out + r2.err));
  QVERIFY2(r2.out.contains("starting 2 processes"), qPrintable(r2.out));
  compare_series(series(two, "train/loss"), series(one, "train/loss"), 1e-5, "train/loss per step");
  QCOMPARE(series(two, "train/loss").size(), size_t(20));
  compare_series(series(two, "val/loss"), series(one, "val/loss"), 1e-5, "val/loss");
  compare_series(series(two, "test/bpc_batchmean"), series(one, "test/bpc_batchmean"), 1e-5, "test/bpc_batchmean");
  compare_models(two, one, 1e-5);
  // One run, recorded with its world.
  QCOMPARE(run_count(two), 1);
  dm::store::RunStore db((two + "/runs.db").toStdString());
  QCOMPARE(QString::fromStdString(db.run(1)->status), QString("finished"));
  QVERIFY2(QString::fromStdString(db.run(1)->device).contains("2 processes (gloo, launched by diffmamba)"),
           db.run(1)->device.c_str());
  QVERIFY(QFileInfo::exists(two + "/runs/1/checkpoint.safetensors"));
}

void TestDist::torchrun_and_slurm_give_the_same_run() {
  QTemporaryDir d;
  const QString ours = d.filePath("ours"), tr = d.filePath("torchrun"), slurm = d.filePath("slurm");
  auto a = run(DM_CLI_PATH, train_args(ours, 4, 12, {"trainer.accelerator=cpu", "trainer.devices=2"}));
  QVERIFY2(a.code == 0, qPrintable(a.out + a.err));

  if (!QFileInfo::exists(torchrun())) QFAIL(qPrintable("torchrun not found at " + torchrun() + " (the set-up's venv)"));
  auto env = base_env();
  env.insert("MASTER_PORT", QString::number(dm::dist::free_port()));
  auto b = run(torchrun(), QStringList{"--no-python", "--nproc_per_node=2", "--master_port",
                                       QString::number(dm::dist::free_port()), DM_CLI_PATH} +
                               train_args(tr, 4, 12),
               env);
  QVERIFY2(b.code == 0, qPrintable(b.out + b.err));

  // srun starts every task with SLURM_* set; the tasks find rank 0 on the first host of the node list.
  const QString port = QString::number(dm::dist::free_port());
  std::vector<std::unique_ptr<QProcess>> tasks;
  for (int r = 0; r < 2; ++r) {
    auto e = base_env();
    e.insert("SLURM_NTASKS", "2");
    e.insert("SLURM_PROCID", QString::number(r));
    e.insert("SLURM_LOCALID", QString::number(r));
    e.insert("SLURM_TASKS_PER_NODE", "2");
    e.insert("SLURM_JOB_NODELIST", "localhost");
    e.insert("SLURM_JOB_ID", "4711");
    e.insert("MASTER_PORT", port);
    auto p = std::make_unique<QProcess>();
    p->setProcessEnvironment(e);
    p->start(DM_CLI_PATH, train_args(slurm, 4, 12));
    QVERIFY(p->waitForStarted());
    tasks.push_back(std::move(p));
  }
  for (auto& p : tasks) {
    auto r = finish(*p);
    QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  }
  for (const auto& ws : {tr, slurm}) {
    QCOMPARE(run_count(ws), 1);
    compare_series(series(ws, "train/loss"), series(ours, "train/loss"), 1e-6, qPrintable(ws));
    compare_models(ws, ours, 1e-6);
  }
  dm::store::RunStore db((slurm + "/runs.db").toStdString());
  QVERIFY2(QString::fromStdString(db.run(1)->device).contains("launched by slurm"), db.run(1)->device.c_str());
  dm::store::RunStore dbt((tr + "/runs.db").toStdString());
  QVERIFY2(QString::fromStdString(dbt.run(1)->device).contains("launched by torchrun"), dbt.run(1)->device.c_str());
}

void TestDist::accumulation_under_two_ranks() {
  QTemporaryDir d;
  const QString one = d.filePath("one"), two = d.filePath("two");
  auto r1 = run(DM_CLI_PATH, train_args(one, 8, 8, {"trainer.accumulate_grad_batches=2"}));
  QVERIFY2(r1.code == 0, qPrintable(r1.out + r1.err));
  auto r2 = run(DM_CLI_PATH, train_args(two, 4, 8, {"trainer.accumulate_grad_batches=2", "trainer.accelerator=cpu",
                                                   "trainer.devices=2"}));
  QVERIFY2(r2.code == 0, qPrintable(r2.out + r2.err));
  compare_series(series(two, "train/loss"), series(one, "train/loss"), 1e-5, "train/loss, accumulate 2");
  compare_models(two, one, 1e-5);
}

void TestDist::finetune_two_ranks_equal_one_process() {
  // Needle fine-tuning of a small HF-backbone Diff-Mamba2 (text8 characters): --nproc_per_node=2 with
  // --batch_size 2 against one process with --batch_size 4 (HF's distributed sampler interleaving; the
  // loss of the global batch over its answer tokens, padding masked).
  QTemporaryDir d;
  dm::model::LanguageModel m(dm::test::tiny_hf(dm::model::Family::diffmamba2, 2, 27));
  const QString model = d.filePath("model.safetensors");
  dm::io::save_model(m, model.toStdString());
  const QStringList common = {"finetune-needle", "--ckpt_path", model, "--seed", "0", "--tasks", "qa1", "qa2",
                              "--length", "0k", "--samples", "30", "--max_steps", "8", "--eval_steps", "4",
                              "--save_steps", "100", "--warmup", "1", "--quiet"};
  const QString one = d.filePath("one"), two = d.filePath("two");
  auto r1 = run(DM_CLI_PATH, common + QStringList{"--workspace", one, "--output_dir", d.filePath("out1"), "--batch_size", "4"});
  QVERIFY2(r1.code == 0, qPrintable(r1.out + r1.err));
  auto r2 = run(DM_CLI_PATH, common + QStringList{"--workspace", two, "--output_dir", d.filePath("out2"), "--batch_size", "2",
                                                  "--nproc_per_node=2"});
  QVERIFY2(r2.code == 0, qPrintable(r2.out + r2.err));
  QVERIFY2(r2.out.contains("starting 2 processes"), qPrintable(r2.out));
  compare_series(series(two, "train/loss"), series(one, "train/loss"), 1e-5, "fine-tuning train/loss per step");
  QCOMPARE(series(two, "train/loss").size(), size_t(8));
  compare_series(series(two, "eval/loss"), series(one, "eval/loss"), 1e-5, "fine-tuning eval/loss");
  QCOMPARE(run_count(two), 1);
  const auto a = dm::io::read_safetensors(d.filePath("out1-seed0/model.safetensors").toStdString());
  const auto b = dm::io::read_safetensors(d.filePath("out2-seed0/model.safetensors").toStdString());
  QCOMPARE(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    QVERIFY2(b.find(name), name.c_str());
    DM_COMPARE_REL(*b.find(name), t, 1e-5, name.c_str());
  }
}

void TestDist::lens_two_ranks_equal_one_process() {
  // Tuned-lens training: --tokens_per_step is global (the seed's), so 2 processes × 2 sequences per pass
  // take the steps of 1 process × 4.
  QTemporaryDir d;
  dm::model::LanguageModel m(dm::test::tiny_hf(dm::model::Family::mamba2, 3, 27));
  const QString model = d.filePath("model.safetensors");
  dm::io::save_model(m, model.toStdString());
  QFile text(d.filePath("text.txt"));
  QVERIFY(text.open(QIODevice::WriteOnly));
  for (int i = 0; i < 400; ++i) text.write(QString("the cat number %1 sat on the mat and looked at the dog\n").arg(i * 7919 % 1000).toUtf8());
  text.close();
  const QStringList common = {"lens", "train", "--model.name", model, "--data.name", d.filePath("text.txt"), "--num_steps",
                              "5", "--tokens_per_step", "1024", "--max_seq_len", "128", "--quiet"};
  const QString one = d.filePath("one"), two = d.filePath("two");
  auto r1 = run(DM_CLI_PATH, common + QStringList{"--workspace", one, "--output", d.filePath("lens1"), "--per_gpu_batch_size", "4"});
  QVERIFY2(r1.code == 0, qPrintable(r1.out + r1.err));
  auto r2 = run(DM_CLI_PATH, common + QStringList{"--workspace", two, "--output", d.filePath("lens2"), "--per_gpu_batch_size",
                                                  "2", "--nproc_per_node=2"});
  QVERIFY2(r2.code == 0, qPrintable(r2.out + r2.err));
  compare_series(series(two, "lens/kl"), series(one, "lens/kl"), 1e-5, "lens/kl per step");
  QCOMPARE(series(two, "lens/kl").size(), size_t(5));
  QCOMPARE(run_count(two), 1);
  const auto a = dm::io::read_safetensors(d.filePath("lens1/params.safetensors").toStdString());
  const auto b = dm::io::read_safetensors(d.filePath("lens2/params.safetensors").toStdString());
  QVERIFY(!a.tensors.empty());
  for (const auto& [name, t] : a.tensors) {
    QVERIFY2(b.find(name), name.c_str());
    DM_COMPARE_REL(*b.find(name), t, 1e-5, name.c_str());
  }
}

void TestDist::killed_rank_fails_the_run_and_resume_continues() {
  QTemporaryDir d;
  const QString ws = d.filePath("ws");
  QProcess p;
  p.setProcessEnvironment(base_env());
  p.start(DM_CLI_PATH, train_args(ws, 4, 400, {"trainer.accelerator=cpu", "trainer.devices=2"}));
  QVERIFY(p.waitForStarted());
  QElapsedTimer t;
  t.start();
  int64_t step = -1;
  while (t.elapsed() < 120000 && p.state() == QProcess::Running && step < 4) {
    QThread::msleep(50);
    if (!QFileInfo::exists(ws + "/runs.db")) continue;
    dm::store::RunStore db((ws + "/runs.db").toStdString());
    if (db.run(1)) step = db.last_step(1);
  }
  QVERIFY2(step >= 4, "the run never reached step 4");
  const auto ranks = children_of(static_cast<pid_t>(p.processId()));
  QCOMPARE(ranks.size(), size_t(2));
  QCOMPARE(::kill(ranks[1], SIGKILL), 0);
  t.restart();
  auto r = finish(p, 120000);
  QVERIFY2(t.elapsed() < 60000, "the surviving rank did not stop within the collective timeout");
  QVERIFY2(r.code != 0, qPrintable(r.out + r.err));
  QVERIFY2(r.err.contains("rank 1"), qPrintable(r.err));
  {
    dm::store::RunStore db((ws + "/runs.db").toStdString());
    QCOMPARE(QString::fromStdString(db.run(1)->status), QString("failed"));
    QCOMPARE(QString::fromStdString(db.integrity_check()), QString("ok"));
  }
  QVERIFY(QFileInfo::exists(ws + "/runs/1/checkpoint.safetensors"));
  // --resume starts the same two processes from the last checkpoint and finishes the run.
  auto again = run(DM_CLI_PATH, {"train", "--workspace", ws, "--quiet", "--resume", "1"});
  QVERIFY2(again.code == 0, qPrintable(again.out + again.err));
  QCOMPARE(QString::fromStdString(run_status(ws)), QString("finished"));
  QCOMPARE(run_count(ws), 1);
  const auto losses = series(ws, "train/loss");
  QVERIFY(losses.size() >= 400);
}

void TestDist::bad_launches_say_why() {
  QTemporaryDir d;
  // A rank outside the world.
  auto env = base_env();
  env.insert("RANK", "2");
  env.insert("WORLD_SIZE", "2");
  env.insert("MASTER_ADDR", "127.0.0.1");
  env.insert("MASTER_PORT", QString::number(dm::dist::free_port()));
  auto bad_rank = run(DM_CLI_PATH, train_args(d.filePath("a"), 4, 2), env);
  QCOMPARE(bad_rank.code, 2);
  QVERIFY2(bad_rank.err.contains("RANK") && bad_rank.err.contains("below the world size"), qPrintable(bad_rank.err));

  // The rendezvous port taken by another program: rank 0 says so.
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  QVERIFY(::bind(sock, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(sock, 4) == 0);
  QVERIFY(::getsockname(sock, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  auto busy = base_env();
  busy.insert("RANK", "0");
  busy.insert("WORLD_SIZE", "2");
  busy.insert("MASTER_ADDR", "127.0.0.1");
  busy.insert("MASTER_PORT", QString::number(ntohs(a.sin_port)));
  busy.insert("DM_DIST_TIMEOUT", "5");
  auto in_use = run(DM_CLI_PATH, train_args(d.filePath("b"), 4, 2), busy);
  ::close(sock);
  QVERIFY(in_use.code != 0);
  QVERIFY2(in_use.err.contains("rendezvous") && in_use.err.contains("port"), qPrintable(in_use.err));

  // A GPU asked for on this CPU machine (or a device index it does not have).
  auto gpu = run(DM_CLI_PATH, train_args(d.filePath("c"), 4, 2, {"trainer.accelerator=gpu", "trainer.devices=[0,5]"}));
  QCOMPARE(gpu.code, 2);
  QVERIFY2(gpu.err.contains("trainer.") && gpu.err.contains("CUDA device"), qPrintable(gpu.err));

  // Resuming a one-process run under two ranks: refused (the data order depends on the world size).
  // (A one-process run stopped with Ctrl-C at a step boundary, its checkpoint written.)
  const QString solo = d.filePath("solo");
  QProcess single;
  single.setProcessEnvironment(base_env());
  single.start(DM_CLI_PATH, train_args(solo, 4, 100000));
  QVERIFY(single.waitForStarted());
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < 60000) {
    QThread::msleep(50);
    if (!QFileInfo::exists(solo + "/runs.db")) continue;
    dm::store::RunStore db((solo + "/runs.db").toStdString());
    if (db.run(1) && db.last_step(1) >= 2) break;
  }
  ::kill(static_cast<pid_t>(single.processId()), SIGINT);
  auto s = finish(single);
  QVERIFY2(s.code == 130, qPrintable(s.out + s.err));
  const QString port = QString::number(dm::dist::free_port());
  std::vector<std::unique_ptr<QProcess>> ranks;
  for (int r = 0; r < 2; ++r) {
    auto e = base_env();
    e.insert("RANK", QString::number(r));
    e.insert("WORLD_SIZE", "2");
    e.insert("MASTER_ADDR", "127.0.0.1");
    e.insert("MASTER_PORT", port);
    auto p = std::make_unique<QProcess>();
    p->setProcessEnvironment(e);
    p->start(DM_CLI_PATH, {"train", "--workspace", solo, "--quiet", "--resume", "1"});
    QVERIFY(p->waitForStarted());
    ranks.push_back(std::move(p));
  }
  auto r0 = finish(*ranks[0]);
  auto r1 = finish(*ranks[1]);
  QVERIFY(r0.code != 0 && r1.code != 0);
  QVERIFY2(r0.err.contains("written by 1 process"), qPrintable(r0.err));
  // Nothing is lost: the run keeps its checkpoint, says why, and stays resumable (failed, not finished).
  dm::store::RunStore db((solo + "/runs.db").toStdString());
  QCOMPARE(QString::fromStdString(db.run(1)->status), QString("failed"));
  QVERIFY2(QString::fromStdString(db.run(1)->message).contains("same number"), db.run(1)->message.c_str());
  QVERIFY(QFileInfo::exists(solo + "/runs/1/checkpoint.safetensors"));
}

QTEST_GUILESS_MAIN(TestDist)
#include "tst_dist.moc"
