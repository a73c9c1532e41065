#include "app/cli/sweep_cmd.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli/console.h"
#include "core/common/error.h"
#include "core/config/experiment_config.h"
#include "core/jobs/run_session.h"
#include "core/jobs/sweep.h"
#include "core/jobs/train_job.h"
#include "core/jobs/workspace.h"
#include "core/store/run_store.h"

namespace dm::cli {
namespace {

jobs::Workspace workspace_of(const std::string& dir) {
  return dir.empty() ? jobs::Workspace::default_location() : jobs::Workspace{dir};
}

// A run's value of a grid key in its config (parsed once per run): nested (optimizer.lr → /optimizer/lr) or
// a flat key (MAD runs).
std::string value_of(const nlohmann::json& config, const std::string& key) {
  try {
    std::string pointer = "/" + key;
    for (auto& c : pointer)
      if (c == '.') c = '/';
    const nlohmann::json::json_pointer p(pointer);
    const nlohmann::json* v = config.contains(p) ? &config.at(p) : config.contains(key) ? &config.at(key) : nullptr;
    if (v) return v->is_string() ? v->get<std::string>() : v->dump();
  } catch (const std::exception&) {
  }
  return "-";
}

bool lower_is_better(const std::string& metric) {
  return metric.find("loss") != std::string::npos || metric.find("ppl") != std::string::npos ||
         metric.find("bpc") != std::string::npos;
}

// The sweep's runs: id, status, the axis values, and the metric's last and best value.
void print_sweep(const store::RunStore& db, const store::SweepRecord& sw, std::string metric) {
  const auto grid = nlohmann::ordered_json::parse(sw.grid_json, nullptr, false);
  std::vector<std::string> keys;
  if (grid.is_object())
    for (auto it = grid.begin(); it != grid.end(); ++it) keys.push_back(it.key());
  if (metric.empty()) metric = sw.kind == "mad" ? "test/acc" : "val/loss";
  std::printf("sweep %lld  %s  (%s, %s)\n", static_cast<long long>(sw.id), sw.name.c_str(), sw.kind.c_str(),
              sw.created_at.c_str());
  std::printf("%6s  %-10s", "run", "status");
  for (const auto& k : keys) std::printf("  %-20s", k.c_str());
  std::printf("  %12s  %12s\n", (metric + " last").c_str(), "best");
  const bool lower = lower_is_better(metric);
  int64_t best_run = 0;
  double best = 0;
  for (const auto& r : db.runs_of_sweep(sw.id)) {
    std::printf("%6lld  %-10s", static_cast<long long>(r.id), r.status.c_str());
    const auto config = nlohmann::json::parse(r.config_json, nullptr, false);
    for (const auto& k : keys) std::printf("  %-20s", value_of(config, k).c_str());
    const auto rows = db.metrics(r.id, metric);
    if (rows.empty()) {
      std::printf("  %12s  %12s\n", "-", "-");
      continue;
    }
    double b = rows.front().value;
    for (const auto& m : rows) b = lower ? std::min(b, m.value) : std::max(b, m.value);
    std::printf("  %12.5g  %12.5g\n", rows.back().value, b);
    if (best_run == 0 || (lower ? b < best : b > best)) best_run = r.id, best = b;
  }
  if (best_run) std::printf("best %s: %.5g (run %lld)\n", metric.c_str(), best, static_cast<long long>(best_run));
}

}  // namespace

SweepCommands::SweepCommands(CLI::App& app) {
  sweep_ = app.add_subcommand("sweep", "Grids of runs under one sweep record: run one, list them, show one");
  train_ = sweep_->add_subcommand("train", "train every combination of a grid: ARGS as for train, a list where a key "
                                           "takes one value is an axis (optimizer.lr=[1e-4,5e-4,1e-3])");
  train_->allow_extras();
  train_->add_option("--workspace", workspace_, "workspace folder (default: the user's data location)");
  train_->add_option("--name", name_, "the sweep's name (default: the preset and the axes)");
  train_->add_option("--threads", threads_, "CPU threads per run (default: all cores)")->check(CLI::Range(1, 1024));
  train_->add_flag("--dry-run", dry_run_, "print the combinations and stop");
  train_->add_flag("--quiet", quiet_, "no progress lines");
  list_ = sweep_->add_subcommand("list", "every sweep of the workspace");
  list_->add_option("--workspace", workspace_, "workspace folder (default: the user's data location)");
  show_ = sweep_->add_subcommand("show", "a sweep's runs, their values on the grid's axes and a metric (last, best)");
  show_->add_option("id", id_, "sweep id")->required();
  show_->add_option("--workspace", workspace_, "workspace folder (default: the user's data location)");
  show_->add_option("--metric", metric_, "the metric shown (default val/loss; MAD sweeps: test/acc)");
  sweep_->require_subcommand(1);
}

bool SweepCommands::parsed() const { return sweep_->parsed(); }

int SweepCommands::run_train(std::atomic<bool>& cancel) const {
  const auto ws = workspace_of(workspace_);
  const auto grid = jobs::parse_grid(train_->remaining());
  const auto combos = jobs::combinations(grid);
  // Every combination resolves before anything runs: a bad value fails the whole sweep at once.
  std::vector<config::ExperimentConfig> cfgs;
  for (const auto& c : combos) cfgs.push_back(config::resolve(c));
  std::printf("sweep of %zu runs over %zu axes:\n", combos.size(), grid.axes.size());
  for (size_t i = 0; i < combos.size(); ++i) {
    std::printf("  %3zu ", i + 1);
    for (size_t k = grid.fixed.size(); k < combos[i].size(); ++k) std::printf(" %s", combos[i][k].c_str());
    std::printf("\n");
  }
  if (dry_run_) return 0;
  ws.ensure();
  std::printf("workspace: %s\n", ws.root.c_str());
  int64_t sweep_id = 0;
  {
    store::RunStore db(ws.db_path());
    store::SweepRecord sw;
    std::string axes;
    for (const auto& a : grid.axes) axes += (axes.empty() ? "" : " × ") + a.key;
    sw.name = !name_.empty() ? name_ : (cfgs.front().preset.empty() ? "train" : cfgs.front().preset) + (axes.empty() ? "" : ": " + axes);
    sw.kind = "train";
    sw.base_json = nlohmann::json(grid.fixed).dump();
    sw.grid_json = jobs::grid_json(grid);
    sweep_id = db.create_sweep(sw);
  }
  std::printf("sweep %lld\n", static_cast<long long>(sweep_id));
  ConsoleOptions co;
  co.quiet = quiet_;
  const ConsolePrinter printer(co);
  int failed = 0;
  for (size_t i = 0; i < cfgs.size() && !cancel; ++i) {
    jobs::TrainJobOptions opt;
    opt.threads = threads_;
    opt.sweep_id = sweep_id;
    std::string label;
    for (size_t k = grid.fixed.size(); k < combos[i].size(); ++k) label += (label.empty() ? "" : " ") + combos[i][k];
    opt.name = (cfgs[i].preset.empty() ? "train" : cfgs[i].preset) + (label.empty() ? "" : " " + label);
    std::printf("[%zu/%zu] %s\n", i + 1, cfgs.size(), opt.name.c_str());
    const auto r = jobs::run_train_job(ws, cfgs[i], opt, printer.sink(), cancel);
    printer.end_line();
    std::printf("run %lld: %s\n", static_cast<long long>(r.run_id), r.status.c_str());
    if (r.status != "finished" && r.status != "cancelled") ++failed;
  }
  store::RunStore db(ws.db_path());
  print_sweep(db, *db.sweep(sweep_id), "");
  if (cancel) return 130;
  return failed ? 3 : 0;
}

int SweepCommands::run(std::atomic<bool>& cancel) const {
  if (train_->parsed()) return run_train(cancel);
  const auto ws = workspace_of(workspace_);
  store::RunStore db(ws.db_path(), store::RunStore::Access::read_only);
  if (list_->parsed()) {
    std::printf("%6s  %-6s  %-20s  %5s  %s\n", "sweep", "kind", "created", "runs", "name");
    for (const auto& s : db.sweeps())
      std::printf("%6lld  %-6s  %-20s  %5zu  %s\n", static_cast<long long>(s.id), s.kind.c_str(), s.created_at.c_str(),
                  db.runs_of_sweep(s.id).size(), s.name.c_str());
    return 0;
  }
  const auto sw = db.sweep(id_);
  if (!sw) throw Error("sweep " + std::to_string(id_) + " does not exist in " + ws.db_path());
  print_sweep(db, *sw, metric_);
  return 0;
}

}  // namespace dm::cli
