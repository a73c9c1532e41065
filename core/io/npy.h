// NumPy .npy files: float32 / float64 / int64 arrays, written atomically (format 1.0) and read back.
#pragma once

#include <string>
#include <torch/types.h>

namespace dm::io {

std::string encode_npy(const torch::Tensor& t);  // C order, little endian
void write_npy(const std::string& path, const torch::Tensor& t);
// Reads format 1.x / 2.x files with <f4, <f8, <i8 or <i4 data, C or Fortran order. Throws FileError.
torch::Tensor parse_npy(std::string_view bytes, const std::string& origin);
torch::Tensor read_npy(const std::string& path);

}  // namespace dm::io
