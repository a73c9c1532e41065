// NumPy .npy files (format 1.0): float32 / float64 / int64 arrays, written atomically.
#pragma once

#include <string>
#include <torch/types.h>

namespace dm::io {

std::string encode_npy(const torch::Tensor& t);  // C order, little endian
void write_npy(const std::string& path, const torch::Tensor& t);

}  // namespace dm::io
