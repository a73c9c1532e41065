// Shared by every fuzz target, with either main (fuzz_driver.cpp or libFuzzer's).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_target.h"

std::string dm::fuzz::as_file(std::string_view bytes) {
  static int fd = -1;
  if (fd >= 0) ::close(fd);
  fd = ::memfd_create("fuzz-input", MFD_CLOEXEC);
  size_t done = 0;
  while (fd >= 0 && done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (fd < 0 || done != bytes.size()) {
    std::perror("memfd");
    std::abort();
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

std::string dm::fuzz::test_data(const std::string& rel) { return std::string(DM_TEST_DATA) + "/" + rel; }

int64_t& dm::fuzz::refusals() {
  static int64_t n = 0;
  return n;
}
