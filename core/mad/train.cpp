#include "core/mad/train.h"


#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/jobs/model_source.h"
#include "core/jobs/run_session.h"
#include "core/model/language_model.h"
#include "core/model/norms.h"
#include "core/train/autocast.h"

namespace dm::mad {
namespace {

// lucidrains' posemb_sincos_1d, as mad-lab's autoencoder uses it: [sin(p·ω) | cos(p·ω)],
// ω_i = 1 / 10000^(i / (D/2 − 1)).
torch::Tensor sincos_positions(int64_t length, int64_t dim) {
  const int64_t half = dim / 2;
  auto omega = torch::arange(half, torch::kDouble) / static_cast<double>(std::max<int64_t>(1, half - 1));
  omega = 1.0 / torch::pow(10000.0, omega);
  auto p = torch::arange(length, torch::kDouble).unsqueeze(1) * omega.unsqueeze(0);
  auto pe = torch::cat({torch::sin(p), torch::cos(p)}, 1);
  if (pe.size(1) < dim) pe = torch::cat({pe, torch::zeros({length, dim - pe.size(1)}, torch::kDouble)}, 1);
  return pe.to(torch::kFloat);
}


// One pass over a split without gradients: loss over the scored positions, mad-lab's accuracy (the mean
// of per-batch macro accuracies, weighted by batch size) and plain token accuracy.
template <typename Forward>
SplitMetrics evaluate(Forward&& forward, const torch::Tensor& x, const torch::Tensor& y, int64_t batch, int64_t classes,
                      const std::atomic<bool>& cancel) {
  torch::NoGradGuard off;
  double loss_sum = 0, acc_sum = 0, micro_right = 0;
  int64_t scored = 0, seen = 0;
  for (int64_t b0 = 0; b0 < x.size(0) && !cancel; b0 += batch) {
    const int64_t n = std::min(batch, x.size(0) - b0);
    auto logits = forward(x.narrow(0, b0, n)).to(torch::kFloat);
    auto t = y.narrow(0, b0, n);
    loss_sum += torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), t.reshape({-1}),
                                                      torch::nn::functional::CrossEntropyFuncOptions()
                                                          .ignore_index(kIgnore)
                                                          .reduction(torch::kSum))
                    .template item<double>();
    double micro = 0;
    int64_t k = 0;
    acc_sum += macro_accuracy(logits, t, classes, &micro, &k) * static_cast<double>(n);
    micro_right += micro * static_cast<double>(k);
    scored += k;
    seen += n;
  }
  SplitMetrics m;
  m.loss = scored ? loss_sum / static_cast<double>(scored) : 0;
  m.ppl = std::exp(m.loss);
  m.acc = seen ? acc_sum / static_cast<double>(seen) : 0;
  m.acc_micro = scored ? micro_right / static_cast<double>(scored) : 0;
  return m;
}

torch::Tensor as_tensor(const Split& s, bool targets) {
  const auto& v = targets ? s.targets : s.inputs;
  return torch::tensor(v, torch::kLong).reshape({s.n, s.len});
}

}  // namespace

model::ModelConfig model_config(const std::string& family, int64_t vocab, int64_t width, int64_t n_layers) {
  const auto f = model::family_from_string(family, "family");
  if (width < 8 || width > 16384) throw ConfigError("width", std::to_string(width), "must be in [8, 16384]");
  if (n_layers < 1 || n_layers > 64) throw ConfigError("layers", std::to_string(n_layers), "must be in [1, 64]");
  auto c = model::ModelConfig::hf_370m(f);
  c.vocab_size = vocab;
  c.d_model = width;
  c.n_layers = n_layers;
  c.tie_embeddings = false;
  c.initializer_range = 0.02;
  c.residual_in_fp32 = false;
  c.diff_layers = "all";
  if (!c.is_mamba1()) {
    c.expand = 2;
    c.d_state = 64;
    c.head_dim = std::min<int64_t>(128, 2 * width);  // Diff-Mamba2's pair: expand 1, head_dim 64 each
    while ((c.expand * width) % c.head_dim != 0) c.head_dim /= 2;
  }
  c.validate();
  return c;
}

CompressionModelImpl::CompressionModelImpl(const model::ModelConfig& cfg, int64_t max_length) {
  encoder_ = register_module("encoder", model::LanguageModel(cfg));
  const int64_t d = cfg.d_model;
  norm1_ = register_module("norm1", std::make_shared<model::RMSNormImpl>(d, 1e-5));
  fc1_ = register_module("fc1", torch::nn::Linear(d, d));
  norm2_ = register_module("norm2", std::make_shared<model::RMSNormImpl>(d, 1e-5));
  fc2_ = register_module("fc2", torch::nn::Linear(d, d));
  norm3_ = register_module("norm3", std::make_shared<model::RMSNormImpl>(d, 1e-5));
  head_ = register_module("head", torch::nn::Linear(d, cfg.vocab_size));
  positions_ = register_buffer("positions", sincos_positions(max_length, d));
}

