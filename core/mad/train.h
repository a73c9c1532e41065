// Training and scoring one MAD configuration as mad-lab's train.py does (spec upstream.md §11): the MAD
// backbone of a family, AdamW, a cosine schedule per epoch down to 1e-6, batches of 128, the test set
// evaluated every epoch, early stop once its accuracy passes 0.999. Recorded as a run of kind "mad" with
// per-epoch metrics, its final numbers as eval cells (task × setting) and mad-lab's results.csv.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <string>

#include "core/jobs/workspace.h"
#include "core/mad/tasks.h"
#include "core/model/config.h"
#include "core/model/language_model.h"
#include "core/model/norms.h"
#include "core/train/events.h"

namespace dm::mad {

// The MAD language model of `family`: token embedding N(0, 0.02), no positions, per layer
// x ← x + Layer(RMSNorm(x)), final RMSNorm, untied linear head (our hf backbone without a head bias).
// The seed's two layer configs: Mamba2 (d_state 64, expand 2, head_dim 128) and Diff-Mamba2 (two mixers of
// expand 1, head_dim 64, every layer differential, λ_init from the 0-based layer index). head_dim shrinks
// to 2·width when the width is under 64 (CPU runs). The other families take their own defaults at `width`.
model::ModelConfig model_config(const std::string& family, int64_t vocab, int64_t width, int64_t n_layers = 4);

// mad-lab's autoencoder for the compression task: the backbone encodes the sequence, the final state at the
// last position (the compression token) plus a sin-cos position embedding per position is decoded by
// [RMSNorm, Linear, GELU] × 2, RMSNorm, Linear into every token.
class CompressionModelImpl : public torch::nn::Module {
 public:
  CompressionModelImpl(const model::ModelConfig& cfg, int64_t max_length);
  torch::Tensor forward(const torch::Tensor& ids);  // [B, L] → logits [B, L, V]

 private:
  model::LanguageModel encoder_{nullptr};
  std::shared_ptr<model::RMSNormImpl> norm1_, norm2_, norm3_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, head_{nullptr};
  torch::Tensor positions_;  // [max_length, D] buffer
};
TORCH_MODULE(CompressionModel);

// mad-lab's accuracy: torchmetrics' MulticlassAccuracy with its default macro average (the mean over
// classes of per-class recall, over the scored positions; classes neither present nor predicted are left
// out), for one batch. `micro` receives plain token accuracy and `scored` the number of scored positions.
double macro_accuracy(const torch::Tensor& logits, const torch::Tensor& targets, int64_t classes, double* micro = nullptr,
                      int64_t* scored = nullptr);

struct TrainOptions {
  Settings data;
  std::string family = "mamba2", name;
  int64_t width = 1024, n_layers = 4, epochs = 200, batch_size = 128;
  double lr = 5e-4, weight_decay = 0.0, min_lr = 1e-6, stop_at = 0.999;
  uint64_t seed = 12345;
  std::string device = "auto";  // auto: the GPU when there is one
  int64_t sweep_id = 0;         // the sweep the run belongs to (0: none)
};

struct SplitMetrics {
  double acc = 0, acc_micro = 0, loss = 0, ppl = 0;
};
struct TrainResult {
  int64_t run_id = 0, epochs = 0;
  std::string status;
  SplitMetrics train, test;  // after the last epoch, as mad-lab's results.csv
};

TrainResult run_mad_train(const jobs::Workspace& ws, const TrainOptions& opt, const train::EventSink& sink,
                          const std::atomic<bool>& cancel);

}  // namespace dm::mad
