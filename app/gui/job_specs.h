// The core Jobs as queue entries: training from a preset + overrides, resuming a run, and the stages
// of the Quick comparison pipeline (needle fine-tuning, BABILong evaluation, lens training and
// evaluation). Each spec carries the equivalent `diffmamba …` command line.
#pragma once

#include <QString>
#include <QStringList>
#include <string>
#include <vector>

#include "app/gui/job_queue.h"

namespace dm::jobs {
struct FinetuneOptions;
struct BabilongEvalOptions;
struct LensTrainOptions;
struct LensEvalOptions;
}  // namespace dm::jobs
namespace dm::mad {
struct BenchmarkOptions;
}

namespace dm {
namespace gui {

// `diffmamba train experiment=… key=value …` in `workspace`; `args` are the seed-style arguments; the run
// joins sweep `sweepId` when > 0.
JobSpec trainJobSpec(const QString& workspace, const QStringList& args, const QString& name, int64_t sweepId = 0);
// `diffmamba train --resume ID`.
JobSpec resumeJobSpec(const QString& workspace, int64_t runId);

// The stages of the Quick comparison (core/jobs/quick_comparison.h builds their options), each with the
// `diffmamba …` command line that does the same.
JobSpec finetuneJobSpec(const QString& workspace, const jobs::FinetuneOptions& o);
JobSpec evalBabilongJobSpec(const QString& workspace, const jobs::BabilongEvalOptions& o);
JobSpec lensTrainJobSpec(const QString& workspace, const jobs::LensTrainOptions& o);
JobSpec lensEvalJobSpec(const QString& workspace, const jobs::LensEvalOptions& o);
// `diffmamba mad run …`: the MAD benchmark (every family × task × setting over the lr × wd grid, one sweep).
JobSpec madJobSpec(const QString& workspace, const mad::BenchmarkOptions& o, bool quick);

// How many processes `diffmamba train <args>` runs as (trainer.devices / trainer.accelerator); throws
// ConfigError for invalid arguments.
int processesFor(const QStringList& args);

// Quotes an argument for a POSIX shell when needed (for the command lines shown to the user).
QString shellQuote(const QString& arg);

}  // namespace gui
}  // namespace dm
