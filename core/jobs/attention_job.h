// `diffmamba attention` and the window's attention viewer: a text or a BABILong sample prepared as the
// model sees it (tokens, where the needle facts and the question are), the implicit attention maps of its
// Mamba2-family layers (core/model/implicit_attention.h), their per-layer metrics, and the .npz file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/babilong/babilong.h"
#include "core/data/codec.h"
#include "core/model/implicit_attention.h"

namespace dm::jobs {

struct AttentionSample {
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;           // each token's text as decoded alone
  std::vector<int64_t> needle, question;     // token positions, ascending
  std::vector<std::string> needle_sentences;  // what was looked for
  std::string needle_origin;                 // "facts", "question words", "--needle" or "none"
  std::string label;                         // "text" or "<file> #<index>"
};

// Tokens of `text` (the codec's normalisation applies); the needle is every token overlapping any
// occurrence of one of `needles`, the question the tokens overlapping the last occurrence of `question`
// (empty: none). Throws ConfigError for an empty text.
AttentionSample attention_sample_from_text(const data::Codec& codec, const std::string& text,
                                           const std::vector<std::string>& needles, const std::string& question);
// A BABILong record in the prompt eval-babilong gives the model (format_prompt, no instruction). The
// needle: `needles` when given, else the record's facts, else (released files carry no facts) the
// sentences of its input that name a content word of the question (e.g. "Mary" in "Where is Mary?").
AttentionSample attention_sample_from_record(const data::Codec& codec, const babilong::Record& r,
                                             const std::vector<std::string>& needles = {});

struct AttentionLayerReport {
  int64_t block = 0;
  std::string kind;  // "Mamba2", "Diff-Mamba2", "Diff-Mamba2E", "Diff-S6-Mamba2"
  double lambda = 0;  // NaN for Mamba2 layers
  int64_t heads = 0;
  model::AttentionStats combined;  // the map the layer applies
  model::AttentionStats branch1;   // differential layers: branch 1 alone (the map before the subtraction)
};
// Per-layer metrics (heads averaged) over the question's rows (the last row when there is no question).
std::vector<AttentionLayerReport> attention_report(const model::ImplicitAttention& a, const AttentionSample& s);

struct AttentionFileOptions {
  std::vector<int64_t> heads;  // empty: every head
  bool float16 = false;
  bool maps = true;   // false: tokens, positions and metrics only
  std::string model;  // a label stored with the maps
};
// Bytes the maps of write_attention_npz would take (for the 4 GiB limit and the user's choice).
uint64_t attention_npz_bytes(const model::ImplicitAttention& a, const AttentionFileOptions& o);
// Writes `path` (atomic): tokens, ids, needle, question, blocks, lambda, heads (per layer), map_heads (the
// heads stored; empty: all), model, kinds, the metrics
// (metrics/{needle_mass,snr,entropy,removed} and metrics/branch1_{needle_mass,snr,entropy}, one value per
// layer) and per layer block<b>/combined [heads, L, L] plus block<b>/branch1 and /branch2 for differential
// layers, float32 (float16 with o.float16), computed and written a row block at a time. Throws
// ConfigError when the maps would pass the 4 GiB a .npz can hold here, naming the ways to shrink them.
void write_attention_npz(const std::string& path, const model::ImplicitAttention& a, const AttentionSample& s,
                         const std::vector<AttentionLayerReport>& report, const AttentionFileOptions& o);

}  // namespace dm::jobs
