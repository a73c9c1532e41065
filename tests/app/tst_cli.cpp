// The `diffmamba` command as a user runs it (QProcess): the seed's command line, errors and exit
// codes, Ctrl-C/SIGTERM stopping at a step boundary, and kill -9 in the middle of a run followed
// by a resume that completes it with the database intact.
#include <torch/torch.h>

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <nlohmann/json.hpp>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <fstream>
#include <map>
#include <random>

#include "core/data/codec.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/store/run_store.h"
#include "tests/core/test_util.h"

#include "tests/app/cli_runner.h"
#include "tests/store_util.h"

namespace {

dm::test::CliResult run(const QStringList& args) { return dm::test::run_cli(args); }

QString make_corpus(const QTemporaryDir& d) {
  QDir(d.path()).mkpath("corpus");
  const std::vector<std::string> words = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away"};
  std::mt19937 rng(3);
  std::string text;
  while (text.size() < 60000) text += words[rng() % words.size()] + " ";
  std::ofstream(d.filePath("corpus/text8").toStdString()) << text;
  return d.filePath("corpus");
}

QStringList tiny_run(const QString& corpus, const QString& ws, int steps) {
  return {"train", "--workspace", ws, "--quiet", "dataset.name=text8", "dataset.data_dir=" + corpus, "model.d_model=16",
          "model.n_layers=1", "model.head_dim=8", "model.d_state=4", "model.chunk_size=16", "loader.batch_size=4",
          "loader.l_max=32", "trainer.precision=32", "trainer.log_every_n_steps=1", "trainer.checkpoint_every_n_steps=10",
          "trainer.limit_val_batches=2", "trainer.max_steps=" + QString::number(steps)};
}

int64_t wait_for_steps(const std::string& db_path, int64_t at_least, QProcess& p) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < 60000 && p.state() == QProcess::Running) {
    if (QFile::exists(QString::fromStdString(db_path))) {
      dm::store::RunStore db(db_path);
      if (db.run(1) && db.last_step(1) >= at_least) return db.last_step(1);
    }
    QThread::msleep(50);
  }
  return -1;
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT

 private slots:
  void version_and_help();
  void seed_command_line_print_config();
  void errors_exit_non_zero();
  void sigint_cancels_at_step_boundary();
  void kill_9_then_resume();
  void convert_hf_directory();
  void text_logits_and_tokenize();
  void babilong_pipeline();
  void lens_commands();
  void every_family_evaluates_and_probes();
  void mad_generate();
  void sweep_runs_every_combination();
  void per_token_loss_streams_and_resumes();
  void runs_archive();
  void doctor_info_selfcheck();
};

void TestCli::version_and_help() {
  auto v = run({"--version"});
  QCOMPARE(v.code, 0);
  QVERIFY2(v.out.contains("diffmamba") && v.out.contains("LibTorch"), qPrintable(v.out));
  auto h = run({"train", "--help"});
  QCOMPARE(h.code, 0);
  for (const char* key : {"loader.l_max", "trainer.devices", "model.n_layers", "optimizer.lr", "trainer.precision",
                          "lm/diffmamba2-text8"})
    QVERIFY2(h.out.contains(key), key);
}

void TestCli::seed_command_line_print_config() {
  auto r = run({"train", "experiment=lm/diffmamba2-text8", "trainer.devices=[0]", "model.dropout=0.5", "loader.l_max=512",
                "train.seed=0", "trainer.accumulate_grad_batches=1", "loader.batch_size=50", "model.n_layers=12",
                "model.d_model=1024", "trainer.max_epochs=40", "trainer.precision=32", "optimizer.lr=0.001",
                "--print-config"});
  QCOMPARE(r.code, 0);
  auto doc = QJsonDocument::fromJson(r.out.toUtf8()).object();
  auto cfg = doc["config"].toObject();
  QCOMPARE(cfg["loader"].toObject()["l_max"].toInt(), 512);
  QCOMPARE(cfg["loader"].toObject()["batch_size"].toInt(), 50);
  QCOMPARE(cfg["model"].toObject()["n_layers"].toInt(), 12);
  QCOMPARE(cfg["model"].toObject()["dropout"].toDouble(), 0.5);
  QCOMPARE(cfg["optimizer"].toObject()["lr"].toDouble(), 0.001);
  QCOMPARE(cfg["trainer"].toObject()["precision"].toString(), QString("32"));
  QCOMPARE(doc["hash"].toString().size(), 16);
}

void TestCli::errors_exit_non_zero() {
  auto unknown = run({"train", "loader.lmax=3", "--print-config"});
  QCOMPARE(unknown.code, 2);
  QVERIFY2(unknown.err.contains("loader.l_max"), qPrintable(unknown.err));
  auto range = run({"train", "loader.l_max=0", "--print-config"});
  QCOMPARE(range.code, 2);
  QVERIFY2(range.err.contains("loader.l_max = 0"), qPrintable(range.err));
  QTemporaryDir d;
  auto missing = run({"train", "--workspace", d.path(), "dataset.name=text8", "trainer.precision=32"});
  QCOMPARE(missing.code, 2);
  QVERIFY2(missing.err.contains("get_text8.sh"), qPrintable(missing.err));
  auto threads = run({"--threads", "100000", "doctor"});
  QVERIFY(threads.code != 0);
  QVERIFY2(threads.err.contains("--threads") && threads.err.contains("range"), qPrintable(threads.err));
  auto resume_override = run({"train", "--workspace", d.path(), "--resume", "1", "loader.l_max=64"});
  QCOMPARE(resume_override.code, 2);
  QVERIFY2(resume_override.err.contains("stored configuration"), qPrintable(resume_override.err));
  auto no_run = run({"runs", "show", "7", "--workspace", d.path()});
  QCOMPARE(no_run.code, 2);
  QVERIFY2(no_run.err.contains("run 7 does not exist"), qPrintable(no_run.err));
}

