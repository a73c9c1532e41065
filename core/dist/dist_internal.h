// Between dist.cpp and dist_nccl.cpp: the NCCL backend lives in its own file, compiled only when
// LibTorch has CUDA and NCCL's header is found (DM_HAVE_NCCL); otherwise these say so.
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

namespace dm::dist {

bool nccl_available();
// Throws dm::Error when this build has no NCCL.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                                                    std::chrono::milliseconds timeout);

}  // namespace dm::dist
