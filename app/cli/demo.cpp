#include "app/cli/demo.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <torch/torch.h>

#include "core/data/char_corpus.h"
#include "core/io/model_file.h"
#include "core/model/language_model.h"

namespace dm::cli {
namespace {

using Clock = std::chrono::steady_clock;

model::ModelConfig tiny_config(const DemoOptions& o, model::Family family) {
  auto c = model::ModelConfig::lm_defaults(family);
  c.vocab_size = data::CharCorpus::kVocab;
  c.d_model = o.d_model;
  c.n_layers = o.layers;
  c.head_dim = 32;
  c.d_state = 16;
  c.chunk_size = 64;
  c.dropout = 0.0;
  return c;
}

// Mean loss over consecutive non-overlapping windows of `stream` (every window from zero state).
double evaluate(model::LanguageModel& m, const torch::Tensor& stream, int64_t length, int64_t batch) {
  torch::NoGradGuard ng;
  m->eval();
  const int64_t per_row = (stream.numel() - 1) / batch;
  const int64_t windows = per_row / length;
  auto x = stream.narrow(0, 0, batch * per_row).view({batch, per_row});
  auto y = stream.narrow(0, 1, batch * per_row).view({batch, per_row});
  double total = 0;
  int64_t count = 0;
  for (int64_t w = 0; w < windows; ++w) {
    auto l = m->loss(x.narrow(1, w * length, length), y.narrow(1, w * length, length));
    total += l.item<double>() * static_cast<double>(batch * length);
    count += batch * length;
  }
  m->train();
  return count ? total / static_cast<double>(count) : std::nan("");
}

}  // namespace

int run_demo(const DemoOptions& o) {
  const auto corpus = data::CharCorpus::from_fortunes(o.corpus_dir);
  std::printf("corpus: %s — %lld / %lld / %lld characters (train / valid / test), vocabulary %lld\n",
              o.corpus_dir.c_str(), static_cast<long long>(corpus.train.numel()),
              static_cast<long long>(corpus.valid.numel()), static_cast<long long>(corpus.test.numel()),
              static_cast<long long>(data::CharCorpus::kVocab));
  struct Result {
    std::string name;
    double first = 0, last = 0, valid = 0, tok_s = 0;
    int64_t params = 0;
  };
  std::vector<Result> results;
  for (auto family : {model::Family::mamba2, model::Family::diffmamba2}) {
    torch::manual_seed(o.seed);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(o.seed);
    model::LanguageModel m(tiny_config(o, family));
    Result r;
    r.name = model::to_string(family);
    r.params = m->num_parameters();
    std::printf("\n%s: %d layers × [mixer, mixer, FFN], d_model %lld, %lld parameters\n", r.name.c_str(),
                static_cast<int>(o.layers), static_cast<long long>(o.d_model), static_cast<long long>(r.params));
    torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(0.1));
    const auto t0 = Clock::now();
    double smooth = 0;
    for (int64_t step = 1; step <= o.steps; ++step) {
      auto [x, y] = data::random_windows(corpus.train, o.batch, o.length, gen);
      const double warm = std::min(1.0, static_cast<double>(step) / 10.0);
      static_cast<torch::optim::AdamWOptions&>(opt.param_groups()[0].options()).lr(o.lr * warm);
      opt.zero_grad();
      auto loss = m->loss(x, y);
      loss.backward();
      torch::nn::utils::clip_grad_norm_(m->parameters(), 1.0);
      opt.step();
      const double v = loss.item<double>();
      if (!std::isfinite(v)) {
        std::fprintf(stderr, "%s: loss became %f at step %lld; stopping\n", r.name.c_str(), v,
                     static_cast<long long>(step));
        return 3;
      }
      if (step == 1) r.first = v;
      smooth = step == 1 ? v : 0.9 * smooth + 0.1 * v;
      if (step % o.log_every == 0 || step == o.steps || step == 1)
        std::printf("  step %4lld  loss %.4f  (bpc %.3f)\n", static_cast<long long>(step), v, v / std::log(2.0));
      std::fflush(stdout);
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    r.last = smooth;
    r.tok_s = static_cast<double>(o.steps * o.batch * o.length) / secs;
    r.valid = evaluate(m, corpus.valid, o.length, o.batch);
    std::printf("  valid loss %.4f  bpc %.3f   (%.0f training tokens/s)\n", r.valid, r.valid / std::log(2.0), r.tok_s);
    if (!o.out_dir.empty()) {
      std::filesystem::create_directories(o.out_dir);
      const auto path = (std::filesystem::path(o.out_dir) / (r.name + "-demo.safetensors")).string();
      io::save_model(m, path);
      std::printf("  saved %s\n", path.c_str());
    }
    results.push_back(r);
  }
  std::printf("\n%-12s %12s %12s %14s %12s %12s\n", "model", "parameters", "first loss", "final (EMA)", "valid bpc",
              "tokens/s");
  for (const auto& r : results)
    std::printf("%-12s %12lld %12.4f %14.4f %12.3f %12.0f\n", r.name.c_str(), static_cast<long long>(r.params), r.first,
                r.last, r.valid / std::log(2.0), r.tok_s);
  return 0;
}

}  // namespace dm::cli
