// What a running job reports: progress, metrics and messages, as plain structs (no Qt, no SQL).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dm::train {

// One event. What each kind carries (check_shape() tests it; consumers must not assume more):
//   info       a message (the first event of every job announces its run: run_id set, no metrics);
//              may carry metrics, may have progress
//   warning    a non-empty message; no metrics required
//   step       step >= 1 and at least one metric (the optimizer step's loss etc.); message optional
//   eval       at least one metric or a message (a BABILong cell reports a message only)
//   checkpoint a step >= 0 and a message naming what was saved
// Every kind may have run_id, progress (0..1), tokens_per_s (0: unknown) and eta_s (< 0: unknown).
// Consumers read metrics by name (metric()) and never by position.
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

  // The metric called `name`, if the event has it.
  std::optional<double> metric(std::string_view name) const {
    for (const auto& [k, v] : metrics)
      if (k == name) return v;
    return std::nullopt;
  }
};

using EventSink = std::function<void(const TrainEvent&)>;

inline const char* kind_name(TrainEvent::Kind k) {
  switch (k) {
    case TrainEvent::Kind::info: return "info";
    case TrainEvent::Kind::warning: return "warning";
    case TrainEvent::Kind::step: return "step";
    case TrainEvent::Kind::eval: return "eval";
    case TrainEvent::Kind::checkpoint: return "checkpoint";
  }
  return "?";
}

// Empty when `ev` carries what its kind promises (see TrainEvent), else what is wrong.
inline std::string check_shape(const TrainEvent& ev) {
  using K = TrainEvent::Kind;
  const std::string k = kind_name(ev.kind);
  if (!(ev.progress >= 0 && ev.progress <= 1 + 1e-9)) return k + " event with progress " + std::to_string(ev.progress);
  for (const auto& [name, v] : ev.metrics)
    if (name.empty()) return k + " event with an unnamed metric";
  switch (ev.kind) {
    case K::info: return {};
    case K::warning: return ev.message.empty() ? "warning event without a message" : "";
    case K::step:
      if (ev.step < 1) return "step event with step " + std::to_string(ev.step);
      return ev.metrics.empty() ? "step event without metrics" : "";
    case K::eval: return ev.metrics.empty() && ev.message.empty() ? "eval event with neither metrics nor message" : "";
    case K::checkpoint: return ev.message.empty() ? "checkpoint event without a message" : "";
  }
  return "event of an unknown kind";
}

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
