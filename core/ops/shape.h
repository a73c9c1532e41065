// "[2, 3, 4]": a tensor's shape as the ops' error messages print it.
#pragma once

#include <string>

#include <torch/types.h>

namespace dm::ops {

inline std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace dm::ops