void TestCli::sigint_cancels_at_step_boundary() {
  QTemporaryDir d;
  const auto corpus = make_corpus(d);
  const auto ws = d.filePath("ws");
  QProcess p;
  p.start(DM_CLI_PATH, tiny_run(corpus, ws, 100000));
  QVERIFY(p.waitForStarted());
  const auto db_path = (ws + "/runs.db").toStdString();
  QVERIFY(wait_for_steps(db_path, 15, p) >= 15);
  ::kill(static_cast<pid_t>(p.processId()), SIGINT);
  QVERIFY(p.waitForFinished(60000));
  QCOMPARE(p.exitCode(), 130);
  QVERIFY(QString::fromUtf8(p.readAllStandardOutput()).contains("--resume 1"));
  {
    dm::store::RunStore db(db_path);
    QCOMPARE(QString::fromStdString(db.run(1)->status), QString("cancelled"));
  }
  QVERIFY(QFile::exists(ws + "/runs/1/checkpoint.safetensors"));
  auto listed = run({"runs", "list", "--workspace", ws});
  QVERIFY2(listed.out.contains("cancelled"), qPrintable(listed.out));
}

void TestCli::kill_9_then_resume() {
  QTemporaryDir d;
  const auto corpus = make_corpus(d);
  const auto ws = d.filePath("ws");
  const auto db_path = (ws + "/runs.db").toStdString();
  QProcess p;
  p.start(DM_CLI_PATH, tiny_run(corpus, ws, 200));
  QVERIFY(p.waitForStarted());
  QVERIFY(wait_for_steps(db_path, 35, p) >= 35);
  const auto pid = static_cast<int64_t>(p.processId());
  p.kill();  // SIGKILL: no handler runs
  QVERIFY(p.waitForFinished(30000));
  int64_t committed = 0;
  {
    dm::store::RunStore db(db_path);
    QCOMPARE(QString::fromStdString(db.integrity_check()), QString("ok"));
    committed = db.last_step(1);
    QVERIFY(committed >= 35);
    QCOMPARE(QString::fromStdString(db.run(1)->status), QString("running"));  // nobody has looked yet
    QCOMPARE(db.run(1)->pid, pid);
    QVERIFY(db.run(1)->heartbeat > 0);
  }
  // Listing the runs is enough to see the process is gone: crashed, with its last step and how to resume.
  auto listed = run({"runs", "list", "--workspace", ws});
  QVERIFY2(listed.code == 0 && listed.out.contains("crashed") && !listed.out.contains("running"), qPrintable(listed.out));
  QVERIFY2(listed.err.contains("--resume 1"), qPrintable(listed.err));
  {
    dm::store::RunStore db(db_path);
    const auto rec = db.run(1);
    QCOMPARE(QString::fromStdString(rec->status), QString("crashed"));
    QVERIFY2(QString::fromStdString(rec->message).contains("last step"), rec->message.c_str());
    QVERIFY(!rec->ended_at.empty());
  }
  auto shown = run({"runs", "show", "1", "--workspace", ws});
  QVERIFY2(shown.out.contains("crashed") && shown.out.contains("resume with"), qPrintable(shown.out));
  auto resumed = run({"train", "--workspace", ws, "--resume", "1"});
  QVERIFY2(resumed.code == 0, qPrintable(resumed.out + resumed.err));
  QVERIFY2(resumed.out.contains("resumed at step"), qPrintable(resumed.out));
  dm::store::RunStore db(db_path);
  QCOMPARE(QString::fromStdString(db.run(1)->status), QString("finished"));
  QCOMPARE(QString::fromStdString(db.integrity_check()), QString("ok"));
  const auto loss = db.metrics(1, "train/loss");
  QCOMPARE(int(loss.size()), 200);  // every step once: nothing committed before the kill was lost or duplicated
  for (int i = 0; i < 200; ++i) QCOMPARE(loss[static_cast<size_t>(i)].step, int64_t(i + 1));
}

void TestCli::convert_hf_directory() {
  auto cfg = dm::test::tiny_hf(dm::model::Family::mamba2, 4, 30);
  dm::model::LanguageModel m(cfg);
  QTemporaryDir d;
  dm::io::save_hf_directory(m, d.filePath("mamba2").toStdString());
  auto r = run({"convert", "--from", d.filePath("mamba2"), "--to", d.filePath("diff"), "--settings", "quarter"});
  QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
  auto back = dm::io::load_hf_directory(d.filePath("diff").toStdString());
  QCOMPARE(back->config().family, dm::model::Family::diffmamba2);
  QCOMPARE(QString::fromStdString(back->config().diff_layers), QString("quarter"));
  QVERIFY(back->named_parameters().contains("backbone.layers.3.mixer_2.in_proj.weight"));  // the last 4/4 = 1 block
  QVERIFY(back->named_parameters().contains("backbone.layers.2.mixer.in_proj.weight"));
  auto lg = run({"logits", "--ckpt_path", d.filePath("diff"), "--ids", "1,2,3,29", "--out", d.filePath("l.npy")});
  QVERIFY2(lg.code == 0, qPrintable(lg.out + lg.err));
  QCOMPARE(QFileInfo(d.filePath("l.npy")).size(), qint64(128 + 4 * 30 * 4));  // 128-byte header, float32 [4, 30]
  auto out_of_vocab = run({"logits", "--ckpt_path", d.filePath("diff"), "--ids", "1,30", "--out", d.filePath("x.npy")});
  QCOMPARE(out_of_vocab.code, 2);
  QVERIFY2(out_of_vocab.err.contains("outside the vocabulary"), qPrintable(out_of_vocab.err));
  auto bad = run({"convert", "--from", d.filePath("nothing"), "--to", d.filePath("x")});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("config.json"), qPrintable(bad.err));
  // A Mamba-1 checkpoint (transformers' MambaForCausalLM): logits as transformers gives them; convert refuses it.
  const QString mamba1 = QString(DM_TEST_DATA) + "/checkpoints/mamba1_tiny";
  auto m1 = run({"logits", "--ckpt_path", mamba1, "--ids", "5,17,90,3", "--out", d.filePath("m1.npy")});
  QVERIFY2(m1.code == 0, qPrintable(m1.out + m1.err));
  const auto got = dm::io::read_npy(d.filePath("m1.npy").toStdString());
  const auto want = dm::io::read_safetensors((mamba1 + "/expected_logits.safetensors").toStdString());
  DM_COMPARE_REL(got, want.find("logits")->narrow(0, 0, 4), 1e-5, "Mamba-1 logits from the CLI");
  auto no_convert = run({"convert", "--from", mamba1, "--to", d.filePath("m1diff")});
  QCOMPARE(no_convert.code, 2);
  QVERIFY2(no_convert.err.contains("Mamba-1"), qPrintable(no_convert.err));
}

