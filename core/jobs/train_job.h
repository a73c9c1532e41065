// A training Job: creates (or resumes) a run in the workspace database, trains on the calling
// thread, records every metric and the final status. The CLI and the GUI drive this same object;
// the GUI runs it on a worker thread and forwards the events as queued signals.
#pragma once

#include <atomic>
#include <string>

#include "core/config/experiment_config.h"
#include "core/jobs/workspace.h"
#include "core/train/events.h"

namespace dm::store {
class RunStore;
}

namespace dm::jobs {

struct TrainJobOptions {
  std::string name;         // default: the preset name (or "train")
  int64_t resume_run = 0;   // > 0: continue that run from its checkpoint
  int threads = 0;
  int64_t sweep_id = 0;     // the sweep the run belongs to (0: none)
};

struct JobResult {
  int64_t run_id = 0;
  std::string status;
  std::string message;
};

// `cfg` is ignored when resuming (the run's stored config is used). Exceptions from the trainer
// mark the run failed (message = the error) and are rethrown.
JobResult run_train_job(const Workspace& ws, const config::ExperimentConfig& cfg, const TrainJobOptions& opt,
                        const train::EventSink& sink, const std::atomic<bool>& cancel);

// The training overrides that put a run on a job --device: auto → none (trainer.accelerator=auto, the
// GPU when there is one), cpu → trainer.accelerator=cpu, cuda → trainer.accelerator=gpu, cuda:N → also
// trainer.devices=[N]. Throws ConfigError for anything else.
std::vector<std::string> device_overrides(const std::string& device);

// Rebuilds an ExperimentConfig from a stored run (its canonical JSON, preset and overrides).
config::ExperimentConfig config_of_run(const std::string& config_json, const std::string& preset,
                                       const std::string& overrides_json);

}  // namespace dm::jobs
