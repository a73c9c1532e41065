// Hostile input, end to end (issue 19): every case is a file or option an attacker or a fuzzer would
// hand the CLI, generated here, and run as a user would run it under a 4 GiB address-space limit and a
// CPU-time limit. Each must end within seconds with a clear error (exit 1..127, "error:", the file or
// option and the rule named), never a signal, a hang or an allocation spree, and write nothing outside
// the workspace.
#include <torch/torch.h>

#include <caffe2/serialize/inline_container.h>
#include <QDir>
#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/io/atomic_file.h"
#include "core/io/model_file.h"
#include "core/io/safetensors.h"
#include "core/model/language_model.h"
#include "tests/app/cli_runner.h"

namespace {

constexpr rlim_t kAddressSpace = rlim_t{4} << 30;  // 4 GiB
constexpr rlim_t kCpuSeconds = 60;
constexpr int kWallMs = 30000;

std::string fixture(const std::string& rel) { return std::string(DM_TEST_DATA) + "/" + rel; }

void put(const QString& path, const std::string& bytes) {
  QDir().mkpath(QFileInfo(path).path());
  std::ofstream(path.toStdString(), std::ios::binary) << bytes;
}

// A torch.save archive (stored entries, as torch.save writes them) holding `pickle` as data.pkl and the
// given storage records.
void torch_archive(const QString& path, const std::string& pickle,
                   const std::vector<std::pair<std::string, std::string>>& records = {}) {
  QDir().mkpath(QFileInfo(path).path());
  caffe2::serialize::PyTorchStreamWriter w(path.toStdString());
  w.writeRecord("data.pkl", pickle.data(), pickle.size());
  w.writeRecord("byteorder", "little", 6);
  for (const auto& [name, bytes] : records) w.writeRecord(name, bytes.data(), bytes.size());
  w.writeEndOfFile();
}

std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string i64(int64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
std::string unicode(const std::string& s) { return "X" + u32(static_cast<uint32_t>(s.size())) + s; }

// A zip archive as PyTorchStreamReader reads it (records under "archive/"), whose data.pkl is deflated
// (method 8) from `inflated` bytes of 'N'. Written by hand: torch.save itself never compresses.
std::string deflate_bomb_archive(size_t inflated) {
  const QByteArray z = qCompress(QByteArray(static_cast<qsizetype>(inflated), 'N'), 9);
  const std::string raw(z.constData() + 6, static_cast<size_t>(z.size()) - 10);  // drop qCompress's length, zlib header, adler32
  auto u16 = [](uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); };
  struct Entry {
    std::string name, data;
    uint16_t method;
    uint32_t size;
  };
  const std::vector<Entry> entries = {{"archive/version", "3\n", 0, 2},
                                      {"archive/byteorder", "little", 0, 6},
                                      {"archive/data.pkl", raw, 8, static_cast<uint32_t>(inflated)}};
  std::string zip, central;
  for (const auto& e : entries) {
    const auto offset = static_cast<uint32_t>(zip.size());
    const auto common = u16(e.method) + u32(0) + u32(0) + u32(static_cast<uint32_t>(e.data.size())) + u32(e.size) +
                        u16(static_cast<uint16_t>(e.name.size())) + u16(0);
    zip += u32(0x04034b50) + u16(20) + u16(0) + common + e.name + e.data;
    central += u32(0x02014b50) + u16(20) + u16(20) + u16(0) + common + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + e.name;
  }
  const auto cd_offset = static_cast<uint32_t>(zip.size());
  zip += central + u32(0x06054b50) + u16(0) + u16(0) + u16(3) + u16(3) + u32(static_cast<uint32_t>(central.size())) +
         u32(cd_offset) + u16(0);
  return zip;
}

// A folder with the tiny transformers checkpoint's config.json, whose JSON `edit` changes.
QString hf_dir(const QString& root, const QString& name, const std::function<void(nlohmann::json&)>& edit) {
  const QString dir = root + "/" + name;
  QDir().mkpath(dir);
  auto cfg = nlohmann::json::parse(dm::io::read_file(fixture("checkpoints/mamba2_tiny_bin/config.json")));
  edit(cfg);
  put(dir + "/config.json", cfg.dump());
  QFile::copy(QString::fromStdString(fixture("checkpoints/mamba2_tiny_bin/pytorch_model.bin")), dir + "/pytorch_model.bin");
  return dir;
}

}  // namespace

