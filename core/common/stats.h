// Binomial uncertainty of accuracies measured on n samples (BABILong cells: 40 questions at demo scale,
// 100 in the seed), header-only and free of LibTorch and Qt so the CLI and the plotting library share it.
//  * Wilson score interval of one proportion (Wilson 1927): good coverage at small n and at 0 % or 100 %,
//    where the normal approximation collapses to a zero-width interval.
//  * Newcombe's hybrid score interval of a difference of two independent proportions (Newcombe 1998,
//    method 10), built from the two Wilson intervals.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace dm::stats {

struct Interval {
  double low = 0, high = 0;  // same unit as the input: fractions in, fractions out
  bool contains(double x) const { return low <= x && x <= high; }
};

// z of a two-sided 95 % interval.
inline constexpr double kZ95 = 1.959963984540054;

// Wilson interval of p = successes / n (p given as a fraction). n ≤ 0 gives [0, 1].
inline Interval wilson(double p, int64_t n, double z = kZ95) {
  if (n <= 0) return {0.0, 1.0};
  p = std::clamp(p, 0.0, 1.0);
  const double nn = static_cast<double>(n), z2 = z * z;
  const double denom = 1.0 + z2 / nn;
  const double centre = (p + z2 / (2.0 * nn)) / denom;
  const double half = z * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

// Newcombe interval of p1 − p2 (fractions, independent samples of sizes n1 and n2).
inline Interval newcombe_difference(double p1, int64_t n1, double p2, int64_t n2, double z = kZ95) {
  const Interval a = wilson(p1, n1, z), b = wilson(p2, n2, z);
  const double d = p1 - p2;
  const double lo = std::sqrt((p1 - a.low) * (p1 - a.low) + (b.high - p2) * (b.high - p2));
  const double hi = std::sqrt((a.high - p1) * (a.high - p1) + (p2 - b.low) * (p2 - b.low));
  return {d - lo, d + hi};
}

}  // namespace dm::stats
