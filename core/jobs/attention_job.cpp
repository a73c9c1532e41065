#include "core/jobs/attention_job.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/npy.h"
#include "core/io/npz.h"

namespace dm::jobs {

namespace {

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Marks the tokens overlapping text [a, b) of the tokens' concatenation (offsets: start of each token, plus
// the end).
void mark(const std::vector<size_t>& offsets, size_t a, size_t b, std::set<int64_t>& out) {
  // first token whose end is past a
  auto k = static_cast<size_t>(std::upper_bound(offsets.begin() + 1, offsets.end(), a) - offsets.begin()) - 1;
  for (; k + 1 < offsets.size() && offsets[k] < b; ++k)
    if (offsets[k + 1] > offsets[k]) out.insert(static_cast<int64_t>(k));
}

// Sentences of a BABILong input (ends at . ! ? followed by a space or the end).
std::vector<std::string> sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    cur += text[i];
    if ((text[i] == '.' || text[i] == '!' || text[i] == '?') && (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1])))) {
      if (auto t = trim(cur); !t.empty()) out.push_back(t);
      cur.clear();
    }
  }
  if (auto t = trim(cur); !t.empty()) out.push_back(t);
  return out;
}

// Words of the question that name something (not question or function words, not shorter than 3 letters).
std::vector<std::string> content_words(const std::string& question) {
  static const std::set<std::string> stop = {
      "where", "what", "who", "whom", "which", "why", "how", "was", "were", "are", "the", "did", "does", "before",
      "after", "many", "much", "objects", "object", "carrying", "give", "gave", "given", "received", "receive",
      "there", "this", "that", "and", "from", "with", "into", "located", "going", "moving", "is", "a", "an", "to",
      "of", "in", "on", "at", "by", "it", "do", "go", "went", "color", "colour", "afraid", "kind", "thing", "things"};
  std::vector<std::string> out;
  std::string w;
  auto flush = [&] {
    if (w.size() >= 3 && !stop.count(lower(w))) out.push_back(w);
    w.clear();
  };
  for (char c : question) {
    if (std::isalpha(static_cast<unsigned char>(c))) w += c;
    else flush();
  }
  flush();
  return out;
}

bool has_word(const std::string& sentence, const std::string& word) {
  const auto s = lower(sentence), k = lower(word);
  for (size_t p = s.find(k); p != std::string::npos; p = s.find(k, p + 1)) {
    const bool left = p == 0 || !std::isalpha(static_cast<unsigned char>(s[p - 1]));
    const bool right = p + k.size() >= s.size() || !std::isalpha(static_cast<unsigned char>(s[p + k.size()]));
    if (left && right) return true;
  }
  return false;
}

std::string kind_name(model::SubLayer k) {
  switch (k) {
    case model::SubLayer::mamba2: return "Mamba2";
    case model::SubLayer::diffmamba2: return "Diff-Mamba2";
    case model::SubLayer::diffmamba2E: return "Diff-Mamba2E";
    case model::SubLayer::diffs6mamba2: return "Diff-S6-Mamba2";
    default: return "other";
  }
}

std::vector<int64_t> chosen_heads(const model::AttentionLayer& l, const AttentionFileOptions& o) {
  std::vector<int64_t> hs = o.heads;
  if (hs.empty())
    for (int64_t h = 0; h < l.heads; ++h) hs.push_back(h);
  for (auto h : hs)
    if (h < 0 || h >= l.heads)
      throw ConfigError("heads", std::to_string(h),
                        "block " + std::to_string(l.block) + " has heads 0–" + std::to_string(l.heads - 1));
  return hs;
}

}  // namespace

AttentionSample attention_sample_from_text(const data::Codec& codec, const std::string& text,
                                           const std::vector<std::string>& needles, const std::string& question) {
  AttentionSample s;
  s.ids = codec.encode(text);
  if (s.ids.empty()) throw ConfigError("text", "(empty)", "gives no tokens; the maps need at least one");
  std::vector<size_t> offsets{0};
  std::string all;
  for (auto id : s.ids) {
    s.tokens.push_back(codec.decode({id}));
    all += s.tokens.back();
    offsets.push_back(all.size());
  }
  std::set<int64_t> nd, qs;
  for (const auto& n : needles) {
    const auto key = trim(codec.normalize(n));
    if (key.empty()) continue;
    s.needle_sentences.push_back(n);
    for (size_t p = all.find(key); p != std::string::npos; p = all.find(key, p + 1)) mark(offsets, p, p + key.size(), nd);
  }
  if (const auto key = trim(codec.normalize(question)); !key.empty()) {
    if (const auto p = all.rfind(key); p != std::string::npos) mark(offsets, p, p + key.size(), qs);
  }
  s.needle.assign(nd.begin(), nd.end());
  s.question.assign(qs.begin(), qs.end());
  s.needle_origin = needles.empty() ? "none" : "--needle";
  s.label = "text";
  return s;
}

AttentionSample attention_sample_from_record(const data::Codec& codec, const babilong::Record& r,
                                             const std::vector<std::string>& needles) {
  std::vector<std::string> chosen = needles;
  std::string origin = "--needle";
  if (chosen.empty() && !r.facts.empty()) chosen = r.facts, origin = "facts";
  if (chosen.empty()) {
    origin = "question words";
    const auto words = content_words(r.question);
    for (const auto& sentence : sentences(r.input))
      if (std::any_of(words.begin(), words.end(), [&](const auto& w) { return has_word(sentence, w); }))
        chosen.push_back(sentence);
  }
  auto s = attention_sample_from_text(codec, babilong::format_prompt(r), chosen, r.question);
  s.needle_origin = chosen.empty() ? "none" : origin;
  return s;
}

