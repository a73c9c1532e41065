// safetensors reading/writing, atomic writes, and our model file (save → load gives identical outputs;
// damaged or foreign files give clear errors).
#include <torch/torch.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <QElapsedTimer>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/io/mapped_file.h"
#include "core/io/model_file.h"
#include "core/io/npy.h"
#include "core/io/npz.h"
#include "core/io/safetensors.h"
#include "tests/core/test_util.h"

using dm::io::NamedTensors;

namespace {

std::string path_in(const QTemporaryDir& d, const char* name) { return d.filePath(name).toStdString(); }

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string header_of(const std::string& json) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json;
}

template <typename F>
QString error_of(F&& f) {
  return dm::test::error_of<dm::FileError>(std::forward<F>(f));
}

}  // namespace

class TestIo : public QObject {
  Q_OBJECT

 private slots:
  void safetensors_round_trip();
  void safetensors_known_bytes();
  void safetensors_defects_are_reported_data();
  void safetensors_defects_are_reported();
  void atomic_write_keeps_old_file_on_failure();
  void model_round_trip_identical_outputs_data();
  void model_round_trip_identical_outputs();
  void model_file_defects_are_reported();
  void npy_layout();
  void npz_round_trip();
  void npz_defects_are_reported();
  void mapped_tensors_and_page_release();
  void fifos_and_folders_are_refused_at_once();
  void atomic_write_never_follows_a_planted_link();
};

void TestIo::safetensors_round_trip() {
  torch::manual_seed(0);
  NamedTensors t = {{"b.f32", torch::randn({3, 4})},
                    {"a.f64", torch::randn({2}, torch::kDouble)},
                    {"c.bf16", torch::randn({5, 1, 2}).to(torch::kBFloat16)},
                    {"d.f16", torch::randn({7}).to(torch::kHalf)},
                    {"e.i64", torch::arange(6, torch::kLong).view({2, 3})},
                    {"f.bool", torch::tensor({true, false, true})},
                    {"g.scalar", torch::tensor(3.5f)},
                    {"h.empty", torch::empty({0, 4})},
                    {"i.strided", torch::randn({4, 6}).t()}};
  QTemporaryDir dir;
  const auto p = path_in(dir, "x.safetensors");
  dm::io::write_safetensors(p, t, {{"format", "pt"}, {"note", "ä µ"}});
  auto back = dm::io::read_safetensors(p);
  QCOMPARE(back.tensors.size(), t.size());
  QCOMPARE(QString::fromStdString(back.metadata.at("note")), QString::fromUtf8("ä µ"));
  for (const auto& [name, v] : t) {
    const auto* got = back.find(name);
    QVERIFY2(got, name.c_str());
    QCOMPARE(got->scalar_type(), v.scalar_type());
    QCOMPARE(got->sizes().vec(), v.sizes().vec());
    QVERIFY2(torch::equal(*got, v), name.c_str());
  }
}

void TestIo::safetensors_known_bytes() {
  // A file written by hand from the format description: one F32 tensor [2] = {1.0, -2.0}.
  const std::string json = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string bytes = header_of(json);
  const float v[2] = {1.0f, -2.0f};
  bytes.append(reinterpret_cast<const char*>(v), 8);
  auto f = dm::io::parse_safetensors(bytes, "hand-made");
  QCOMPARE(f.tensors.size(), size_t(1));
  QCOMPARE(f.tensors[0].second[1].item<float>(), -2.0f);
  // And our encoder produces a header the same parser accepts, aligned to 8 bytes.
  auto enc = dm::io::encode_safetensors({{"w", torch::tensor({1.0f, -2.0f})}}, {});
  uint64_t hlen = 0;
  std::memcpy(&hlen, enc.data(), 8);
  QCOMPARE(hlen % 8, uint64_t(0));
  QCOMPARE(enc.size(), size_t(8 + hlen + 8));
}

