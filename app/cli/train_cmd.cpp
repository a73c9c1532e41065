#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>

#include "app/cli/commands.h"
#include "app/cli/console.h"
#include "core/config/experiment_config.h"
#include "core/config/schema.h"
#include "core/jobs/train_job.h"

namespace dm::cli {

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
  ConsoleOptions co;
  co.quiet = a.quiet;
  co.tty = tty;
  co.bar = true;
  const ConsolePrinter printer(co);
  jobs::TrainJobOptions opt;
  opt.name = a.name;
  opt.resume_run = a.resume;
  opt.threads = a.threads;
  std::printf("workspace: %s\n", ws.root.c_str());
  auto result = jobs::run_train_job(ws, cfg, opt, printer.sink(), cancel);
  printer.end_line();
  std::printf("run %lld: %s — %s\n", static_cast<long long>(result.run_id), result.status.c_str(), result.message.c_str());
  if (result.status == "finished") return 0;
  if (result.status == "cancelled") {
    std::printf("resume with: diffmamba train --workspace %s --resume %lld\n", ws.root.c_str(),
                static_cast<long long>(result.run_id));
    return 130;
  }
  return 3;  // diverged
}

}  // namespace dm::cli
