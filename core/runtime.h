// Process-wide LibTorch set-up (thread pools) and version facts.
#pragma once

#include <string>

namespace dm {

// Sets LibTorch's intra-op threads (0 = OMP_NUM_THREADS if set, else all hardware threads) and, once per process, the inter-op
// threads and the allocator policy (freed tensor memory is kept for reuse instead of being unmapped).
// Call at start-up before any tensor work.
void init_runtime(int threads = 0);
// Runs CPU exps per floating dtype (a small one on this thread, a large one over the intra-op pool), once
// per process (init_runtime does it): without it LibTorch's first exp is sometimes less exact (see
// runtime.cpp). For code that skips init_runtime.
void warm_up_exp();
std::string torch_version();

}  // namespace dm
