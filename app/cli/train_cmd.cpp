#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>

#include "app/cli/commands.h"
#include "core/config/experiment_config.h"
#include "core/config/schema.h"
#include "core/jobs/train_job.h"

namespace dm::cli {
namespace {

std::string hms(double s) {
  if (s < 0 || !std::isfinite(s)) return "?";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

double metric(const train::TrainEvent& ev, const std::string& name) {
  for (const auto& [k, v] : ev.metrics)
    if (k == name) return v;
  return std::nan("");
}

}  // namespace

std::string config_keys_help() {
  std::string out = "Configuration keys (set as key=value after the subcommand, as in the seed's train.py):\n";
  for (const auto& s : config::schema()) {
    out += "  " + s.key + " = " + (s.default_value.is_string() ? s.default_value.get<std::string>() : s.default_value.dump()) +
           "  (" + config::type_name(s) + ")\n      " + s.doc + "\n";
  }
  out += "Presets (experiment=NAME):";
  for (const auto& p : config::list_presets()) out += " " + p;
  return out + "\n";
}

int run_train(const TrainArgs& a, std::atomic<bool>& cancel) {
  const auto ws = a.workspace.empty() ? jobs::Workspace::default_location() : jobs::Workspace{a.workspace};
  config::ExperimentConfig cfg;
  if (a.resume == 0 || a.print_config) cfg = config::resolve(a.overrides);
  if (a.print_config) {
    nlohmann::json out = {{"config", cfg.tree}, {"hash", cfg.hash()}, {"preset", cfg.preset}, {"overrides", cfg.overrides}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  const bool tty = isatty(STDOUT_FILENO);
  auto sink = [&](const train::TrainEvent& ev) {
    using K = train::TrainEvent::Kind;
    if (ev.kind == K::info) {
      if (!a.quiet) std::printf("%s\n", ev.message.c_str());
    } else if (ev.kind == K::warning) {
      std::fprintf(stderr, "warning: %s\n", ev.message.c_str());
    } else if (ev.kind == K::step) {
      if (a.quiet) return;
      const int width = 24;
      const int filled = static_cast<int>(ev.progress * width);
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(width, '.');
      const double bpc = metric(ev, "train/bpc"), ppl = metric(ev, "train/ppl");
      char line[256];
      std::snprintf(line, sizeof line, "[%s] step %lld (%3.0f%%) loss %.4f %s %.3f lr %.2e %.0f tok/s ETA %s",
                    bar.c_str(), static_cast<long long>(ev.step), 100 * ev.progress, metric(ev, "train/loss"),
                    std::isnan(bpc) ? "ppl" : "bpc", std::isnan(bpc) ? ppl : bpc, metric(ev, "train/lr"), ev.tokens_per_s,
                    hms(ev.eta_s).c_str());
      if (tty) std::printf("\r%s\033[K", line);
      else std::printf("%s\n", line);
    } else if (ev.kind == K::eval) {
      std::string s;
      for (const auto& [k, v] : ev.metrics) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s %.4f", k.c_str(), v);
        s += buf;
      }
      std::printf("%seval @ step %lld:%s\n", tty ? "\r\033[K" : "", static_cast<long long>(ev.step), s.c_str());
    }
    std::fflush(stdout);
  };
  jobs::TrainJobOptions opt;
  opt.name = a.name;
  opt.resume_run = a.resume;
  opt.threads = a.threads;
  std::printf("workspace: %s\n", ws.root.c_str());
  auto result = jobs::run_train_job(ws, cfg, opt, sink, cancel);
  std::printf("%srun %lld: %s — %s\n", tty ? "\r\033[K" : "", static_cast<long long>(result.run_id), result.status.c_str(),
              result.message.c_str());
  if (result.status == "finished") return 0;
  if (result.status == "cancelled") {
    std::printf("resume with: diffmamba train --workspace %s --resume %lld\n", ws.root.c_str(),
                static_cast<long long>(result.run_id));
    return 130;
  }
  return 3;  // diverged
}

}  // namespace dm::cli
