// Read-only views of whole files through mmap, so large checkpoints are paged in on demand instead of
// being copied into a buffer first. Tensors made from a mapping keep it alive.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <torch/types.h>

namespace dm::io {

class MappedFile {
 public:
  // Maps `path` privately (copy-on-write: writing into a tensor view never reaches the file).
  // Throws FileError when the file is missing or cannot be mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }
  const std::string& path() const { return path_; }

  // A CPU tensor over bytes [offset, offset + numel·size(dtype)) that shares the mapping (zero copy);
  // copied instead when the offset is not aligned to the element size.
  static torch::Tensor tensor(const std::shared_ptr<MappedFile>& file, size_t offset, int64_t numel,
                              torch::ScalarType dtype);

  // Drops the resident pages under `t` when t's bytes lie in a live mapping (a later read pages them in
  // again from the file); does nothing for any other tensor. Loaders call it after copying a tensor
  // into the model so a load's peak memory is one model, not a model plus the file.
  static void release_pages(const torch::Tensor& t);

 private:
  MappedFile(std::string path, void* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  void* data_;
  size_t size_;
};

}  // namespace dm::io
