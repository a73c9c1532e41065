// BpeTokenizer: byte-level BPE encoding (pre-tokenizer, merges, added tokens) and decoding. Reading
// tokenizer.json is in tokenizer_json.cpp; the shared state in tokenizer_impl.h.
#include "core/data/tokenizer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/data/byte_level.h"
#include "core/data/tokenizer_impl.h"

namespace dm::data {

using namespace byte_level;
using tokenizer_detail::pair_key;
using tokenizer_detail::TokenTrie;

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
