#include "core/lens/tuned_lens.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"

namespace dm::lens {
namespace {
namespace fs = std::filesystem;
constexpr const char* kLensFormat = "dm-tuned-lens-1";
}  // namespace

TunedLensImpl::TunedLensImpl(int64_t num_layers, int64_t d_model, bool bias) : d_model_(d_model) {
  if (num_layers <= 0 || d_model <= 0)
    throw ConfigError("lens", std::to_string(num_layers) + "×" + std::to_string(d_model), "needs layers and width > 0");
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < num_layers; ++i) {
    model::Dense t = [&] {
      model::SkipInit skip;  // zero-initialised below
      return model::Dense(d_model, d_model, bias);
    }();
    torch::NoGradGuard ng;
    t->weight.zero_();
    if (bias) t->bias.zero_();
    translators.push_back(t);
    list->push_back(t);
  }
  register_module("layer_translators", list);
}

torch::Tensor TunedLensImpl::translate(int64_t layer, const torch::Tensor& h) {
  TORCH_CHECK(layer >= 0 && layer < num_layers(), "lens layer ", layer, " outside [0, ", num_layers(), ")");
  auto& t = translators[static_cast<size_t>(layer)];
  const auto x = h.to(t->weight.scalar_type());
  return x + t->forward(x);
}

torch::Tensor TunedLensImpl::logits(model::LanguageModel& m, int64_t layer, const torch::Tensor& h) {
  return m->head(translate(layer, h));
}

TunedLens lens_for(model::LanguageModel& m) {
  return TunedLens(static_cast<int64_t>(m->backbone->layers.size()), m->config().d_model);
}

std::string model_fingerprint(model::LanguageModel& m) {
  torch::NoGradGuard ng;
  // The unembedding the lens reads out through (the tied embedding or lm_head), summarised exactly.
  const auto& w = m->lm_head ? m->lm_head->weight
                             : (m->backbone->embeddings ? m->backbone->embeddings->weight : torch::Tensor());
  uint64_t h = kFnvOffset;
  auto mix = [&](const void* p, size_t n) { h = fnv1a(p, n, h); };
  const int64_t shape[3] = {static_cast<int64_t>(m->backbone->layers.size()), m->config().d_model,
                            m->config().vocab_size};
  mix(shape, sizeof shape);
  if (w.defined()) {
    const auto c = w.detach().to(torch::kCPU, torch::kFloat).contiguous();
    mix(c.data_ptr(), static_cast<size_t>(c.numel()) * sizeof(float));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void save_lens(TunedLens& lens, model::LanguageModel& m, const std::string& dir, const std::string& base_model) {
  fs::create_directories(dir);
  io::NamedTensors t;
  for (const auto& item : lens->named_parameters()) t.emplace_back(item.key(), item.value());
  const auto fp = model_fingerprint(m);
  io::write_safetensors((fs::path(dir) / "params.safetensors").string(), t,
                        {{"format", kLensFormat},
                         {"num_hidden_layers", std::to_string(lens->num_layers())},
                         {"d_model", std::to_string(lens->d_model())},
                         {"unembed_hash", fp}});
  nlohmann::json cfg = {{"base_model_name_or_path", base_model}, {"d_model", lens->d_model()},
                        {"num_hidden_layers", lens->num_layers()}, {"bias", true},
                        {"unembed_hash", fp}, {"lens_type", "linear_tuned_lens"}};
  io::write_file_atomic((fs::path(dir) / "config.json").string(), cfg.dump(2) + "\n");
}

TunedLens load_lens(const std::string& path, model::LanguageModel& m) {
  const auto file = fs::is_directory(path) ? (fs::path(path) / "params.safetensors").string() : path;
  if (!fs::exists(file)) throw FileError(file, "no lens here (expected params.safetensors written by `diffmamba lens train`)");
  const auto st = io::read_safetensors(file);
  auto meta = [&](const std::string& k) {
    const auto it = st.metadata.find(k);
    if (it == st.metadata.end()) throw FileError(file, "is not a lens file (metadata has no " + k + ")");
    return it->second;
  };
  if (meta("format") != kLensFormat) throw FileError(file, "lens format '" + meta("format") + "' is not supported");
  auto count = [&](const std::string& k) {
    const auto v = meta(k);
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
      throw FileError(file, "metadata " + k + " = '" + v + "' is not a whole number below 10^9");
    return static_cast<int64_t>(std::stoll(v));
  };
  const int64_t layers = count("num_hidden_layers"), width = count("d_model");
  const auto want_layers = static_cast<int64_t>(m->backbone->layers.size());
  if (layers != want_layers || width != m->config().d_model)
    throw FileError(file, "was trained for a model with " + std::to_string(layers) + " blocks of width " +
                              std::to_string(width) + "; this model has " + std::to_string(want_layers) + " blocks of width " +
                              std::to_string(m->config().d_model));
  if (meta("unembed_hash") != model_fingerprint(m))
    throw FileError(file, "was trained for another model (its unembedding differs from this checkpoint's)");
  TunedLens lens(layers, width);
  torch::NoGradGuard ng;
  for (auto& item : lens->named_parameters()) {
    const auto* t = st.find(item.key());
    if (!t || t->sizes() != item.value().sizes()) throw FileError(file, "tensor '" + item.key() + "' is missing or misshapen");
    item.value().copy_(*t);
  }
  return lens;
}

torch::Tensor kl_from_final(const torch::Tensor& final_logits, const torch::Tensor& lens_logits) {
  const auto logp = torch::log_softmax(final_logits.to(torch::kFloat), -1);
  const auto logq = torch::log_softmax(lens_logits.to(torch::kFloat), -1);
  return (logp.exp() * (logp - logq)).sum(-1).mean();
}

}  // namespace dm::lens