torch::Tensor CompressionModelImpl::forward(const torch::Tensor& ids) {
  // The encoder's final normalised state at the last position: the sequence compressed into one vector.
  auto h = encoder_->hidden(ids);
  if (encoder_->backbone->norm_f) h = encoder_->backbone->norm_f->forward(h);
  auto last = h.select(1, h.size(1) - 1).unsqueeze(1);                // [B, 1, D]
  auto z = last + positions_.narrow(0, 0, ids.size(1)).to(last.dtype()).unsqueeze(0);  // [B, L, D]
  z = torch::gelu(fc1_->forward(norm1_->forward(z)));
  z = torch::gelu(fc2_->forward(norm2_->forward(z)));
  return head_->forward(norm3_->forward(z));
}

double macro_accuracy(const torch::Tensor& logits, const torch::Tensor& targets, int64_t classes, double* micro,
                      int64_t* scored) {
  auto t = targets.reshape({-1});
  auto keep = t != kIgnore;
  auto truth = t.masked_select(keep);
  auto pred = logits.reshape({-1, logits.size(-1)}).argmax(-1).masked_select(keep);
  const int64_t n = truth.numel();
  if (scored) *scored = n;
  if (micro) *micro = n ? pred.eq(truth).sum().item<double>() / static_cast<double>(n) : 0.0;
  if (n == 0) return 0.0;
  // Per class: tp, support (tp + fn) and predictions (tp + fp); classes with no support and no prediction
  // are left out, a class only predicted counts with recall 0.
  auto right = pred.eq(truth);
  auto tp = torch::zeros({classes}, torch::kDouble).index_add_(0, truth.cpu(), right.cpu().to(torch::kDouble));
  auto support = torch::bincount(truth.cpu(), {}, classes).to(torch::kDouble);
  auto predicted = torch::bincount(pred.cpu(), {}, classes).to(torch::kDouble);
  auto present = (support + predicted) > 0;
  auto recall = torch::where(support > 0, tp / support.clamp_min(1), torch::zeros_like(tp));
  return recall.masked_select(present).mean().item<double>();
}