void TestCli::text_logits_and_tokenize() {
  // The fixture tokenizer (HF tokenizers' own ids for its test strings are in expected_ids.json).
  const QString data = DM_TEST_DATA;
  QFile ef(data + "/tokenizer/expected_ids.json");
  QVERIFY(ef.open(QIODevice::ReadOnly));
  const auto expected = nlohmann::json::parse(ef.readAll().toStdString());
  const auto& hello = expected.at("cases").at(0);
  QCOMPARE(QString::fromStdString(hello.at("text").get<std::string>()), QString("Hello world! This is a test."));
  QStringList ids;
  for (const auto& id : hello.at("ids")) ids << QString::number(id.get<int64_t>());

  auto t = run({"tokenize", "--tokenizer", data + "/tokenizer", "--text", "Hello world! This is a test."});
  QVERIFY2(t.code == 0, qPrintable(t.out + t.err));
  QCOMPARE(t.out.trimmed(), ids.join(","));
  auto back = run({"tokenize", "--tokenizer", data + "/tokenizer/tokenizer.json", "--decode", ids.join(",")});
  QCOMPARE(back.out, QString("Hello world! This is a test.\n"));

  // --text gives the same logits as --ids with the tokenizer's ids.
  auto cfg = dm::test::tiny_hf(dm::model::Family::mamba2, 2, 4032);
  dm::model::LanguageModel m(cfg);
  QTemporaryDir d;
  dm::io::save_hf_directory(m, d.filePath("ckpt").toStdString());
  QVERIFY(QFile::copy(data + "/tokenizer/tokenizer.json", d.filePath("ckpt/tokenizer.json")));
  auto by_text = run({"logits", "--ckpt_path", d.filePath("ckpt"), "--text", "Hello world! This is a test.", "--out",
                      d.filePath("text.npy")});
  QVERIFY2(by_text.code == 0, qPrintable(by_text.out + by_text.err));
  QVERIFY2(by_text.out.contains(ids.join(",")), qPrintable(by_text.out));
  auto by_ids = run({"logits", "--ckpt_path", d.filePath("ckpt"), "--ids", ids.join(","), "--out", d.filePath("ids.npy")});
  QVERIFY2(by_ids.code == 0, qPrintable(by_ids.out + by_ids.err));
  QFile a(d.filePath("text.npy")), b(d.filePath("ids.npy"));
  QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
  QCOMPARE(a.size(), qint64(128 + 4 * ids.size() * 4032));
  QVERIFY(a.readAll() == b.readAll());

  // A directory without tokenizer.json, and text a model's vocabulary cannot hold: clear errors.
  QVERIFY(QFile::remove(d.filePath("ckpt/tokenizer.json")));
  auto no_tok = run({"logits", "--ckpt_path", d.filePath("ckpt"), "--text", "Hello", "--out", d.filePath("x.npy")});
  QCOMPARE(no_tok.code, 2);
  QVERIFY2(no_tok.err.contains("tokenizer.json"), qPrintable(no_tok.err));
  QVERIFY(!QFileInfo::exists(d.filePath("x.npy")));
  auto bad_ids = run({"tokenize", "--tokenizer", data + "/tokenizer", "--decode", "1,x"});
  QCOMPARE(bad_ids.code, 2);
  QVERIFY2(bad_ids.err.contains("'x'"), qPrintable(bad_ids.err));

  // Decoding prints bytes, NUL included: 190 is byte-level BPE's token for byte 0.
  auto nul = run({"tokenize", "--tokenizer", data + "/tokenizer", "--decode", "79,190,79"});
  QCOMPARE(nul.code, 0);
  QCOMPARE(nul.out, QString::fromUtf8("n\0n\n", 4));

  // logits takes our own model files and run folders too; a run folder's tokenizer.json encodes --text.
  dm::io::save_model(m, d.filePath("model.safetensors").toStdString());
  QVERIFY(QDir(d.path()).mkpath("run"));
  QVERIFY(QFile::copy(d.filePath("model.safetensors"), d.filePath("run/model.safetensors")));
  QVERIFY(QFile::copy(data + "/tokenizer/tokenizer.json", d.filePath("run/tokenizer.json")));
  auto by_file = run({"logits", "--ckpt_path", d.filePath("model.safetensors"), "--ids", ids.join(","), "--out",
                      d.filePath("file.npy")});
  QVERIFY2(by_file.code == 0, qPrintable(by_file.out + by_file.err));
  auto by_run = run({"logits", "--ckpt_path", d.filePath("run"), "--text", "Hello world! This is a test.", "--out",
                     d.filePath("run.npy")});
  QVERIFY2(by_run.code == 0, qPrintable(by_run.out + by_run.err));
  QFile f(d.filePath("file.npy")), r(d.filePath("run.npy"));
  QVERIFY(f.open(QIODevice::ReadOnly) && r.open(QIODevice::ReadOnly));
  QVERIFY(a.seek(0));
  const QByteArray expected_npy = a.readAll();
  QCOMPARE(f.readAll(), expected_npy);
  QCOMPARE(r.readAll(), expected_npy);
  QVERIFY(QDir(d.path()).mkpath("empty"));
  auto not_a_model = run({"logits", "--ckpt_path", d.filePath("empty"), "--ids", "1", "--out", d.filePath("y.npy")});
  QCOMPARE(not_a_model.code, 2);
  QVERIFY2(not_a_model.err.contains("is not a model"), qPrintable(not_a_model.err));
}

