// BpeTokenizer's state, shared by its two source files: tokenizer.cpp (encoding, decoding) and
// tokenizer_json.cpp (reading and checking tokenizer.json). Internal to core/data.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/data/tokenizer.h"

namespace dm::data {
namespace tokenizer_detail {

// ---------------------------------------------------------------------------------------------------
// Added-token matcher: a byte trie, leftmost-longest, non-overlapping.

class TokenTrie {
 public:
  TokenTrie() { nodes_.emplace_back(); }

  void add(std::string_view content, int32_t value) {
    if (content.empty()) return;
    int32_t node = 0;
    for (unsigned char b : content) {
      int32_t child = find_child(node, b);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(b, child);
        nodes_.emplace_back();
      }
      node = child;
    }
    nodes_[node].value = value;
    first_[static_cast<unsigned char>(content[0])] = true;
    empty_ = false;
  }

  bool empty() const { return empty_; }

  struct Match {
    size_t begin, end;
    int32_t value;
  };

  // All leftmost-longest, non-overlapping matches in text, in order.
  void find_all(std::string_view text, std::vector<Match>& out) const {
    out.clear();
    if (empty_) return;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
      if (!first_[s[i]]) {
        ++i;
        continue;
      }
      int32_t node = 0, best_value = -1;
      size_t best_end = 0;
      for (size_t k = i; k < n; ++k) {
        node = find_child(node, s[k]);
        if (node < 0) break;
        if (nodes_[node].value >= 0) {
          best_value = nodes_[node].value;
          best_end = k + 1;
        }
      }
      if (best_value >= 0) {
        out.push_back({i, best_end, best_value});
        i = best_end;
      } else {
        ++i;
      }
    }
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t value = -1;
  };
  int32_t find_child(int32_t node, unsigned char b) const {
    for (const auto& [c, idx] : nodes_[node].children)
      if (c == b) return idx;
    return -1;
  }
  std::vector<Node> nodes_;
  std::array<bool, 256> first_{};
  bool empty_ = true;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct JsonReader;  // tokenizer_json.cpp
struct AddedIn;

}  // namespace tokenizer_detail

struct BpeTokenizer::Impl {
  using TokenTrie = tokenizer_detail::TokenTrie;
  using StringHash = tokenizer_detail::StringHash;
  using JsonReader = tokenizer_detail::JsonReader;
  using AddedIn = tokenizer_detail::AddedIn;

  std::string source;

  // model
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab;
  struct MergeValue {
    int32_t rank, new_id;
  };
  std::unordered_map<uint64_t, MergeValue> merges;
  std::array<int32_t, 256> byte_id{};  // vocab id of each byte's table character, -1 when absent
  std::optional<int32_t> unk_id;
  bool fuse_unk = false;
  bool ignore_merges = false;

  // added tokens
  struct Added {
    std::string content;
    int32_t id;
    bool special, normalized;
  };
  std::vector<Added> added;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> added_ids;  // content → id (first wins)
  TokenTrie raw_trie, norm_trie;                                                    // values index `added`

  // components
  bool nfc = false;
  bool add_prefix_space = false;
  bool use_regex = true;

  // id tables
  std::vector<std::string> id_token;  // token string per id ("" when none)
  std::vector<std::string> id_bytes;  // decoded bytes per id
  std::vector<uint8_t> id_kind;       // 0 none, 1 vocab, 2 added, 3 added special
  int64_t size = 0;

  // word cache (raw piece bytes → ids); pieces longer than kCacheMaxPiece bytes are not cached
  static constexpr size_t kCacheCap = 1 << 18;
  static constexpr size_t kCacheMaxPiece = 256;
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache;

  void bpe_word(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_piece(std::string_view piece, std::vector<int64_t>& out) const;
  void encode_normalized(std::string_view text, bool match_special, std::vector<int64_t>& out) const;

  // from_json's steps, in order (each checks its part of the file).
  void read_components(const nlohmann::json& j, const JsonReader& r);  // normalizer, pre-tokenizer, decoder
  void read_model_options(const nlohmann::json& model, const JsonReader& r);
  int64_t read_vocab(const nlohmann::json& model, const JsonReader& r);  // → the largest id
  std::vector<AddedIn> read_added_tokens(const nlohmann::json& j, const JsonReader& r, int64_t& max_id) const;
  void build_id_tables(const std::vector<AddedIn>& added_in, int64_t max_id, const JsonReader& r);
  void build_added_tries(const std::vector<AddedIn>& added_in, const JsonReader& r);
  void read_unk_and_bytes(const nlohmann::json& model, const JsonReader& r);
  void read_merges(const nlohmann::json& model, const JsonReader& r);
  void build_id_bytes(const JsonReader& r);
};

}  // namespace dm::data