class TestHostile : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void hostile_inputs_data();
  void hostile_inputs();
  void second_resume_is_refused();
  void nothing_written_outside();

 private:
  struct Outcome {
    int code = -1;
    bool signalled = false, timed_out = false;
    qint64 ms = 0;
    QString err;
  };
  Outcome run_limited(const QStringList& args, int wall_ms = kWallMs);
  QTemporaryDir tmp_;
  QString root_, ws_, outside_;
  QStringList outside_before_;
};

TestHostile::Outcome TestHostile::run_limited(const QStringList& args, int wall_ms) {
  QProcess p;
  p.setWorkingDirectory(root_);
  auto env = QProcessEnvironment::systemEnvironment();
  env.insert("HOME", root_ + "/home");
  env.insert("XDG_DATA_HOME", root_ + "/home/data");
  env.insert("DM_USER_PRESETS", ws_ + "/presets");
  env.insert("OMP_NUM_THREADS", "2");
  p.setProcessEnvironment(env);
  p.setChildProcessModifier([] {
    const struct rlimit as {kAddressSpace, kAddressSpace}, cpu {kCpuSeconds, kCpuSeconds};
    ::setrlimit(RLIMIT_AS, &as);
    ::setrlimit(RLIMIT_CPU, &cpu);
  });
  QElapsedTimer t;
  t.start();
  p.start(DM_CLI_PATH, args);
  Outcome o;
  if (!p.waitForStarted()) {
    o.err = "could not start: " + p.errorString();
    return o;
  }
  if (!p.waitForFinished(wall_ms)) {
    p.kill();
    p.waitForFinished();
    o.timed_out = true;
  }
  o.ms = t.elapsed();
  o.signalled = p.exitStatus() != QProcess::NormalExit;
  o.code = o.signalled ? -1 : p.exitCode();
  o.err = QString::fromUtf8(p.readAllStandardError()) + QString::fromUtf8(p.readAllStandardOutput());
  return o;
}

