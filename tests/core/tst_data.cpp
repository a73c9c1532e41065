// Corpus readers on files the test writes (text8, enwik8, WikiText-103 in both layouts), the
// missing-file message, and the seed's ordered batching.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "core/common/error.h"
#include "core/data/lm_corpus.h"

using namespace dm::data;

namespace {

void write(const QTemporaryDir& d, const char* name, const std::string& text) {
  std::ofstream(d.filePath(name).toStdString(), std::ios::binary) << text;
}

std::string decode(const LmCorpus& c, const torch::Tensor& ids, const std::string& sep = "") {
  std::string s;
  for (int64_t i = 0; i < ids.numel(); ++i) s += (i ? sep : "") + c.vocab[static_cast<size_t>(ids[i].item<int64_t>())];
  return s;
}

}  // namespace

class TestData : public QObject {
  Q_OBJECT

 private slots:
  void text8_raw();
  void text8_prepared();
  void enwik8_raw_keeps_every_byte();
  void wikitext103_words_and_eos();
  void wikitext103_seed_layout_and_unknown_words();
  void missing_files_are_listed();
  void ordered_batches();
  void rotation_per_epoch();
};

void TestData::text8_raw() {
  QTemporaryDir d;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog ";
  write(d, "text8", text);
  auto c = read_text8(d.path().toStdString());
  QCOMPARE(c.metric, std::string("bpc"));
  const int64_t n = static_cast<int64_t>(text.size());
  QCOMPARE(c.train.numel(), n * 90 / 100);
  QCOMPARE(c.valid.numel(), n * 5 / 100);
  QCOMPARE(c.train.numel() + c.valid.numel() + c.test.numel(), n);
  QCOMPARE(c.vocab[0], std::string("_"));  // space is the most frequent symbol, written '_' as in the seed
  QCOMPARE(c.vocab_size(), int64_t(27));   // the 26 letters of the pangram + space
  std::string round = decode(c, torch::cat({c.train, c.valid, c.test}));
  std::replace(round.begin(), round.end(), '_', ' ');
  QCOMPARE(round, text);
}

void TestData::text8_prepared() {
  QTemporaryDir d;
  write(d, "train.txt", "a b _ c a\na a\n");
  write(d, "valid.txt", "b _ a\n");
  write(d, "test.txt", "c c\n");
  auto c = read_text8(d.path().toStdString());
  QCOMPARE(c.vocab[0], std::string("a"));  // 5 × a
  QCOMPARE(c.train.numel(), int64_t(7));
  QCOMPARE(decode(c, c.valid, " "), std::string("b _ a"));
}

void TestData::enwik8_raw_keeps_every_byte() {
  QTemporaryDir d;
  std::string bytes;
  for (int i = 0; i < 2000; ++i) bytes.push_back(static_cast<char>((i * 37) % 251));
  bytes += "\n\n<page>\xc3\xa4</page>\n";
  write(d, "enwik8", bytes);
  auto c = read_enwik8(d.path().toStdString());
  auto all = torch::cat({c.train, c.valid, c.test});
  QCOMPARE(all.numel(), int64_t(bytes.size()));
  for (int64_t i = 0; i < all.numel(); ++i)
    QCOMPARE(std::stoi(c.vocab[static_cast<size_t>(all[i].item<int64_t>())]), int(static_cast<unsigned char>(bytes[i])));
}

void TestData::wikitext103_words_and_eos() {
  QTemporaryDir d;
  write(d, "wiki.train.tokens", " = Title = \n\n the cat sat <unk> .\n the dog .\n the end\n");
  write(d, "wiki.valid.tokens", " the cat .\n");
  write(d, "wiki.test.tokens", " the zebra .\n");
  auto c = read_wikitext103(d.path().toStdString());
  QCOMPARE(c.metric, std::string("ppl"));
  QCOMPARE(c.vocab[0], std::string("<eos>"));
  QCOMPARE(c.vocab[1], std::string("the"));  // most frequent word of train
  QCOMPARE(decode(c, c.train, " "), std::string("= Title = <eos> <eos> the cat sat <unk> . <eos> the dog . <eos> the end <eos>"));
  QCOMPARE(decode(c, c.test, " "), std::string("the <unk> . <eos>"));  // zebra is not in train
}

