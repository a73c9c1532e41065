// Helpers shared by the core test suites: relative error and QtTest-friendly tensor comparison.
#pragma once

#include <torch/torch.h>

#include <QtTest>
#include <string>

#include "core/common/error.h"
#include "core/io/model_file.h"
#include "core/model/config.h"
#include "core/model/language_model.h"

namespace dm::test {

// max |a − b| / max(max |b|, tiny): one number that says how far a is from the reference b.
inline double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
  auto ad = a.detach().to(torch::kDouble), bd = b.detach().to(torch::kDouble);
  const double scale = std::max(bd.abs().max().item<double>(), 1e-300);
  return (ad - bd).abs().max().item<double>() / scale;
}

inline QByteArray describe(const char* what, double err, double tol) {
  return QByteArray(what) + ": relative error " + QByteArray::number(err, 'g', 4) + " > tolerance " +
         QByteArray::number(tol, 'g', 3);
}

// The message of the exception of type E that f throws; empty when f throws nothing.
template <typename E = dm::Error, typename F>
QString error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

// A tiny hf-backbone model config (vocab 27 = text8 characters unless given): fast enough for any test.
inline dm::model::ModelConfig tiny_hf(dm::model::Family family, int64_t n_layers = 2, int64_t vocab = 27,
                                      int64_t d_model = 32) {
  auto c = dm::model::ModelConfig::hf_370m(family);
  c.vocab_size = vocab;
  c.d_model = d_model;
  c.n_layers = n_layers;
  c.head_dim = 16;
  c.d_state = 8;
  return c;
}

// A tiny hf-backbone model of `family` (n_layers blocks, chunk 32, random weights from `seed`) saved as a
// model file at `path`, for suites that drive the CLI or the window with a real model file.
inline void save_tiny_model(dm::model::Family family, const std::string& path, int seed, int64_t n_layers) {
  auto cfg = tiny_hf(family, n_layers);
  cfg.chunk_size = 32;
  torch::manual_seed(seed);
  dm::model::LanguageModel m(cfg);
  dm::io::save_model(m, path);
}

}  // namespace dm::test

#define DM_COMPARE_REL(a, b, tol, what)                                  \
  do {                                                                   \
    const double _e = dm::test::rel_err((a), (b));                       \
    QVERIFY2(std::isfinite(_e) && _e <= (tol), dm::test::describe((what), _e, (tol)).constData()); \
  } while (0)
