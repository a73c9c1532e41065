#include "core/runtime.h"

#include <mutex>
#include <thread>
#include <torch/torch.h>
#include <torch/version.h>

namespace dm {

void init_runtime(int threads) {
  const int n = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  static std::once_flag interop;
  std::call_once(interop, [] { at::set_num_interop_threads(1); });
  at::init_num_threads();
  torch::set_num_threads(n);
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace dm