void TestHostile::initTestCase() {
  QVERIFY(tmp_.isValid());
  root_ = tmp_.path();
  ws_ = root_ + "/ws";
  outside_ = root_ + "/outside";
  QDir().mkpath(ws_ + "/presets");
  QDir().mkpath(outside_);
  QDir().mkpath(root_ + "/home");
  put(outside_ + "/keep.txt", "keep me");
  const QString h = root_ + "/in";

  // --- torch.save pickles ---
  const std::string proto = "\x80\x02";
  // 200,000 nested tuples (each TUPLE1 wraps the previous one): once a stack overflow when freed.
  torch_archive(h + "/nested_tuples/pytorch_model.bin", proto + ")" + std::string(200000, '\x85') + ".");
  // 200,000 nested lists, built inward through the memo (each new list appended to the previous one).
  {
    std::string p = proto + "]" + std::string("q\0", 2);
    for (int i = 0; i < 200000; ++i) p += "]r" + u32(static_cast<uint32_t>(i + 1)) + "aj" + u32(static_cast<uint32_t>(i + 1));
    p += "0";  // POP is not a state-dict opcode: refused after building, the chain must still be freed
    torch_archive(h + "/nested_lists/pytorch_model.bin", p);
  }
  // A megabyte of empty tuples: a memory bomb in objects, far beyond what the pickle's size justifies.
  torch_archive(h + "/object_bomb/pytorch_model.bin", proto + "(" + std::string(1 << 20, ')') + "t.");
  // A zip bomb: data.pkl deflated from 100 MB of one byte to ~100 kB, its true size declared.
  put(h + "/zip_bomb/pytorch_model.bin", deflate_bomb_archive(size_t{100} << 20));
  // A tensor whose sizes and strides overflow a 64-bit offset back into its 4-element storage.
  {
    std::string p = proto + "}" + unicode("w") + "ctorch._utils\n_rebuild_tensor_v2\n(" + "(" + unicode("storage") +
                    "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + "K\x04tQ" + "K\x00" + "(\x8a\x08" +
                    i64(int64_t{1} << 62) + "K\x05t" + "(\x8a\x08" + i64(int64_t{1} << 62) + "K\x01t" + "\x89" + "tRs.";
    torch_archive(h + "/stride_overflow/pytorch_model.bin", p, {{"data/0", std::string(16, '\0')}});
  }
  for (const char* d : {"nested_tuples", "nested_lists", "object_bomb", "zip_bomb", "stride_overflow"})
    QFile::copy(QString::fromStdString(fixture("checkpoints/mamba2_tiny_bin/config.json")), h + "/" + d + "/config.json");

  // --- config.json ---
  hf_dir(h, "million_layers", [](nlohmann::json& j) { j["num_hidden_layers"] = 1000000; });
  hf_dir(h, "hidden_1e9", [](nlohmann::json& j) { j["hidden_size"] = 1000000000; });
  hf_dir(h, "head_dim_0", [](nlohmann::json& j) { j["head_dim"] = 0; });
  {
    const QString dir = hf_dir(h, "deep_json", [](nlohmann::json&) {});
    put(dir + "/config.json", std::string(1000000, '[') + std::string(1000000, ']'));
  }
  {
    const QString dir = hf_dir(h, "fifo_config", [](nlohmann::json&) {});
    QFile::remove(dir + "/config.json");
    QCOMPARE(::mkfifo((dir + "/config.json").toStdString().c_str(), 0644), 0);
  }
  // --- our model file whose metadata claims 100,000 layers ---
  {
    dm::model::ModelConfig cfg = dm::model::ModelConfig::lm_defaults(dm::model::Family::mamba2);
    cfg.d_model = 32;
    cfg.n_layers = 1;
    cfg.head_dim = 16;
    cfg.d_state = 8;
    cfg.chunk_size = 8;
    dm::model::LanguageModel m(cfg);
    dm::io::NamedTensors t;
    for (const auto& item : m->named_parameters()) t.emplace_back(item.key(), item.value());
    dm::io::save_model(m, (h + "/char_model.safetensors").toStdString());
    auto meta_cfg = cfg.to_json();
    meta_cfg["n_layers"] = 100000;
    put(h + "/layers_100k.safetensors",
        dm::io::encode_safetensors(t, {{"format", "pt"},
                                       {"dm_format", dm::io::kModelFormat},
                                       {"dm_model_config", meta_cfg.dump()}}));
  }
  // --- presets ---
  put(ws_ + "/presets/laughs.yaml",
      "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
      "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n");
  put(root_ + "/escape.yaml", "experiment: x\n");
  QCOMPARE(::mkfifo((ws_ + "/presets/fifo.yaml").toStdString().c_str(), 0644), 0);

  // --- BABILong files, result CSVs, npy, tokenizer, lens results ---
  put(h + "/babilong_empty/0k/qa1.jsonl", "");
  put(h + "/results/empty_model/qa1_0k_no_instruct.csv", "");
  put(h + "/results/header_model/qa1_0k_no_instruct.csv", ",target,output,question\n");
  QDir().mkpath(h + "/results/dir_model/qa1_0k_no_instruct.csv");
  QDir().mkpath(h + "/results/no_files");
  {
    std::string hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000000000), }";
    hdr += std::string(63 - (10 + hdr.size()) % 64, ' ') + "\n";
    std::string npy = std::string("\x93NUMPY\x01\x00", 8) + std::string(1, static_cast<char>(hdr.size() & 0xff)) +
                      std::string(1, static_cast<char>(hdr.size() >> 8)) + hdr + std::string(16, '\0');
    put(h + "/huge_shape.npy", npy);
  }
  put(h + "/deep_tokenizer.json", std::string(500000, '{').replace(0, 1, "{\"model\":") + "");
  put(h + "/lens_results.txt", "{99999999999999999999999: {'sum': 1, 'total': 2, 'avg': 1e999999}}");

  // A clean copy of the outside folder, to compare at the end.
  outside_before_ = QDir(outside_).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
}

