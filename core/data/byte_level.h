// The byte-level layer of the GPT-NeoX tokenizer (spec §4.4–4.5): UTF-8 validation, decoding and lossy
// repair, the byte ↔ unicode table of ByteLevel, the pre-tokenizer regex as a hand-written matcher, and
// NFC through utf8proc. Used by BpeTokenizer only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dm::data::byte_level {

// Throws Error naming `what` and the byte offset when `text` is not valid UTF-8.
void validate_utf8(std::string_view text, const char* what);

// Decodes the (valid) UTF-8 character at s[i]; sets len to its byte length.
inline char32_t decode_at(const unsigned char* s, size_t i, size_t& len) {
  const unsigned char b = s[i];
  if (b < 0x80) {
    len = 1;
    return b;
  }
  if (b < 0xE0) {
    len = 2;
    return (char32_t(b & 0x1F) << 6) | (s[i + 1] & 0x3F);
  }
  if (b < 0xF0) {
    len = 3;
    return (char32_t(b & 0x0F) << 12) | (char32_t(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
  }
  len = 4;
  return (char32_t(b & 0x07) << 18) | (char32_t(s[i + 1] & 0x3F) << 12) | (char32_t(s[i + 2] & 0x3F) << 6) |
         (s[i + 3] & 0x3F);
}

void append_utf8(std::string& out, char32_t c);

// Lossy UTF-8: every maximal invalid subpart (the longest prefix of a well-formed sequence, or one
// byte) becomes one U+FFFD, as Rust's String::from_utf8_lossy does.
std::string utf8_lossy(const std::string& bytes);

// ByteLevel's table: every byte as a printable code point and back.
struct ByteTable {
  std::array<char32_t, 256> to_cp{};
  std::array<std::string, 256> to_utf8;
  std::unordered_map<char32_t, uint8_t> to_byte;
  ByteTable() {
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool same = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = same ? char32_t(b) : next++;
      append_utf8(to_utf8[b], to_cp[b]);
      to_byte[to_cp[b]] = static_cast<uint8_t>(b);
    }
  }
};
const ByteTable& byte_table();

// End (exclusive byte offset) of the pre-tokenizer regex match starting at i < n:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t match_piece(const unsigned char* s, size_t n, size_t i);

// Calls f(piece) for every pre-tokenizer piece of (valid UTF-8) text, in order.
template <typename F>
void for_each_piece(std::string_view text, F&& f) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const size_t e = match_piece(s, n, i);
    f(text.substr(i, e - i));
    i = e;
  }
}

// NFC of valid UTF-8, appended to out (only runs of non-ASCII characters go through utf8proc).
void nfc_into(std::string_view text, std::string& out);
bool has_non_ascii(std::string_view s);

}  // namespace dm::data::byte_level
