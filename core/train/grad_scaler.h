// Dynamic loss scaling for fp16 mixed precision, as torch.amp.GradScaler does it: the loss is multiplied by
// the scale (2^16 to start) before backward; before the optimizer step the gradients are divided by it
// (so clipping sees true gradients); a step whose gradients hold an inf or NaN is skipped and the scale
// halved; after 2,000 clean steps in a row the scale doubles. Its state goes into the checkpoint.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <torch/types.h>
#include <vector>

namespace dm::train {

struct GradScalerOptions {
  double init_scale = 65536.0, growth_factor = 2.0, backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  using Options = GradScalerOptions;
  explicit GradScaler(bool enabled, Options o = Options()) : enabled_(enabled), o_(o), scale_(o.init_scale) {}

  bool enabled() const { return enabled_; }
  double scale() const { return enabled_ ? scale_ : 1.0; }
  int64_t growth_tracker() const { return tracker_; }
  // loss × scale (the loss itself when disabled).
  torch::Tensor scale_loss(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Divides every defined gradient of `params` by the scale in place; true when all of them are finite.
  bool unscale(const std::vector<torch::Tensor>& params) const;
  // After the step: an inf/NaN found → scale × backoff and the clean-step count reset; else one more clean
  // step, and the scale × growth when the count reaches growth_interval.
  void update(bool found_inf);

  nlohmann::json state() const;
  // Restores state() (an empty or missing object leaves the scaler as constructed). Throws ConfigError on
  // values that are not a positive finite scale and a non-negative count.
  void load_state(const nlohmann::json& j);

 private:
  bool enabled_;
  Options o_;
  double scale_;
  int64_t tracker_ = 0;
};

}  // namespace dm::train
