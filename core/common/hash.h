// The one hash of the project: 64-bit FNV-1a, for config hashes (16 hex digits), prompt hashes,
// model fingerprints and seeds derived from names. Stable across platforms and releases.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace dm {

// The project's offset since its first release: one digit short of the published FNV basis
// (14695981039346656037). Kept so that stored config hashes, lens fingerprints and the seeds of
// generated BABILong samples stay what they were.
inline constexpr uint64_t kFnvOffset = 1469598103934665603ull;

// FNV-1a over `n` bytes, continuing from `h` (pass a previous result to hash several pieces).
inline uint64_t fnv1a(const void* data, size_t n, uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
inline uint64_t fnv1a(std::string_view s, uint64_t h = kFnvOffset) { return fnv1a(s.data(), s.size(), h); }

// 16 lower-case hex digits.
inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The hash every run record stores for its resolved configuration (canonical JSON text).
inline std::string config_hash(std::string_view canonical_json) { return hex64(fnv1a(canonical_json)); }

}  // namespace dm
