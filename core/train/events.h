// What a running job reports: progress, metrics and messages, as plain structs (no Qt, no SQL).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dm::train {

struct TrainEvent {
  enum class Kind { info, warning, step, eval, checkpoint };
  Kind kind = Kind::info;
  int64_t step = 0;   // optimizer steps done
  int64_t epoch = 0;
  std::vector<std::pair<std::string, double>> metrics;  // e.g. {"train/loss", 1.93}
  std::string message;
  double progress = 0;      // 0..1 of the planned steps
  double tokens_per_s = 0;
  double eta_s = -1;        // < 0: unknown
};

using EventSink = std::function<void(const TrainEvent&)>;

}  // namespace dm::train
