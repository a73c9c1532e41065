#include "core/io/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/io/atomic_file.h"

namespace dm::io {
namespace {

// Live mappings [begin, end), so release_pages never touches memory that is not a file mapping.
std::mutex g_mutex;
std::map<uintptr_t, uintptr_t> g_live;

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  struct stat st {};
  const int fd = open_regular_file(path, st);  // a FIFO in place of a weights file is refused, never waited on
  const auto size = static_cast<size_t>(st.st_size);
  void* data = nullptr;
  if (size > 0) {
    data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw FileError(path, std::string("cannot map: ") + std::strerror(err));
    }
    ::madvise(data, size, MADV_WILLNEED);
  }
  ::close(fd);
  if (data != nullptr) {
    std::lock_guard lock(g_mutex);
    g_live[reinterpret_cast<uintptr_t>(data)] = reinterpret_cast<uintptr_t>(data) + size;
  }
  return std::shared_ptr<MappedFile>(new MappedFile(path, data, size));
}

MappedFile::~MappedFile() {
  if (data_ == nullptr) return;
  std::lock_guard lock(g_mutex);  // held across munmap: release_pages never sees a dead range
  g_live.erase(reinterpret_cast<uintptr_t>(data_));
  ::munmap(data_, size_);
}

void MappedFile::release_pages(const torch::Tensor& t) {
  if (!t.defined() || !t.device().is_cpu() || t.storage().nbytes() == 0) return;
  const auto begin = reinterpret_cast<uintptr_t>(t.storage().data());
  const auto end = begin + t.storage().nbytes();
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t a = (begin + page - 1) / page * page, b = end / page * page;  // whole pages only
  if (a >= b) return;
  std::lock_guard lock(g_mutex);
  auto it = g_live.upper_bound(begin);
  if (it == g_live.begin()) return;
  --it;
  if (begin < it->first || end > it->second) return;
  ::madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
}

torch::Tensor MappedFile::tensor(const std::shared_ptr<MappedFile>& file, size_t offset, int64_t numel,
                                 torch::ScalarType dtype) {
  const size_t esize = c10::elementSize(dtype);
  if (numel < 0 || offset > file->size_ || static_cast<uint64_t>(numel) > (file->size_ - offset) / esize)
    throw FileError(file->path_, "a tensor spans past the end of the file (truncated?)");
  const size_t nbytes = static_cast<size_t>(numel) * esize;
  if (nbytes > file->size_ - offset)
    throw FileError(file->path_, "a tensor spans past the end of the file (truncated?)");
  char* p = static_cast<char*>(file->data_) + offset;
  const auto opts = torch::TensorOptions().dtype(dtype);
  if (numel == 0) return torch::empty({0}, opts);
  if (reinterpret_cast<uintptr_t>(p) % esize != 0) {
    auto t = torch::empty({numel}, opts);
    std::memcpy(t.data_ptr(), p, nbytes);
    return t;
  }
  auto keep = new std::shared_ptr<MappedFile>(file);
  return torch::from_blob(p, {numel}, [keep](void*) { delete keep; }, opts);
}

}  // namespace dm::io
