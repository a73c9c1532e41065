// The tuned lens (upstream §9): one affine translator per block, h' = h + W h + b (zero-initialised, so
// a new lens is the identity "logit lens"), read out through the model's own frozen final norm and
// unembedding. Saved as safetensors (translator weights, the model's shape and a hash of its
// unembedding in the metadata) plus the tuned-lens `config.json`.
#pragma once

#include <string>
#include <vector>

#include "core/model/language_model.h"

namespace dm::lens {

class TunedLensImpl : public torch::nn::Module {
 public:
  TunedLensImpl(int64_t num_layers, int64_t d_model, bool bias = true);
  int64_t num_layers() const { return static_cast<int64_t>(translators.size()); }
  int64_t d_model() const { return d_model_; }
  // h [.., D] of block `layer` → translated h [.., D].
  torch::Tensor translate(int64_t layer, const torch::Tensor& h);
  // Lens logits of block `layer`: the model's head (final norm + unembedding) on the translated h.
  torch::Tensor logits(model::LanguageModel& m, int64_t layer, const torch::Tensor& h);
  std::vector<model::Dense> translators;  // "layer_translators.<i>.weight/bias", as tuned-lens names them

 private:
  int64_t d_model_;
};
TORCH_MODULE(TunedLens);

// A lens for every block output of `m` (forward_ex's hidden states).
TunedLens lens_for(model::LanguageModel& m);
// Hash of the model's unembedding and shape: a lens only fits the model it was trained for.
std::string model_fingerprint(model::LanguageModel& m);

// Writes DIR/params.safetensors and DIR/config.json atomically.
void save_lens(TunedLens& lens, model::LanguageModel& m, const std::string& dir, const std::string& base_model);
// Loads DIR (or a params.safetensors file) for `m`. Throws FileError when the file is damaged or the
// lens was trained for another model (layer count, width, or unembedding differ).
TunedLens load_lens(const std::string& path, model::LanguageModel& m);

// KL(p_final ‖ p_lens) per position, averaged: the training objective, from logits [N, V].
torch::Tensor kl_from_final(const torch::Tensor& final_logits, const torch::Tensor& lens_logits);

}  // namespace dm::lens
