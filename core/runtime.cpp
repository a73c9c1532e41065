#include "core/runtime.h"

#include <malloc.h>
#include <mutex>
#include <thread>
#include <torch/torch.h>
#include <torch/version.h>

namespace dm {

void init_runtime(int threads) {
  const int n = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  static std::once_flag once;
  std::call_once(once, [] {
    at::set_num_interop_threads(1);
    // LibTorch's CPU allocator is plain malloc. glibc serves big blocks with fresh mmaps and returns
    // them at free, so every training step page-faults its activations in again (measured: 11.5 s of
    // system time in a 10 s SSD benchmark at L = 8192). Keep freed memory in the heap for reuse.
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
  at::init_num_threads();
  torch::set_num_threads(n);
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace dm