TrainResult run_mad_train(const jobs::Workspace& ws, const TrainOptions& opt, const train::EventSink& user_sink,
                          const std::atomic<bool>& cancel) {
  for (auto [name, v] : {std::pair{"epochs", opt.epochs}, {"batch_size", opt.batch_size}})
    if (v <= 0) throw ConfigError(name, std::to_string(v), "must be positive");
  if (!(opt.lr > 0)) throw ConfigError("lr", std::to_string(opt.lr), "must be positive");
  if (!(opt.weight_decay >= 0)) throw ConfigError("weight_decay", std::to_string(opt.weight_decay), "must be ≥ 0");
  jobs::HeldEvents early;
  const auto device = jobs::device_from_option(opt.device, early.sink());
  const auto& s = opt.data;
  const auto cfg = model_config(opt.family, s.vocab_size, opt.width, opt.n_layers);
  const Data data = generate(s);
  torch::manual_seed(static_cast<int64_t>(opt.seed));
  const bool compression = s.task == "compression";
  model::LanguageModel lm{nullptr};
  CompressionModel ae{nullptr};
  if (compression)
    ae = CompressionModel(cfg, s.seq_len);
  else
    lm = model::LanguageModel(cfg);
  torch::nn::Module& net = compression ? static_cast<torch::nn::Module&>(*ae) : static_cast<torch::nn::Module&>(*lm);
  net.to(device);
  auto forward = [&](const torch::Tensor& ids) { return compression ? ae->forward(ids) : lm->forward(ids); };
  // bf16 autocast on a GPU, as mad-lab (precision bf16); fp32 on the CPU.
  const bool bf16 = device.is_cuda();

  const nlohmann::json config = {
      {"task", s.task},           {"setting", s.name},          {"vocab_size", s.vocab_size},
      {"seq_len", s.seq_len},     {"num_train_examples", s.num_train_examples},
      {"num_test_examples", s.num_test_examples},               {"k_motif_size", s.k_motif_size},
      {"v_motif_size", s.v_motif_size},                         {"noise_vocab_size", s.noise_vocab_size},
      {"frac_noise", s.frac_noise},                             {"num_tokens_to_copy", s.num_tokens_to_copy},
      {"multi_query", s.multi_query}, {"data_seed", s.seed},    {"family", opt.family},
      {"width", opt.width},       {"layers", opt.n_layers},     {"epochs", opt.epochs},
      {"batch_size", opt.batch_size}, {"lr", opt.lr},           {"weight_decay", opt.weight_decay},
      {"min_lr", opt.min_lr},     {"stop_at", opt.stop_at},     {"seed", opt.seed},
      {"precision", bf16 ? "bf16-mixed" : "32"},                {"model", cfg.to_json()}};
  store::RunStore db(ws.db_path());
  jobs::RunSpec spec;
  spec.name = opt.name.empty() ? "mad " + s.task + " " + s.name + " " + opt.family : opt.name;
  spec.kind = "mad";
  spec.family = opt.family;
  spec.device = device.str();
  spec.config_json = config.dump();
  spec.sweep_id = opt.sweep_id;
  jobs::RunSession session(db, ws, spec);
  auto sink = session.sink(user_sink);
  early.replay(sink);
  TrainResult result;
  result.run_id = session.id();
  try {
    auto xtr = as_tensor(data.train, false).to(device), ytr = as_tensor(data.train, true).to(device);
    auto xte = as_tensor(data.test, false).to(device), yte = as_tensor(data.test, true).to(device);
    torch::optim::AdamW adamw(net.parameters(), torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
    auto gen = at::detail::createCPUGenerator(opt.seed);
    const int64_t n = xtr.size(0), steps_per_epoch = (n + opt.batch_size - 1) / opt.batch_size;
    int64_t step = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t epoch = 0; epoch < opt.epochs && !cancel; ++epoch) {
      // CosineAnnealingLR(T_max = epochs, eta_min = min_lr), stepped once per epoch.
      const double lr = opt.min_lr + (opt.lr - opt.min_lr) * 0.5 * (1 + std::cos(M_PI * static_cast<double>(epoch) /
                                                                                 static_cast<double>(opt.epochs)));
      for (auto& g : adamw.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      net.train();
      const auto order = torch::randperm(n, gen, torch::kLong).to(device);
      double epoch_loss = 0;
      for (int64_t b0 = 0; b0 < n && !cancel; b0 += opt.batch_size) {
        const auto idx = order.narrow(0, b0, std::min(opt.batch_size, n - b0));
        adamw.zero_grad();
        torch::Tensor logits;
        {
          const train::AutocastScope mixed(device.type(), bf16 ? std::optional(at::kBFloat16) : std::nullopt);
          logits = forward(xtr.index_select(0, idx));
        }
        auto loss = torch::nn::functional::cross_entropy(
            logits.to(torch::kFloat).reshape({-1, logits.size(-1)}), ytr.index_select(0, idx).reshape({-1}),
            torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore));
        loss.backward();
        adamw.step();
        ++step;
        const double l = loss.item<double>();
        epoch_loss += l;
        train::TrainEvent ev;
        ev.kind = train::TrainEvent::Kind::step;
        ev.step = step;
        ev.epoch = epoch;
        ev.metrics = {{"train/loss", l}, {"lr", lr}};
        ev.progress = static_cast<double>(step) / static_cast<double>(steps_per_epoch * opt.epochs);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ev.tokens_per_s = secs > 0 ? static_cast<double>(step * opt.batch_size * s.instance_length()) / secs : 0;
        sink(ev);
      }
      if (cancel) break;
      net.eval();
      result.test = evaluate(forward, xte, yte, opt.batch_size, s.vocab_size, cancel);
      result.epochs = epoch + 1;
      train::TrainEvent ev;
      ev.kind = train::TrainEvent::Kind::eval;
      ev.step = step;
      ev.epoch = epoch;
      ev.metrics = {{"train/loss_epoch", epoch_loss / static_cast<double>(steps_per_epoch)},
                    {"test/acc", result.test.acc},
                    {"test/acc_micro", result.test.acc_micro},
                    {"test/loss", result.test.loss},
                    {"test/ppl", result.test.ppl}};
      ev.progress = static_cast<double>(epoch + 1) / static_cast<double>(opt.epochs);
      sink(ev);
      if (result.test.acc > opt.stop_at) break;  // mad-lab's EarlyStopping(stopping_threshold = 0.999)
    }
    if (cancel) {
      session.finish("cancelled", "stopped after " + std::to_string(result.epochs) + " epochs");
      result.status = "cancelled";
      return result;
    }
    net.eval();
    result.train = evaluate(forward, xtr, ytr, opt.batch_size, s.vocab_size, cancel);
    // mad-lab's results.csv, and the cells the MAD score reads (task × setting).
    char csv[512];
    std::snprintf(csv, sizeof csv, "train_acc,train_ppl,train_loss,test_acc,test_ppl,test_loss\n%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n",
                  result.train.acc, result.train.ppl, result.train.loss, result.test.acc, result.test.ppl, result.test.loss);
    io::write_file_atomic(session.run_dir() + "/results.csv", csv);
    for (const auto& [metric, value] : {std::pair{"test_acc", result.test.acc}, {"test_acc_micro", result.test.acc_micro},
                                        {"test_loss", result.test.loss}, {"train_acc", result.train.acc},
                                        {"train_loss", result.train.loss}})
      db.put_eval_cell(session.id(), store::EvalCell{s.task, s.name, metric, value, data.test.n});
    session.finish("finished", "test accuracy " + std::to_string(result.test.acc) + " after " +
                                   std::to_string(result.epochs) + " epochs");
    result.status = "finished";
  } catch (const std::exception& e) {
    if (session.fail(e, cancel)) {
      result.status = "cancelled";
      return result;
    }
    throw;
  }
  return result;
}

}  // namespace dm::mad
