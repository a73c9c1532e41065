// TensorBoard's scalar smoothing (the classic debiased exponential moving average of its line chart),
// as a one-shot function and as an incremental smoother for live curves that gives the same numbers.
#pragma once

#include <cstddef>
#include <vector>

namespace dm::plotting {

// TensorBoard's algorithm, step for step: a series whose values all equal the first is returned as is;
// otherwise last = last·w + (1 − w)·y over the finite values (starting from 0), each divided by the
// debias weight 1 − w^n (n = finite values so far; 1 when w = 1); non-finite values pass through and
// do not advance n. The weight must lie in [0, 1] (throws PlotError otherwise; TensorBoard clamps).
std::vector<double> tensorboardSmooth(const std::vector<double>& y, double weight);

// Keeps the state of tensorboardSmooth between appends, so a live curve costs O(new points). While the
// series is constant its smoothed values are the raw ones; the first differing value restarts the
// average from the beginning (as TensorBoard recomputes the whole series), so after every update the
// result equals tensorboardSmooth(all values so far, weight) exactly.
class IncrementalSmoother {
 public:
  explicit IncrementalSmoother(double weight = 0.0);  // throws PlotError on a weight outside [0, 1]
  double weight() const { return weight_; }

  // `y` holds every raw value so far; the values before the previous call's size must not have changed.
  // Resizes `smoothed` to y.size() and returns the first index whose smoothed value was (re)written.
  std::size_t update(const std::vector<double>& y, std::vector<double>& smoothed);

 private:
  double weight_;
  double last_ = 0.0;
  long long numAccum_ = 0;
  std::size_t done_ = 0;
  bool constant_ = true;
  void emaFrom(const std::vector<double>& y, std::vector<double>& smoothed, std::size_t from);
};

}  // namespace dm::plotting
