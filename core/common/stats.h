// Binomial uncertainty of accuracies measured on n samples (BABILong cells: 40 questions at demo scale,
// 100 in the seed), header-only and free of LibTorch and Qt so the CLI and the plotting library share it.
//  * Wilson score interval of one proportion (Wilson 1927): good coverage at small n and at 0 % or 100 %,
//    where the normal approximation collapses to a zero-width interval.
//  * Newcombe's hybrid score interval of a difference of two independent proportions (Newcombe 1998,
//    method 10), built from the two Wilson intervals.
//  * Bootstrap intervals of a paired difference (Efron & Tibshirani 1993, percentile method): over samples
//    (two models answering the same questions), over seeds then samples (a two-level bootstrap when each
//    model was trained with several seeds), or over seeds alone (per-seed means, no per-sample data).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

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

// The (1 − level)/2 and (1 + level)/2 quantiles of bootstrap replicates (linear interpolation).
inline Interval percentile_interval(std::vector<double> reps, double level = 0.95) {
  if (reps.empty()) return {NAN, NAN};
  std::sort(reps.begin(), reps.end());
  auto q = [&](double p) {
    const double at = p * static_cast<double>(reps.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(at));
    const size_t hi = std::min(reps.size() - 1, lo + 1);
    return reps[lo] + (at - static_cast<double>(lo)) * (reps[hi] - reps[lo]);
  };
  return {q((1.0 - level) / 2.0), q((1.0 + level) / 2.0)};
}

struct BootstrapDifference {
  double delta = 0;  // mean of x − y over every (seed, sample)
  Interval ci;       // percentile interval of the replicates
  int64_t samples = 0, seeds = 0;
  bool excludes_zero() const { return ci.low > 0.0 || ci.high < 0.0; }
};

// Paired bootstrap of mean(x − y): x[s][i] and y[s][i] are the outcomes (e.g. 1 = correct) of the two models
// on sample i of seed s (seed s of one model paired with seed s of the other; each seed's samples the same
// questions for both). One seed: samples are resampled with replacement. Several seeds: two levels, the
// seeds with replacement, then the samples within each drawn seed. Deterministic in `rng_seed`. Throws
// std::invalid_argument when the shapes do not pair up or a seed has no samples.
inline BootstrapDifference paired_bootstrap(const std::vector<std::vector<double>>& x, const std::vector<std::vector<double>>& y,
                                            int replicates = 4000, uint64_t rng_seed = 0, double level = 0.95) {
  if (x.empty() || x.size() != y.size()) throw std::invalid_argument("paired bootstrap: both models need the same seeds");
  std::vector<std::vector<double>> d(x.size());
  BootstrapDifference out;
  double total = 0;
  for (size_t s = 0; s < x.size(); ++s) {
    if (x[s].empty() || x[s].size() != y[s].size())
      throw std::invalid_argument("paired bootstrap: seed " + std::to_string(s) + " has " + std::to_string(x[s].size()) +
                                  " and " + std::to_string(y[s].size()) + " samples; they must pair up");
    for (size_t i = 0; i < x[s].size(); ++i) d[s].push_back(x[s][i] - y[s][i]), total += d[s].back();
    out.samples += static_cast<int64_t>(x[s].size());
  }
  out.seeds = static_cast<int64_t>(x.size());
  out.delta = total / static_cast<double>(out.samples);
  std::mt19937_64 rng(rng_seed);
  std::vector<double> reps(static_cast<size_t>(std::max(1, replicates)));
  for (auto& r : reps) {
    double sum = 0;
    int64_t n = 0;
    for (size_t k = 0; k < d.size(); ++k) {
      const auto& ds = d.size() == 1 ? d[0] : d[std::uniform_int_distribution<size_t>(0, d.size() - 1)(rng)];
      std::uniform_int_distribution<size_t> pick(0, ds.size() - 1);
      for (size_t i = 0; i < ds.size(); ++i) sum += ds[pick(rng)];
      n += static_cast<int64_t>(ds.size());
    }
    r = sum / static_cast<double>(n);
  }
  out.ci = percentile_interval(std::move(reps), level);
  return out;
}

// Seeds only: the per-seed scores of the two models (paired by seed), the per-seed differences resampled with
// replacement. Needs ≥ 2 seeds (throws std::invalid_argument otherwise: one number has no spread).
inline BootstrapDifference seed_bootstrap(const std::vector<double>& x, const std::vector<double>& y, int replicates = 4000,
                                          uint64_t rng_seed = 0, double level = 0.95) {
  if (x.size() != y.size() || x.size() < 2)
    throw std::invalid_argument("seed bootstrap: needs the same seeds for both models, at least 2");
  std::vector<std::vector<double>> xs, ys;
  for (size_t s = 0; s < x.size(); ++s) xs.push_back({x[s]}), ys.push_back({y[s]});
  auto out = paired_bootstrap(xs, ys, replicates, rng_seed, level);
  out.samples = 0;  // no per-sample data behind these numbers
  return out;
}

}  // namespace dm::stats
