// Mamba2 → Diff-Mamba2 conversion as the released fine-tuning recipe does it (spec upstream.md §4.4):
// every selected block's mixer is split into two half-width mixers by purely positional slicing
// (mixer_1 takes the first rows/channels/columns, mixer_2 the last), per-head dt_bias/A_log/D copied
// to both, lambda_q1 drawn fresh from N(0, 1), subln = 1. Not function-preserving (upstream quirk).
#pragma once

#include <cstdint>
#include <string>

#include "core/model/language_model.h"

namespace dm::io {

// `settings`: alternate | all | quarter | <k>. Blocks that are already differential are copied.
model::LanguageModel convert_to_diffmamba(model::LanguageModel& src, const std::string& settings, uint64_t seed = 0);

}  // namespace dm::io
