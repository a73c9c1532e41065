// Helpers shared by the benchmark executables: resident memory, medians, and child processes that
// print one `RESULT key=value …` line (each case runs in its own process so its peak memory is its own).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace dm::bench {

using Clock = std::chrono::steady_clock;

inline double rss_mb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

inline double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

template <typename F>
double median_seconds(int warmup, int repeats, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto a = Clock::now();
    f();
    t.push_back(seconds_since(a));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The value of `key=` in a RESULT line ("" when absent).
inline std::string field(const std::string& line, const std::string& key) {
  auto pos = line.find(" " + key + "=");
  if (pos == std::string::npos) return "";
  pos += key.size() + 2;
  return line.substr(pos, line.find(' ', pos) - pos);
}

// Runs a shell command and returns its last RESULT line ("" when it printed none).
inline std::string run_command(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return "";
  char buf[1024];
  std::string result;
  while (std::fgets(buf, sizeof buf, f))
    if (std::strncmp(buf, "RESULT", 6) == 0) result = buf;
  pclose(f);
  while (!result.empty() && (result.back() == '\n' || result.back() == '\r')) result.pop_back();
  return result;
}

inline std::string run_child(const char* self, const std::string& args) {
  return run_command(std::string(self) + " --case " + args);
}

}  // namespace dm::bench
