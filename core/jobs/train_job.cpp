#include "core/jobs/train_job.h"

#include <c10/util/Exception.h>

#include <memory>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/dist/dist.h"
#include "core/jobs/run_session.h"
#include "core/store/run_store.h"
#include "core/train/trainer.h"

namespace dm::jobs {

config::ExperimentConfig config_of_run(const std::string& config_json, const std::string& preset,
                                       const std::string& overrides_json) {
  config::ExperimentConfig c;
  c.tree = nlohmann::json::parse(config_json);
  c.preset = preset;
  if (!overrides_json.empty()) c.overrides = nlohmann::json::parse(overrides_json).get<std::vector<std::string>>();
  return c;
}

namespace {

JobResult train_distributed(const Workspace& ws, const config::ExperimentConfig& given, const TrainJobOptions& opt,
                            const train::EventSink& sink, const std::atomic<bool>& cancel, const dist::Env& env);

}  // namespace

namespace {

RunSpec train_spec(const config::ExperimentConfig& cfg, const TrainJobOptions& opt) {
  RunSpec spec;
  spec.name = !opt.name.empty() ? opt.name : (cfg.preset.empty() ? "train" : cfg.preset);
  spec.kind = "train";
  spec.sweep_id = opt.sweep_id;
  spec.family = cfg.string("model.family");
  spec.preset = cfg.preset;
  spec.overrides_json = nlohmann::json(cfg.overrides).dump();
  spec.config_json = cfg.canonical_json();
  spec.config_hash = cfg.hash();
  return spec;
}

}  // namespace

JobResult run_train_job(const Workspace& ws, const config::ExperimentConfig& given, const TrainJobOptions& opt,
                        const train::EventSink& sink, const std::atomic<bool>& cancel) {
  const auto env = dist::from_environment();
  if (env.active()) return train_distributed(ws, given, opt, sink, cancel, env);
  ws.ensure();
  store::RunStore db(ws.db_path());
  config::ExperimentConfig cfg = given;
  std::unique_ptr<RunSession> session;
  if (opt.resume_run > 0) {
    session = std::make_unique<RunSession>(db, ws, opt.resume_run);
    const auto& rec = session->record();
    cfg = config_of_run(rec.config_json, rec.preset, rec.overrides_json);
  } else {
    session = std::make_unique<RunSession>(db, ws, train_spec(cfg, opt));
  }
  const int64_t id = session->id();
  const auto on_event = session->sink(sink);
  train::TrainOptions topt;
  topt.run_dir = session->run_dir();
  topt.data_root = ws.data_dir();
  topt.resume = opt.resume_run > 0;
  topt.threads = opt.threads;
  try {
    db.set_field(id, "device", train::resolve_device(cfg, nullptr).str());
    auto out = train::train_language_model(cfg, topt, on_event, cancel);
    session->finish(out.status, out.message);
    return {id, out.status, out.message};
  } catch (const std::exception& e) {
    session->finish("failed", e.what());
    throw;
  }
}

namespace {

// Every rank trains; rank 0 alone opens the run record (one run, not N), and hands the run's config and
// folder to the others through the rendezvous store. An error on rank 0 before that is handed over too,
// so the other ranks stop with it instead of waiting for the timeout.
JobResult train_distributed(const Workspace& ws, const config::ExperimentConfig& given, const TrainJobOptions& opt,
                            const train::EventSink& sink, const std::atomic<bool>& cancel, const dist::Env& env) {
  dist::Group group(env);
  std::unique_ptr<store::RunStore> db;
  std::unique_ptr<RunSession> session;
  config::ExperimentConfig cfg = given;
  nlohmann::json handed;
  if (env.rank == 0) {
    try {
      ws.ensure();
      db = std::make_unique<store::RunStore>(ws.db_path());
      if (opt.resume_run > 0) {
        session = std::make_unique<RunSession>(*db, ws, opt.resume_run);
        const auto& rec = session->record();
        cfg = config_of_run(rec.config_json, rec.preset, rec.overrides_json);
      } else {
        session = std::make_unique<RunSession>(*db, ws, train_spec(cfg, opt));
      }
      handed = {{"config", cfg.canonical_json()}, {"preset", cfg.preset}, {"overrides", nlohmann::json(cfg.overrides).dump()},
                {"run_dir", session->run_dir()}, {"run", session->id()}};
    } catch (const std::exception& e) {
      group.share("run", nlohmann::json{{"error", e.what()}}.dump());
      throw;
    }
    group.share("run", handed.dump());
  } else {
    handed = nlohmann::json::parse(group.share("run", ""));
    if (handed.contains("error")) throw Error("rank 0 could not start the run: " + handed["error"].get<std::string>());
    cfg = config_of_run(handed["config"].get<std::string>(), handed["preset"].get<std::string>(),
                        handed["overrides"].get<std::string>());
  }
  const int64_t id = handed["run"].get<int64_t>();
  train::TrainOptions topt;
  topt.run_dir = handed["run_dir"].get<std::string>();
  topt.data_root = ws.data_dir();
  topt.resume = opt.resume_run > 0;
  topt.threads = opt.threads;
  topt.group = &group;
  const auto on_event = session ? session->sink(sink) : train::EventSink{};
  try {
    group.connect(train::resolve_device(cfg, nullptr, env.local_rank, env.local_world));
    if (session) db->set_field(id, "device", group.describe());
    auto out = train::train_language_model(cfg, topt, on_event, cancel);
    if (session) session->finish(out.status, out.message);
    return {id, out.status, out.message};
  } catch (const c10::DistBackendError& e) {
    // Gloo / NCCL: a peer closed its connection or a collective timed out.
    std::string why = e.what_without_backtrace();
    if (const auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    const std::string msg = "rank " + std::to_string(env.rank) + ": lost another rank (it died, or a collective took "
                            "longer than DM_DIST_TIMEOUT): " + why;
    if (session) session->finish("failed", msg);
    throw Error(msg);
  } catch (const std::exception& e) {
    if (session) session->finish("failed", "rank " + std::to_string(env.rank) + ": " + e.what());
    throw;
  }
}

}  // namespace

std::vector<std::string> device_overrides(const std::string& device) {
  if (device == "auto") return {};
  if (device == "cpu") return {"trainer.accelerator=cpu"};
  if (device == "cuda") return {"trainer.accelerator=gpu"};
  if (device.rfind("cuda:", 0) == 0 && device.size() > 5 && device.size() < 9 &&
      device.find_first_not_of("0123456789", 5) == std::string::npos)
    return {"trainer.accelerator=gpu", "trainer.devices=[" + device.substr(5) + "]"};
  throw ConfigError("device", device, "must be auto, cpu, cuda or cuda:N");
}

}  // namespace dm::jobs
