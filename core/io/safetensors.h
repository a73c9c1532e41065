// The safetensors format: 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian tensor bytes.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace dm::io {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct Safetensors {
  NamedTensors tensors;                         // in byte order of the file
  std::map<std::string, std::string> metadata;  // "__metadata__"
  const torch::Tensor* find(const std::string& name) const;
};

// Parses a whole file image (tensors are copied); `origin` names it in error messages. Throws
// FileError on any defect. read_safetensors maps the file instead: its tensors are copy-on-write views
// of the mapping (no copy of the data; pages are read on first use).
Safetensors parse_safetensors(std::string_view bytes, const std::string& origin);
Safetensors read_safetensors(const std::string& path);

// Serialises CPU or device tensors (copied to CPU, contiguous) in the given order.
std::string encode_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata);
// Atomic write (temp file, fsync, rename).
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace dm::io
