// Writes a file so that it either exists completely or not at all: temp name in the same folder,
// fsync, rename, fsync of the folder. A failed write leaves any previous file untouched.
#pragma once

#include <string>
#include <sys/stat.h>
#include <string_view>

namespace dm::io {

void write_file_atomic(const std::string& path, std::string_view bytes);
// Deletes a file or a folder tree (no error when absent). Use instead of std::filesystem::remove_all:
// the PyPI LibTorch exports its own copy of that symbol, which crashes when called from our code.
void remove_tree(const std::string& path);
// Reads a whole file; throws FileError when it is missing or unreadable.
std::string read_file(const std::string& path);
// A read-only descriptor of `path` if it is a regular file, opened O_NONBLOCK so that a FIFO is refused at
// once instead of waiting for a writer; `st` receives its stat. Throws FileError otherwise.
int open_regular_file(const std::string& path, struct stat& st);

}  // namespace dm::io