void TestCli::babilong_pipeline() {
  QTemporaryDir d;
  // generate: JSON lines with the dataset's fields.
  auto g = run({"babilong", "generate", "--task", "qa1", "--length", "1k", "--samples", "3", "--out", d.filePath("s.jsonl")});
  QVERIFY2(g.code == 0, qPrintable(g.out + g.err));
  QFile sf(d.filePath("s.jsonl"));
  QVERIFY(sf.open(QIODevice::ReadOnly));
  int lines = 0;
  for (const auto& line : sf.readAll().split('\n')) {
    if (line.isEmpty()) continue;
    const auto j = nlohmann::json::parse(line.toStdString());
    QVERIFY(j.contains("input") && j.contains("question") && j.contains("target"));
    ++lines;
  }
  QCOMPARE(lines, 3);
  // A tiny character-level model: evaluate, then score the seed-format files it wrote.
  auto cfg = dm::test::tiny_hf(dm::model::Family::diffmamba2, 2, 27);
  dm::model::LanguageModel m(cfg);
  dm::io::save_model(m, d.filePath("tiny.safetensors").toStdString());
  auto e = run({"eval-babilong", "--ckpt_path", d.filePath("tiny.safetensors"), "--workspace", d.filePath("ws"), "--tasks",
                "qa1", "qa2", "--lengths", "0k", "--samples", "4", "--max_new_tokens", "4", "--results_folder",
                d.filePath("res"), "--model_name", "tiny", "--quiet"});
  QVERIFY2(e.code == 0, qPrintable(e.out + e.err));
  QVERIFY2(e.out.contains("accuracy"), qPrintable(e.out));
  const auto ours = dm::io::read_npy(d.filePath("res/tiny/acc_tiny.npy").toStdString());
  QCOMPARE(ours.sizes().vec(), (std::vector<int64_t>{2, 1}));
  QVERIFY(QFile::remove(d.filePath("res/tiny/acc_tiny.npy")));
  auto sc = run({"babilong", "score", "--results_folder", d.filePath("res"), "--model_name", "tiny", "--tasks", "qa1",
                 "qa2", "--lengths", "0k"});
  QVERIFY2(sc.code == 0, qPrintable(sc.out + sc.err));
  QVERIFY(torch::equal(dm::io::read_npy(d.filePath("res/tiny/acc_tiny.npy").toStdString()), ours));
  // aggregate: mean and standard deviation over seeds.
  dm::io::write_npy(d.filePath("a.npy").toStdString(), torch::tensor({10.0, 20.0}, torch::kDouble));
  dm::io::write_npy(d.filePath("b.npy").toStdString(), torch::tensor({30.0, 20.0}, torch::kDouble));
  auto ag = run({"babilong", "aggregate", "--inputs", d.filePath("a.npy"), d.filePath("b.npy"), "--out",
                 d.filePath("mean.npy"), "--std_out", d.filePath("std.npy")});
  QVERIFY2(ag.code == 0, qPrintable(ag.out + ag.err));
  QVERIFY(torch::allclose(dm::io::read_npy(d.filePath("mean.npy").toStdString()), torch::tensor({20.0, 20.0}, torch::kDouble)));
  QVERIFY(torch::allclose(dm::io::read_npy(d.filePath("std.npy").toStdString()),
                          torch::tensor({std::sqrt(200.0), 0.0}, torch::kDouble)));
  // finetune-pg19 on two small "books" (the last one held out), a few steps.
  QDir(d.path()).mkpath("books");
  for (const char* b : {"books/a.txt", "books/b.txt"}) {
    std::ofstream f(d.filePath(b).toStdString());
    for (int i = 0; i < 40; ++i) f << "The old ship sailed slowly along the grey coast of the northern sea. ";
  }
  auto ft = run({"finetune-pg19", "--ckpt_path", d.filePath("tiny.safetensors"), "--pg19", d.filePath("books"), "--output_dir",
                 d.filePath("pg19-out"), "--max_steps", "4", "--batch_size", "2", "--max_length", "128", "--eval_steps", "2",
                 "--save_steps", "4", "--warmup", "1", "--workspace", d.filePath("ws"), "--quiet"});
  QVERIFY2(ft.code == 0, qPrintable(ft.out + ft.err));
  QVERIFY(QFileInfo::exists(d.filePath("pg19-out/model.safetensors")));
  QVERIFY(QFileInfo::exists(d.filePath("pg19-out/checkpoint-4/model.safetensors")));
  // finetune-needle from an HF Mamba2 directory, turned into a Diff-Mamba2 first (the seed's --diffmamba);
  // the output folder gets the seed's -seed<seed> suffix.
  auto mcfg = cfg;
  mcfg.family = dm::model::Family::mamba2;
  dm::model::LanguageModel vanilla(mcfg);
  dm::io::save_hf_directory(vanilla, d.filePath("hf-mamba2").toStdString());
  auto fn = run({"finetune-needle", "--ckpt_path", d.filePath("hf-mamba2"), "--diffmamba", "--tasks", "qa1", "--samples", "20",
                 "--max_steps", "2", "--batch_size", "2", "--eval_steps", "2", "--save_steps", "2", "--warmup", "0",
                 "--output_dir", d.filePath("needle"), "--seed", "42", "--workspace", d.filePath("ws"), "--quiet"});
  QVERIFY2(fn.code == 0, qPrintable(fn.out + fn.err));
  auto tuned = dm::io::load_hf_directory(d.filePath("needle-seed42").toStdString());
  QCOMPARE(tuned->config().family, dm::model::Family::diffmamba2);
  // Bad input: clear errors, exit code 2.
  auto np = run({"finetune-needle", "--ckpt_path", d.filePath("tiny.safetensors"), "--output_dir", d.filePath("x"),
                 "--workspace", d.filePath("ws"), "--nproc_per_node", "0"});
  QCOMPARE(np.code, 2);
  QVERIFY2(np.err.contains("nproc_per_node"), qPrintable(np.err));
  auto bad_len = run({"eval-babilong", "--ckpt_path", d.filePath("tiny.safetensors"), "--workspace", d.filePath("ws"),
                      "--lengths", "3k"});
  QCOMPARE(bad_len.code, 2);
  QVERIFY2(bad_len.err.contains("3k") && bad_len.err.contains("64k"), qPrintable(bad_len.err));
  auto no_pg19 = run({"finetune-pg19", "--ckpt_path", d.filePath("tiny.safetensors"), "--output_dir", d.filePath("y")});
  QCOMPARE(no_pg19.code, 2);
  QVERIFY2(no_pg19.err.contains("--pg19"), qPrintable(no_pg19.err));
}

