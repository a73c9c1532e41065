// Byte-level BPE tokenizer read from a HuggingFace `tokenizer.json` (the GPT-NeoX-20B tokenizer that HF
// Mamba2 checkpoints ship), following docs/spec checkpoint-formats.md §4: added tokens (leftmost-longest,
// unnormalised ones on the raw text, then NFC, then normalised ones), the ByteLevel pre-tokenizer regex,
// the byte → unicode table, rank-ordered BPE merges, and the ByteLevel decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dm::data {

class BpeTokenizer {
 public:
  // Reads a HuggingFace tokenizer.json. Supported: model.type "BPE" (dropout null/0, no
  // continuing_subword_prefix / end_of_word_suffix, byte_fallback false; unk_token, fuse_unk and
  // ignore_merges honoured; merges as "a b" strings or [a, b] pairs), pre_tokenizer ByteLevel
  // (add_prefix_space, use_regex honoured), normalizer NFC or null, decoder ByteLevel or null (decoded
  // as ByteLevel either way). Added tokens keep the ids of the file (they must agree with model.vocab);
  // single_word / lstrip / rstrip true are rejected. The post_processor, truncation and padding are
  // ignored: encode() never adds BOS/EOS. Throws dm::FileError naming the path and the defect (missing,
  // unreadable, invalid JSON, unsupported component, a merge whose parts are not in the vocab, ...).
  static BpeTokenizer from_file(const std::string& tokenizer_json_path);
  static BpeTokenizer from_json(const nlohmann::json& j, const std::string& source_name);

  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  ~BpeTokenizer();

  // Encodes UTF-8 text to ids (no BOS/EOS). match_special: added tokens found in the text become their
  // ids (HF default). With false, matches of added tokens marked special=true are left as plain text
  // (HF `encode_special_tokens = True`; as there, the text of such a match is not searched again for
  // other added tokens). Invalid UTF-8 → dm::Error naming the byte offset. Thread-safe.
  std::vector<int64_t> encode(std::string_view utf8, bool match_special = true) const;

  // Decodes ids (spec §4.7): token strings whose characters are all in the byte-level table become those
  // bytes, others (e.g. added space tokens) their own UTF-8; invalid UTF-8 in the result becomes U+FFFD
  // (one per maximal invalid subpart); no clean-up of spaces. An id with no token → dm::Error naming it.
  // skip_special drops added tokens with special=true.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const;

  int64_t vocab_size() const;  // max id + 1 over vocab and added tokens
  std::optional<int64_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int64_t id) const;
  std::optional<int64_t> eos_id() const;  // id of "<|endoftext|>" if present
  bool is_special(int64_t id) const;      // an added token with special=true

  // The ByteLevel pre-tokenizer alone (regex split, spec §4.5), returning the pieces byte-mapped
  // (space → "Ġ", ...). Input must be valid UTF-8 (dm::Error otherwise). For tests.
  static std::vector<std::string> pre_tokenize(std::string_view utf8);
  // The same split, returning the raw UTF-8 pieces (they tile the input exactly).
  static std::vector<std::string> pre_tokenize_raw(std::string_view utf8);
  // NFC of valid UTF-8 text (dm::Error on invalid UTF-8).
  static std::string nfc(std::string_view utf8);
  // The byte → unicode table of spec §4.4, as UTF-8 strings.
  static std::string byte_to_unicode(uint8_t byte);

 private:
  struct Impl;
  BpeTokenizer();
  std::unique_ptr<Impl> impl_;
};

}  // namespace dm::data
