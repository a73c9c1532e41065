// What this build and machine can use for CUDA (`diffmamba doctor`), and the one check that a CUDA
// device asked for is really there (a clear error naming the reason, never a silent CPU run).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dm::ops {

struct GpuInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  int64_t total_memory = 0;  // bytes
  int multiprocessors = 0;
};

struct DoctorReport {
  std::string torch_version;
  bool torch_has_cuda = false;     // LibTorch built with CUDA
  std::string torch_cuda_version;  // the CUDA LibTorch was built against ("" when none)
  bool cuda_available = false;     // a usable device right now
  std::string cuda_reason;         // why not, when unavailable
  int device_count = 0;
  std::vector<GpuInfo> gpus;  // filled when the kernels are built and a device is there
  bool kernels_built = false;
  std::string kernel_architectures;  // e.g. "90-real 90-virtual"
  std::string kernels_note;          // whether the kernels can run on the GPUs found
};

DoctorReport doctor();
std::string format_doctor(const DoctorReport& r);

// Why CUDA cannot be used here ("" when it can): LibTorch without CUDA, no driver, no device, …
std::string cuda_unavailable_reason();

// Peak bytes LibTorch's CUDA allocator has held in tensors on GPU `device` since the last reset (-1 where
// this build cannot tell: no CUDA kernels built), and the reset.
int64_t cuda_peak_allocated(int device);
void reset_cuda_peak(int device);

// Parses "cpu", "cuda" or "cuda:N". A CUDA device that this machine lacks throws dm::ConfigError with the
// reason; the CPU is never substituted.
torch::Device require_device(const std::string& spec);

namespace detail {
// Implemented in cuda_dispatch.cpp when the kernels are built (device properties need CUDA headers).
std::vector<GpuInfo> cuda_gpus();
std::string kernel_architectures();
}  // namespace detail

}  // namespace dm::ops
