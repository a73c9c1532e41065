// Learning-rate multipliers of the seed's schedules (transformers' get_*_schedule_with_warmup),
// evaluated at the number of optimizer steps already taken.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

namespace dm::train {

inline double lr_multiplier(const std::string& name, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (name == "constant_warmup") return 1.0;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

}  // namespace dm::train