void TestCli::every_family_evaluates_and_probes() {
  // The five families beyond Mamba2 / Diff-Mamba2, as our model files: BABILong evaluation (greedy decoding
  // through each family's recurrent step), the tuned lens (train and eval over its blocks), and a compare
  // figure between two of them; the runs carry the family.
  QTemporaryDir d;
  const QString ws = d.filePath("ws");
  std::map<std::string, int64_t> eval_runs;
  for (auto fam : {dm::model::Family::mamba, dm::model::Family::diffmamba, dm::model::Family::diffs6,
                   dm::model::Family::diffmamba2E, dm::model::Family::diffs6mamba2}) {
    const std::string name = dm::model::to_string(fam);
    auto cfg = dm::model::ModelConfig::lm_defaults(fam);
    cfg.vocab_size = 27;
    cfg.d_model = 32;
    cfg.n_layers = 1;
    cfg.d_state = 8;
    cfg.head_dim = 16;
    torch::manual_seed(3);
    dm::model::LanguageModel m(cfg);
    const QString file = d.filePath(QString::fromStdString(name) + ".safetensors");
    dm::io::save_model(m, file.toStdString());
    auto e = run({"eval-babilong", "--ckpt_path", file, "--workspace", ws, "--tasks", "qa1", "--lengths", "0k", "--samples",
                  "3", "--max_new_tokens", "3", "--results_folder", d.filePath("res"), "--model_name",
                  QString::fromStdString(name), "--quiet"});
    QVERIFY2(e.code == 0, qPrintable(QString::fromStdString(name) + ": " + e.out + e.err));
    QVERIFY(QFileInfo::exists(d.filePath(QString::fromStdString("res/" + name + "/acc_" + name + ".npy"))));
    auto t = run({"lens", "train", "--model.name", file, "--output", d.filePath(QString::fromStdString("lens-" + name)),
                  "--num_steps", "2", "--tokens_per_step", "64", "--max_seq_len", "32", "--workspace", ws, "--quiet"});
    QVERIFY2(t.code == 0, qPrintable(QString::fromStdString(name) + " lens train: " + t.out + t.err));
    auto le = run({"lens", "eval", "--ckpt_path", file, "--lens", d.filePath(QString::fromStdString("lens-" + name)),
                   "--num_examples", "3", "--samples", "2", "--workspace", ws, "--quiet"});
    QVERIFY2(le.code == 0, qPrintable(QString::fromStdString(name) + " lens eval: " + le.out + le.err));
    QVERIFY2(le.out.contains("layer   1"), qPrintable(le.out));
  }
  dm::store::RunStore db((ws + "/runs.db").toStdString());
  for (const auto& r : db.runs())
    if (r.kind == "eval-babilong") eval_runs[r.family] = r.id;
  QCOMPARE(eval_runs.size(), size_t{5});  // one per family, each recorded with its own
  // Any two families compare: Diff-S6 against its Mamba-1 baseline.
  auto c = run({"plot", "compare", "--workspace", ws, "--run", QString::number(eval_runs.at("diffs6")), "--baseline-run",
                QString::number(eval_runs.at("mamba")), "--output_file", d.filePath("cmp.pdf")});
  QVERIFY2(c.code == 0, qPrintable(c.out + c.err));
  QVERIFY(QFileInfo(d.filePath("cmp.pdf")).size() > 0);
}

