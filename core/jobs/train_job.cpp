#include "core/jobs/train_job.h"

#include <memory>
#include <torch/torch.h>

#include "core/common/error.h"
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

JobResult run_train_job(const Workspace& ws, const config::ExperimentConfig& given, const TrainJobOptions& opt,
                        const train::EventSink& sink, const std::atomic<bool>& cancel) {
  ws.ensure();
  store::RunStore db(ws.db_path());
  config::ExperimentConfig cfg = given;
  std::unique_ptr<RunSession> session;
  if (opt.resume_run > 0) {
    session = std::make_unique<RunSession>(db, ws, opt.resume_run);
    const auto& rec = session->record();
    cfg = config_of_run(rec.config_json, rec.preset, rec.overrides_json);
  } else {
    RunSpec spec;
    spec.name = !opt.name.empty() ? opt.name : (cfg.preset.empty() ? "train" : cfg.preset);
    spec.kind = "train";
    spec.family = cfg.string("model.family");
    spec.preset = cfg.preset;
    spec.overrides_json = nlohmann::json(cfg.overrides).dump();
    spec.config_json = cfg.canonical_json();
    spec.config_hash = cfg.hash();
    session = std::make_unique<RunSession>(db, ws, spec);
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

}  // namespace dm::jobs
