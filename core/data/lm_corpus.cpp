#include "core/data/lm_corpus.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <filesystem>
#include <map>
#include <sstream>
#include <torch/torch.h>
#include <unordered_map>

#include "core/common/error.h"
#include "core/data/char_corpus.h"
#include "core/io/atomic_file.h"

namespace dm::data {
namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

[[noreturn]] void missing(const std::string& dir, const std::string& expected, const std::string& how) {
  throw FileError(dir, "corpus files not found. Expected " + expected + ". " + how);
}

torch::Tensor to_tensor(const std::vector<int64_t>& ids) {
  return torch::from_blob(const_cast<int64_t*>(ids.data()), {static_cast<int64_t>(ids.size())}, torch::kLong).clone();
}

// Vocabulary ordered by descending count, ties by first appearance (Python's Counter.most_common).
std::vector<std::string> by_frequency(const std::vector<std::string>& order, const std::unordered_map<std::string, int64_t>& count) {
  std::vector<std::string> v = order;
  std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) { return count.at(a) > count.at(b); });
  return v;
}

// Calls fn(token) for every whitespace-separated token of text (no copies of the text).
template <typename F>
void for_each_token(const std::string& text, F&& fn) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < n && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) fn(std::string_view(text.data() + i, j - i));
    i = j;
  }
}

// The seed's prepared char/byte files: whitespace-separated symbols; vocabulary over all splits.
LmCorpus from_prepared(const std::string& name, const fs::path& d) {
  const std::array<std::string, 3> texts = {io::read_file((d / "train.txt").string()),
                                            io::read_file((d / "valid.txt").string()),
                                            io::read_file((d / "test.txt").string())};
  std::unordered_map<std::string, int64_t> count;
  std::vector<std::string> order;
  for (const auto& t : texts)
    for_each_token(t, [&](std::string_view tok) {
      auto [it, fresh] = count.try_emplace(std::string(tok), 0);
      if (fresh) order.push_back(it->first);
      ++it->second;
    });
  LmCorpus c;
  c.name = name;
  c.metric = "bpc";
  c.vocab = by_frequency(order, count);
  std::unordered_map<std::string, int64_t> id;
  for (size_t i = 0; i < c.vocab.size(); ++i) id[c.vocab[i]] = static_cast<int64_t>(i);
  torch::Tensor* dst[3] = {&c.train, &c.valid, &c.test};
  for (int k = 0; k < 3; ++k) {
    std::vector<int64_t> ids;
    for_each_token(texts[k], [&](std::string_view tok) { ids.push_back(id.at(std::string(tok))); });
    *dst[k] = to_tensor(ids);
  }
  return c;
}

// Raw one-file corpora (text8, enwik8): every byte a symbol, first 90M / next 5M / last 5M
// (proportionally 90/5/5 for smaller files); vocabulary by frequency over the whole file.
LmCorpus from_raw_bytes(const std::string& name, const std::string& bytes) {
  std::array<int64_t, 256> count{};
  for (unsigned char ch : bytes) ++count[ch];
  std::vector<int> order;
  for (int b = 0; b < 256; ++b)
    if (count[b] > 0) order.push_back(b);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return count[a] > count[b]; });
  LmCorpus c;
  c.name = name;
  c.metric = "bpc";
  std::array<int64_t, 256> id{};
  for (size_t i = 0; i < order.size(); ++i) {
    id[order[i]] = static_cast<int64_t>(i);
    c.vocab.push_back(name == "text8" ? std::string(1, order[i] == ' ' ? '_' : static_cast<char>(order[i]))
                                      : std::to_string(order[i]));
  }
  const size_t n = bytes.size();
  const size_t n_train = n >= 100000000 ? 90000000 : n * 90 / 100;
  const size_t n_valid = n >= 100000000 ? 5000000 : n * 5 / 100;
  auto all = torch::empty({static_cast<int64_t>(n)}, torch::kLong);
  auto* p = all.data_ptr<int64_t>();
  for (size_t i = 0; i < n; ++i) p[i] = id[static_cast<unsigned char>(bytes[i])];
  c.train = all.narrow(0, 0, static_cast<int64_t>(n_train)).clone();
  c.valid = all.narrow(0, static_cast<int64_t>(n_train), static_cast<int64_t>(n_valid)).clone();
  c.test = all.narrow(0, static_cast<int64_t>(n_train + n_valid), static_cast<int64_t>(n - n_train - n_valid)).clone();
  return c;
}

}  // namespace