void TestCli::mad_generate() {
  // `diffmamba mad generate`: JSON lines with inputs, targets and the scored positions; the test split follows
  // the train split's stream; bad names are refused with the valid ones.
  QTemporaryDir d;
  auto g = run({"mad", "generate", "--task", "selective-copying", "--setting", "num_tokens_to_copy=32", "--split", "test",
                "--examples", "10", "--out", d.filePath("sc.jsonl")});
  QVERIFY2(g.code == 0, qPrintable(g.out + g.err));
  QVERIFY2(g.out.contains("wrote 1280 test instances"), qPrintable(g.out));
  QFile f(d.filePath("sc.jsonl"));
  QVERIFY(f.open(QIODevice::ReadOnly));
  int lines = 0;
  for (const auto& line : f.readAll().split('\n')) {
    if (line.isEmpty()) continue;
    const auto j = nlohmann::json::parse(line.toStdString());
    const auto in = j.at("inputs").get<std::vector<int64_t>>(), tg = j.at("targets").get<std::vector<int64_t>>();
    const auto sc = j.at("scored").get<std::vector<int64_t>>();
    QCOMPARE(in.size(), size_t{256});
    QCOMPARE(tg.size(), in.size());
    QCOMPARE(sc.size(), size_t{32});
    for (auto p : sc) QVERIFY(tg[static_cast<size_t>(p)] != -100);
    ++lines;
  }
  QCOMPARE(lines, 1280);
  auto list = run({"mad", "generate", "--list"});
  QVERIFY2(list.code == 0 && list.out.contains("memorization") && list.out.contains("vocab_size=8192"), qPrintable(list.out));
  auto bad = run({"mad", "generate", "--task", "compression", "--setting", "hard", "--out", d.filePath("x.jsonl")});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("seq_len=64"), qPrintable(bad.err));
  QVERIFY(!QFileInfo::exists(d.filePath("x.jsonl")));
}

void TestCli::sweep_runs_every_combination() {
  // `diffmamba sweep train`: a 2 × 2 grid of tiny trainings under one sweep record, each run with its values;
  // `sweep show` lists them with the metric, `sweep list` the sweep; a bad value stops the sweep before
  // anything runs.
  QTemporaryDir d;
  const QString ws = d.filePath("ws");
  const QStringList tiny = {"experiment=demo/mamba2-fortunes", "model.d_model=16", "model.n_layers=1", "model.head_dim=8",
                            "model.d_state=8", "trainer.max_steps=3", "trainer.val_check_interval=3", "loader.batch_size=4",
                            "loader.l_max=32"};
  auto dry = run(QStringList{"sweep", "train", "--dry-run"} + tiny + QStringList{"optimizer.lr=[1e-3,2e-3]"});
  QVERIFY2(dry.code == 0 && dry.out.contains("sweep of 2 runs over 1 axes"), qPrintable(dry.out + dry.err));
  QVERIFY(!QFileInfo::exists(ws));
  auto s = run(QStringList{"sweep", "train", "--workspace", ws, "--quiet"} + tiny +
               QStringList{"optimizer.lr=[1e-3,2e-3]", "optimizer.weight_decay=[0,0.1]"});
  QVERIFY2(s.code == 0, qPrintable(s.out + s.err));
  dm::store::RunStore db((ws + "/runs.db").toStdString());
  QCOMPARE(db.sweeps().size(), size_t{1});
  const auto sw = db.sweeps().front();
  QCOMPARE(QString::fromStdString(sw.grid_json), QString(R"({"optimizer.lr":["1e-3","2e-3"],"optimizer.weight_decay":["0","0.1"]})"));
  const auto runs = db.runs_of_sweep(sw.id);
  QCOMPARE(runs.size(), size_t{4});
  const std::vector<std::pair<double, double>> want = {{1e-3, 0}, {1e-3, 0.1}, {2e-3, 0}, {2e-3, 0.1}};
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto cfg = nlohmann::json::parse(runs[i].config_json);
    QCOMPARE(cfg["optimizer"]["lr"].get<double>(), want[i].first);
    QCOMPARE(cfg["optimizer"]["weight_decay"].get<double>(), want[i].second);
    QCOMPARE(QString::fromStdString(runs[i].status), QString("finished"));
  }
  auto show = run({"sweep", "show", QString::number(sw.id), "--workspace", ws});
  QVERIFY2(show.code == 0 && show.out.contains("optimizer.weight_decay") && show.out.contains("best val/loss"),
           qPrintable(show.out + show.err));
  QCOMPARE(show.out.count("finished"), 4);
  auto list = run({"sweep", "list", "--workspace", ws});
  QVERIFY2(list.code == 0 && list.out.contains("optimizer.lr × optimizer.weight_decay"), qPrintable(list.out));
  auto bad = run(QStringList{"sweep", "train", "--workspace", ws} + tiny + QStringList{"loader.l_max=[32,-1]"});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("l_max"), qPrintable(bad.err));
  QCOMPARE(db.sweeps().size(), size_t{1});  // nothing was created
  // `train --sweep ID`: one more run joins the sweep (as the window queues its sweeps); an unknown sweep is refused.
  auto more = run(QStringList{"train", "--workspace", ws, "--quiet", "--sweep", QString::number(sw.id)} + tiny +
                  QStringList{"optimizer.lr=3e-3"});
  QVERIFY2(more.code == 0, qPrintable(more.out + more.err));
  QCOMPARE(db.runs_of_sweep(sw.id).size(), size_t{5});
  auto unknown = run(QStringList{"train", "--workspace", ws, "--sweep", "99"} + tiny);
  QVERIFY(unknown.code != 0);
  QVERIFY2(unknown.err.contains("--sweep") && unknown.err.contains("not a sweep"), qPrintable(unknown.err));
  QCOMPARE(db.runs_of_sweep(sw.id).size(), size_t{5});
}

