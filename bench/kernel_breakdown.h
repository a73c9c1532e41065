// Where the time goes: runs f under LibTorch's Kineto profiler and sums the recorded events of one device
// type (CUDA kernels, memcpy and memset on a GPU; operators on the CPU) by name, largest first. For the
// benchmarks, so that one run on a lent GPU also says which kernels to work on next.
#pragma once

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dm::bench {

struct KernelTime {
  std::string name;
  double total_ms = 0;
  int64_t calls = 0;
};

// "void dm::kernels::ssd::(anonymous namespace)::dx_kernel<__nv_bfloat16>(Ctx)" → "ssd::dx_kernel<__nv_bfloat16>".
inline std::string short_kernel_name(std::string n) {
  for (const std::string cut : {"(anonymous namespace)::", "dm::kernels::", "void "}) {
    for (size_t p; (p = n.find(cut)) != std::string::npos;) n.erase(p, cut.size());
  }
  if (const size_t p = n.find('('); p != std::string::npos && p > 0) n.erase(p);
  if (n.size() > 80) n = n.substr(0, 77) + "...";
  return n;
}

// Events of `device` recorded while f ran `iterations` times (after one unrecorded warm-up run).
inline std::vector<KernelTime> kernel_breakdown(const std::function<void()>& f, int iterations,
                                                c10::DeviceType device) {
  namespace prof = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const bool cuda = device == c10::DeviceType::CUDA;
  f();
  if (cuda) torch::cuda::synchronize();
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  const std::set<ActivityType> activities =
      cuda ? std::set<ActivityType>{ActivityType::CPU, ActivityType::CUDA} : std::set<ActivityType>{ActivityType::CPU};
  prof::prepareProfiler(config, activities);
  prof::enableProfiler(config, activities);
  for (int i = 0; i < iterations; ++i) f();
  if (cuda) torch::cuda::synchronize();
  const auto result = prof::disableProfiler();
  std::map<std::string, KernelTime> by_name;
  for (const auto& e : result->events()) {
    if (e.deviceType() != device) continue;  // (CPU operators nest, so CPU shares overlap)
    auto& k = by_name[short_kernel_name(e.name())];
    k.name = short_kernel_name(e.name());
    k.total_ms += static_cast<double>(e.durationNs()) * 1e-6 / iterations;
    k.calls += 1;
  }
  std::vector<KernelTime> out;
  for (auto& [name, k] : by_name) {
    k.calls = (k.calls + iterations - 1) / iterations;
    out.push_back(k);
  }
  std::sort(out.begin(), out.end(), [](const KernelTime& a, const KernelTime& b) { return a.total_ms > b.total_ms; });
  return out;
}

// A markdown table of the `top` largest, with each one's share of all the recorded time.
inline std::string format_breakdown(const std::string& title, const std::vector<KernelTime>& ks, size_t top = 12) {
  double all = 0;
  for (const auto& k : ks) all += k.total_ms;
  char line[512];
  std::snprintf(line, sizeof line, "\n## %s: %.3f ms of device time per run\n\n", title.c_str(), all);
  std::string out = line;
  out += "| kernel | calls | ms | share |\n|---|---:|---:|---:|\n";
  for (size_t i = 0; i < ks.size() && i < top; ++i) {
    std::snprintf(line, sizeof line, "| %s | %lld | %.3f | %.1f%% |\n", ks[i].name.c_str(),
                  static_cast<long long>(ks[i].calls), ks[i].total_ms, all > 0 ? 100.0 * ks[i].total_ms / all : 0.0);
    out += line;
  }
  if (ks.size() > top) out += "| (" + std::to_string(ks.size() - top) + " more) | | | |\n";
  return out;
}

}  // namespace dm::bench
