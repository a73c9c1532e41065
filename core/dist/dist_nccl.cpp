// ProcessGroupNCCL from the pinned LibTorch (libtorch_cuda exports it; nccl.h comes with the wheel's
// NVIDIA NCCL package). Without DM_HAVE_NCCL, a build that cannot create it says so.
#ifdef DM_HAVE_NCCL
#define USE_C10D_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "core/common/error.h"
#include "core/dist/dist_internal.h"

namespace dm::dist {

#ifdef DM_HAVE_NCCL
bool nccl_available() { return true; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                                                    std::chrono::milliseconds timeout) {
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, opts);
}
#else
bool nccl_available() { return false; }

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>&, int, int,
                                                    std::chrono::milliseconds) {
  throw Error("this build has no NCCL (LibTorch without CUDA, or nccl.h not found at configure time): "
              "several CUDA processes cannot communicate; use trainer.accelerator=cpu for Gloo");
}
#endif

}  // namespace dm::dist