void TestHostile::hostile_inputs_data() {
  QTest::addColumn<QStringList>("args");
  QTest::addColumn<QStringList>("expect");  // each must appear in the output
  const QString h = root_ + "/in", out = ws_ + "/out.npy";
  auto logits = [&](const QString& dir) { return QStringList{"logits", "--ckpt_path", h + "/" + dir, "--ids", "1,2,3", "--out", out}; };
  auto train = [&](QStringList extra) {
    return QStringList{"train", "--workspace", ws_, "experiment=demo/mamba2-fortunes", "trainer.max_steps=2"} + extra;
  };
  // torch.save pickles
  QTest::newRow("pickle: 200,000 nested tuples") << logits("nested_tuples") << QStringList{"pytorch_model.bin", "nest"};
  QTest::newRow("pickle: 200,000 nested lists") << logits("nested_lists") << QStringList{"pytorch_model.bin", "0x30"};
  QTest::newRow("pickle: 1 MB object bomb") << logits("object_bomb") << QStringList{"pytorch_model.bin", "memory bomb"};
  QTest::newRow("pickle: zip entry claims 2 GB") << logits("zip_bomb") << QStringList{"pytorch_model.bin", "claims"};
  QTest::newRow("pickle: strides overflow") << logits("stride_overflow") << QStringList{"pytorch_model.bin", "overflow"};
  // config.json
  QTest::newRow("config: a million layers") << logits("million_layers") << QStringList{"config.json", "1000000 blocks"};
  QTest::newRow("config: hidden_size 1e9") << logits("hidden_1e9") << QStringList{"config.json", "hidden_size"};
  QTest::newRow("config: head_dim 0") << logits("head_dim_0") << QStringList{"config.json", "head_dim"};
  QTest::newRow("config: nested a million deep") << logits("deep_json") << QStringList{"config.json"};
  QTest::newRow("config: a FIFO") << logits("fifo_config") << QStringList{"config.json", "not a regular file"};
  QTest::newRow("model file: metadata claims 100,000 layers")
      << QStringList{"logits", "--ckpt_path", h + "/layers_100k.safetensors", "--ids", "1,2", "--out", out}
      << QStringList{"layers_100k.safetensors", "nothing was built"};
  // Options, overrides and presets
  QTest::newRow("override: self-referencing alias") << train({"description=&a [*a]"}) << QStringList{"description"};
  QTest::newRow("preset: billion laughs") << train({"experiment=user/laughs"}) << QStringList{"laughs"};
  QTest::newRow("preset: a FIFO") << train({"experiment=user/fifo"}) << QStringList{"fifo", "not a regular file"};
  QTest::newRow("preset: escapes the folder") << train({"experiment=../../escape"}) << QStringList{"escape"};
  QTest::newRow("override: n_layers 100000") << train({"model.n_layers=100000"}) << QStringList{"n_layers"};
  QTest::newRow("override: d_state 1000000") << train({"model.d_state=1000000"}) << QStringList{"d_state"};
  QTest::newRow("override: l_max 2^63-1") << train({"loader.l_max=9223372036854775807"}) << QStringList{"l_max"};
  QTest::newRow("override: 65536 × 2^20 tokens a batch")
      << train({"loader.batch_size=65536", "loader.l_max=1048576"}) << QStringList{"loader.l_max", "memory budget"};
  QTest::newRow("override: betas [0.9]") << train({"optimizer.betas=[0.9]"}) << QStringList{"betas"};
  QTest::newRow("option: --threads 100000") << train({"--threads", "100000"}) << QStringList{"threads"};
  // BABILong inputs, result CSVs, matrices, tokenizers, lens results
  QTest::newRow("babilong: empty file")
      << QStringList{"eval-babilong", "--workspace", ws_, "--ckpt_path", h + "/char_model.safetensors", "--data_dir", h + "/babilong_empty",
                     "--tasks", "qa1", "--lengths", "0k"}
      << QStringList{"qa1.jsonl", "no BABILong records"};
  auto score = [&](const QString& model) {
    return QStringList{"babilong", "score", "--results_folder", h + "/results", "--model_name", model, "--tasks", "qa1",
                       "--lengths", "0k", "--prompt_name", "no_instruct"};
  };
  QTest::newRow("score: empty CSV") << score("empty_model") << QStringList{"qa1_0k_no_instruct.csv", "empty"};
  QTest::newRow("score: header only") << score("header_model") << QStringList{"qa1_0k_no_instruct.csv", "no answers"};
  QTest::newRow("score: a folder as CSV") << score("dir_model") << QStringList{"qa1_0k_no_instruct.csv", "not a regular file"};
  QTest::newRow("score: no result files") << score("no_files") << QStringList{"no_files", "none of the"};
  QTest::newRow("npy: shape of 10^24 elements")
      << QStringList{"babilong", "aggregate", "--inputs", h + "/huge_shape.npy", "--out", out}
      << QStringList{"huge_shape.npy", "shape"};
  QTest::newRow("tokenizer.json: 500,000 open braces")
      << QStringList{"tokenize", "--tokenizer", h + "/deep_tokenizer.json", "--text", "hello"} << QStringList{"deep_tokenizer.json"};
  QTest::newRow("lens results: numbers out of range")
      << QStringList{"lens", "import", "--workspace", ws_, "--results", h + "/lens_results.txt", "--family", "mamba2"}
      << QStringList{"lens_results.txt", "10^9"};
}

