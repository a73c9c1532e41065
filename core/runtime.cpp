#include "core/runtime.h"

#include <malloc.h>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <torch/torch.h>
#include <torch/version.h>

namespace dm {

void init_runtime(int threads) {
  // 0 = OMP_NUM_THREADS when set (torchrun and our launcher set it per process), else every core.
  int n = threads;
  if (n <= 0) {
    const char* omp = std::getenv("OMP_NUM_THREADS");
    n = omp ? std::atoi(omp) : 0;
  }
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
  warm_up_exp();
}

void warm_up_exp() {
  // The first CPU exp of a process, on a tensor holding -inf with more than one intra-op thread, sometimes
  // (~4% of processes, LibTorch 2.11 + MKL) takes a less exact path: fp64 results 3e-9 off, the same
  // numbers each time, never again later in the process (seen as ssd_chunked's fp64 check missing at
  // 4e-10). The cause inside LibTorch is not known. A small exp per dtype on the calling thread first made
  // the later ones agree to 1 ulp (0 of 200 processes); a large one follows so the intra-op pool's threads
  // run exp once too.
  static std::once_flag once;
  std::call_once(once, [] {
    for (auto dtype : {torch::kDouble, torch::kFloat}) {
      auto t = torch::full({4}, -INFINITY, torch::TensorOptions().dtype(dtype));
      t[1] = -1.0;
      (void)torch::exp(t);
      auto big = torch::full({1 << 17}, -1.0, torch::TensorOptions().dtype(dtype));
      big.slice(0, 0, big.size(0), 2).fill_(-INFINITY);
      (void)torch::exp(big);
    }
  });
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace dm
