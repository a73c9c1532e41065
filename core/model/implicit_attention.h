// Implicit attention of Mamba2-family layers (the SSD dual form, spec upstream.md §2): an SSD scan is
// y_i = Σ_{j≤i} M[h, i, j] x_j + D_h x_i with
//   M[h, i, j] = (C_i · B_j) · exp(Σ_{k=j+1..i} Δ_k A_h) · Δ_j   (j ≤ i; 0 above the diagonal),
// B, C of the head's group. The maps are computed from what the model's own forward fed its scans
// (Mamba2MixerImpl::trace), so they cannot drift from the forward. Differential blocks also get the
// combination they apply, M₁ − λ·M₂ (Diff-Mamba2: mixer_1 − λ·mixer_2; Diff-Mamba2E: upper half of the
// heads − λ·lower half; Diff-S6-Mamba2: scan 1 − λ·scan 2). Each branch passes its own gated RMSNorm (and,
// except Diff-S6-Mamba2, out_proj) before the subtraction, so the combined map shows the subtraction of the
// two score maps, not one linear operator of one x; the branch maps are kept and exact.
//
// Only the scan inputs are kept (O(L·(H + 2·G·N)) per layer); a map is computed on request, a row block at
// a time, so a 4k-token sample needs one [L, L] head at most.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/block.h"
#include "core/model/language_model.h"

namespace dm::model {

enum class AttentionMap { combined, branch1, branch2 };

struct AttentionLayer {
  int64_t block = 0;  // 0-based block index in the backbone
  SubLayer kind = SubLayer::mamba2;
  double lambda = 0.0;  // differential blocks: λ as the block applies it
  int64_t heads = 0;    // heads of every map of this layer
  std::vector<SsdTrace> branches;  // 1 (Mamba2) or 2 (branch 1, branch 2); x, d, y only with keep_values
  int64_t head_offset[2] = {0, 0};  // branch k's head h is its trace's head h + head_offset[k]
  bool differential() const { return branches.size() == 2; }
};

class ImplicitAttention {
 public:
  // Runs `m`'s forward (eval, no grad) on one sequence `ids` [L] with traces on the scans of `blocks`
  // (0-based; empty: every Mamba2-family block). Throws ConfigError for a block out of range or of a kind
  // without a Mamba2 scan (FFN, Mamba-1), naming the blocks that have one.
  // `keep_values`: also keep each scan's x, D and output (to check M·x + D·x against the forward); the maps
  // need only Δ, A, B and C, so by default x and y (2·L·H·P floats per scan) are dropped.
  static ImplicitAttention trace(LanguageModel& m, const torch::Tensor& ids, const std::vector<int64_t>& blocks = {},
                                 bool keep_values = false);

  int64_t length() const { return length_; }
  const std::vector<AttentionLayer>& layers() const { return layers_; }
  // Blocks of `m` that have a map (Mamba2, Diff-Mamba2, Diff-Mamba2E, Diff-S6-Mamba2).
  static std::vector<int64_t> mapped_blocks(LanguageModel& m);

  // Rows [r0, r1) of one head's map: [r1 − r0, L] float32, zero above the diagonal. Throws ConfigError on
  // a bad layer, head, range, or a branch map of a non-differential layer.
  torch::Tensor rows(size_t layer, int64_t head, AttentionMap which, int64_t r0, int64_t r1) const;
  torch::Tensor matrix(size_t layer, int64_t head, AttentionMap which = AttentionMap::combined) const;

 private:
  int64_t length_ = 0;
  std::vector<AttentionLayer> layers_;
};

const char* attention_map_name(AttentionMap m);  // "combined", "branch1", "branch2"

// What a researcher compares across layers and families, over the rows `queries` (empty: every row) of
// one head's map, on |M| (the maps are signed):
//   needle_mass  mean over rows of Σ_{j∈needle}|M_ij| / Σ_j|M_ij|;
//   snr          (mass per needle token) / (mass per other token), pooled over the rows;
//   entropy      mean over rows of −Σ p log p, p = |M_ij| / Σ_j|M_ij| (nats);
//   removed      differential layers: 1 − Σ|M₁ − λM₂| / Σ|M₁| over the rows (NaN otherwise): how much of
//                branch 1's mass the subtraction cancels.
// Rows with no mass are skipped; needle positions past a row do not count for it.
struct AttentionStats {
  double needle_mass = 0, snr = 0, entropy = 0, removed = 0;
  int64_t rows = 0;
};
AttentionStats attention_stats(const ImplicitAttention& a, size_t layer, int64_t head, AttentionMap which,
                               const std::vector<int64_t>& needle, const std::vector<int64_t>& queries);
// The same, averaged over the layer's heads.
AttentionStats layer_attention_stats(const ImplicitAttention& a, size_t layer, AttentionMap which,
                                     const std::vector<int64_t>& needle, const std::vector<int64_t>& queries);

}  // namespace dm::model
