#include "core/ops/doctor.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <cstdlib>
#include <sstream>

#include "core/common/error.h"
#include "core/ops/dispatch.h"
#include "core/runtime.h"

namespace dm::ops {
namespace {

bool torch_built_with_cuda() {
#ifdef DM_TORCH_CUDA
  return true;
#else
  return false;
#endif
}

// Asks the driver library itself why it has no device (cuInit's error), when it can be loaded.
std::string driver_reason() {
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) return "no NVIDIA driver: libcuda.so.1 cannot be loaded (" + std::string(dlerror()) + ")";
  using init_fn = int (*)(unsigned);
  using count_fn = int (*)(int*);
  using str_fn = int (*)(int, const char**);
  auto cu_init = reinterpret_cast<init_fn>(dlsym(lib, "cuInit"));
  auto cu_count = reinterpret_cast<count_fn>(dlsym(lib, "cuDeviceGetCount"));
  auto cu_str = reinterpret_cast<str_fn>(dlsym(lib, "cuGetErrorString"));
  std::string reason = "the NVIDIA driver reports no usable device";
  if (cu_init && cu_count) {
    int count = 0;
    int rc = cu_init(0);
    if (rc == 0) rc = cu_count(&count);
    if (rc != 0) {
      const char* msg = nullptr;
      if (cu_str) cu_str(rc, &msg);
      reason = "the NVIDIA driver failed: error " + std::to_string(rc) + (msg ? std::string(" (") + msg + ")" : "");
    } else if (count == 0) {
      reason = "the NVIDIA driver sees no GPU";
    }
  }
  dlclose(lib);
  return reason;
}

}  // namespace

std::string cuda_unavailable_reason() {
  if (torch::cuda::is_available()) return "";
  if (!torch_built_with_cuda()) return "this LibTorch was built without CUDA (use a CUDA build of LibTorch)";
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES"); v && (std::string(v).empty() || std::string(v) == "-1"))
    return "CUDA_VISIBLE_DEVICES='" + std::string(v) + "' hides every GPU";
  return driver_reason();
}

torch::Device require_device(const std::string& spec) {
  torch::Device dev(torch::kCPU);
  try {
    dev = torch::Device(spec);
  } catch (const c10::Error&) {
    throw ConfigError("device", spec, "expected cpu, cuda or cuda:N");
  }
  if (dev.is_cpu()) return dev;
  if (!dev.is_cuda()) throw ConfigError("device", spec, "expected cpu, cuda or cuda:N");
  if (const auto why = cuda_unavailable_reason(); !why.empty())
    throw ConfigError("device", spec, "no CUDA device can be used here: " + why);
  const int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  if (dev.has_index() && dev.index() >= n)
    throw ConfigError(
        "device", spec,
        "this machine has " + std::to_string(n) + " CUDA device(s): cuda:0..cuda:" + std::to_string(n - 1));
  return dev.has_index() ? dev : torch::Device(torch::kCUDA, 0);
}

#ifndef DM_HAVE_CUDA_KERNELS
int64_t cuda_peak_allocated(int) { return -1; }
void reset_cuda_peak(int) {}
namespace detail {
std::vector<GpuInfo> cuda_gpus() { return {}; }
std::string kernel_architectures() { return ""; }
}  // namespace detail
#endif

DoctorReport doctor() {
  DoctorReport r;
  r.torch_version = torch_version();
  r.torch_has_cuda = torch_built_with_cuda();
#ifdef DM_TORCH_CUDA_VERSION
  r.torch_cuda_version = DM_TORCH_CUDA_VERSION;
#endif
  r.cuda_reason = cuda_unavailable_reason();
  r.cuda_available = r.cuda_reason.empty();
  r.device_count = r.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  r.kernels_built = cuda_kernels_built();
  r.kernel_architectures = detail::kernel_architectures();
  if (r.cuda_available) r.gpus = detail::cuda_gpus();
  if (!r.kernels_built) {
    r.kernels_note = "this build has no CUDA kernels: CUDA tensors use the LibTorch ops (configure with -DDM_CUDA=ON)";
  } else if (!r.cuda_available) {
    r.kernels_note = "built, but there is no GPU to run them on";
  } else {
    // sm_90 machine code runs on 9.x; the compute_90 PTX is JIT-compiled by the driver on newer GPUs.
    std::ostringstream os;
    for (const auto& g : r.gpus) {
      os << "cuda:" << g.index << " (sm_" << g.major << g.minor << "): ";
      if (g.major == 9)
        os << "runs the sm_90 machine code";
      else if (g.major > 9)
        os << "runs the compute_90 PTX through the driver's JIT";
      else
        os << "too old for these kernels (need compute capability >= 9.0)";
      os << "; ";
    }
    r.kernels_note = os.str();
  }
  return r;
}

std::string format_doctor(const DoctorReport& r) {
  std::ostringstream os;
  os << "LibTorch          " << r.torch_version << (r.torch_has_cuda ? " (with CUDA" : " (CPU only")
     << (r.torch_cuda_version.empty() ? "" : " " + r.torch_cuda_version) << ")\n";
  os << "CUDA available    " << (r.cuda_available ? "yes" : "no: " + r.cuda_reason) << "\n";
  if (r.cuda_available) os << "CUDA devices      " << r.device_count << "\n";
  for (const auto& g : r.gpus) {
    char mem[64];
    std::snprintf(mem, sizeof mem, "%.1f GiB", static_cast<double>(g.total_memory) / (1024.0 * 1024.0 * 1024.0));
    os << "  cuda:" << g.index << "          " << g.name << ", compute capability " << g.major << "." << g.minor << ", "
       << mem << ", " << g.multiprocessors << " SMs\n";
  }
  os << "CUDA kernels      " << (r.kernels_built ? "built for " + r.kernel_architectures : "not built") << "\n";
  os << "                  " << r.kernels_note << "\n";
  os << "kernels enabled   " << (cuda_kernels_enabled() ? "yes" : "no (reference path forced)") << "\n";
  return os.str();
}

}  // namespace dm::ops
