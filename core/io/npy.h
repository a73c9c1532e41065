// NumPy .npy files: float16 / float32 / float64 / int64 arrays, written atomically (format 1.0) and read back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <torch/types.h>

namespace dm::io {

// The format 1.0 preamble and header of a C-order array ("<f4", "<f2", "<f8", "<i8", "<U7", …).
std::string npy_header(const std::string& descr, const std::vector<int64_t>& shape);
std::string npy_descr(torch::ScalarType t);  // throws Error for other dtypes

struct NpyHeader {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  uint64_t numel = 0;      // product of shape (checked for overflow)
  size_t data_offset = 0;  // where the data starts in the bytes
};
// Parses the preamble and header of format 1.x–3.x; throws FileError on anything malformed.
NpyHeader parse_npy_header(std::string_view bytes, const std::string& origin);
// Throws FileError unless the `have` data bytes hold exactly numel elements of `esize` bytes.
void check_npy_size(const NpyHeader& h, size_t have, size_t esize, const std::string& origin);

std::string encode_npy(const torch::Tensor& t);  // C order, little endian
void write_npy(const std::string& path, const torch::Tensor& t);
// Reads format 1.x / 2.x files with <f2, <f4, <f8, <i8 or <i4 data, C or Fortran order. Throws FileError.
torch::Tensor parse_npy(std::string_view bytes, const std::string& origin);
torch::Tensor read_npy(const std::string& path);

}  // namespace dm::io
