#include "core/jobs/train_job.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <torch/torch.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/store/run_store.h"
#include "core/train/trainer.h"

#ifndef DM_GIT_REV
#define DM_GIT_REV "unknown"
#endif

namespace dm::jobs {
namespace {

namespace fs = std::filesystem;

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

std::string Workspace::db_path() const { return (fs::path(root) / "runs.db").string(); }
std::string Workspace::run_dir(int64_t id) const { return (fs::path(root) / "runs" / std::to_string(id)).string(); }
std::string Workspace::data_dir() const { return (fs::path(root) / "data").string(); }

Workspace Workspace::default_location() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return {(fs::path(x) / "diffmamba-studio" / "workspace").string()};
  if (const char* h = std::getenv("HOME"); h && *h)
    return {(fs::path(h) / ".local" / "share" / "diffmamba-studio" / "workspace").string()};
  return {"diffmamba-workspace"};
}

void Workspace::ensure() const {
  std::error_code ec;
  fs::create_directories(fs::path(root) / "runs", ec);
  if (ec) throw FileError(root, "cannot create the workspace folder: " + ec.message());
  fs::create_directories(data_dir(), ec);
}

config::ExperimentConfig config_of_run(const std::string& config_json, const std::string& preset,
                                       const std::string& overrides_json) {
  config::ExperimentConfig c;
  c.tree = nlohmann::json::parse(config_json);
  c.preset = preset;
  if (!overrides_json.empty()) c.overrides = nlohmann::json::parse(overrides_json).get<std::vector<std::string>>();
  return c;
}

JobResult run_train_job(const Workspace& ws, const config::ExperimentConfig& given, const TrainJobOptions& opt,
                        const train::EventSink& sink, const std::atomic<bool>& cancel) {
  ws.ensure();
  store::RunStore db(ws.db_path());
  config::ExperimentConfig cfg = given;
  int64_t id = opt.resume_run;
  if (id > 0) {
    auto rec = db.run(id);
    if (!rec) throw Error("run " + std::to_string(id) + " does not exist in " + ws.db_path());
    if (rec->status == "finished") throw Error("run " + std::to_string(id) + " has already finished; nothing to resume");
    cfg = config_of_run(rec->config_json, rec->preset, rec->overrides_json);
  } else {
    store::RunRecord r;
    r.name = !opt.name.empty() ? opt.name : (cfg.preset.empty() ? "train" : cfg.preset);
    r.kind = "train";
    r.family = cfg.string("model.family");
    r.preset = cfg.preset;
    r.overrides_json = nlohmann::json(cfg.overrides).dump();
    r.config_json = cfg.canonical_json();
    r.config_hash = cfg.hash();
    r.status = "queued";
    r.host = hostname();
    r.git_rev = DM_GIT_REV;
    id = db.create_run(r);
  }
  const std::string run_dir = ws.run_dir(id);
  db.set_field(id, "run_dir", run_dir);
  db.set_field(id, "started_at", store::now_utc());
  db.update_status(id, "running");
  const auto t0 = std::chrono::steady_clock::now();
  const auto run_sink = train::for_run(sink, id);
  auto on_event = [&](const train::TrainEvent& ev) {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& [name, value] : ev.metrics) db.add_metric(id, {ev.step, ev.epoch, name, value, wall});
    if (ev.kind != train::TrainEvent::Kind::info && ev.kind != train::TrainEvent::Kind::warning) db.flush();
    if (run_sink) run_sink(ev);
  };
  train::TrainOptions topt;
  topt.run_dir = run_dir;
  topt.data_root = ws.data_dir();
  topt.resume = opt.resume_run > 0;
  topt.threads = opt.threads;
  try {
    db.set_field(id, "device", train::resolve_device(cfg, nullptr).str());
    auto out = train::train_language_model(cfg, topt, on_event, cancel);
    db.flush();
    db.update_status(id, out.status, out.message);
    db.set_field(id, "ended_at", store::now_utc());
    return {id, out.status, out.message};
  } catch (const std::exception& e) {
    db.flush();
    db.update_status(id, "failed", e.what());
    db.set_field(id, "ended_at", store::now_utc());
    throw;
  }
}

bool record_job_error(store::RunStore& db, int64_t run, const std::exception& e, const std::atomic<bool>& cancel) {
  db.flush();
  const bool cancelled = cancel.load();
  db.update_status(run, cancelled ? "cancelled" : "failed", e.what());
  db.set_field(run, "ended_at", store::now_utc());
  return cancelled;
}

}  // namespace dm::jobs
