#include "core/train/grad_scaler.h"

#include <cmath>
#include <torch/torch.h>

#include "core/common/error.h"

namespace dm::train {

bool GradScaler::unscale(const std::vector<torch::Tensor>& params) const {
  if (!enabled_) return true;
  torch::NoGradGuard ng;
  bool finite = true;
  const double inv = 1.0 / scale_;
  for (const auto& p : params) {
    auto g = p.grad();
    if (!g.defined()) continue;
    g.mul_(inv);
    if (finite && !torch::isfinite(g).all().item<bool>()) finite = false;
  }
  return finite;
}

void GradScaler::update(bool found_inf) {
  if (!enabled_) return;
  if (found_inf) {
    scale_ *= o_.backoff_factor;
    tracker_ = 0;
    return;
  }
  if (++tracker_ >= o_.growth_interval) {
    scale_ *= o_.growth_factor;
    tracker_ = 0;
  }
}

nlohmann::json GradScaler::state() const {
  if (!enabled_) return nlohmann::json::object();
  return {{"scale", scale_}, {"growth_tracker", tracker_}};
}

void GradScaler::load_state(const nlohmann::json& j) {
  if (!enabled_ || !j.is_object() || j.empty()) return;
  const double s = j.value("scale", -1.0);
  const int64_t t = j.value("growth_tracker", int64_t{-1});
  if (!(s > 0) || !std::isfinite(s) || t < 0)
    throw ConfigError("checkpoint grad_scaler", j.dump(), "needs a positive finite scale and a non-negative growth_tracker");
  scale_ = s;
  tracker_ = t;
}

}  // namespace dm::train