void TestHostile::hostile_inputs() {
  QFETCH(QStringList, args);
  QFETCH(QStringList, expect);
  const auto o = run_limited(args);
  const QString where = args.join(' ') + "\n---\n" + o.err.right(1500);
  QVERIFY2(!o.timed_out, qPrintable("did not end within " + QString::number(kWallMs / 1000) + " s: " + where));
  QVERIFY2(!o.signalled, qPrintable("killed by a signal (crash, or a resource limit): " + where));
  QVERIFY2(o.code >= 1 && o.code <= 127, qPrintable("exit code " + QString::number(o.code) + ": " + where));
  QVERIFY2(o.err.contains("error"), qPrintable("no error message: " + where));
  for (const auto& e : expect) QVERIFY2(o.err.contains(e), qPrintable("the message does not name '" + e + "': " + where));
  QVERIFY2(!o.err.contains("std::") && !o.err.contains("stoll") && !o.err.contains("basic_string"),
           qPrintable("a bare exception name reached the user: " + where));
}

void TestHostile::second_resume_is_refused() {
  // A run killed mid-way, resumed by one process; a second --resume of it while the first runs is refused
  // with the holder's pid, and the first carries on.
  const QString ws = root_ + "/ws_resume";
  QProcess first;
  first.setProcessChannelMode(QProcess::MergedChannels);
  first.start(DM_CLI_PATH, {"train", "--workspace", ws, "experiment=demo/mamba2-fortunes", "trainer.max_steps=400",
                                 "trainer.checkpoint_every_n_steps=2"});
  QVERIFY(first.waitForStarted());
  QString log;
  QElapsedTimer up;
  up.start();
  while (!QFile::exists(ws + "/runs/1/checkpoint.safetensors") && up.elapsed() < 120000 && first.state() == QProcess::Running)
    if (first.waitForReadyRead(200)) log += QString::fromUtf8(first.readAll());
  QVERIFY2(QFile::exists(ws + "/runs/1/checkpoint.safetensors"), qPrintable("no checkpoint was written: " + log));
  first.kill();
  first.waitForFinished();
  QProcess a;
  a.setProcessChannelMode(QProcess::MergedChannels);
  a.start(DM_CLI_PATH, {"train", "--workspace", ws, "--resume", "1"});
  QVERIFY(a.waitForStarted());
  QString seen;
  QElapsedTimer t;
  t.start();
  while (!seen.contains("step") && t.elapsed() < 60000 && a.state() == QProcess::Running) {
    a.waitForReadyRead(1000);
    seen += QString::fromUtf8(a.readAll());
  }
  QVERIFY2(a.state() == QProcess::Running, qPrintable("the first resume ended early: " + seen));
  const auto holder = a.processId();
  const auto second = run_limited({"train", "--workspace", ws, "--resume", "1"});
  const bool first_alive = a.state() == QProcess::Running;
  a.kill();
  a.waitForFinished();
  QVERIFY2(first_alive, "the first resume must still be running while the second is refused");
  QVERIFY2(second.code >= 1 && second.code <= 127, qPrintable(second.err));
  QVERIFY2(second.err.contains("run 1") && (second.err.contains("in use by process " + QString::number(holder)) ||
                                            second.err.contains("still running (process " + QString::number(holder))),
           qPrintable(second.err));
}

void TestHostile::nothing_written_outside() {
  QCOMPARE(QDir(outside_).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), outside_before_);
  QCOMPARE(QString::fromStdString(dm::io::read_file((outside_ + "/keep.txt").toStdString())), QString("keep me"));
  // The home folder (default workspace, user presets) was never touched either.
  QVERIFY(QDir(root_ + "/home").entryList(QDir::AllEntries | QDir::NoDotAndDotDot).isEmpty());
}

QTEST_MAIN(TestHostile)
#include "tst_hostile.moc"
