#include "core/io/npz.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/mapped_file.h"
#include "core/io/npy.h"

namespace dm::io {

namespace {

constexpr uint64_t kZipLimit = 0xFFFFFFFFull;  // no zip64: every size and offset must fit 32 bits

void put16(std::string& s, uint32_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}
uint32_t get16(std::string_view b, size_t at) {
  return static_cast<uint8_t>(b[at]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8);
}
uint32_t get32(std::string_view b, size_t at) { return get16(b, at) | (get16(b, at + 2) << 16); }

// Code points of UTF-8 text (invalid bytes become U+FFFD).
std::vector<uint32_t> utf32(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = len > 0 && i + static_cast<size_t>(len) <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      ok = (d >> 6) == 2;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

void append_utf8(std::string& s, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

uint32_t crc32_update(uint32_t crc, const char* p, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ static_cast<unsigned char>(p[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

NpzWriter::NpzWriter(std::string path) : path_(std::move(path)), partial_(path_ + ".partial") {
  out_.open(partial_, std::ios::binary | std::ios::trunc);
  if (!out_) throw FileError(partial_, "cannot be written");
}

NpzWriter::~NpzWriter() {
  if (!finished_) {
    out_.close();
    std::remove(partial_.c_str());
  }
}

void NpzWriter::write_bytes(const char* p, size_t n) {
  auto& m = members_.back();
  m.crc = crc32_update(m.crc, p, n);
  m.size += n;
  out_.write(p, static_cast<std::streamsize>(n));
  if (!out_) throw FileError(partial_, "write failed (disk full?)");
}

void NpzWriter::begin(const std::string& name, const std::string& descr, const std::vector<int64_t>& shape) {
  if (open_member_ || finished_) throw Error("npz: begin() inside a member or after finish()");
  Member m;
  m.file = name + ".npy";
  m.offset = static_cast<uint64_t>(out_.tellp());
  if (m.offset > kZipLimit) throw FileError(path_, "would exceed 4 GiB (zip without zip64)");
  // Local header: stored, sizes and CRC patched in end(). An extra field pads it so the array data (after
  // the .npy header, a multiple of 64 bytes) starts 64-byte aligned: readers can then map it in place.
  std::string h;
  put32(h, 0x04034b50);
  put16(h, 20), put16(h, 0), put16(h, 0), put16(h, 0), put16(h, 0x21);
  put32(h, 0), put32(h, 0), put32(h, 0);
  const uint64_t bare = m.offset + 30 + m.file.size();
  const uint64_t pad = (64 - (bare + 4) % 64) % 64;
  put16(h, static_cast<uint32_t>(m.file.size())), put16(h, static_cast<uint32_t>(4 + pad));
  h += m.file;
  put16(h, 0x4450), put16(h, static_cast<uint32_t>(pad));  // "PD": padding, ignored by zip readers
  h.append(pad, '\0');
  out_.write(h.data(), static_cast<std::streamsize>(h.size()));
  members_.push_back(m);
  open_member_ = true;
  const auto header = npy_header(descr, shape);
  write_bytes(header.data(), header.size());
  uint64_t n = 1;
  for (auto d : shape) n *= static_cast<uint64_t>(d);
  const size_t esize = descr.size() >= 3 && descr[1] == 'U' ? 4 * std::stoull(descr.substr(2))
                                                            : std::stoull(descr.substr(2));
  expected_ = header.size() + n * esize;
}

void NpzWriter::write(const torch::Tensor& piece) {
  if (!open_member_) throw Error("npz: write() outside a member");
  auto c = piece.detach().to(torch::kCPU).contiguous();
  write_bytes(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel() * c.element_size()));
}

void NpzWriter::end() {
  if (!open_member_) throw Error("npz: end() outside a member");
  auto& m = members_.back();
  if (m.size != expected_)
    throw Error("npz: member " + m.file + " got " + std::to_string(m.size) + " bytes, its shape needs " +
                std::to_string(expected_));
  if (m.size > kZipLimit || m.offset + m.size > kZipLimit) throw FileError(path_, "would exceed 4 GiB (zip without zip64)");
  const auto here = out_.tellp();
  std::string patch;
  put32(patch, m.crc), put32(patch, static_cast<uint32_t>(m.size)), put32(patch, static_cast<uint32_t>(m.size));
  out_.seekp(static_cast<std::streamoff>(m.offset + 14));
  out_.write(patch.data(), static_cast<std::streamsize>(patch.size()));
  out_.seekp(here);
  if (!out_) throw FileError(partial_, "write failed");
  open_member_ = false;
}

void NpzWriter::add(const std::string& name, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU).contiguous();
  begin(name, npy_descr(c.scalar_type()), c.sizes().vec());
  write(c);
  end();
}

void NpzWriter::add_strings(const std::string& name, const std::vector<std::string>& strings) {
  std::vector<std::vector<uint32_t>> cps;
  size_t width = 1;
  for (const auto& s : strings) {
    cps.push_back(utf32(s));
    width = std::max(width, cps.back().size());
  }
  auto data = torch::zeros({static_cast<int64_t>(strings.size()), static_cast<int64_t>(width)}, torch::kInt);
  auto* p = data.data_ptr<int32_t>();
  for (size_t i = 0; i < cps.size(); ++i)
    for (size_t k = 0; k < cps[i].size(); ++k) p[i * width + k] = static_cast<int32_t>(cps[i][k]);
  begin(name, "<U" + std::to_string(width), {static_cast<int64_t>(strings.size())});
  write(data);
  end();
}

void NpzWriter::finish() {
  if (open_member_) throw Error("npz: finish() inside a member");
  std::string central;
  for (const auto& m : members_) {
    put32(central, 0x02014b50);
    put16(central, 20), put16(central, 20), put16(central, 0), put16(central, 0), put16(central, 0), put16(central, 0x21);
    put32(central, m.crc), put32(central, static_cast<uint32_t>(m.size)), put32(central, static_cast<uint32_t>(m.size));
    put16(central, static_cast<uint32_t>(m.file.size())), put16(central, 0), put16(central, 0), put16(central, 0),
        put16(central, 0);
    put32(central, 0), put32(central, static_cast<uint32_t>(m.offset));
    central += m.file;
  }
  const uint64_t cd = static_cast<uint64_t>(out_.tellp());
  if (cd + central.size() > kZipLimit || members_.size() > 0xFFFF)
    throw FileError(path_, "would exceed 4 GiB or 65,535 members (zip without zip64)");
  std::string end;
  put32(end, 0x06054b50);
  put16(end, 0), put16(end, 0), put16(end, static_cast<uint32_t>(members_.size())),
      put16(end, static_cast<uint32_t>(members_.size()));
  put32(end, static_cast<uint32_t>(central.size())), put32(end, static_cast<uint32_t>(cd)), put16(end, 0);
  out_.write(central.data(), static_cast<std::streamsize>(central.size()));
  out_.write(end.data(), static_cast<std::streamsize>(end.size()));
  out_.flush();
  if (!out_) throw FileError(partial_, "write failed (disk full?)");
  out_.close();
  std::error_code ec;
  std::filesystem::rename(partial_, path_, ec);
  if (ec) throw FileError(path_, "cannot be written: " + ec.message());
  finished_ = true;
}

NpzReader::NpzReader(const std::string& path) : path_(path) {
  file_ = MappedFile::open(path);  // refuses folders, FIFOs and devices with a clear error
  const auto b = file_->bytes();
  // The end-of-central-directory record: the last signature within the final 64 KiB + 22 bytes.
  if (b.size() < 22) throw FileError(path, "is not a .npz archive (too short)");
  size_t eocd = std::string_view::npos;
  const size_t lowest = b.size() > 22 + 0xFFFF ? b.size() - 22 - 0xFFFF : 0;
  for (size_t i = b.size() - 22 + 1; i-- > lowest;)
    if (get32(b, i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string_view::npos) throw FileError(path, "is not a .npz archive (no zip directory)");
  const uint64_t count = get16(b, eocd + 10), cd_size = get32(b, eocd + 12), cd = get32(b, eocd + 16);
  if (cd + cd_size > eocd) throw FileError(path, "has a zip directory outside the file");
  size_t at = cd;
  for (uint64_t k = 0; k < count; ++k) {
    if (at + 46 > eocd || get32(b, at) != 0x02014b50) throw FileError(path, "has a damaged zip directory");
    const uint32_t method = get16(b, at + 10), csize = get32(b, at + 20), usize = get32(b, at + 24);
    const uint32_t nlen = get16(b, at + 28), xlen = get16(b, at + 30), clen = get16(b, at + 32), local = get32(b, at + 42);
    if (at + 46 + nlen > eocd) throw FileError(path, "has a damaged zip directory");
    std::string name(b.substr(at + 46, nlen));
    at += 46 + nlen + xlen + clen;
    if (method != 0 || csize != usize)
      throw FileError(path, "member " + name + " is compressed; only stored archives (np.savez) are read");
    if (static_cast<uint64_t>(local) + 30 > b.size() || get32(b, local) != 0x04034b50)
      throw FileError(path, "member " + name + " has no local header");
    const uint64_t data = static_cast<uint64_t>(local) + 30 + get16(b, local + 26) + get16(b, local + 28);
    if (data + csize > b.size()) throw FileError(path, "member " + name + " is truncated");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    members_[name] = {data, csize};
  }
}

std::vector<std::string> NpzReader::names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : members_) out.push_back(n);
  return out;
}

std::string_view NpzReader::member(const std::string& name) const {
  const auto it = members_.find(name);
  if (it == members_.end()) throw FileError(path_, "has no array '" + name + "'");
  return file_->bytes().substr(it->second.first, it->second.second);
}

torch::Tensor NpzReader::tensor(const std::string& name) const {
  const auto b = member(name);
  const std::string origin = path_ + ":" + name;
  const auto h = parse_npy_header(b, origin);
  torch::ScalarType st = torch::kFloat;
  if (h.descr == "<f4") st = torch::kFloat;
  else if (h.descr == "<f2") st = torch::kHalf;
  else if (h.descr == "<f8") st = torch::kDouble;
  else if (h.descr == "<i8") st = torch::kLong;
  else return parse_npy(b, origin);  // other dtypes: its errors, or a copy
  if (h.fortran) return parse_npy(b, origin);
  check_npy_size(h, b.size() - h.data_offset, c10::elementSize(st), origin);
  // A view of the mapping (zero copy when aligned, as our writer aligns); the mapping stays alive with it.
  const auto offset = static_cast<size_t>(b.data() - file_->bytes().data()) + h.data_offset;
  return MappedFile::tensor(file_, offset, static_cast<int64_t>(h.numel), st).view(h.shape);
}

std::vector<std::string> NpzReader::strings(const std::string& name) const {
  const auto b = member(name);
  const std::string origin = path_ + ":" + name;
  const auto h = parse_npy_header(b, origin);
  if (h.descr.size() < 3 || h.descr.compare(0, 2, "<U") != 0 || h.shape.size() != 1)
    throw FileError(origin, "is not a one-dimensional unicode array ('<U…'), got '" + h.descr + "'");
  uint64_t width = 0;
  for (size_t i = 2; i < h.descr.size(); ++i) {
    if (h.descr[i] < '0' || h.descr[i] > '9' || width > (1u << 20)) throw FileError(origin, "has a bad unicode width");
    width = width * 10 + static_cast<uint64_t>(h.descr[i] - '0');
  }
  if (width == 0) throw FileError(origin, "has a bad unicode width");
  check_npy_size(h, b.size() - h.data_offset, 4 * width, origin);
  std::vector<std::string> out;
  out.reserve(h.numel);
  for (uint64_t i = 0; i < h.numel; ++i) {
    std::string s;
    for (uint64_t k = 0; k < width; ++k) {
      const uint32_t cp = get32(b, h.data_offset + (i * width + k) * 4);
      if (cp == 0) break;
      append_utf8(s, cp);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace dm::io