void TestCli::per_token_loss_streams_and_resumes() {
  // `diffmamba per-token-loss` on a character-level model and two text documents: the per-position loss
  // is the mean over sequences of the one-shot forward's cross-entropy of logits[t] against token t + 1
  // (computed here independently), the averages are the seed's names, results.npz is a valid zip, and a run
  // stopped after one sequence continues to the same numbers as an uninterrupted one.
  QTemporaryDir d;
  auto cfg = dm::model::ModelConfig::lm_defaults(dm::model::Family::mamba);
  cfg.vocab_size = 27;
  cfg.d_model = 32;
  cfg.n_layers = 1;
  cfg.d_state = 8;
  torch::manual_seed(1);
  dm::model::LanguageModel m(cfg);
  dm::io::save_model(m, d.filePath("m.safetensors").toStdString());
  QDir(d.path()).mkpath("docs");
  std::string all;
  for (const char* name : {"docs/a.txt", "docs/b.txt"}) {
    std::ofstream f(d.filePath(name).toStdString());
    std::string text;
    for (int i = 0; i < 30; ++i) text += std::string(name) + " the grey ship sailed on along the coast of the northern sea ";
    f << text;
  }
  const int64_t L = 600;
  auto once = [&](const QString& out, int64_t tokens) {
    return run({"per-token-loss", "--ckpt_path", d.filePath("m.safetensors"), "--data", d.filePath("docs"), "--eval_len",
                QString::number(L), "--eval_tokens", QString::number(tokens), "--chunk", "128", "--output_dir", out,
                "--workspace", d.filePath("ws"), "--quiet"});
  };
  auto r = once(d.filePath("full"), 2 * L);
  QVERIFY2(r.code == 0 && r.out.contains("2 sequences of 600 tokens"), qPrintable(r.out + r.err));
  QFile rf(d.filePath("full/results.json"));
  QVERIFY(rf.open(QIODevice::ReadOnly));
  const auto j = nlohmann::json::parse(rf.readAll().toStdString());
  const auto per = j.at("val/loss_per_token").get<std::vector<double>>();
  QCOMPARE(per.size(), size_t{600});
  QVERIFY(j.contains("val/loss_avg_len_512") && j.contains("val/perplexity_len_600"));
  // The same numbers from the model's one-shot forward over the same token stream (text8 characters).
  auto codec = dm::data::text8_codec();
  std::vector<int64_t> ids;
  for (const char* name : {"docs/a.txt", "docs/b.txt"}) {
    QFile f(d.filePath(name));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto e = codec->encode(codec->normalize(f.readAll().toStdString()));
    ids.insert(ids.end(), e.begin(), e.end());
  }
  QVERIFY(static_cast<int64_t>(ids.size()) >= 2 * (L + 1));
  m->eval();
  torch::NoGradGuard off;
  auto expect = torch::zeros({L}, torch::kDouble);
  for (int64_t s = 0; s < 2; ++s) {
    auto seq = torch::tensor(std::vector<int64_t>(ids.begin() + s * (L + 1), ids.begin() + (s + 1) * (L + 1)), torch::kLong);
    auto logits = m->forward(seq.narrow(0, 0, L).unsqueeze(0)).squeeze(0);
    expect += torch::nn::functional::cross_entropy(logits, seq.narrow(0, 1, L),
                                                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                  .to(torch::kDouble);
  }
  expect /= 2;
  DM_COMPARE_REL(torch::tensor(per, torch::kDouble), expect, 1e-5, "per-token loss vs one-shot forward");
  double first512 = 0;
  for (int t = 0; t < 512; ++t) first512 += per[static_cast<size_t>(t)];
  QVERIFY(std::abs(j.at("val/loss_avg_len_512").get<double>() - first512 / 512) < 1e-9);
  // results.npz: a zip whose members check out (python's zipfile verifies every CRC).
  QProcess py;
  py.start("python3", {"-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; "
                             "print(' '.join(sorted(z.namelist())))",
                       d.filePath("full/results.npz")});
  QVERIFY(py.waitForFinished(30000));
  const QString names = QString::fromUtf8(py.readAllStandardOutput());
  QVERIFY2(py.exitCode() == 0 && names.contains("val/loss_per_token.npy") && names.contains("val/perplexity_len_512.npy"),
           qPrintable(names + py.readAllStandardError()));
  // One sequence, then the rest: the progress is picked up (results.json removed to let it go on).
  auto a = once(d.filePath("part"), L);
  QVERIFY2(a.code == 0, qPrintable(a.out + a.err));
  QVERIFY(QFile::remove(d.filePath("part/results.json")));
  auto b = once(d.filePath("part"), 2 * L);
  QVERIFY2(b.code == 0 && b.out.contains("2 sequences"), qPrintable(b.out + b.err));
  QFile pf(d.filePath("part/results.json"));
  QVERIFY(pf.open(QIODevice::ReadOnly));
  const auto pj = nlohmann::json::parse(pf.readAll().toStdString());
  QCOMPARE(pj.at("val/loss_per_token").get<std::vector<double>>(), per);
  // Bad input: a token file outside the vocabulary, and too little data.
  dm::io::write_npy(d.filePath("big.npy").toStdString(), torch::full({700}, 99, torch::kLong));
  auto bad = run({"per-token-loss", "--ckpt_path", d.filePath("m.safetensors"), "--data", d.filePath("big.npy"), "--eval_len",
                  "600", "--output_dir", d.filePath("bad"), "--workspace", d.filePath("ws")});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("outside the model's vocabulary"), qPrintable(bad.err));
  auto few = run({"per-token-loss", "--ckpt_path", d.filePath("m.safetensors"), "--data", d.filePath("docs/a.txt"),
                  "--eval_len", "100000", "--output_dir", d.filePath("few"), "--workspace", d.filePath("ws")});
  QCOMPARE(few.code, 2);
  QVERIFY2(few.err.contains("fewer than eval_len"), qPrintable(few.err));
}