void TestData::wikitext103_seed_layout_and_unknown_words() {
  QTemporaryDir d;
  write(d, "train.txt", "a b\nb\n");
  write(d, "valid.txt.txt", "a\n");  // the seed's get_wt103.py writes this name
  write(d, "test.txt", "c\n");
  try {
    read_wikitext103(d.path().toStdString());
    QFAIL("a word outside the vocabulary without <unk> was accepted");
  } catch (const dm::FileError& e) {
    QVERIFY2(QString(e.what()).contains("'c'") && QString(e.what()).contains("test.txt"), e.what());
  }
  write(d, "test.txt", "b a\n");
  auto c = read_wikitext103(d.path().toStdString());
  QCOMPARE(decode(c, c.valid, " "), std::string("a <eos>"));
}

void TestData::missing_files_are_listed() {
  QTemporaryDir d;
  for (auto [name, expect] : {std::pair{"text8", "get_text8.sh"}, std::pair{"enwik8", "get_enwik8.sh"},
                              std::pair{"wt103", "wiki.train.tokens"}}) {
    try {
      load_corpus(name, d.path().toStdString());
      QFAIL("no error for missing files");
    } catch (const dm::FileError& e) {
      QVERIFY2(QString(e.what()).contains(expect) && QString(e.what()).contains(d.path()), e.what());
    }
  }
}

void TestData::ordered_batches() {
  auto stream = torch::arange(103, torch::kLong);
  OrderedBatches b(stream, 4, 10, false);
  // 103 → 100 tokens, 4 rows of 25: 24 (input, target) positions per row → 3 batches (10, 10, 4).
  QCOMPARE(b.size(), int64_t(3));
  QCOMPARE(b.tokens_per_epoch(), int64_t(96));
  auto [x0, y0] = b.get(0, 0);
  QCOMPARE(x0.sizes().vec(), (std::vector<int64_t>{4, 10}));
  QCOMPARE(x0[1][0].item<int64_t>(), int64_t(25));  // row 1 starts at token 25
  QVERIFY(torch::equal(y0, x0 + 1));
  auto [x1, y1] = b.get(0, 1);
  QCOMPARE(x1[0][0].item<int64_t>(), int64_t(10));  // consecutive windows along each row
  auto [x2, y2] = b.get(0, 2);
  QCOMPARE(x2.size(1), int64_t(4));  // the last window is shorter
  QCOMPARE(y2[3][3].item<int64_t>(), int64_t(99));
  QVERIFY(torch::equal(b.get(5, 1).first, x1));  // no rotation: every epoch the same
}

void TestData::rotation_per_epoch() {
  auto stream = torch::arange(400, torch::kLong);
  OrderedBatches a(stream, 4, 16, true, 42), b(stream, 4, 16, true, 42);
  auto e0 = a.get(0, 0).first, e1 = a.get(1, 0).first;
  QVERIFY(!torch::equal(e0, e1));                 // a new rotation each epoch
  QVERIFY(torch::equal(b.get(1, 0).first, e1));   // the same (seed, epoch) gives the same rotation
  QVERIFY(torch::equal(b.get(0, 0).first, e0));
  // A rotation keeps each row's tokens: row r is a cyclic shift of [100 r, 100 r + 100).
  auto [x, y] = a.get(1, 0);
  for (int64_t r = 0; r < 4; ++r) {
    const int64_t v = x[r][0].item<int64_t>();
    QVERIFY(v >= 100 * r && v < 100 * (r + 1));
  }
}

QTEST_APPLESS_MAIN(TestData)
#include "tst_data.moc"
