#include "core/data/codec.h"

#include <torch/torch.h>

#include "core/common/error.h"
#include "core/data/char_corpus.h"
#include "core/data/tokenizer.h"

namespace dm::data {
namespace {

class Text8Codec final : public Codec {
 public:
  std::vector<int64_t> encode(std::string_view text) const override {
    const auto t = encode_text8(normalize_text8(std::string(text)));
    return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
  }
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::string s;
    s.reserve(ids.size());
    for (auto id : ids) {
      if (id < 0 || id >= CharCorpus::kVocab) throw Error("text8: token id " + std::to_string(id) + " is outside [0, 27)");
      s += id == 0 ? ' ' : static_cast<char>('a' + id - 1);
    }
    return s;
  }
  int64_t vocab_size() const override { return CharCorpus::kVocab; }
  std::optional<int64_t> eos_id() const override { return std::nullopt; }
  std::string normalize(std::string_view text) const override { return normalize_text8(std::string(text)); }
  std::string name() const override { return "text8 characters"; }
};

class BpeCodec final : public Codec {
 public:
  explicit BpeCodec(BpeTokenizer t) : tok_(std::move(t)) {}
  std::vector<int64_t> encode(std::string_view text) const override { return tok_.encode(text); }
  std::string decode(const std::vector<int64_t>& ids) const override { return tok_.decode(ids, true); }
  int64_t vocab_size() const override { return tok_.vocab_size(); }
  std::optional<int64_t> eos_id() const override { return tok_.eos_id(); }
  std::string normalize(std::string_view text) const override { return std::string(text); }
  std::string name() const override { return "byte-level BPE"; }

 private:
  BpeTokenizer tok_;
};

}  // namespace

std::unique_ptr<Codec> text8_codec() { return std::make_unique<Text8Codec>(); }
std::unique_ptr<Codec> bpe_codec(const std::string& tokenizer_json) {
  return std::make_unique<BpeCodec>(BpeTokenizer::from_file(tokenizer_json));
}

}  // namespace dm::data