void TestIo::safetensors_defects_are_reported_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("expect");
  auto ok_json = std::string(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})");
  auto good = header_of(ok_json) + std::string(8, '\0');
  QTest::newRow("empty") << QByteArray() << "truncated";
  QTest::newRow("truncated data") << QByteArray::fromStdString(good.substr(0, good.size() - 3)) << "truncated";
  QTest::newRow("header longer than file") << QByteArray::fromStdString(good.substr(0, 20)) << "exceeds the file";
  QTest::newRow("not json") << QByteArray::fromStdString(header_of("{not json}") + std::string(8, '\0')) << "not valid JSON";
  QTest::newRow("bad dtype") << QByteArray::fromStdString(header_of(R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})") + "xx")
                             << "unsupported dtype";
  QTest::newRow("size mismatch") << QByteArray::fromStdString(header_of(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})") + std::string(8, '\0'))
                                 << "its shape needs";
  QTest::newRow("trailing bytes") << QByteArray::fromStdString(good + "abc") << "trailing";
  QTest::newRow("hole") << QByteArray::fromStdString(header_of(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})") + std::string(8, '\0'))
                        << "hole";
  QTest::newRow("missing field") << QByteArray::fromStdString(header_of(R"({"w":{"dtype":"F32","shape":[1]}})")) << "data_offsets";
}

void TestIo::safetensors_defects_are_reported() {
  QFETCH(QByteArray, bytes);
  QFETCH(QString, expect);
  QTemporaryDir dir;
  const auto p = path_in(dir, "bad.safetensors");
  write_raw(p, bytes.toStdString());
  const QString msg = error_of([&] { dm::io::read_safetensors(p); });
  QVERIFY2(msg.contains(expect), qPrintable("message was: '" + msg + "'"));
  QVERIFY2(msg.contains("bad.safetensors"), "the message names the file");
}

void TestIo::atomic_write_keeps_old_file_on_failure() {
  QTemporaryDir dir;
  const auto p = path_in(dir, "f.bin");
  dm::io::write_file_atomic(p, "first");
  dm::io::write_file_atomic(p, "second");
  QCOMPARE(QString::fromStdString(dm::io::read_file(p)), QString("second"));
  QVERIFY(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size() == 1);  // no temp file left
  const auto missing = path_in(dir, "no/such/folder/f.bin");
  QVERIFY(!error_of([&] { dm::io::write_file_atomic(missing, "x"); }).isEmpty());
  // A write that fails half-way (file size limit, as on a full disk): the old file keeps its content.
  dm::io::write_file_atomic(p, "old");
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  ::getrlimit(RLIMIT_FSIZE, &old_limit);
  rlimit small = old_limit;
  small.rlim_cur = 1024;
  ::setrlimit(RLIMIT_FSIZE, &small);
  const QString msg = error_of([&] { dm::io::write_file_atomic(p, std::string(64 * 1024, 'x')); });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  QVERIFY2(msg.contains("untouched"), qPrintable("message was: '" + msg + "'"));
  QCOMPARE(QString::fromStdString(dm::io::read_file(p)), QString("old"));
  QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 1);  // temp file removed
}

void TestIo::model_round_trip_identical_outputs_data() {
  QTest::addColumn<int>("backbone");
  QTest::addColumn<int>("family");
  QTest::addColumn<bool>("tied");
  QTest::newRow("lm mamba2") << int(dm::model::Backbone::lm) << int(dm::model::Family::mamba2) << true;
  QTest::newRow("lm diffmamba2") << int(dm::model::Backbone::lm) << int(dm::model::Family::diffmamba2) << true;
  QTest::newRow("hf diffmamba2 untied") << int(dm::model::Backbone::hf) << int(dm::model::Family::diffmamba2) << false;
}

