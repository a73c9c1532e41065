// One fuzz target per hostile-input reader (docs/fuzzing.md). Each target defines
// LLVMFuzzerTestOneInput: the reader must either accept the bytes or throw dm::Error (a clean refusal);
// any other exception, a crash, a hang or a runaway allocation is a finding. Built two ways: with
// fuzz_driver.cpp (any compiler: runs files, or a built-in mutation loop for CI), or with clang's
// -fsanitize=fuzzer (libFuzzer) or AFL++ for long runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace dm::fuzz {

// Valid inputs the mutation loop starts from (each target knows what a well-formed input looks like).
std::vector<std::string> seed_inputs();

// `bytes` as a regular file that exists only in memory (memfd), for readers that take a path; the
// returned path (/proc/self/fd/N) is valid until the next call.
std::string as_file(std::string_view bytes);

// A file of tests/data (for seeds).
std::string test_data(const std::string& rel);

// How many inputs the reader refused (dm::Error) so far: the driver reports accepted vs refused.
int64_t& refusals();

// Runs `body`, treating dm::Error as the expected refusal.
template <typename F>
int refuse_cleanly(F&& body);

}  // namespace dm::fuzz

#include "core/common/error.h"

template <typename F>
int dm::fuzz::refuse_cleanly(F&& body) {
  try {
    body();
  } catch (const dm::Error&) {
    ++refusals();  // a clear refusal: the expected outcome for most mutated inputs
  }
  return 0;
}
