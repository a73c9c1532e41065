// The core Jobs as queue entries: training from a preset + overrides, resuming a run, and the stages
// of the Quick comparison pipeline (needle fine-tuning, BABILong evaluation, lens training and
// evaluation). Each spec carries the equivalent `diffmamba …` command line.
#pragma once

#include <QString>
#include <QStringList>
#include <string>
#include <vector>

#include "app/gui/job_queue.h"

namespace dm {
namespace gui {

// `diffmamba train experiment=… key=value …` in `workspace`; `args` are the seed-style arguments.
JobSpec trainJobSpec(const QString& workspace, const QStringList& args, const QString& name);
// `diffmamba train --resume ID`.
JobSpec resumeJobSpec(const QString& workspace, int64_t runId);

struct NeedleSpec {
  QString ckptPath, outputDir, name;
  QStringList tasks = {"qa1", "qa2", "qa3", "qa4", "qa5"};
  int64_t maxSteps = 60, samples = 200, batchSize = 4;
  double lr = 1e-3;
  uint64_t seed = 0;
};
JobSpec finetuneNeedleJobSpec(const QString& workspace, const NeedleSpec& s);

struct EvalSpec {
  QString ckptPath, name;
  QStringList tasks = {"qa1", "qa2", "qa3", "qa4", "qa5"}, lengths = {"0k", "1k"};
  int64_t samples = 20, maxNewTokens = 20;  // 20: the seed's; a character-level answer needs its letters
  bool answerCue = false;                    // end the prompt with " Answer:" (eval-babilong --answer_cue)
};
JobSpec evalBabilongJobSpec(const QString& workspace, const EvalSpec& s);

struct LensSpec {
  QString ckptPath, lensDir, name;
  int64_t steps = 20, tokensPerStep = 4096, maxSeqLen = 256, samples = 20;
};
JobSpec lensTrainJobSpec(const QString& workspace, const LensSpec& s);
JobSpec lensEvalJobSpec(const QString& workspace, const LensSpec& s);

// How many processes `diffmamba train <args>` runs as (trainer.devices / trainer.accelerator); throws
// ConfigError for invalid arguments.
int processesFor(const QStringList& args);

// Quotes an argument for a POSIX shell when needed (for the command lines shown to the user).
QString shellQuote(const QString& arg);

}  // namespace gui
}  // namespace dm
