// Implicit attention maps of a ~4k-token BABILong sample: the window's Attention page opening it (click →
// maps, table and figure drawn) on a demo-sized model, and the same steps through the core on a 370M-shaped
// Diff-Mamba2 (HF backbone, 48 blocks, d_model 1024; random weights: the cost does not depend on them).
// Each case runs in its own process (peak memory its own) and prints one RESULT line; the parent prints
// the table. Usage: bench_attention [--demo-model FILE] (default: a demo-shaped model with random weights).
#include <torch/torch.h>

#include "bench/bench_util.h"
#include "core/babilong/babilong.h"
#include "core/data/codec.h"
#include "core/io/model_file.h"
#include "core/jobs/attention_job.h"
#include "core/jobs/babilong_job.h"
#include "core/model/implicit_attention.h"
#include "core/runtime.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <cstdio>
#include <qcustomplot.h>

#include "app/figures/attention_data.h"
#include "app/gui/attention_view.h"

namespace {

using dm::bench::Clock;
using dm::bench::seconds_since;

// The demo preset's shape (diffmamba demo): LM backbone, 2 layers of [mixer, mixer, FFN], d_model 64.
dm::model::ModelConfig demoShape() {
  auto c = dm::model::ModelConfig::lm_defaults(dm::model::Family::diffmamba2);
  c.vocab_size = 27;
  c.d_model = 64;
  c.n_layers = 2;
  return c;
}

int viewerCase(const std::string& modelPath, const std::string& samplePath) {
  dm::gui::AttentionView v;
  v.resize(1400, 900);
  v.show();
  v.setModels(QString::fromStdString(modelPath), QString());
  v.setSampleFile(QString::fromStdString(samplePath), 0);
  QEventLoop loop;
  QObject::connect(&v, &dm::gui::AttentionView::computed, &loop, &QEventLoop::quit);
  QTimer::singleShot(600000, &loop, &QEventLoop::quit);
  const auto t0 = Clock::now();
  v.compute();
  loop.exec();
  if (v.busy()) return 1;
  QApplication::processEvents();
  v.plot()->repaint();
  const double total = seconds_since(t0);
  if (!v.lastError().isEmpty()) {
    std::fprintf(stderr, "%s\n", qPrintable(v.lastError()));
    return 1;
  }
  const int L = v.panels().empty() ? 0 : v.panels()[0].rows();
  // Another head of the same block: a view change only (cut the window, draw).
  const auto t1 = Clock::now();
  v.setHead(1);
  v.plot()->repaint();
  const double redraw = seconds_since(t1);
  std::printf("RESULT case=viewer-demo L=%d trace_metrics=%.3f total=%.3f redraw=%.3f peak_mb=%.0f\n", L, v.lastSeconds(), total,
              redraw, dm::bench::peak_rss_mb());
  return 0;
}

int coreCase(const char* name, dm::model::LanguageModel m, const std::vector<int64_t>& ids,
             const std::vector<int64_t>& needle, const std::vector<int64_t>& question) {
  m->eval();
  dm::jobs::AttentionSample s;
  s.ids = ids, s.needle = needle, s.question = question;
  s.tokens.assign(ids.size(), "t");
  auto t0 = Clock::now();
  const auto maps = dm::model::ImplicitAttention::trace(m, torch::tensor(ids, torch::kLong));
  const double trace = seconds_since(t0);
  t0 = Clock::now();
  const auto report = dm::jobs::attention_report(maps, s);
  const double metrics = seconds_since(t0);
  t0 = Clock::now();
  const size_t last = maps.layers().size() - 1;
  auto panel = dm::figures::attentionPanel(maps, last, 0, dm::model::AttentionMap::combined, s.tokens, needle, question);
  QCustomPlot plot;
  plot.resize(1200, 800);
  dm::plotting::drawAttentionFigure(&plot, {panel}, {});
  const QPixmap px = plot.toPixmap(1200, 800);
  const double draw = seconds_since(t0);
  std::printf("RESULT case=%s L=%zu trace=%.3f metrics=%.3f panel_draw=%.3f total=%.3f layers=%zu peak_mb=%.0f\n", name,
              ids.size(), trace, metrics, draw, trace + metrics + draw, maps.layers().size(), dm::bench::peak_rss_mb());
  return px.isNull() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  QStandardPaths::setTestModeEnabled(true);
  dm::init_runtime(0);
  std::string only, demoModel, sample;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--case") only = argv[i + 1];
    if (std::string(argv[i]) == "--demo-model") demoModel = argv[i + 1];
    if (std::string(argv[i]) == "--sample") sample = argv[i + 1];
  }
  if (only == "viewer-demo") return viewerCase(demoModel, sample);
  if (only == "core-demo" || only == "core-370m") {
    const auto codec = dm::data::text8_codec();
    const auto rec = dm::babilong::read_records(sample).front();
    auto s = dm::jobs::attention_sample_from_record(*codec, rec);
    if (only == "core-demo") return coreCase("core-demo", dm::io::load_model(demoModel), s.ids, s.needle, s.question);
    // The 370M shape reads the same positions as GPT-NeoX ids (the cost does not depend on the ids).
    torch::manual_seed(0);
    dm::model::LanguageModel big(dm::model::ModelConfig::hf_370m(dm::model::Family::diffmamba2));
    return coreCase("core-370m", big, s.ids, s.needle, s.question);
  }
  // Parent: the sample and the demo model, then each case in its own process.
  QTemporaryDir tmp;
  if (demoModel.empty()) {
    torch::manual_seed(0);
    dm::model::LanguageModel m(demoShape());
    demoModel = tmp.filePath("demo.safetensors").toStdString();
    dm::io::save_model(m, demoModel);
  }
  const auto codec = dm::data::text8_codec();
  const auto recs = dm::jobs::babilong_cell("qa2", "4k", 1, 7, *codec, nullptr, "");
  sample = tmp.filePath("qa2-4k.jsonl").toStdString();
  dm::babilong::write_records(sample, recs);
  std::printf("sample: qa2 at 4k (text8 characters), %zu facts; demo model %s\n", recs.front().facts.size(), demoModel.c_str());
  std::printf("| case | tokens | trace + metrics s | first figure s | other head s | peak MB |\n|---|---:|---:|---:|---:|---:|\n");
  for (const char* c : {"viewer-demo", "core-demo", "core-370m"}) {
    const std::string line = dm::bench::run_command(std::string(argv[0]) + " --case " + c + " --demo-model " + demoModel +
                                                    " --sample " + sample);
    using dm::bench::field;
    if (line.empty()) {
      std::printf("| %s | failed | | | | |\n", c);
      continue;
    }
    if (std::string(c) == "viewer-demo")
      std::printf("| Attention page, demo model (click → drawn) | %s | %s | %s | %s | %s |\n", field(line, "L").c_str(),
                  field(line, "trace_metrics").c_str(), field(line, "total").c_str(), field(line, "redraw").c_str(),
                  field(line, "peak_mb").c_str());
    else
      std::printf("| core, %s (%s mapped blocks) | %s | %.3f | %s | – | %s |\n",
                  std::string(c) == "core-demo" ? "demo model" : "370M-shaped Diff-Mamba2", field(line, "layers").c_str(),
                  field(line, "L").c_str(), std::stod(field(line, "trace")) + std::stod(field(line, "metrics")),
                  field(line, "total").c_str(), field(line, "peak_mb").c_str());
    std::fflush(stdout);
  }
  return 0;
}
