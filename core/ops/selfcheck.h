// Compares the fast paths against their oracles with fresh random inputs: on CUDA every kernel (forward and
// backward, fp32 and bf16, outputs NaN-poisoned before each launch) against the fp64 CPU reference; on the
// CPU the chunked SSD, its backward reference and the CPU conv kernel against their independent oracles.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dm::ops {

struct CheckResult {
  std::string op;        // e.g. "ssd_chunked backward"
  std::string dtype;     // "fp32", "bf16", "fp64"
  std::string output;    // e.g. "dB"
  double rel_error = 0;  // ‖got − ref‖₂ / ‖ref‖₂ (inf when got has a NaN or Inf)
  double tolerance = 0;
  bool passed() const { return rel_error <= tolerance; }
};

struct SelfcheckReport {
  std::string device;       // what was checked
  std::string skip_reason;  // non-empty: nothing ran, and why
  uint64_t seed = 0;
  std::vector<CheckResult> results;
  bool skipped() const { return !skip_reason.empty(); }
  int failures() const;
};

// device: "cpu", "cuda" or "cuda:N". Without a GPU (or without kernels in this build) a CUDA request
// returns a report whose skip_reason says why. Tolerances: fp32 1e-5, bf16 1e-2, fp64 1e-10 (relative); a
// small language model's loss and gradients, kernels against the reference ops on the same GPU, 1e-4 (fp32).
// models=false leaves out the language-model checks (kernels only: quick under compute-sanitizer).
SelfcheckReport selfcheck(const std::string& device, uint64_t seed, bool models = true);
std::string format_selfcheck(const SelfcheckReport& r);

}  // namespace dm::ops