void TestIo::model_round_trip_identical_outputs() {
  QFETCH(int, backbone);
  QFETCH(int, family);
  QFETCH(bool, tied);
  auto cfg = dm::model::ModelConfig::lm_defaults(dm::model::Family(family));
  cfg.backbone = dm::model::Backbone(backbone);
  cfg.vocab_size = 40;
  cfg.d_model = 32;
  cfg.n_layers = 3;
  cfg.head_dim = 16;
  cfg.d_state = 8;
  cfg.chunk_size = 16;
  cfg.tie_embeddings = tied;
  cfg.diff_layers = "alternate";
  torch::manual_seed(3);
  dm::model::LanguageModel m(cfg);
  QTemporaryDir dir;
  const auto p = path_in(dir, "m.safetensors");
  dm::io::save_model(m, p);
  auto back = dm::io::load_model(p);
  QCOMPARE(QString::fromStdString(back->config().to_json().dump()), QString::fromStdString(cfg.to_json().dump()));
  m->eval();
  back->eval();
  torch::NoGradGuard ng;
  auto ids = torch::randint(0, cfg.vocab_size, {2, 20}, torch::kLong);
  QVERIFY(torch::equal(m->forward(ids), back->forward(ids)));
  auto a = m->named_parameters(), b = back->named_parameters();
  QCOMPARE(a.keys(), b.keys());
  const auto meta = dm::io::read_safetensors(p).metadata;
  QCOMPARE(QString::fromStdString(meta.at("dm_format")), QString(dm::io::kModelFormat));
  QCOMPARE(meta.count("lm_head.weight"), size_t(tied ? 1 : 0));
}

void TestIo::model_file_defects_are_reported() {
  auto cfg = dm::model::ModelConfig::lm_defaults(dm::model::Family::mamba2);
  cfg.d_model = 32;
  cfg.n_layers = 1;
  cfg.head_dim = 16;
  cfg.d_state = 8;
  dm::model::LanguageModel m(cfg);
  QTemporaryDir dir;
  const auto good = path_in(dir, "good.safetensors");
  dm::io::save_model(m, good);
  const std::string bytes = dm::io::read_file(good);
  // Truncated.
  const auto cut = path_in(dir, "cut.safetensors");
  write_raw(cut, bytes.substr(0, bytes.size() / 2));
  QVERIFY(error_of([&] { dm::io::load_model(cut); }).contains("truncated"));
  // Not ours: a plain safetensors file.
  const auto foreign = path_in(dir, "foreign.safetensors");
  dm::io::write_safetensors(foreign, {{"w", torch::zeros({2})}}, {});
  QVERIFY(error_of([&] { dm::io::load_model(foreign); }).contains("not a Diff-Mamba Studio model file"));
  // A tensor missing, and one with the wrong shape.
  auto file = dm::io::read_safetensors(good);
  auto tensors = file.tensors;
  tensors.erase(tensors.begin());
  const auto missing = path_in(dir, "missing.safetensors");
  dm::io::write_safetensors(missing, tensors, file.metadata);
  QVERIFY(error_of([&] { dm::io::load_model(missing); }).contains("missing tensor"));
  tensors = file.tensors;
  tensors[0].second = torch::zeros({3});
  const auto wrong = path_in(dir, "wrong.safetensors");
  dm::io::write_safetensors(wrong, tensors, file.metadata);
  QVERIFY(error_of([&] { dm::io::load_model(wrong); }).contains("has shape"));
  // A missing file.
  QVERIFY(error_of([&] { dm::io::load_model(path_in(dir, "absent.safetensors")); }).contains("cannot open"));
}

void TestIo::npy_layout() {
  auto t = torch::arange(6, torch::kFloat).view({2, 3});
  const auto b = dm::io::encode_npy(t);
  QCOMPARE(QByteArray::fromStdString(b.substr(0, 8)), QByteArray("\x93NUMPY\x01\x00", 8));
  const size_t hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
  QCOMPARE((10 + hlen) % 64, size_t(0));  // data aligned to 64 bytes
  const auto header = QString::fromStdString(b.substr(10, hlen));
  QVERIFY2(header.contains("'descr': '<f4'") && header.contains("'shape': (2,3)") && header.endsWith('\n'), qPrintable(header));
  QCOMPARE(b.size(), 10 + hlen + 24);
  float last = 0;
  std::memcpy(&last, b.data() + b.size() - 4, 4);
  QCOMPARE(last, 5.0f);
  QVERIFY(QString::fromStdString(dm::io::encode_npy(torch::zeros({4}, torch::kLong)).substr(10, 60)).contains("'shape': (4,)"));
}

