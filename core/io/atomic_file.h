// Writes a file so that it either exists completely or not at all: temp name in the same folder,
// fsync, rename, fsync of the folder. A failed write leaves any previous file untouched.
#pragma once

#include <string>
#include <string_view>

namespace dm::io {

void write_file_atomic(const std::string& path, std::string_view bytes);
// Reads a whole file; throws FileError when it is missing or unreadable.
std::string read_file(const std::string& path);

}  // namespace dm::io
