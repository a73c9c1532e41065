#include "plotting/smoothing.h"

#include <cmath>

#include <QString>

#include "plotting/errors.h"

namespace dm::plotting {

IncrementalSmoother::IncrementalSmoother(double weight) : weight_(weight) {
  if (!(weight >= 0.0 && weight <= 1.0))
    throw PlotError(
        QStringLiteral("smoothing weight %1 is outside [0, 1] (0 = raw, 0.999 = heavy smoothing)").arg(weight));
}

void IncrementalSmoother::emaFrom(const std::vector<double>& y, std::vector<double>& smoothed, std::size_t from) {
  for (std::size_t i = from; i < y.size(); ++i) {
    const double next = y[i];
    if (!std::isfinite(next)) {
      smoothed[i] = next;
      continue;
    }
    last_ = last_ * weight_ + (1.0 - weight_) * next;
    ++numAccum_;
    const double debias = weight_ == 1.0 ? 1.0 : 1.0 - std::pow(weight_, static_cast<double>(numAccum_));
    smoothed[i] = last_ / debias;
  }
}

std::size_t IncrementalSmoother::update(const std::vector<double>& y, std::vector<double>& smoothed) {
  const std::size_t n = y.size();
  const std::size_t from = done_;
  smoothed.resize(n);
  if (n <= from) {
    done_ = n;
    return n;
  }
  if (constant_) {
    const double first = y[0];
    bool stillConstant = true;
    for (std::size_t i = from; i < n && stillConstant; ++i) stillConstant = (y[i] == first);
    if (stillConstant) {
      for (std::size_t i = from; i < n; ++i) smoothed[i] = y[i];
      done_ = n;
      return from;
    }
    // The series stopped being constant: TensorBoard smooths it from its first point.
    constant_ = false;
    last_ = 0.0;
    numAccum_ = 0;
    emaFrom(y, smoothed, 0);
    done_ = n;
    return 0;
  }
  emaFrom(y, smoothed, from);
  done_ = n;
  return from;
}

std::vector<double> tensorboardSmooth(const std::vector<double>& y, double weight) {
  IncrementalSmoother smoother(weight);
  std::vector<double> out;
  smoother.update(y, out);
  return out;
}

}  // namespace dm::plotting