namespace {

// text8 and enwik8: the seed's prepared train/valid/test.txt, else the raw one-file corpus `name`.
LmCorpus read_mahoney_corpus(const std::string& name, const std::string& dir, const std::string& unit) {
  const fs::path d(dir);
  if (is_file(d / "train.txt") && is_file(d / "valid.txt") && is_file(d / "test.txt")) return from_prepared(name, d);
  if (is_file(d / name)) return from_raw_bytes(name, io::read_file((d / name).string()));
  missing(dir, "'" + name + "' (the raw 100,000,000-" + unit + " file) or the seed's prepared train.txt, valid.txt, test.txt",
          "Get it with the seed's language_modeling/src/data/transformer-xl/" + name + "/get_" + name +
              ".sh, or download and unzip http://mattmahoney.net/dc/" + name +
              ".zip into this folder (or set dataset.data_dir)");
}

}  // namespace

LmCorpus read_text8(const std::string& dir) { return read_mahoney_corpus("text8", dir, "character"); }

LmCorpus read_enwik8(const std::string& dir) { return read_mahoney_corpus("enwik8", dir, "byte"); }

LmCorpus read_wikitext103(const std::string& dir) {
  const fs::path d(dir);
  std::array<fs::path, 3> files;
  if (is_file(d / "wiki.train.tokens") && is_file(d / "wiki.valid.tokens") && is_file(d / "wiki.test.tokens")) {
    files = {d / "wiki.train.tokens", d / "wiki.valid.tokens", d / "wiki.test.tokens"};
  } else if (is_file(d / "train.txt") && is_file(d / "test.txt") && (is_file(d / "valid.txt") || is_file(d / "valid.txt.txt"))) {
    files = {d / "train.txt", is_file(d / "valid.txt") ? d / "valid.txt" : d / "valid.txt.txt", d / "test.txt"};
  } else {
    missing(dir, "wiki.train.tokens, wiki.valid.tokens, wiki.test.tokens (WikiText-103 v1) or the seed's train.txt, valid.txt, test.txt",
            "Get them with the seed's language_modeling/src/data/datasets/get_wt103.py (it writes valid.txt.txt, "
            "which is accepted too), or unpack wikitext-103-v1.zip here (or set dataset.data_dir)");
  }
  // Words split on whitespace, <eos> after every line; vocabulary from train only, <eos> = id 0.
  // Streams over the text twice (count, then encode) instead of holding every word as a string.
  auto each_word = [](const std::string& text, auto&& fn) {
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end == text.size() && start == text.size()) break;  // no empty line after a final newline
      const std::string line = text.substr(start, end - start);
      for_each_token(line, fn);
      fn(std::string_view("<eos>"));
      start = end + 1;
    }
  };
  const std::array<std::string, 3> texts = {io::read_file(files[0].string()), io::read_file(files[1].string()),
                                            io::read_file(files[2].string())};
  std::unordered_map<std::string, int64_t> count;
  std::vector<std::string> order;
  each_word(texts[0], [&](std::string_view w) {
    if (w == "<eos>") return;
    auto [it, fresh] = count.try_emplace(std::string(w), 0);
    if (fresh) order.push_back(it->first);
    ++it->second;
  });
  LmCorpus c;
  c.name = "wt103";
  c.metric = "ppl";
  c.vocab = {"<eos>"};
  for (auto& w : by_frequency(order, count)) c.vocab.push_back(w);
  std::unordered_map<std::string, int64_t> id;
  for (size_t i = 0; i < c.vocab.size(); ++i) id[c.vocab[i]] = static_cast<int64_t>(i);
  const auto unk = id.find("<unk>");
  torch::Tensor* dst[3] = {&c.train, &c.valid, &c.test};
  for (int k = 0; k < 3; ++k) {
    std::vector<int64_t> ids;
    each_word(texts[k], [&](std::string_view w) {
      auto it = id.find(std::string(w));
      if (it == id.end()) {
        if (unk == id.end())
          throw FileError(files[k].string(), "word '" + std::string(w) + "' is not in the training vocabulary and there is no <unk>");
        it = unk;
      }
      ids.push_back(it->second);
    });
    *dst[k] = to_tensor(ids);
  }
  return c;
}

