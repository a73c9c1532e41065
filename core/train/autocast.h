// LibTorch autocast for one scope: enabled with a dtype on one device type on entry, the previous state
// restored on exit (also when the scope is left by a throw) and the cast cache cleared. With no dtype
// the scope does nothing, so callers write one path for fp32 and mixed precision.
#pragma once

#include <ATen/autocast_mode.h>

#include <optional>

namespace dm::train {

class AutocastScope {
 public:
  AutocastScope(c10::DeviceType type, std::optional<at::ScalarType> dtype) : type_(type), active_(dtype.has_value()) {
    if (!active_) return;
    was_enabled_ = at::autocast::is_autocast_enabled(type_);
    was_dtype_ = at::autocast::get_autocast_dtype(type_);
    at::autocast::set_autocast_dtype(type_, *dtype);
    at::autocast::set_autocast_enabled(type_, true);
  }
  ~AutocastScope() {
    if (!active_) return;
    at::autocast::set_autocast_enabled(type_, was_enabled_);
    at::autocast::set_autocast_dtype(type_, was_dtype_);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType type_;
  bool active_ = false, was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

}  // namespace dm::train
