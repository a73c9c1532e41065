#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <thread>
#include <unistd.h>

#include "app/cli/commands.h"
#include "app/cli/console.h"
#include "core/config/experiment_config.h"
#include "core/config/schema.h"
#include "core/common/error.h"
#include "core/dist/dist.h"
#include "core/dist/launcher.h"
#include "core/jobs/train_job.h"
#include "core/store/run_store.h"
#include "core/train/trainer.h"

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
  if (a.resume > 0 && !a.overrides.empty()) {
    std::string given;
    for (const auto& o : a.overrides) given += (given.empty() ? "" : " ") + o;
    throw ConfigError("--resume", std::to_string(a.resume),
                      "continues the run with its stored configuration, so overrides (" + given +
                          ") cannot apply; start a new run to change settings");
  }
  config::ExperimentConfig cfg;
  if (a.resume == 0 || a.print_config) cfg = config::resolve(a.overrides);
  if (a.print_config) {
    nlohmann::json out = {{"config", cfg.tree}, {"hash", cfg.hash()}, {"preset", cfg.preset}, {"overrides", cfg.overrides}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  // Several devices and no launcher around us (torchrun, srun): start one process per device ourselves.
  const auto env = dist::from_environment();
  if (!env.active()) {
    config::ExperimentConfig launch_cfg = cfg;
    if (a.resume > 0) {
      store::RunStore db(ws.db_path());
      const auto rec = db.run(a.resume);
      if (!rec) throw Error("run " + std::to_string(a.resume) + " does not exist in " + ws.db_path());
      launch_cfg = jobs::config_of_run(rec->config_json, rec->preset, rec->overrides_json);
    }
    if (const int n = train::processes_for(launch_cfg); n > 1) {
      std::printf("starting %d processes (trainer.devices=%s, trainer.accelerator=%s)\n", n, launch_cfg.at("trainer.devices").dump().c_str(), launch_cfg.string("trainer.accelerator").c_str());
      return dist::launch_local(dist::local_launch(n, a.argv, a.threads));
    }
  }
  const bool main_rank = env.rank == 0;  // the other ranks print nothing but errors
  const bool tty = isatty(STDOUT_FILENO);
  ConsoleOptions co;
  co.quiet = a.quiet || !main_rank;
  co.tty = tty;
  co.bar = true;
  const ConsolePrinter printer(co);
  jobs::TrainJobOptions opt;
  opt.name = a.name;
  opt.resume_run = a.resume;
  opt.threads = a.threads;
  opt.sweep_id = a.sweep;
  if (a.sweep > 0 && main_rank) {
    store::RunStore db(ws.db_path());
    if (!db.sweep(a.sweep)) throw ConfigError("--sweep", std::to_string(a.sweep), "is not a sweep of " + ws.db_path());
  }
  if (main_rank) std::printf("workspace: %s\n", ws.root.c_str());
  auto result = jobs::run_train_job(ws, cfg, opt, printer.sink(), cancel);
  printer.end_line();
  if (!main_rank) return result.status == "finished" ? 0 : result.status == "cancelled" ? 130 : 3;
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
