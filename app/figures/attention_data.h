// Implicit attention figures from the files of `diffmamba attention` (.npz) and from maps computed in
// memory (the window's viewer): panels and per-layer curves for plotting/attention_chart.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/io/npz.h"
#include "core/model/implicit_attention.h"
#include "plotting/attention_chart.h"

namespace dm::figures {

// One attention .npz, opened (the maps stay in the file until a panel is cut out of them).
struct AttentionFile {
  std::string path;
  std::shared_ptr<io::NpzReader> npz;
  QString model;
  QStringList tokens;
  std::vector<int> needle, question;
  std::vector<int64_t> blocks, heads, mapHeads;  // heads: per block; mapHeads: the heads stored (empty: all)
  int length() const { return static_cast<int>(tokens.size()); }
};
// Throws FileError for a file that is not an attention .npz (names what is missing).
AttentionFile openAttentionFile(const std::string& path);

// The window rows [r0, r1) × columns [c0, c1) (clamped to [0, L); r1/c1 ≤ 0: to the end) of one map
// ("combined", "branch1", "branch2") of `block` and `head` (the model's head index). Throws FileError for
// a block, head or map the file does not hold.
plotting::AttentionPanel attentionPanel(const AttentionFile& f, int64_t block, int64_t head, const std::string& map,
                                        int r0 = 0, int r1 = 0, int c0 = 0, int c1 = 0);
// A per-block metric ("snr", "needle_mass", "entropy", "removed", "branch1_snr", …) as a curve.
plotting::AttentionCurve attentionCurve(const AttentionFile& f, const std::string& metric);

// The same from maps in memory (the viewer): a window of one head's map, and the panel's marks.
plotting::AttentionPanel attentionPanel(const model::ImplicitAttention& a, size_t layer, int64_t head,
                                        model::AttentionMap map, const std::vector<std::string>& tokens,
                                        const std::vector<int64_t>& needle, const std::vector<int64_t>& question,
                                        int r0 = 0, int r1 = 0, int c0 = 0, int c1 = 0);

}  // namespace dm::figures
