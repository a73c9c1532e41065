#include "core/data/byte_level.h"

#include <utf8proc.h>

#include <cstdlib>

#include "core/common/error.h"

namespace dm::data::byte_level {

// ---------------------------------------------------------------------------------------------------
// UTF-8 helpers

// Length of the valid UTF-8 sequence at s[i..n), or 0 when it is invalid (overlong forms, surrogates and
// code points above U+10FFFF are invalid).
static size_t utf8_valid_len(const unsigned char* s, size_t n, size_t i) {
  const unsigned char b = s[i];
  if (b < 0x80) return 1;
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i + k < n && s[i + k] >= lo && s[i + k] <= hi;
  };
  if (b >= 0xC2 && b <= 0xDF) return cont(1) ? 2 : 0;
  if (b == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (b == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (b == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b >= 0xF1 && b <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

void validate_utf8(std::string_view text, const char* what) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = utf8_valid_len(s, n, i);
    if (len == 0) {
      std::ostringstream msg;
      msg << what << ": invalid UTF-8 at byte offset " << i << " (byte 0x" << std::hex << std::uppercase
          << static_cast<int>(s[i]) << ")";
      throw Error(msg.str());
    }
    i += len;
  }
}


void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Lossy UTF-8: every maximal invalid subpart (the longest prefix of a well-formed sequence, or one
// byte) becomes one U+FFFD, as Rust's String::from_utf8_lossy does.
std::string utf8_lossy(const std::string& bytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::string out;
  out.reserve(n);
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      out.push_back(static_cast<char>(s[i++]));
      continue;
    }
    const size_t len = utf8_valid_len(s, n, i);
    if (len) {
      out.append(bytes, i, len);
      i += len;
      continue;
    }
    // Length of the maximal subpart: the lead byte plus the continuation bytes that still fit a
    // well-formed sequence.
    const unsigned char b = s[i];
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    size_t k = 1;
    if (need && i + 1 < n && s[i + 1] >= lo && s[i + 1] <= hi) {
      k = 2;
      while (k <= need && i + k < n && s[i + k] >= 0x80 && s[i + k] <= 0xBF) ++k;
    }
    out += "\xEF\xBF\xBD";
    i += k;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Byte ↔ unicode table (spec §4.4)


const ByteTable& byte_table() {
  static const ByteTable t;
  return t;
}

// ---------------------------------------------------------------------------------------------------
// Character classes of the pre-tokenizer regex (spec §4.5)

enum CharClass : uint8_t { kSpace, kLetter, kNumber, kOther };

static bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static CharClass classify_slow(char32_t c) {
  if (is_white_space(c)) return kSpace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return kNumber;
    default:
      return kOther;
  }
}

struct AsciiClasses {
  std::array<CharClass, 128> c{};
  AsciiClasses() {
    for (char32_t i = 0; i < 128; ++i) c[i] = classify_slow(i);
  }
};

// Class of the (valid) character at s[i]; sets len to its byte length.
static inline CharClass class_at(const unsigned char* s, size_t i, size_t& len) {
  static const AsciiClasses ascii;
  if (s[i] < 0x80) {
    len = 1;
    return ascii.c[s[i]];
  }
  return classify_slow(decode_at(s, i, len));
}

// End (exclusive byte offset) of the regex match starting at i < n, alternatives tried in order:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t match_piece(const unsigned char* s, size_t n, size_t i) {
  if (s[i] == '\'' && i + 1 < n) {
    const unsigned char d = s[i + 1];
    if (d == 's' || d == 't' || d == 'm' || d == 'd') return i + 2;
    if (i + 2 < n) {
      const unsigned char e = s[i + 2];
      if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) return i + 3;
    }
  }
  size_t j = (s[i] == ' ') ? i + 1 : i;
  size_t len = 0;
  if (j < n) {
    const CharClass cls = class_at(s, j, len);
    if (cls != kSpace) {
      j += len;
      while (j < n && class_at(s, j, len) == cls) j += len;
      return j;
    }
  }
  // Whitespace run from i: all of it at the end of the text; otherwise all but its last character when
  // it has two or more, else its single character.
  size_t k = i, last = i;
  while (k < n && class_at(s, k, len) == kSpace) {
    last = k;
    k += len;
  }
  if (k == n) return n;
  return last > i ? last : k;
}


// ---------------------------------------------------------------------------------------------------
// NFC

static std::string nfc_chunk(std::string_view chunk) {
  utf8proc_uint8_t* dst = nullptr;
  const utf8proc_ssize_t r =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(chunk.data()), static_cast<utf8proc_ssize_t>(chunk.size()),
                   &dst, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (r < 0) throw Error(std::string("NFC normalisation failed: ") + utf8proc_errmsg(r));
  std::string out(reinterpret_cast<const char*>(dst), static_cast<size_t>(r));
  std::free(dst);
  return out;
}

// NFC of valid UTF-8. ASCII characters are starters that never compose with what precedes them, so the
// text can be cut before any ASCII character; only runs of non-ASCII characters (with the ASCII
// character before them, which they may compose with) go through utf8proc.
void nfc_into(std::string_view text, std::string& out) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && static_cast<unsigned char>(text[j]) < 0x80) ++j;
    if (j == n) {
      out.append(text, i, n - i);
      return;
    }
    size_t start = j > i ? j - 1 : j;  // the ASCII character before the run (if in this stretch)
    out.append(text, i, start - i);
    size_t k = j;
    while (k < n && static_cast<unsigned char>(text[k]) >= 0x80) ++k;
    out += nfc_chunk(text.substr(start, k - start));
    i = k;
  }
}

bool has_non_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

}  // namespace dm::data::byte_level
