// NumPy .npz archives (a zip of .npy members, stored uncompressed as np.savez writes them): a streaming
// writer for arrays too large to hold twice (implicit-attention maps), and a reader that maps the file and
// hands out one member at a time. Archives are limited to 4 GiB (no zip64): the writer refuses to pass it.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace dm::io {

class MappedFile;

class NpzWriter {
 public:
  // Writes `path` + ".partial"; finish() renames it to `path`. Without finish() the partial file is removed.
  explicit NpzWriter(std::string path);
  ~NpzWriter();
  NpzWriter(const NpzWriter&) = delete;
  NpzWriter& operator=(const NpzWriter&) = delete;

  // A whole tensor (float16/32/64, int64) as `name`.npy.
  void add(const std::string& name, const torch::Tensor& t);
  // Strings as a numpy unicode array ('<U<n>', UTF-32, n = the longest in code points).
  void add_strings(const std::string& name, const std::vector<std::string>& strings);
  // A member written in pieces: begin, then write() exactly the array's bytes (C order), then end().
  void begin(const std::string& name, const std::string& descr, const std::vector<int64_t>& shape);
  void write(const torch::Tensor& piece);  // contiguous CPU bytes of the member's dtype
  void end();
  void finish();

 private:
  void write_bytes(const char* p, size_t n);
  struct Member {
    std::string file;
    uint32_t crc = 0;
    uint64_t offset = 0, size = 0;
  };
  std::string path_, partial_;
  std::ofstream out_;
  std::vector<Member> members_;
  bool open_member_ = false, finished_ = false;
  uint64_t expected_ = 0;
};

class NpzReader {
 public:
  // Maps the archive and reads its central directory. Throws FileError for anything but a regular file
  // holding a stored (uncompressed) zip of .npy members.
  explicit NpzReader(const std::string& path);
  std::vector<std::string> names() const;  // member names without ".npy"
  bool contains(const std::string& name) const { return members_.count(name) > 0; }
  // float16/32/64 or int32/64 members (a view of the mapping where aligned); throws FileError when absent.
  torch::Tensor tensor(const std::string& name) const;
  std::vector<std::string> strings(const std::string& name) const;  // '<U<n>' members, as UTF-8

 private:
  std::string_view member(const std::string& name) const;
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> members_;  // name → (data offset, size)
};

uint32_t crc32_update(uint32_t crc, const char* p, size_t n);  // start with 0

}  // namespace dm::io