void TestCli::lens_commands() {
  QTemporaryDir d;
  auto cfg = dm::test::tiny_hf(dm::model::Family::mamba2, 2, 27);
  dm::model::LanguageModel m(cfg);
  dm::io::save_hf_directory(m, d.filePath("ckpt").toStdString());
  // The seed's spelling: --model.name … --per_gpu_batch_size=1 --ssm --output …
  auto t = run({"lens", "train", "--model.name", d.filePath("ckpt"), "--per_gpu_batch_size=1", "--ssm", "--output",
                d.filePath("my_lenses/ckpt"), "--num_steps", "3", "--tokens_per_step", "128", "--max_seq_len", "64",
                "--workspace", d.filePath("ws"), "--quiet"});
  QVERIFY2(t.code == 0, qPrintable(t.out + t.err));
  QVERIFY(QFileInfo::exists(d.filePath("my_lenses/ckpt/params.safetensors")));
  auto e = run({"lens", "eval", "--ckpt_path", d.filePath("ckpt"), "--lens", d.filePath("my_lenses/ckpt"), "--num_examples",
                "6", "--samples", "3", "--workspace", d.filePath("ws"), "--quiet"});
  QVERIFY2(e.code == 0, qPrintable(e.out + e.err));
  QVERIFY2(e.out.contains("layer   2"), qPrintable(e.out));
  QVERIFY(QFileInfo::exists(d.filePath("ckpt-lens_eval.txt")));  // the seed's default place
  auto im = run({"lens", "import", "--results", d.filePath("ckpt-lens_eval.txt"), "--family", "mamba2", "--workspace",
                 d.filePath("ws")});
  QVERIFY2(im.code == 0, qPrintable(im.out + im.err));
  dm::store::RunStore db(d.filePath("ws/runs.db").toStdString());
  const auto runs = db.runs();
  QCOMPARE(runs.front().kind, std::string("lens-import"));
  QCOMPARE(db.lens_points(runs.front().id).size(), size_t{2});  // layers 1 and 2
  // A lens of another model: clear error, exit 2.
  cfg.n_layers = 3;
  dm::model::LanguageModel other(cfg);
  dm::io::save_hf_directory(other, d.filePath("other").toStdString());
  auto bad = run({"lens", "eval", "--ckpt_path", d.filePath("other"), "--lens", d.filePath("my_lenses/ckpt"), "--workspace",
                  d.filePath("ws")});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("2 blocks") && bad.err.contains("3 blocks"), qPrintable(bad.err));
  // Deleting the lens-train run with --files removes its folder (the lens).
  int64_t train_run = 0;
  for (const auto& r : runs)
    if (r.kind == "lens-train") train_run = r.id;
  QVERIFY(train_run > 0);
  auto del = run({"runs", "--workspace", d.filePath("ws"), "delete", QString::number(train_run), "--files"});
  QVERIFY2(del.code == 0, qPrintable(del.out + del.err));
  QVERIFY(!QFileInfo::exists(d.filePath("my_lenses/ckpt")));
}

void TestCli::runs_archive() {
  QTemporaryDir d;
  QVERIFY(QDir().mkpath(d.filePath("ws")));
  {
    dm::store::RunStore db(d.filePath("ws/runs.db").toStdString());
    for (const char* name : {"kept-run", "old-run"}) {
      auto r = dm::test::finished_record(name, "train", "mamba2");
      r.config_json = "{}";
      r.config_hash = "h";
      db.create_run(r);
    }
  }
  const QString ws = d.filePath("ws");
  auto a = run({"runs", "--workspace", ws, "archive", "2"});
  QVERIFY2(a.code == 0, qPrintable(a.out + a.err));
  auto l = run({"runs", "list", "--workspace", ws});
  QVERIFY2(l.code == 0 && l.out.contains("kept-run") && !l.out.contains("old-run"), qPrintable(l.out));
  QVERIFY2(l.out.contains("1 archived run not shown"), qPrintable(l.out));
  auto all = run({"runs", "list", "--all", "--workspace", ws});
  QVERIFY2(all.out.contains("old-run") && all.out.contains("finished*"), qPrintable(all.out));
  QVERIFY(dm::store::RunStore(d.filePath("ws/runs.db").toStdString()).run(2)->archived);
  auto u = run({"runs", "--workspace", ws, "unarchive", "2"});
  QVERIFY2(u.code == 0, qPrintable(u.out + u.err));
  QVERIFY(run({"runs", "list", "--workspace", ws}).out.contains("old-run"));
  // --filter: the runs filter language (fields, config keys, metrics).
  auto f = run({"runs", "list", "--workspace", ws, "--filter", "name~OLD id>=2"});
  QVERIFY2(f.code == 0 && f.out.contains("old-run") && !f.out.contains("kept-run"), qPrintable(f.out + f.err));
  auto none = run({"runs", "list", "--workspace", ws, "--filter", "model.d_model>32"});
  QVERIFY2(none.code == 0 && none.out.contains("no run matches") && none.out.contains("no run has model.d_model"),
           qPrintable(none.out));
  auto syntax = run({"runs", "list", "--workspace", ws, "--filter", "id>"});
  QVERIFY2(syntax.code == 2 && syntax.err.contains("needs a key and a value"), qPrintable(syntax.err));
  auto bad = run({"runs", "--workspace", ws, "archive", "9"});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("run 9 does not exist"), qPrintable(bad.err));
}

QTEST_GUILESS_MAIN(TestCli)
// doctor (and its older name info) describe this build; selfcheck without a GPU skips with the reason.
void TestCli::doctor_info_selfcheck() {
  const auto d = run({"doctor"}), i = run({"info"});
  QCOMPARE(d.code, 0);
  QCOMPARE(i.code, 0);
  for (const char* key : {"LibTorch", "CUDA available", "CUDA kernels", "intra-op threads"})
    QVERIFY2(d.out.contains(key), qPrintable(d.out));
  QCOMPARE(i.out, d.out);
  if (d.out.contains(QRegularExpression("CUDA available +no"))) {
    const auto s = run({"selfcheck", "--device", "cuda", "--kernels-only"});
    QCOMPARE(s.code, 77);
    QVERIFY2(s.out.contains("SKIPPED"), qPrintable(s.out + s.err));
  }
  const auto bad = run({"selfcheck", "--device", "tpu"});
  QVERIFY2(bad.code != 0 && bad.code != 77, qPrintable(bad.out + bad.err));
}

#include "tst_cli.moc"
