// The geometry and initialisation of one Mamba-1 mixer (torch-free, so model configs can hold it).
#pragma once

#include <cstdint>
#include <string>

namespace dm::model {

struct Mamba1Config {
  int64_t d_model = 256;
  int64_t expand = 2;
  int64_t d_state = 16;
  int64_t conv_kernel = 4;
  int64_t dt_rank = 0;  // 0: ⌈d_model / 16⌉
  double dt_min = 1e-3, dt_max = 0.1, dt_init_floor = 1e-4, dt_scale = 1.0;
  bool use_bias = false;
  bool use_conv_bias = true;
  // Diff-S6: a second S6 branch (x_proj_2, dt_proj_2, A_log_2, D_2) on the same conv output and gate;
  // the mixer outputs out_proj((scan_1 − scan_2)·silu(z)).
  bool diff_s6 = false;

  int64_t d_inner() const { return expand * d_model; }
  int64_t rank() const { return dt_rank > 0 ? dt_rank : (d_model + 15) / 16; }
  // Throws ConfigError naming `prefix + parameter` and the rule it breaks.
  void validate(const std::string& prefix = "") const;
};

}  // namespace dm::model
