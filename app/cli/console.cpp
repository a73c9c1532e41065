#include "app/cli/console.h"

#include <cmath>
#include <memory>

namespace dm::cli {
namespace {

std::string short_name(const std::string& name) {
  const auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::string number(const std::string& name, double v) {
  char buf[64];
  const auto n = short_name(name);
  if (!std::isfinite(v)) std::snprintf(buf, sizeof buf, "%s", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
  else if (n == "lr" || (v != 0 && (std::fabs(v) < 1e-3 || std::fabs(v) >= 1e6))) std::snprintf(buf, sizeof buf, "%.2e", v);
  else std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string metrics_text(const train::TrainEvent& ev) {
  std::string s;
  for (const auto& [name, v] : ev.metrics) {
    if (short_name(name) == "tokens_per_s") continue;  // shown as tok/s
    s += " " + short_name(name) + " " + number(name, v);
  }
  return s;
}

}  // namespace

std::string hms(double s) {
  if (s < 0 || !std::isfinite(s) || s > 1e9) return "?";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

std::string format_step(const train::TrainEvent& ev, bool bar) {
  std::string line;
  const double p = std::isfinite(ev.progress) ? std::min(std::max(ev.progress, 0.0), 1.0) : 0.0;
  if (bar) {
    const int width = 24;
    std::string b(static_cast<size_t>(p * width), '#');
    b.resize(width, '.');
    line = "[" + b + "] ";
  }
  char head[64];
  std::snprintf(head, sizeof head, "step %lld (%3.0f%%)", static_cast<long long>(ev.step), 100 * p);
  line += head + metrics_text(ev);
  if (ev.tokens_per_s > 0 && std::isfinite(ev.tokens_per_s)) {
    char buf[48];
    std::snprintf(buf, sizeof buf, " %.0f tok/s", ev.tokens_per_s);
    line += buf;
  }
  if (ev.eta_s >= 0) line += " ETA " + hms(ev.eta_s);
  return line;
}

std::string format_eval(const train::TrainEvent& ev) {
  if (!ev.message.empty()) return ev.message;
  return "eval @ step " + std::to_string(ev.step) + ":" + metrics_text(ev);
}

void ConsolePrinter::end_line() const {
  if (*open_) std::fputs("\n", o_.out);
  *open_ = false;
  std::fflush(o_.out);
}

train::EventSink ConsolePrinter::sink() const {
  const ConsoleOptions o = o_;
  const auto pending = open_;
  const ConsolePrinter self = *this;
  return [o, pending, self](const train::TrainEvent& ev) {
    using K = train::TrainEvent::Kind;
    auto clear = [&] { self.end_line(); };
    auto pct = [&] {
      char buf[16];
      std::snprintf(buf, sizeof buf, "[%3.0f%%] ", 100 * (std::isfinite(ev.progress) ? ev.progress : 0.0));
      return o.percent ? std::string(buf) : std::string();
    };
    switch (ev.kind) {
      case K::warning:
        clear();
        std::fprintf(o.err, "warning: %s\n", ev.message.c_str());
        std::fflush(o.err);
        return;
      case K::info:
        if (o.quiet || ev.message.empty()) return;
        clear();
        std::fprintf(o.out, "%s%s\n", pct().c_str(), ev.message.c_str());
        break;
      case K::step: {
        if (o.quiet) return;
        const bool last = ev.progress >= 1.0;
        if (o.every > 1 && ev.step % o.every != 0 && ev.step != 1 && !last) return;
        const auto line = format_step(ev, o.bar);
        if (o.tty) {
          std::fprintf(o.out, "\r%s\033[K", line.c_str());
          *pending = true;
        } else {
          std::fprintf(o.out, "%s\n", line.c_str());
        }
        break;
      }
      case K::eval:
        if (o.quiet) return;
        clear();
        std::fprintf(o.out, "%s%s\n", pct().c_str(), format_eval(ev).c_str());
        break;
      case K::checkpoint:
        return;  // the run's record lists its checkpoints; a line per save would drown the steps
    }
    std::fflush(o.out);
  };
}

}  // namespace dm::cli
