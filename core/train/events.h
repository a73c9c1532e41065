// What a running job reports: progress, metrics and messages, as plain structs (no Qt, no SQL).
#pragma once

#include <cstdint>
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
  int64_t run_id = 0;       // the workspace run it belongs to (set by the jobs; 0: none)
};

using EventSink = std::function<void(const TrainEvent&)>;

// A sink that stamps every event with `run`, after announcing the run at once with an info event, so a
// listener (the GUI's queue) knows the run before its first step. Empty when `sink` is.
inline EventSink for_run(const EventSink& sink, int64_t run) {
  if (!sink) return {};
  TrainEvent started;
  started.run_id = run;
  started.message = "run " + std::to_string(run) + " started";
  sink(started);
  return [sink, run](const TrainEvent& ev) {
    TrainEvent e = ev;
    e.run_id = run;
    sink(e);
  };
}

}  // namespace dm::train
