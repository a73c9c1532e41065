// Portable randomness for generated data (bAbI stories, MAD tasks): std:: distributions differ between
// standard libraries, these do not, so a seed gives the same data on every platform.
#pragma once

#include <cstdint>
#include <random>

namespace dm::random {

// Uniform in [0, n), n > 0 (rejects the biased low end of the 64-bit range).
inline uint64_t below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  uint64_t x = rng();
  while (x < threshold) x = rng();
  return x % n;
}
// Uniform in [0, 1) with 53 random bits.
inline double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
inline bool chance(std::mt19937_64& rng, double p) { return unit(rng) < p; }
// Fisher–Yates.
template <typename T>
void shuffle(std::mt19937_64& rng, T& v) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(below(rng, i))]);
}

}  // namespace dm::random
