// Text ↔ token ids in a model's own vocabulary: the GPT-NeoX BPE of HF checkpoints, or the text8
// character alphabet of our character-level language models. Jobs that feed text to a model (BABILong,
// fine-tuning, the lens) see only this interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dm::data {

class BpeTokenizer;

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::vector<int64_t> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;  // skips special tokens
  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int64_t> eos_id() const = 0;  // generation stops there
  // Text as the model sees it after the codec's normalisation (identity for BPE; text8 lower-cases).
  virtual std::string normalize(std::string_view text) const = 0;
  virtual std::string name() const = 0;
};

// text8's 27 symbols (space + a–z); every other run of characters becomes one space.
std::unique_ptr<Codec> text8_codec();
// A tokenizer.json (GPT-NeoX byte-level BPE). Throws FileError when it cannot be read.
std::unique_ptr<Codec> bpe_codec(const std::string& tokenizer_json);

}  // namespace dm::data
