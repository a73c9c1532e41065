#include "core/io/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/io/mapped_file.h"

namespace dm::io {
namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

const std::vector<std::pair<std::string, torch::ScalarType>>& dtype_table() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> t = {
      {"F64", torch::kDouble}, {"F32", torch::kFloat},  {"F16", torch::kHalf}, {"BF16", torch::kBFloat16},
      {"I64", torch::kLong},   {"I32", torch::kInt},    {"I16", torch::kShort}, {"I8", torch::kChar},
      {"U8", torch::kByte},    {"BOOL", torch::kBool}};
  return t;
}

torch::ScalarType dtype_from(const std::string& s, const std::string& origin, const std::string& name) {
  for (const auto& [k, v] : dtype_table())
    if (k == s) return v;
  throw FileError(origin, "tensor '" + name + "' has unsupported dtype '" + s + "'");
}

std::string dtype_name(torch::ScalarType t) {
  for (const auto& [k, v] : dtype_table())
    if (v == t) return k;
  throw Error(std::string("safetensors: cannot store dtype ") + c10::toString(t));
}

Safetensors parse(std::string_view bytes, const std::string& origin, const std::shared_ptr<MappedFile>* mapped);

}  // namespace

const torch::Tensor* Safetensors::find(const std::string& name) const {
  for (const auto& [k, v] : tensors)
    if (k == name) return &v;
  return nullptr;
}

Safetensors parse_safetensors(std::string_view bytes, const std::string& origin) { return parse(bytes, origin, nullptr); }

Safetensors read_safetensors(const std::string& path) {
  const auto file = MappedFile::open(path);
  return parse(file->bytes(), path, &file);
}

namespace {

Safetensors parse(std::string_view bytes, const std::string& origin, const std::shared_ptr<MappedFile>* mapped) {
  if (bytes.size() < 8) throw FileError(origin, "truncated: " + std::to_string(bytes.size()) + " bytes, no header");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  if (hlen > kMaxHeader || hlen > bytes.size() - 8)
    throw FileError(origin, "header length " + std::to_string(hlen) + " exceeds the file (" +
                                std::to_string(bytes.size()) + " bytes): truncated or not safetensors");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, hlen));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(origin, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw FileError(origin, "header is not a JSON object");
  const std::string_view data = bytes.substr(8 + hlen);
  Safetensors out;
  std::vector<std::tuple<uint64_t, uint64_t, std::string, torch::ScalarType, std::vector<int64_t>>> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw FileError(origin, "__metadata__ must be an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) throw FileError(origin, "__metadata__['" + m.key() + "'] is not a string");
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    const auto& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
        !e["dtype"].is_string() || !e["shape"].is_array() || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2)
      throw FileError(origin, "tensor '" + it.key() + "' needs dtype, shape and data_offsets [begin, end]");
    const auto st = dtype_from(e["dtype"].get<std::string>(), origin, it.key());
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) throw FileError(origin, "tensor '" + it.key() + "' has a bad shape entry");
      shape.push_back(d.get<int64_t>());
      numel *= shape.back();
    }
    if (!e["data_offsets"][0].is_number_unsigned() || !e["data_offsets"][1].is_number_unsigned())
      throw FileError(origin, "tensor '" + it.key() + "' has non-integer data_offsets");
    const auto b = e["data_offsets"][0].get<uint64_t>(), en = e["data_offsets"][1].get<uint64_t>();
    if (b > en || en > data.size())
      throw FileError(origin, "tensor '" + it.key() + "' spans bytes [" + std::to_string(b) + ", " +
                                  std::to_string(en) + ") but the data section has " + std::to_string(data.size()) +
                                  " bytes: the file is truncated or corrupt");
    if (en - b != static_cast<uint64_t>(numel) * c10::elementSize(st))
      throw FileError(origin, "tensor '" + it.key() + "' has " + std::to_string(en - b) + " bytes, its shape needs " +
                                  std::to_string(numel * static_cast<int64_t>(c10::elementSize(st))));
    entries.emplace_back(b, en, it.key(), st, shape);
  }
  std::sort(entries.begin(), entries.end());
  uint64_t expect = 0;
  for (const auto& [b, en, name, st, shape] : entries) {
    if (b != expect) throw FileError(origin, "tensor '" + name + "' overlaps another or leaves a hole in the data");
    expect = en;
    torch::Tensor t;
    if (mapped != nullptr) {
      const auto at = static_cast<size_t>(data.data() - (*mapped)->bytes().data()) + b;
      t = MappedFile::tensor(*mapped, at, c10::multiply_integers(shape), st).view(shape);
    } else {
      t = torch::empty(shape, torch::TensorOptions().dtype(st));
      if (en > b) std::memcpy(t.data_ptr(), data.data() + b, en - b);
    }
    out.tensors.emplace_back(name, t);
  }
  if (expect != data.size())
    throw FileError(origin, "the data section has " + std::to_string(data.size() - expect) + " trailing bytes");
  return out;
}

}  // namespace

std::string encode_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> cpu;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || header.contains(name)) throw Error("safetensors: duplicate or reserved name " + name);
    auto c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t n = static_cast<uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", dtype_name(c.scalar_type())}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    cpu.push_back(c);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((h.size() >> (8 * i)) & 0xff);
  out += h;
  out.reserve(out.size() + offset);
  for (const auto& c : cpu) out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, encode_safetensors(tensors, metadata));
}

}  // namespace dm::io
