#include "core/io/npy.h"

#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/atomic_file.h"

namespace dm::io {

std::string encode_npy(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU).contiguous();
  std::string descr;
  switch (c.scalar_type()) {
    case torch::kFloat: descr = "<f4"; break;
    case torch::kDouble: descr = "<f8"; break;
    case torch::kLong: descr = "<i8"; break;
    default: throw Error(std::string("npy: unsupported dtype ") + c10::toString(c.scalar_type()));
  }
  std::string shape = "(";
  for (int64_t i = 0; i < c.dim(); ++i) shape += std::to_string(c.size(i)) + (c.dim() == 1 || i + 1 < c.dim() ? "," : "");
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel() * c.element_size()));
  return out;
}

void write_npy(const std::string& path, const torch::Tensor& t) { write_file_atomic(path, encode_npy(t)); }

}  // namespace dm::io