LmCorpus fortunes_corpus(const std::string& dir) {
  auto cc = dir.empty() ? CharCorpus::from_fortunes() : CharCorpus::from_fortunes(dir);
  LmCorpus c;
  c.name = "fortunes";
  c.metric = "bpc";
  c.vocab.push_back("_");
  for (char ch = 'a'; ch <= 'z'; ++ch) c.vocab.emplace_back(1, ch);
  c.train = cc.train;
  c.valid = cc.valid;
  c.test = cc.test;
  return c;
}

LmCorpus load_corpus(const std::string& name, const std::string& dir) {
  if (name == "text8") return read_text8(dir);
  if (name == "enwik8") return read_enwik8(dir);
  if (name == "wt103") return read_wikitext103(dir);
  if (name == "fortunes") return fortunes_corpus(dir);
  throw Error("unknown corpus '" + name + "' (text8, enwik8, wt103, fortunes)");
}

OrderedBatches::OrderedBatches(torch::Tensor stream, int64_t batch_size, int64_t l_max, bool rotate, uint64_t roll_seed,
                               int rank, int world)
    : l_max_(l_max), rotate_(rotate), roll_seed_(roll_seed) {
  if (world < 1 || rank < 0 || rank >= world) throw Error("OrderedBatches: rank " + std::to_string(rank) + " of " +
                                                          std::to_string(world));
  const int64_t global = batch_size * world;
  const int64_t per_row = stream.numel() / global;
  if (per_row < 2)
    throw Error("the split has " + std::to_string(stream.numel()) + " tokens: too few for loader.batch_size = " +
                std::to_string(batch_size) + (world > 1 ? " × " + std::to_string(world) + " processes" : ""));
  rows_ = stream.narrow(0, 0, per_row * global).view({global, per_row});
  first_row_ = static_cast<int64_t>(rank) * batch_size;
  rows_per_rank_ = batch_size;
  batches_ = (per_row - 1 + l_max - 1) / l_max;
}

int64_t OrderedBatches::tokens_per_epoch() const { return rows_per_rank_ * (rows_.size(1) - 1); }

std::pair<torch::Tensor, torch::Tensor> OrderedBatches::get(int64_t epoch, int64_t index) {
  torch::Tensor src = rows_.narrow(0, first_row_, rows_per_rank_);
  if (rotate_) {
    if (rotated_epoch_ != epoch) {
      // Offsets for every row of the global batch, so each rank's rows rotate as in one process.
      auto gen = at::make_generator<at::CPUGeneratorImpl>(roll_seed_ + static_cast<uint64_t>(epoch));
      auto shifts = torch::randint(0, rows_.size(1), {rows_.size(0)}, gen, torch::kLong);
      std::vector<torch::Tensor> rolled;
      for (int64_t r = first_row_; r < first_row_ + rows_per_rank_; ++r)
        rolled.push_back(torch::roll(rows_[r], {shifts[r].item<int64_t>()}, {0}));
      rotated_ = torch::stack(rolled);
      rotated_epoch_ = epoch;
    }
    src = rotated_;
  }
  const int64_t start = index * l_max_;
  const int64_t len = std::min(l_max_, src.size(1) - 1 - start);
  return {src.narrow(1, start, len).contiguous(), src.narrow(1, start + 1, len).contiguous()};
}

}  // namespace dm::data
