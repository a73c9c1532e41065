#include "core/data/tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "core/common/error.h"
#include "core/data/byte_level.h"

namespace dm::data {

namespace {

using namespace byte_level;

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

std::string json_type_of(const nlohmann::json& v) { return v.type_name(); }

[[noreturn]] void fail_at(const std::string& source, const std::string& what) { throw FileError(source, what); }

// Reading tokenizer.json: errors name the file and the JSON path of what is wrong.
struct JsonReader {
  const std::string& src;
  [[noreturn]] void fail(const std::string& what) const { fail_at(src, what); }
  bool get_bool(const nlohmann::json& obj, const char* key, bool def, const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return def;
    if (!it->is_boolean()) fail(where + "." + key + " must be true or false, found " + it->dump());
    return it->get<bool>();
  }
  // The "type" of a component object.
  std::string type_of(const nlohmann::json& obj, const std::string& where) const {
    if (!obj.is_object()) fail(where + " must be an object or null, found " + json_type_of(obj));
    auto it = obj.find("type");
    if (it == obj.end() || !it->is_string()) fail(where + " has no \"type\" string");
    return it->get<std::string>();
  }
};

// An entry of added_tokens as the file gives it.
struct AddedIn {
  std::string content;
  int64_t id;
  bool special, normalized;
};

constexpr int64_t kMaxId = (int64_t{1} << 26);

}  // namespace

// -----------------------------------------------------------------------------------------------------

struct BpeTokenizer::Impl {
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

void BpeTokenizer::Impl::bpe_word(std::string_view piece, std::vector<int32_t>& out) const {
  out.clear();
  const auto* s = reinterpret_cast<const unsigned char*>(piece.data());
  const size_t n = piece.size();
  if (ignore_merges) {
    std::string mapped;
    for (size_t i = 0; i < n; ++i) mapped += byte_table().to_utf8[s[i]];
    if (auto it = vocab.find(mapped); it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  struct Symbol {
    int32_t id, prev, next, len;
  };
  std::vector<Symbol> sym;
  sym.reserve(n);
  int32_t pending_unk = 0;  // bytes covered by a pending (fused) unknown symbol
  auto flush_unk = [&] {
    if (pending_unk) {
      sym.push_back({*unk_id, 0, 0, pending_unk});
      pending_unk = 0;
    }
  };
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = byte_id[s[i]];
    if (id >= 0) {
      flush_unk();
      sym.push_back({id, 0, 0, 1});
    } else if (unk_id) {
      if (pending_unk && !fuse_unk) flush_unk();
      ++pending_unk;
    }
    // else: a character missing from the vocab without unk_token is dropped, as the reference does.
  }
  flush_unk();
  const int32_t m = static_cast<int32_t>(sym.size());
  for (int32_t i = 0; i < m; ++i) {
    sym[i].prev = i - 1;
    sym[i].next = i + 1 < m ? i + 1 : -1;
  }
  if (m > 1) {
    // Min-queue on (rank, position); stale entries are skipped when popped.
    struct Entry {
      int32_t rank, pos, new_id;
      bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
    auto push_pair = [&](int32_t pos) {
      const int32_t nx = sym[pos].next;
      if (nx < 0) return;
      auto it = merges.find(pair_key(sym[pos].id, sym[nx].id));
      if (it != merges.end()) queue.push({it->second.rank, pos, it->second.new_id});
    };
    for (int32_t i = 0; i + 1 < m; ++i) push_pair(i);
    while (!queue.empty()) {
      const Entry top = queue.top();
      queue.pop();
      Symbol& cur = sym[top.pos];
      if (cur.len == 0 || cur.next < 0) continue;
      const int32_t nx = cur.next;
      auto it = merges.find(pair_key(cur.id, sym[nx].id));
      if (it == merges.end() || it->second.new_id != top.new_id) continue;
      cur.id = top.new_id;
      cur.len += sym[nx].len;
      cur.next = sym[nx].next;
      sym[nx].len = 0;
      if (cur.next >= 0) sym[cur.next].prev = top.pos;
      if (cur.prev >= 0) push_pair(cur.prev);
      push_pair(top.pos);
    }
  }
  for (int32_t i = 0; i < m; ++i)
    if (sym[i].len) out.push_back(sym[i].id);
}

void BpeTokenizer::Impl::encode_piece(std::string_view piece, std::vector<int64_t>& out) const {
  if (piece.size() == 1 && !ignore_merges) {  // one byte: one base symbol, no merge possible
    const int32_t id = byte_id[static_cast<unsigned char>(piece[0])];
    if (id >= 0)
      out.push_back(id);
    else if (unk_id)
      out.push_back(*unk_id);
    return;
  }
  const bool cacheable = piece.size() <= kCacheMaxPiece;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (auto it = cache.find(piece); it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  bpe_word(piece, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (!cacheable) return;
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() < kCacheCap) cache.emplace(std::string(piece), std::move(ids));
}

void BpeTokenizer::Impl::encode_normalized(std::string_view text, bool match_special, std::vector<int64_t>& out) const {
  auto pretokenize = [&](std::string_view seg) {
    if (seg.empty()) return;
    std::string prefixed;
    if (add_prefix_space && seg[0] != ' ') {
      prefixed.reserve(seg.size() + 1);
      prefixed.push_back(' ');
      prefixed.append(seg);
      seg = prefixed;
    }
    if (use_regex)
      for_each_piece(seg, [&](std::string_view piece) { encode_piece(piece, out); });
    else
      encode_piece(seg, out);
  };
  if (norm_trie.empty()) {
    pretokenize(text);
    return;
  }
  std::vector<TokenTrie::Match> matches;
  norm_trie.find_all(text, matches);
  size_t pos = 0;
  for (const auto& m : matches) {
    const Added& a = added[m.value];
    if (a.special && !match_special) continue;
    pretokenize(text.substr(pos, m.begin - pos));
    out.push_back(a.id);
    pos = m.end;
  }
  pretokenize(text.substr(pos));
}

// -----------------------------------------------------------------------------------------------------

BpeTokenizer::BpeTokenizer() : impl_(std::make_unique<Impl>()) {}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer BpeTokenizer::from_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw FileError(path, "tokenizer file does not exist");
  if (std::filesystem::is_directory(path, ec)) throw FileError(path, "is a folder, expected a tokenizer.json file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open the tokenizer file for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw FileError(path, "read error");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(buf.str());
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("invalid JSON in tokenizer file (truncated or damaged?): ") + e.what());
  }
  return from_json(j, path);
}

BpeTokenizer BpeTokenizer::from_json(const nlohmann::json& j, const std::string& src) {
  const JsonReader r{src};
  if (!j.is_object()) r.fail("tokenizer.json must be a JSON object, found " + json_type_of(j));
  BpeTokenizer tok;
  Impl& t = *tok.impl_;
  t.source = src;
  t.read_components(j, r);
  auto mit = j.find("model");
  if (mit == j.end() || !mit->is_object()) r.fail("\"model\" object is missing");
  t.read_model_options(*mit, r);
  int64_t max_id = t.read_vocab(*mit, r);
  // Added tokens: their ids come from the file and must agree with model.vocab.
  const auto added_in = t.read_added_tokens(j, r, max_id);
  t.build_id_tables(added_in, max_id, r);
  t.build_added_tries(added_in, r);
  t.read_unk_and_bytes(*mit, r);
  t.read_merges(*mit, r);
  t.build_id_bytes(r);
  return tok;
}

void BpeTokenizer::Impl::read_components(const nlohmann::json& j, const JsonReader& r) {
  // normalizer
  if (auto it = j.find("normalizer"); it != j.end() && !it->is_null()) {
    const std::string ty = r.type_of(*it, "normalizer");
    if (ty != "NFC") r.fail("normalizer type \"" + ty + "\" is not supported (only NFC or null)");
    nfc = true;
  }

  // pre-tokenizer
  {
    auto it = j.find("pre_tokenizer");
    if (it == j.end() || it->is_null()) r.fail("pre_tokenizer is missing; only ByteLevel is supported");
    const std::string ty = r.type_of(*it, "pre_tokenizer");
    if (ty != "ByteLevel") r.fail("pre_tokenizer type \"" + ty + "\" is not supported (only ByteLevel)");
    add_prefix_space = r.get_bool(*it, "add_prefix_space", true, "pre_tokenizer");
    use_regex = r.get_bool(*it, "use_regex", true, "pre_tokenizer");
  }

  // decoder (null is decoded as ByteLevel too)
  if (auto it = j.find("decoder"); it != j.end() && !it->is_null()) {
    const std::string ty = r.type_of(*it, "decoder");
    if (ty != "ByteLevel") r.fail("decoder type \"" + ty + "\" is not supported (only ByteLevel or null)");
  }
}

void BpeTokenizer::Impl::read_model_options(const nlohmann::json& model, const JsonReader& r) {
  {
    auto ty = model.find("type");
    if (ty != model.end()) {
      if (!ty->is_string()) r.fail("model.type must be a string");
      if (ty->get<std::string>() != "BPE")
        r.fail("model type \"" + ty->get<std::string>() + "\" is not supported (only BPE)");
    } else if (!model.contains("merges")) {
      r.fail("model has no \"type\" and no \"merges\": not a BPE model");
    }
  }
  if (auto d = model.find("dropout"); d != model.end() && !d->is_null()) {
    if (!d->is_number()) r.fail("model.dropout must be a number or null");
    if (d->get<double>() != 0.0) r.fail("model.dropout " + d->dump() + " is not supported (only null or 0)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto v = model.find(key);
    if (v != model.end() && !v->is_null() && !(v->is_string() && v->get<std::string>().empty()))
      r.fail(std::string("model.") + key + " " + v->dump() + " is not supported (only null)");
  }
  if (r.get_bool(model, "byte_fallback", false, "model"))
    r.fail("model.byte_fallback true is not supported with a ByteLevel pre-tokenizer");
  fuse_unk = r.get_bool(model, "fuse_unk", false, "model");
  ignore_merges = r.get_bool(model, "ignore_merges", false, "model");
}

int64_t BpeTokenizer::Impl::read_vocab(const nlohmann::json& model, const JsonReader& r) {
  auto vit = model.find("vocab");
  if (vit == model.end() || !vit->is_object()) r.fail("model.vocab must be an object token → id");
  int64_t max_id = -1;
  vocab.reserve(vit->size() * 2);
  for (auto it = vit->begin(); it != vit->end(); ++it) {
    if (!it.value().is_number_integer())
      r.fail("model.vocab[\"" + it.key() + "\"] must be an integer id, found " + it.value().dump());
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= kMaxId)
      r.fail("model.vocab[\"" + it.key() + "\"] = " + std::to_string(id) + " is out of range [0, 2^26)");
    vocab[it.key()] = static_cast<int32_t>(id);
    max_id = std::max(max_id, id);
  }
  return max_id;
}

std::vector<AddedIn> BpeTokenizer::Impl::read_added_tokens(const nlohmann::json& j, const JsonReader& r,
                                                           int64_t& max_id) const {
  using nlohmann::json;
  std::vector<AddedIn> added_in;
  if (auto ait = j.find("added_tokens"); ait != j.end() && !ait->is_null()) {
    if (!ait->is_array()) r.fail("added_tokens must be an array");
    for (size_t k = 0; k < ait->size(); ++k) {
      const json& e = (*ait)[k];
      const std::string where = "added_tokens[" + std::to_string(k) + "]";
      if (!e.is_object()) r.fail(where + " must be an object");
      auto id = e.find("id");
      auto content = e.find("content");
      if (id == e.end() || !id->is_number_integer()) r.fail(where + " has no integer \"id\"");
      if (content == e.end() || !content->is_string()) r.fail(where + " has no string \"content\"");
      AddedIn a;
      a.content = content->get<std::string>();
      a.id = id->get<int64_t>();
      if (a.id < 0 || a.id >= kMaxId) r.fail(where + ".id " + std::to_string(a.id) + " is out of range [0, 2^26)");
      if (a.content.empty()) r.fail(where + " has empty content");
      a.special = r.get_bool(e, "special", false, where);
      a.normalized = r.get_bool(e, "normalized", !a.special, where);
      for (const char* key : {"single_word", "lstrip", "rstrip"})
        if (r.get_bool(e, key, false, where))
          r.fail(where + " (\"" + a.content + "\"): " + key + " = true is not supported");
      if (auto v = vocab.find(a.content); v != vocab.end() && v->second != a.id)
        r.fail(where + " \"" + a.content + "\" has id " + std::to_string(a.id) + " but model.vocab gives it id " +
               std::to_string(v->second));
      max_id = std::max(max_id, a.id);
      added_in.push_back(std::move(a));
    }
  }
  return added_in;
}

void BpeTokenizer::Impl::build_id_tables(const std::vector<AddedIn>& added_in, int64_t max_id, const JsonReader& r) {
  size = max_id + 1;
  id_token.assign(static_cast<size_t>(size), std::string());
  id_kind.assign(static_cast<size_t>(size), 0);
  for (const auto& [token, id] : vocab) {
    if (id_kind[id])
      r.fail("model.vocab: id " + std::to_string(id) + " is used by both \"" + id_token[id] + "\" and \"" + token +
             "\"");
    id_kind[id] = 1;
    id_token[id] = token;
  }
  for (const auto& a : added_in) {
    const auto id = static_cast<size_t>(a.id);
    if (id_kind[id] >= 2) r.fail("added_tokens: id " + std::to_string(a.id) + " is used twice");
    if (id_kind[id] == 1 && id_token[id] != a.content)
      r.fail("added token \"" + a.content + "\" has id " + std::to_string(a.id) + ", which model.vocab gives to \"" +
             id_token[id] + "\"");
    id_kind[id] = a.special ? 3 : 2;
    id_token[id] = a.content;
  }
}

void BpeTokenizer::Impl::build_added_tries(const std::vector<AddedIn>& added_in, const JsonReader& r) {
  // Unnormalised contents on raw text, normalised (NFC'd) contents on normalised text. When a
  // content appears twice the first entry wins (the trie is filled in reverse order).
  for (const auto& a : added_in) {
    try {
      validate_utf8(a.content, "content");
    } catch (const Error&) {
      r.fail("added token with id " + std::to_string(a.id) + " is not valid UTF-8");
    }
    added.push_back({a.content, static_cast<int32_t>(a.id), a.special, a.normalized});
    added_ids.emplace(a.content, static_cast<int32_t>(a.id));
  }
  for (size_t k = added.size(); k-- > 0;) {
    const auto& a = added[k];
    if (a.normalized) {
      std::string c;
      if (nfc)
        nfc_into(a.content, c);
      else
        c = a.content;
      norm_trie.add(c, static_cast<int32_t>(k));
    } else {
      raw_trie.add(a.content, static_cast<int32_t>(k));
    }
  }
}

void BpeTokenizer::Impl::read_unk_and_bytes(const nlohmann::json& model, const JsonReader& r) {
  if (auto u = model.find("unk_token"); u != model.end() && !u->is_null()) {
    if (!u->is_string()) r.fail("model.unk_token must be a string or null");
    auto v = vocab.find(u->get<std::string>());
    if (v == vocab.end()) r.fail("model.unk_token \"" + u->get<std::string>() + "\" is not in model.vocab");
    unk_id = v->second;
  }

  // byte → id
  const ByteTable& bt = byte_table();
  for (int b = 0; b < 256; ++b) {
    auto v = vocab.find(bt.to_utf8[b]);
    byte_id[b] = v == vocab.end() ? -1 : v->second;
  }
}

void BpeTokenizer::Impl::read_merges(const nlohmann::json& model, const JsonReader& r) {
  using nlohmann::json;
  auto mg = model.find("merges");
  if (mg == model.end() || !mg->is_array()) r.fail("model.merges must be an array");
  merges.reserve(mg->size() * 2);
  for (size_t rank = 0; rank < mg->size(); ++rank) {
    const json& e = (*mg)[rank];
    const std::string where = "model.merges[" + std::to_string(rank) + "]";
    std::string a, b;
    if (e.is_string()) {
      const std::string line = e.get<std::string>();
      std::vector<size_t> spaces;
      for (size_t p = 0; p < line.size(); ++p)
        if (line[p] == ' ') spaces.push_back(p);
      if (spaces.empty()) r.fail(where + " \"" + line + "\" is not of the form \"a b\"");
      if (spaces.size() == 1) {
        a = line.substr(0, spaces[0]);
        b = line.substr(spaces[0] + 1);
      } else {  // resolve against the vocabulary
        int found = 0;
        for (size_t p : spaces) {
          std::string x = line.substr(0, p), y = line.substr(p + 1);
          if (vocab.count(x) && vocab.count(y) && vocab.count(x + y)) {
            a = x;
            b = y;
            ++found;
          }
        }
        if (found != 1)
          r.fail(where + " \"" + line + "\" is ambiguous: " + std::to_string(found) +
                 " ways to split it into two vocabulary tokens");
      }
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      r.fail(where + " must be a string \"a b\" or a pair [\"a\", \"b\"], found " + e.dump());
    }
    auto ia = vocab.find(a), ib = vocab.find(b);
    if (ia == vocab.end()) r.fail(where + " (\"" + a + "\", \"" + b + "\"): token \"" + a + "\" is not in model.vocab");
    if (ib == vocab.end()) r.fail(where + " (\"" + a + "\", \"" + b + "\"): token \"" + b + "\" is not in model.vocab");
    auto iab = vocab.find(a + b);
    if (iab == vocab.end())
      r.fail(where + " (\"" + a + "\", \"" + b + "\"): merged token \"" + a + b + "\" is not in model.vocab");
    // A repeated pair takes the later rank, as the reference's map does.
    merges[pair_key(ia->second, ib->second)] = {static_cast<int32_t>(rank), iab->second};
  }
}

// Decoded bytes per id (spec §4.7 step 2): the ByteLevel table's bytes, or the token text itself.
void BpeTokenizer::Impl::build_id_bytes(const JsonReader& r) {
  const ByteTable& bt = byte_table();
  id_bytes.assign(static_cast<size_t>(size), std::string());
  for (int64_t id = 0; id < size; ++id) {
    if (!id_kind[id]) continue;
    const std::string& tokstr = id_token[id];
    const auto* s = reinterpret_cast<const unsigned char*>(tokstr.data());
    std::string bytes;
    bool all = true;
    size_t i = 0, len = 0;
    try {
      validate_utf8(tokstr, "token");
    } catch (const Error&) {
      r.fail("token with id " + std::to_string(id) + " is not valid UTF-8");
    }
    while (i < tokstr.size()) {
      const char32_t c = decode_at(s, i, len);
      auto f = bt.to_byte.find(c);
      if (f == bt.to_byte.end()) {
        all = false;
        break;
      }
      bytes.push_back(static_cast<char>(f->second));
      i += len;
    }
    id_bytes[id] = all ? std::move(bytes) : tokstr;
  }
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text, bool match_special) const {
  const Impl& t = *impl_;
  validate_utf8(text, "encode");
  std::vector<int64_t> out;
  out.reserve(text.size() / 3 + 4);
  std::string normalized;
  auto segment = [&](std::string_view seg) {
    if (seg.empty()) return;
    if (t.nfc && has_non_ascii(seg)) {
      normalized.clear();
      nfc_into(seg, normalized);
      t.encode_normalized(normalized, match_special, out);
    } else {
      t.encode_normalized(seg, match_special, out);
    }
  };
  if (t.raw_trie.empty()) {
    segment(text);
    return out;
  }
  std::vector<TokenTrie::Match> matches;
  t.raw_trie.find_all(text, matches);
  size_t pos = 0;
  for (const auto& m : matches) {
    const Impl::Added& a = t.added[m.value];
    if (a.special && !match_special) continue;  // left as text (not searched again)
    segment(text.substr(pos, m.begin - pos));
    out.push_back(a.id);
    pos = m.end;
  }
  segment(text.substr(pos));
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  const Impl& t = *impl_;
  std::string bytes;
  for (const int64_t id : ids) {
    if (id < 0 || id >= t.size || !t.id_kind[id])
      throw Error("decode: id " + std::to_string(id) + " has no token in " + t.source + " (vocabulary size " +
                  std::to_string(t.size) + ")");
    if (skip_special && t.id_kind[id] == 3) continue;
    bytes += t.id_bytes[id];
  }
  return utf8_lossy(bytes);
}

int64_t BpeTokenizer::vocab_size() const { return impl_->size; }

std::optional<int64_t> BpeTokenizer::token_to_id(std::string_view token) const {
  if (auto it = impl_->added_ids.find(token); it != impl_->added_ids.end()) return it->second;
  if (auto it = impl_->vocab.find(token); it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> BpeTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= impl_->size || !impl_->id_kind[id]) return std::nullopt;
  return impl_->id_token[id];
}

std::optional<int64_t> BpeTokenizer::eos_id() const { return token_to_id("<|endoftext|>"); }

bool BpeTokenizer::is_special(int64_t id) const { return id >= 0 && id < impl_->size && impl_->id_kind[id] == 3; }

std::vector<std::string> BpeTokenizer::pre_tokenize_raw(std::string_view text) {
  validate_utf8(text, "pre_tokenize");
  std::vector<std::string> out;
  for_each_piece(text, [&](std::string_view p) { out.emplace_back(p); });
  return out;
}

std::vector<std::string> BpeTokenizer::pre_tokenize(std::string_view text) {
  std::vector<std::string> out = pre_tokenize_raw(text);
  const ByteTable& bt = byte_table();
  for (auto& p : out) {
    std::string m;
    for (unsigned char b : p) m += bt.to_utf8[b];
    p = std::move(m);
  }
  return out;
}

std::string BpeTokenizer::nfc(std::string_view text) {
  validate_utf8(text, "nfc");
  std::string out;
  nfc_into(text, out);
  return out;
}

std::string BpeTokenizer::byte_to_unicode(uint8_t byte) { return byte_table().to_utf8[byte]; }

}  // namespace dm::data
