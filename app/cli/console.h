// How the CLI shows a job's events: one printer for every job and every event kind. It reads
// metrics by name and never assumes what an event carries beyond its kind's contract (events.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "core/train/events.h"

namespace dm::cli {

struct ConsoleOptions {
  bool quiet = false;       // only warnings are printed
  bool tty = false;         // rewrite the step line in place instead of one line per step
  bool bar = false;         // a progress bar before each step line
  bool percent = false;     // "[ 40%]" before info and eval messages (evaluations without steps)
  int64_t every = 1;        // print every Nth step, the first and the last
  std::FILE* out = stdout;
  std::FILE* err = stderr;  // warnings
};

// The printer of one job: sink() is what the CLI hands to the job; end_line() ends a step line left
// open on a terminal before the CLI prints its summary.
class ConsolePrinter {
 public:
  explicit ConsolePrinter(ConsoleOptions o) : o_(o), open_(std::make_shared<bool>(false)) {}
  train::EventSink sink() const;
  void end_line() const;

 private:
  ConsoleOptions o_;
  std::shared_ptr<bool> open_;  // a tty step line is waiting to be overwritten
};

// One step event as a line: "[####....] step 12 (50%) loss 4.1234 bpc 5.9490 lr 3.00e-04 812 tok/s ETA 0:00:12".
std::string format_step(const train::TrainEvent& ev, bool bar);
// An eval event: its message, else "eval @ step N: name value …".
std::string format_eval(const train::TrainEvent& ev);
// Seconds as h:mm:ss ("?" when unknown).
std::string hms(double seconds);

}  // namespace dm::cli