std::vector<AttentionLayerReport> attention_report(const model::ImplicitAttention& a, const AttentionSample& s) {
  const std::vector<int64_t> queries = s.question.empty() ? std::vector<int64_t>{a.length() - 1} : s.question;
  std::vector<AttentionLayerReport> out;
  for (size_t li = 0; li < a.layers().size(); ++li) {
    const auto& l = a.layers()[li];
    AttentionLayerReport r;
    r.block = l.block;
    r.kind = kind_name(l.kind);
    r.lambda = l.differential() ? l.lambda : std::numeric_limits<double>::quiet_NaN();
    r.heads = l.heads;
    r.combined = model::layer_attention_stats(a, li, model::AttentionMap::combined, s.needle, queries);
    if (l.differential()) {
      r.branch1 = model::layer_attention_stats(a, li, model::AttentionMap::branch1, s.needle, queries);
    } else {
      r.branch1 = r.combined;
    }
    out.push_back(r);
  }
  return out;
}

uint64_t attention_npz_bytes(const model::ImplicitAttention& a, const AttentionFileOptions& o) {
  const uint64_t L = static_cast<uint64_t>(a.length()), es = o.float16 ? 2 : 4;
  uint64_t total = 0;
  if (!o.maps) return 0;
  for (const auto& l : a.layers())
    total += static_cast<uint64_t>(chosen_heads(l, o).size()) * (l.differential() ? 3 : 1) * L * L * es;
  return total;
}

void write_attention_npz(const std::string& path, const model::ImplicitAttention& a, const AttentionSample& s,
                         const std::vector<AttentionLayerReport>& report, const AttentionFileOptions& o) {
  const uint64_t bytes = attention_npz_bytes(a, o);
  constexpr uint64_t kLimit = 0xFFFFFFFFull - (64ull << 20);
  if (bytes > kLimit)
    throw ConfigError("maps", std::to_string(bytes >> 20) + " MiB",
                      "a .npz holds at most 4 GiB here; choose fewer --layers or --heads, a shorter sample, or "
                      "--float16 (half the size)");
  if (static_cast<int64_t>(s.ids.size()) != a.length() || report.size() != a.layers().size())
    throw Error("write_attention_npz: the sample, the maps and the report disagree");
  io::NpzWriter w(path);
  w.add_strings("tokens", s.tokens);
  w.add("ids", torch::tensor(s.ids, torch::kLong));
  w.add("needle", torch::tensor(s.needle, torch::kLong));
  w.add("question", torch::tensor(s.question, torch::kLong));
  w.add_strings("model", {o.model});
  w.add_strings("kinds", [&] {
    std::vector<std::string> k;
    for (const auto& r : report) k.push_back(r.kind);
    return k;
  }());
  std::vector<int64_t> blocks, heads;
  std::vector<double> lambda, nm, snr, ent, rem, b_nm, b_snr, b_ent;
  for (const auto& r : report) {
    blocks.push_back(r.block), heads.push_back(r.heads), lambda.push_back(r.lambda);
    nm.push_back(r.combined.needle_mass), snr.push_back(r.combined.snr), ent.push_back(r.combined.entropy),
        rem.push_back(r.combined.removed);
    b_nm.push_back(r.branch1.needle_mass), b_snr.push_back(r.branch1.snr), b_ent.push_back(r.branch1.entropy);
  }
  w.add("blocks", torch::tensor(blocks, torch::kLong));
  w.add("heads", torch::tensor(heads, torch::kLong));
  w.add("map_heads", torch::tensor(o.heads, torch::kLong));  // empty: every head, in order
  w.add("lambda", torch::tensor(lambda, torch::kDouble));
  for (const auto& [name, v] : std::vector<std::pair<std::string, std::vector<double>*>>{
           {"needle_mass", &nm}, {"snr", &snr}, {"entropy", &ent}, {"removed", &rem},
           {"branch1_needle_mass", &b_nm}, {"branch1_snr", &b_snr}, {"branch1_entropy", &b_ent}})
    w.add("metrics/" + name, torch::tensor(*v, torch::kDouble));
  const int64_t L = a.length();
  constexpr int64_t kRows = 256;
  const auto dtype = o.float16 ? torch::kHalf : torch::kFloat;
  for (size_t li = 0; o.maps && li < a.layers().size(); ++li) {
    const auto& l = a.layers()[li];
    const auto hs = chosen_heads(l, o);
    std::vector<model::AttentionMap> maps = {model::AttentionMap::combined};
    if (l.differential()) maps.insert(maps.end(), {model::AttentionMap::branch1, model::AttentionMap::branch2});
    for (auto m : maps) {
      w.begin("block" + std::to_string(l.block) + "/" + model::attention_map_name(m), io::npy_descr(dtype),
              {static_cast<int64_t>(hs.size()), L, L});
      for (auto h : hs)
        for (int64_t r0 = 0; r0 < L; r0 += kRows) w.write(a.rows(li, h, m, r0, std::min(L, r0 + kRows)).to(dtype));
      w.end();
    }
  }
  w.finish();
}

}  // namespace dm::jobs