void TestIo::npz_round_trip() {
  QTemporaryDir d;
  const auto path = path_in(d, "a.npz");
  const auto f32 = torch::randn({2, 3, 4}), f64 = torch::randn({5}, torch::kDouble), f16 = torch::randn({3, 3}).to(torch::kHalf);
  const auto i64 = torch::arange(7, torch::kLong), empty = torch::zeros({0}, torch::kLong);
  const std::vector<std::string> words = {"Mary", " went", "", "h\xc3\xa9llo", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x99\x82"};
  {
    dm::io::NpzWriter w(path);
    w.add("f32", f32);
    w.add("f64", f64);
    w.add("half/f16", f16);
    w.add("i64", i64);
    w.add("empty", empty);
    w.add_strings("words", words);
    // A member streamed in pieces.
    const auto big = torch::arange(600, torch::kFloat).view({2, 300});
    w.begin("streamed", "<f4", {2, 300});
    for (int64_t r0 = 0; r0 < 600; r0 += 256) w.write(big.view({600}).slice(0, r0, std::min<int64_t>(600, r0 + 256)));
    w.end();
    QVERIFY(!QFileInfo::exists(QString::fromStdString(path)));  // only the partial file until finish()
    w.finish();
  }
  QVERIFY(!QFileInfo::exists(QString::fromStdString(path + ".partial")));
  dm::io::NpzReader r(path);
  QCOMPARE(r.names().size(), size_t(7));
  QVERIFY(torch::equal(r.tensor("f32"), f32));
  QVERIFY(torch::equal(r.tensor("f64"), f64));
  QVERIFY(torch::equal(r.tensor("half/f16"), f16));
  QVERIFY(torch::equal(r.tensor("i64"), i64));
  QCOMPARE(r.tensor("empty").numel(), int64_t(0));
  QVERIFY(torch::equal(r.tensor("streamed"), torch::arange(600, torch::kFloat).view({2, 300})));
  // The writer aligns every member's data: the reader maps it in place.
  for (const char* n : {"f32", "f64", "half/f16", "i64", "streamed"})
    QCOMPARE(reinterpret_cast<uintptr_t>(r.tensor(n).data_ptr()) % 64, uintptr_t(0));
  QCOMPARE(r.strings("words"), words);
  QVERIFY(error_of([&] { r.tensor("nope"); }).contains("has no array 'nope'"));
  QVERIFY(error_of([&] { r.strings("f32"); }).contains("not a one-dimensional unicode array"));
  QVERIFY(error_of([&] { r.tensor("words"); }).contains("dtype '<U"));
  // An independent reader: Python's zipfile checks every member's CRC and the directory.
  QProcess py;
  py.start("python3", {"-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; "
                             "print(sorted(z.namelist())); h = z.read('words.npy'); print(h[10:80].decode())",
                       QString::fromStdString(path)});
  QVERIFY(py.waitForFinished(30000));
  const auto out = QString::fromUtf8(py.readAllStandardOutput());
  QVERIFY2(py.exitCode() == 0, qPrintable(QString::fromUtf8(py.readAllStandardError())));
  QVERIFY2(out.contains("'f32.npy'") && out.contains("'half/f16.npy'") && out.contains("'streamed.npy'"), qPrintable(out));
  QVERIFY2(out.contains("'descr': '<U5'") && out.contains("'shape': (6,)"), qPrintable(out));
}

void TestIo::npz_defects_are_reported() {
  QTemporaryDir d;
  const auto path = path_in(d, "a.npz");
  {
    dm::io::NpzWriter w(path);
    w.add("x", torch::arange(4, torch::kFloat));
    w.finish();
  }
  std::string good;
  {
    std::ifstream in(path, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto bad = path_in(d, "bad.npz");
  auto reject = [&](const std::string& bytes, const char* what) {
    write_raw(bad, bytes);
    const auto e = error_of([&] { dm::io::NpzReader r(bad); r.tensor("x"); });
    QVERIFY2(e.contains(what), qPrintable(e));
  };
  reject("not a zip at all, but long enough to look", "not a .npz archive");
  reject("", "too short");
  reject(good.substr(0, good.size() - 30), "not a .npz archive");
  auto compressed = good;
  const auto cd = compressed.rfind(std::string("PK\x01\x02", 4));
  compressed[cd + 10] = 8;  // deflate
  reject(compressed, "is compressed");
  auto truncated = good;
  truncated.erase(60, 20);  // the member's bytes shrink, the directory still points past them
  write_raw(bad, truncated);
  QVERIFY(!error_of([&] { dm::io::NpzReader r(bad); r.tensor("x"); }).isEmpty());
  QVERIFY(error_of([&] { dm::io::NpzReader r(d.path().toStdString()); }).contains("not a regular file"));
  // A streamed member of the wrong size is refused, and no file appears.
  const auto p2 = path_in(d, "short.npz");
  QVERIFY(dm::test::error_of([&] {
            dm::io::NpzWriter w(p2);
            w.begin("x", "<f4", {10});
            w.write(torch::zeros({9}));
            w.end();
          }).contains("needs"));
  QVERIFY(!QFileInfo::exists(QString::fromStdString(p2)) && !QFileInfo::exists(QString::fromStdString(p2 + ".partial")));
}

void TestIo::mapped_tensors_and_page_release() {
  QTemporaryDir d;
  const auto path = path_in(d, "big.safetensors");
  const auto big = torch::randn({256, 1024});  // 1 MiB: whole pages to release
  dm::io::write_safetensors(path, {{"x", big}, {"y", torch::arange(10)}}, {});
  auto st = dm::io::read_safetensors(path);
  const auto& x = *st.find("x");
  QVERIFY(torch::equal(x, big));
  // Writing into a mapped tensor never reaches the file (copy-on-write).
  x.mul_(2);
  QVERIFY(torch::equal(*dm::io::read_safetensors(path).find("x"), big));
  // Released pages read back from the file; a heap tensor is left alone.
  auto again = dm::io::read_safetensors(path);
  const auto& x2 = *again.find("x");
  QVERIFY(torch::equal(x2, big));
  dm::io::MappedFile::release_pages(x2);
  QVERIFY(torch::equal(x2, big));
  auto y = again.find("y")->clone();
  auto heap = torch::randn({256, 1024});
  const auto copy = heap.clone();
  dm::io::MappedFile::release_pages(heap);
  QVERIFY(torch::equal(heap, copy));
  QVERIFY(torch::equal(y, torch::arange(10)));
}

void TestIo::fifos_and_folders_are_refused_at_once() {
  // A FIFO in place of a weights file, a config or a preset must be refused, not waited on (issue 19).
  QTemporaryDir d;
  const std::string fifo = d.filePath("model.safetensors").toStdString();
  QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
  QElapsedTimer t;
  t.start();
  QVERIFY(dm::test::error_of([&] { dm::io::read_file(fifo); }).contains("not a regular file"));
  QVERIFY(dm::test::error_of([&] { dm::io::MappedFile::open(fifo); }).contains("not a regular file"));
  QVERIFY(dm::test::error_of([&] { dm::io::read_safetensors(fifo); }).contains("not a regular file"));
  QVERIFY(dm::test::error_of([&] { dm::io::read_file(d.path().toStdString()); }).contains("not a regular file"));
  QVERIFY2(t.elapsed() < 2000, "refusing took too long");
}

void TestIo::atomic_write_never_follows_a_planted_link() {
  // The old temporary name (.NAME.tmp-PID) planted as a symlink to a file outside the folder: the write
  // must land in the target and leave the outside file alone (issue 19).
  QTemporaryDir d;
  QDir(d.path()).mkpath("run");
  const std::string outside = d.filePath("outside.txt").toStdString();
  std::ofstream(outside) << "keep me";
  const std::string planted = d.filePath("run/.model.safetensors.tmp-" + QString::number(::getpid())).toStdString();
  QCOMPARE(::symlink(outside.c_str(), planted.c_str()), 0);
  const std::string target = d.filePath("run/model.safetensors").toStdString();
  dm::io::write_file_atomic(target, "new bytes");
  QCOMPARE(QString::fromStdString(dm::io::read_file(outside)), QString("keep me"));
  QCOMPARE(QString::fromStdString(dm::io::read_file(target)), QString("new bytes"));
  QCOMPARE(QFileInfo(QString::fromStdString(target)).permissions() & QFileDevice::ReadOther, QFileDevice::ReadOther);
  // No temporary file of ours is left behind.
  const auto left = QDir(d.filePath("run")).entryList(QDir::Files | QDir::Hidden | QDir::System);
  QCOMPARE(left.size(), 2);  // the target and the planted link
}

QTEST_APPLESS_MAIN(TestIo)
#include "tst_io.moc"
