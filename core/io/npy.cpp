#include "core/io/npy.h"

#include <algorithm>
#include <cstring>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/atomic_file.h"

namespace dm::io {

std::string npy_header(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dims = "(";
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  dims += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + dims + ", }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  return out + header;
}

std::string npy_descr(torch::ScalarType t) {
  switch (t) {
    case torch::kHalf: return "<f2";
    case torch::kFloat: return "<f4";
    case torch::kDouble: return "<f8";
    case torch::kLong: return "<i8";
    default: throw Error(std::string("npy: unsupported dtype ") + c10::toString(t));
  }
}

std::string encode_npy(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU).contiguous();
  std::string out = npy_header(npy_descr(c.scalar_type()), c.sizes().vec());
  out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel() * c.element_size()));
  return out;
}

void write_npy(const std::string& path, const torch::Tensor& t) { write_file_atomic(path, encode_npy(t)); }

NpyHeader parse_npy_header(std::string_view b, const std::string& origin) {
  if (b.size() < 10 || b.substr(0, 6) != std::string_view("\x93NUMPY", 6)) throw FileError(origin, "not a .npy file");
  const auto major = static_cast<uint8_t>(b[6]);
  size_t hlen = 0, start = 0;
  if (major == 1) {
    hlen = static_cast<uint8_t>(b[8]) | (static_cast<size_t>(static_cast<uint8_t>(b[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw FileError(origin, "truncated .npy header");
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<uint8_t>(b[8 + static_cast<size_t>(i)]);
    start = 12;
  } else {
    throw FileError(origin, ".npy format version " + std::to_string(major) + " is not supported");
  }
  if (start + hlen > b.size()) throw FileError(origin, "truncated .npy header");
  const std::string h(b.substr(start, hlen));
  auto value_of = [&](const std::string& key) {
    const auto k = h.find("'" + key + "'");
    if (k == std::string::npos) throw FileError(origin, ".npy header has no '" + key + "'");
    auto p = h.find(':', k);
    if (p == std::string::npos) throw FileError(origin, ".npy header has no value for '" + key + "'");
    ++p;
    while (p < h.size() && h[p] == ' ') ++p;
    if (p >= h.size()) throw FileError(origin, ".npy header has no value for '" + key + "'");
    return p;
  };
  auto p = value_of("descr");
  const auto q = h.find('\'', p + 1);
  const std::string descr = h.substr(p + 1, q - p - 1);
  NpyHeader out;
  out.descr = descr;
  out.fortran = h.compare(value_of("fortran_order"), 4, "True") == 0;  // value_of < h.size(): no throw
  p = value_of("shape");
  const auto close = h.find(')', p);
  if (h[p] != '(' || close == std::string::npos) throw FileError(origin, ".npy shape is not a tuple");
  // Sizes are read digit by digit; callers check their product against the bytes present before anything
  // is allocated (a hostile header may claim any shape).
  uint64_t n = 1;
  for (size_t i = p + 1; i < close;) {
    while (i < close && (h[i] == ' ' || h[i] == ',')) ++i;
    if (i >= close) break;
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < close && h[i] >= '0' && h[i] <= '9'; ++i, ++digits) {
      v = v * 10 + static_cast<uint64_t>(h[i] - '0');
      if (v > (uint64_t{1} << 40)) throw FileError(origin, ".npy shape has a size above 2^40");
    }
    if (digits == 0 || (i < close && h[i] != ',' && h[i] != ' ') || out.shape.size() >= 32)
      throw FileError(origin, ".npy shape is not a tuple of at most 32 non-negative integers");
    out.shape.push_back(static_cast<int64_t>(v));
    if (__builtin_mul_overflow(n, v, &n)) throw FileError(origin, ".npy shape claims more elements than the file holds");
  }
  out.numel = n;
  out.data_offset = start + hlen;
  return out;
}

void check_npy_size(const NpyHeader& h, size_t have, size_t esize, const std::string& origin) {
  const uint64_t n = h.numel;
  if (n > have / esize || n * esize != have)
    throw FileError(origin, "has " + std::to_string(have) + " data bytes, its shape needs " +
                                (n > have / esize ? std::string("more") : std::to_string(n * esize)));
}

torch::Tensor parse_npy(std::string_view b, const std::string& origin) {
  const auto h = parse_npy_header(b, origin);
  torch::ScalarType st;
  if (h.descr == "<f4") st = torch::kFloat;
  else if (h.descr == "<f8") st = torch::kDouble;
  else if (h.descr == "<f2") st = torch::kHalf;
  else if (h.descr == "<i8") st = torch::kLong;
  else if (h.descr == "<i4") st = torch::kInt;
  else throw FileError(origin, "dtype '" + h.descr + "' is not supported (float16, float32, float64, int32, int64 little-endian)");
  const size_t off = h.data_offset, have = b.size() - off, esize = c10::elementSize(st);
  check_npy_size(h, have, esize, origin);
  const size_t nbytes = h.numel * esize;
  std::vector<int64_t> stored = h.shape;
  if (h.fortran) std::reverse(stored.begin(), stored.end());
  auto t = torch::empty(stored, torch::TensorOptions().dtype(st));
  if (nbytes) std::memcpy(t.data_ptr(), b.data() + off, nbytes);
  if (h.fortran && t.dim() > 1) {
    std::vector<int64_t> perm(static_cast<size_t>(t.dim()));
    for (int64_t i = 0; i < t.dim(); ++i) perm[static_cast<size_t>(i)] = t.dim() - 1 - i;
    t = t.permute(perm).contiguous();
  }
  return t;
}

torch::Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

}  // namespace dm::io
