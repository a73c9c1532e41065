#include "core/model/implicit_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <torch/torch.h>

#include "core/common/error.h"

namespace dm::model {

namespace {

bool has_map(SubLayer k) {
  return k == SubLayer::mamba2 || k == SubLayer::diffmamba2 || k == SubLayer::diffmamba2E || k == SubLayer::diffs6mamba2;
}

std::string list(const std::vector<int64_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return s.empty() ? "none" : s;
}

// Rows [r0, r1) of one scan's map for trace head `h`, float32.
torch::Tensor branch_rows(const SsdTrace& t, int64_t h, int64_t r0, int64_t r1) {
  const int64_t L = t.dt.size(1), H = t.dt.size(2), G = t.b.size(2);
  const int64_t g = h / (H / G);
  auto dt = t.dt.index({0, torch::indexing::Slice(), h}).to(torch::kDouble);  // [L]
  // Σ_{k=j+1..i} Δ_k A = cs_i − cs_j with cs the inclusive cumulative sum, kept in float64 so long
  // sequences do not lose the small differences.
  auto cs = torch::cumsum(dt * t.a.index({h}).to(torch::kDouble), 0);
  auto seg = cs.slice(0, r0, r1).unsqueeze(1) - cs.unsqueeze(0);  // [R, L]
  auto i = torch::arange(r0, r1, torch::kLong).unsqueeze(1), j = torch::arange(L, torch::kLong).unsqueeze(0);
  // The differences in float64, the exponential in float32 (its relative precision is float32's anyway).
  auto decay = torch::exp(seg.to(torch::kFloat).masked_fill(j > i, -std::numeric_limits<float>::infinity()));
  auto cm = t.c.index({0, torch::indexing::Slice(r0, r1), g}).to(torch::kFloat);  // [R, N]
  auto bm = t.b.index({0, torch::indexing::Slice(), g}).to(torch::kFloat);         // [L, N]
  auto cb = torch::matmul(cm, bm.t());
  return cb * (decay * dt.to(torch::kFloat).unsqueeze(0));
}

}  // namespace

const char* attention_map_name(AttentionMap m) {
  switch (m) {
    case AttentionMap::combined: return "combined";
    case AttentionMap::branch1: return "branch1";
    case AttentionMap::branch2: return "branch2";
  }
  return "?";
}

std::vector<int64_t> ImplicitAttention::mapped_blocks(LanguageModel& m) {
  std::vector<int64_t> out;
  for (const auto& b : m->backbone->layers)
    if (has_map(b->kind())) out.push_back(b->index());
  return out;
}

ImplicitAttention ImplicitAttention::trace(LanguageModel& m, const torch::Tensor& ids, const std::vector<int64_t>& blocks,
                                           bool keep_values) {
  if (ids.dim() != 1 || ids.size(0) < 1) throw ShapeError("implicit attention: ids must be one sequence [L] with L ≥ 1");
  const auto mapped = mapped_blocks(m);
  if (mapped.empty())
    throw ConfigError("model", "(no Mamba2 scan)", "has no Mamba2-family block (Mamba-1 and FFN blocks have no SSD map)");
  std::vector<int64_t> chosen = blocks.empty() ? mapped : blocks;
  auto& layers = m->backbone->layers;
  ImplicitAttention out;
  out.length_ = ids.size(0);
  out.layers_.reserve(chosen.size());
  for (size_t k = 0; k < chosen.size(); ++k) {
    const auto b = chosen[k];
    if (std::find(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(k), b) != chosen.begin() + static_cast<std::ptrdiff_t>(k))
      throw ConfigError("layers", std::to_string(b), "is named twice");
    if (b < 0 || b >= static_cast<int64_t>(layers.size()) || !has_map(layers[b]->kind()))
      throw ConfigError("layers", std::to_string(b),
                        "is not a block with a Mamba2 scan; blocks with a map: " + list(mapped) + " (0-based)");
    AttentionLayer l;
    l.block = b;
    l.kind = layers[b]->kind();
    l.branches.resize(l.kind == SubLayer::mamba2 ? 1 : 2);
    for (auto& t : l.branches) t.keep_values = keep_values;
    out.layers_.push_back(std::move(l));
  }
  // Install the probes (pointers into layers_, which no longer grows), run, always remove them.
  auto install = [&](bool on) {
    for (auto& l : out.layers_) {
      auto& blk = layers[l.block];
      switch (l.kind) {
        case SubLayer::mamba2:
        case SubLayer::diffmamba2E: blk->mixer->trace = on ? &l.branches[0] : nullptr; break;
        case SubLayer::diffmamba2:
          blk->mixer_1->trace = on ? &l.branches[0] : nullptr;
          blk->mixer_2->trace = on ? &l.branches[1] : nullptr;
          break;
        case SubLayer::diffs6mamba2:
          blk->s6mamba2->trace1 = on ? &l.branches[0] : nullptr;
          blk->s6mamba2->trace2 = on ? &l.branches[1] : nullptr;
          break;
        default: break;
      }
    }
  };
  const bool was_training = m->is_training();
  m->eval();
  install(true);
  try {
    torch::NoGradGuard no_grad;
    m->hidden(ids.to(torch::kLong).unsqueeze(0).to(m->parameters().front().device()));
  } catch (...) {
    install(false);
    if (was_training) m->train();
    throw;
  }
  install(false);
  if (was_training) m->train();
  for (auto& l : out.layers_) {
    auto& blk = layers[l.block];
    auto& t0 = l.branches[0];
    const int64_t h = t0.dt.size(2);
    auto settle = [&](SsdTrace& t) {
      for (auto* p : {&t.dt, &t.a, &t.b, &t.c}) *p = p->to(torch::kCPU);
      if (keep_values) {
        for (auto* p : {&t.x, &t.d, &t.y}) *p = p->to(torch::kCPU);
      } else {
        t.x = t.d = t.y = torch::Tensor();
      }
    };
    settle(t0);
    if (l.differential() && l.kind != SubLayer::diffmamba2E) settle(l.branches[1]);  // Diff-Mamba2E fills branch 2 below
    l.heads = h;
    if (l.kind == SubLayer::diffmamba2E) {
      // One scan; the block combines y_hi − λ·y_lo, the halves of the heads.
      l.heads = h / 2;
      l.branches[1] = t0;
      l.head_offset[0] = h / 2;
      l.head_offset[1] = 0;
    }
    if (l.differential())
      l.lambda = (l.kind == SubLayer::diffs6mamba2 ? blk->s6mamba2->lambda() : blk->lambda()).item<double>();
  }
  return out;
}

torch::Tensor ImplicitAttention::rows(size_t layer, int64_t head, AttentionMap which, int64_t r0, int64_t r1) const {
  if (layer >= layers_.size())
    throw ConfigError("layer", std::to_string(layer), "must be below " + std::to_string(layers_.size()) + " (traced layers)");
  const auto& l = layers_[layer];
  if (head < 0 || head >= l.heads)
    throw ConfigError("head", std::to_string(head), "must be in [0, " + std::to_string(l.heads) + ")");
  if (r0 < 0 || r1 > length_ || r0 >= r1)
    throw ConfigError("rows", std::to_string(r0) + ".." + std::to_string(r1),
                      "must be a non-empty range within [0, " + std::to_string(length_) + "]");
  if (!l.differential() && which != AttentionMap::combined)
    throw ConfigError("map", attention_map_name(which), "only differential layers have branch maps");
  if (which == AttentionMap::branch1) return branch_rows(l.branches[0], head + l.head_offset[0], r0, r1);
  if (which == AttentionMap::branch2) return branch_rows(l.branches[1], head + l.head_offset[1], r0, r1);
  auto m1 = branch_rows(l.branches[0], head + l.head_offset[0], r0, r1);
  if (!l.differential()) return m1;
  return m1 - static_cast<float>(l.lambda) * branch_rows(l.branches[1], head + l.head_offset[1], r0, r1);
}

torch::Tensor ImplicitAttention::matrix(size_t layer, int64_t head, AttentionMap which) const {
  return rows(layer, head, which, 0, length_);
}

AttentionStats attention_stats(const ImplicitAttention& a, size_t layer, int64_t head, AttentionMap which,
                               const std::vector<int64_t>& needle, const std::vector<int64_t>& queries) {
  const int64_t L = a.length();
  auto is_needle = torch::zeros({L}, torch::kDouble);
  for (auto j : needle) {
    if (j < 0 || j >= L) throw ConfigError("needle", std::to_string(j), "position outside [0, " + std::to_string(L) + ")");
    is_needle[j] = 1.0;
  }
  auto is_query = torch::zeros({L}, torch::kBool);
  if (queries.empty()) is_query.fill_(true);
  for (auto i : queries) {
    if (i < 0 || i >= L) throw ConfigError("queries", std::to_string(i), "position outside [0, " + std::to_string(L) + ")");
    is_query[i] = true;
  }
  const auto needle_before = torch::cumsum(is_needle, 0);  // needle tokens at or before each row
  const bool diff = a.layers().at(layer).differential() && which == AttentionMap::combined;
  AttentionStats s;
  double mass_sum = 0, ent_sum = 0, needle_total = 0, other_total = 0, needle_count = 0, other_count = 0;
  double kept = 0, branch_mass = 0;
  // Exactly the query rows, in runs of consecutive positions cut to ≤ 256 rows ([256, L] floats per block).
  constexpr int64_t kBlock = 256;
  std::vector<std::pair<int64_t, int64_t>> blocks;
  {
    const auto q = is_query.nonzero().flatten().contiguous();
    const auto* p = q.data_ptr<int64_t>();
    for (int64_t k = 0; k < q.numel(); ++k) {
      if (!blocks.empty() && blocks.back().second == p[k] && blocks.back().second - blocks.back().first < kBlock)
        ++blocks.back().second;
      else
        blocks.push_back({p[k], p[k] + 1});
    }
  }
  for (const auto& [r0, r1] : blocks) {
    torch::Tensor rows;
    if (diff) {  // the branches once: the combined rows and branch 1's mass from the same blocks
      const auto b1 = a.rows(layer, head, AttentionMap::branch1, r0, r1);
      rows = b1 - static_cast<float>(a.layers()[layer].lambda) * a.rows(layer, head, AttentionMap::branch2, r0, r1);
      branch_mass += b1.abs().to(torch::kDouble).sum().item<double>();
    } else {
      rows = a.rows(layer, head, which, r0, r1);
    }
    auto m = rows.abs().to(torch::kDouble);  // [R, L]
    auto total = m.sum(1);
    if (diff) kept += total.sum().item<double>();
    const auto live = total > 0;  // rows with no mass are skipped
    m = m.index({live}), total = total.index({live});
    if (total.numel() == 0) continue;
    auto nm = torch::matmul(m, is_needle);
    auto p = m / total.unsqueeze(1);
    const auto pos = torch::arange(r0, r1, torch::kDouble).index({live});
    const auto nn = needle_before.slice(0, r0, r1).index({live});
    mass_sum += (nm / total).sum().item<double>();
    ent_sum += -(p * torch::log(p.clamp_min(1e-300))).sum().item<double>();
    needle_total += nm.sum().item<double>();
    other_total += (total - nm).sum().item<double>();
    needle_count += nn.sum().item<double>();
    other_count += (pos + 1 - nn).sum().item<double>();
    s.rows += total.numel();
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.needle_mass = s.rows ? mass_sum / static_cast<double>(s.rows) : nan;
  s.entropy = s.rows ? ent_sum / static_cast<double>(s.rows) : nan;
  s.snr = needle_count > 0 && other_count > 0 && other_total > 0 ? (needle_total / needle_count) / (other_total / other_count)
                                                                  : nan;
  s.removed = diff && branch_mass > 0 ? 1.0 - kept / branch_mass : nan;
  return s;
}

AttentionStats layer_attention_stats(const ImplicitAttention& a, size_t layer, AttentionMap which,
                                     const std::vector<int64_t>& needle, const std::vector<int64_t>& queries) {
  const int64_t H = a.layers().at(layer).heads;
  AttentionStats m;
  for (int64_t h = 0; h < H; ++h) {
    const auto s = attention_stats(a, layer, h, which, needle, queries);
    m.needle_mass += s.needle_mass / H, m.snr += s.snr / H, m.entropy += s.entropy / H, m.removed += s.removed / H;
    m.rows = s.rows;
  }
  return m;
}

}  // namespace dm::model
