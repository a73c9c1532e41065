#include "app/figures/attention_data.h"

#include <algorithm>
#include <torch/torch.h>

#include "core/common/error.h"

namespace dm::figures {

namespace {

std::vector<int> ints(const torch::Tensor& t) {
  auto c = t.to(torch::kLong).contiguous();
  return std::vector<int>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}
std::vector<int64_t> longs(const torch::Tensor& t) {
  auto c = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

void clampWindow(int L, int& r0, int& r1, int& c0, int& c1) {
  r0 = std::clamp(r0, 0, L - 1), c0 = std::clamp(c0, 0, L - 1);
  r1 = r1 <= 0 ? L : std::clamp(r1, r0 + 1, L);
  c1 = c1 <= 0 ? L : std::clamp(c1, c0 + 1, L);
}

plotting::AttentionPanel cut(const torch::Tensor& map, int r0, int r1, int c0, int c1) {
  plotting::AttentionPanel p;
  p.r0 = r0, p.r1 = r1, p.c0 = c0, p.c1 = c1;
  auto w = map.slice(0, r0, r1).slice(1, c0, c1).to(torch::kFloat).contiguous();
  p.values.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  return p;
}

}  // namespace

AttentionFile openAttentionFile(const std::string& path) {
  AttentionFile f;
  f.path = path;
  f.npz = std::make_shared<io::NpzReader>(path);
  for (const char* k : {"tokens", "needle", "question", "blocks", "heads"})
    if (!f.npz->contains(k)) throw FileError(path, std::string("is not an attention file of diffmamba attention (no '") + k + "')");
  for (const auto& t : f.npz->strings("tokens")) f.tokens << QString::fromStdString(t);
  f.needle = ints(f.npz->tensor("needle"));
  f.question = ints(f.npz->tensor("question"));
  f.blocks = longs(f.npz->tensor("blocks"));
  f.heads = longs(f.npz->tensor("heads"));
  if (f.npz->contains("map_heads")) f.mapHeads = longs(f.npz->tensor("map_heads"));
  if (f.npz->contains("model")) {
    const auto m = f.npz->strings("model");
    if (!m.empty()) f.model = QString::fromStdString(m.front());
  }
  if (f.blocks.size() != f.heads.size()) throw FileError(path, "has " + std::to_string(f.blocks.size()) + " blocks but " +
                                                                   std::to_string(f.heads.size()) + " head counts");
  for (int p : f.needle)
    if (p < 0 || p >= f.length()) throw FileError(path, "has a needle position outside its " + std::to_string(f.length()) + " tokens");
  for (int p : f.question)
    if (p < 0 || p >= f.length()) throw FileError(path, "has a question position outside its tokens");
  return f;
}

plotting::AttentionPanel attentionPanel(const AttentionFile& f, int64_t block, int64_t head, const std::string& map,
                                        int r0, int r1, int c0, int c1) {
  const auto it = std::find(f.blocks.begin(), f.blocks.end(), block);
  if (it == f.blocks.end()) {
    std::string have;
    for (auto b : f.blocks) have += (have.empty() ? "" : ", ") + std::to_string(b);
    throw FileError(f.path, "has no maps of block " + std::to_string(block) + " (blocks: " + have + ")");
  }
  const std::string name = "block" + std::to_string(block) + "/" + map;
  if (!f.npz->contains(name))
    throw FileError(f.path, "has no '" + map + "' map of block " + std::to_string(block) +
                                (map == "combined" ? " (written with --no-maps?)" : " (only differential blocks have branch maps)"));
  int64_t index = head;
  if (!f.mapHeads.empty()) {
    const auto h = std::find(f.mapHeads.begin(), f.mapHeads.end(), head);
    if (h == f.mapHeads.end()) throw FileError(f.path, "holds no map of head " + std::to_string(head) + " (written with --heads)");
    index = h - f.mapHeads.begin();
  }
  const auto maps = f.npz->tensor(name);
  const int L = f.length();
  if (maps.dim() != 3 || maps.size(1) != L || maps.size(2) != L)
    throw FileError(f.path, name + " is not [heads, L, L] for its " + std::to_string(L) + " tokens");
  if (index < 0 || index >= maps.size(0))
    throw FileError(f.path, "block " + std::to_string(block) + " has heads 0–" + std::to_string(maps.size(0) - 1));
  clampWindow(L, r0, r1, c0, c1);
  auto p = cut(maps[index], r0, r1, c0, c1);
  p.label = QStringLiteral("%1 · block %2 · head %3").arg(f.model.isEmpty() ? QString::fromStdString(f.path) : f.model).arg(block).arg(head);
  if (map != "combined") p.label += QStringLiteral(" · ") + QString::fromStdString(map);
  p.needle = f.needle, p.question = f.question, p.tokens = f.tokens;
  return p;
}

plotting::AttentionCurve attentionCurve(const AttentionFile& f, const std::string& metric) {
  const std::string name = "metrics/" + metric;
  if (!f.npz->contains(name)) throw FileError(f.path, "has no metric '" + metric + "'");
  const auto v = f.npz->tensor(name).to(torch::kDouble).contiguous();
  if (v.numel() != static_cast<int64_t>(f.blocks.size())) throw FileError(f.path, name + " has " + std::to_string(v.numel()) + " values for " +
                                                                         std::to_string(f.blocks.size()) + " blocks");
  plotting::AttentionCurve c;
  c.label = f.model.isEmpty() ? QString::fromStdString(f.path) : f.model;
  for (size_t i = 0; i < f.blocks.size(); ++i) {
    c.blocks.push_back(static_cast<int>(f.blocks[i]));
    c.values.push_back(v[static_cast<int64_t>(i)].item<double>());
  }
  return c;
}

plotting::AttentionPanel attentionPanel(const model::ImplicitAttention& a, size_t layer, int64_t head,
                                        model::AttentionMap map, const std::vector<std::string>& tokens,
                                        const std::vector<int64_t>& needle, const std::vector<int64_t>& question,
                                        int r0, int r1, int c0, int c1) {
  const int L = static_cast<int>(a.length());
  clampWindow(L, r0, r1, c0, c1);
  auto p = cut(a.rows(layer, head, map, r0, r1), 0, r1 - r0, c0, c1);
  p.r0 = r0, p.r1 = r1;
  for (const auto& t : tokens) p.tokens << QString::fromStdString(t);
  for (auto n : needle) p.needle.push_back(static_cast<int>(n));
  for (auto q : question) p.question.push_back(static_cast<int>(q));
  return p;
}

}  // namespace dm::figures
