#include "core/io/convert.h"

#include <torch/torch.h>

#include "core/common/error.h"

namespace dm::io {
namespace {

// Copies `full` into `half`: whole when the shapes agree, else the first (or last) slice along the one
// axis where they differ.
void copy_slice(torch::Tensor& half, const torch::Tensor& full, bool first, const std::string& name) {
  if (half.sizes() == full.sizes()) {
    half.copy_(full);
    return;
  }
  int64_t axis = -1;
  for (int64_t a = 0; a < full.dim(); ++a)
    if (half.size(a) != full.size(a)) {
      if (axis >= 0) throw Error("convert: '" + name + "' differs in more than one axis");
      axis = a;
    }
  if (axis < 0 || half.dim() != full.dim() || half.size(axis) > full.size(axis))
    throw Error("convert: cannot slice '" + name + "' from " + c10::str(full.sizes()) + " to " + c10::str(half.sizes()));
  const int64_t n = half.size(axis);
  half.copy_(full.narrow(axis, first ? 0 : full.size(axis) - n, n));
}

void copy_module(torch::nn::Module& dst, const torch::nn::Module& src) {
  auto s = src.named_parameters();
  for (auto& item : dst.named_parameters()) item.value().copy_(s[item.key()]);
}

}  // namespace

model::LanguageModel convert_to_diffmamba(model::LanguageModel& src, const std::string& settings, uint64_t seed) {
  auto cfg = src->config();
  if (cfg.backbone != model::Backbone::hf)
    throw Error("convert: only hf-backbone (pretrained) models are converted; the lm backbone is trained as Diff-Mamba2 directly");
  if (cfg.family != model::Family::mamba2 && cfg.family != model::Family::diffmamba2)
    throw Error("convert: only Mamba2 (or Diff-Mamba2) checkpoints become Diff-Mamba2; this one is " +
                std::string(cfg.is_mamba1() ? "Mamba-1 (" : "(") + model::to_string(cfg.family) + ")");
  cfg.family = model::Family::diffmamba2;
  cfg.diff_layers = settings;
  cfg.validate();
  torch::manual_seed(static_cast<int64_t>(seed));
  model::LanguageModel dst(cfg);  // lambda_q1 ~ N(0, 1), subln = 1
  torch::NoGradGuard ng;
  dst->backbone->embeddings->weight.copy_(src->backbone->embeddings->weight);
  dst->backbone->norm_f->weight.copy_(src->backbone->norm_f->weight);
  if (dst->lm_head) dst->lm_head->weight.copy_(src->lm_head->weight);
  for (size_t i = 0; i < dst->backbone->layers.size(); ++i) {
    auto& d = dst->backbone->layers[i];
    auto& s = src->backbone->layers[i];
    d->rms_norm->weight.copy_(s->rms_norm->weight);
    if (d->kind() == model::SubLayer::mamba2) {
      if (s->kind() != model::SubLayer::mamba2)
        throw Error("convert: block " + std::to_string(i) + " is differential in the source but not in '" + settings + "'");
      copy_module(*d->mixer, *s->mixer);
    } else if (s->kind() == model::SubLayer::diffmamba2) {
      copy_module(*d->mixer_1, *s->mixer_1);
      copy_module(*d->mixer_2, *s->mixer_2);
      d->lambda_q1.copy_(s->lambda_q1);
      d->subln->weight.copy_(s->subln->weight);
    } else {
      auto full = s->mixer->named_parameters();
      for (auto* half : {d->mixer_1.get(), d->mixer_2.get()}) {
        const bool first = half == d->mixer_1.get();
        for (auto& item : half->named_parameters()) copy_slice(item.value(), full[item.key()], first, item.key());
      }
    }
  }
  return dst;
}

}  // namespace dm::io
