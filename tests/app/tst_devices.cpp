// Where the jobs run and in what precision: --device (auto: the GPU when there is one, else the CPU with a
// warning once per process), --precision / --eval_precision (bf16 autocast, fp32 weights), the training
// overrides a job device turns into, bf16 decoding checked against fp32 on the CPU, and init-model (the
// random published-shape model the device check decodes).
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/config/experiment_config.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/finetune_job.h"
#include "core/jobs/lens_job.h"
#include "core/jobs/model_source.h"
#include "core/jobs/quick_comparison.h"
#include "core/jobs/train_job.h"
#include "core/ops/doctor.h"
#include "core/store/run_store.h"
#include "core/train/autocast.h"
#include "core/train/trainer.h"
#include "tests/app/cli_runner.h"
#include "tests/core/test_util.h"

namespace {

dm::test::CliResult run(const QStringList& args) { return dm::test::run_cli(args); }

bool has_gpu() { return dm::ops::cuda_unavailable_reason().empty(); }

// The newest run of a workspace, its config parsed.
std::pair<dm::store::RunRecord, nlohmann::json> newest_run(const QString& ws) {
  dm::store::RunStore db((ws + "/runs.db").toStdString());
  const auto r = db.runs().front();
  return {r, nlohmann::json::parse(r.config_json)};
}

double last_metric(const QString& ws, int64_t run, const std::string& name) {
  dm::store::RunStore db((ws + "/runs.db").toStdString());
  const auto rows = db.metrics(run, name);
  return rows.empty() ? std::nan("") : rows.back().value;
}

}  // namespace

class TestDevices : public QObject {
  Q_OBJECT

 private slots:
  void cpu_fallback_warns_once();  // first: the warning is once per process
  void device_and_precision_options();
  void device_overrides_for_training();
  void autocast_scope_restores();
  void bf16_decoding_matches_fp32();
  void eval_babilong_device_and_precision();
  void finetune_eval_precision();
  void lens_device_and_precision();
  void init_model_writes_a_published_shape();
  void per_token_loss_precision();
};

// On a machine without a usable GPU, auto means the CPU and says why, once: the job option, again, and the
// trainer's trainer.accelerator=auto all warn through the same once-per-process flag.
void TestDevices::cpu_fallback_warns_once() {
  if (has_gpu()) QSKIP("this machine has a GPU: auto picks it and there is nothing to warn about");
  std::vector<std::string> warnings;
  const dm::train::EventSink sink = [&](const dm::train::TrainEvent& e) {
    if (e.kind == dm::train::TrainEvent::Kind::warning) warnings.push_back(e.message);
  };
  QVERIFY(dm::jobs::device_from_option("auto", nullptr).is_cpu());  // no sink: nothing said, nothing spent
  QVERIFY(dm::jobs::device_from_option("auto", sink).is_cpu());
  QVERIFY(dm::jobs::device_from_option("auto", sink).is_cpu());
  const auto cfg = dm::config::resolve({"experiment=demo/mamba2-fortunes"});
  QCOMPARE(cfg.string("trainer.accelerator"), std::string("auto"));
  QVERIFY(dm::train::resolve_device(cfg, sink).is_cpu());
  QCOMPARE(warnings.size(), size_t{1});
  QVERIFY2(QString::fromStdString(warnings[0]).contains(QString::fromStdString(dm::ops::cuda_unavailable_reason())),
           warnings[0].c_str());
  QVERIFY2(QString::fromStdString(warnings[0]).contains("running on the CPU"), warnings[0].c_str());
}

void TestDevices::device_and_precision_options() {
  using dm::jobs::autocast_from_option;
  QVERIFY(dm::jobs::device_from_option("cpu").is_cpu());
  // Not a device: named with the choices. A GPU this machine lacks: the reason, never a silent CPU run.
  const auto bad = dm::test::error_of<dm::ConfigError>([] { dm::jobs::device_from_option("tpu"); });
  QVERIFY2(bad.contains("auto, cpu, cuda or cuda:N"), qPrintable(bad));
  if (!has_gpu()) {
    for (const char* d : {"cuda", "cuda:0", "cuda:3"}) {
      const auto e = dm::test::error_of<dm::ConfigError>([&] { dm::jobs::device_from_option(d); });
      QVERIFY2(e.contains("no CUDA device can be used") &&
                   e.contains(QString::fromStdString(dm::ops::cuda_unavailable_reason())),
               qPrintable(e));
    }
  } else {
    // Several processes on this machine: each takes its local rank's GPU; a fixed index is refused.
    QCOMPARE(dm::jobs::device_from_option("auto", nullptr, 0, 2), torch::Device(torch::kCUDA, 0));
    const auto e = dm::test::error_of<dm::ConfigError>([] { dm::jobs::device_from_option("cuda:0", nullptr, 1, 2); });
    QVERIFY2(e.contains("local rank"), qPrintable(e));
  }
  // Precision: auto is bf16 only on a GPU and only where the seed evaluates in bf16.
  const torch::Device cpu(torch::kCPU), gpu(torch::kCUDA, 0);
  QVERIFY(!autocast_from_option("precision", "auto", cpu, true));
  QCOMPARE(autocast_from_option("precision", "auto", gpu, true), std::optional(at::kBFloat16));
  QVERIFY(!autocast_from_option("precision", "auto", gpu, false));
  for (const char* v : {"32", "32-true", "fp32"}) QVERIFY(!autocast_from_option("precision", v, gpu, true));
  for (const char* v : {"bf16", "bf16-mixed"}) QCOMPARE(autocast_from_option("precision", v, cpu, false), std::optional(at::kBFloat16));
  const auto fp16 = dm::test::error_of<dm::ConfigError>([&] { autocast_from_option("eval_precision", "16-mixed", cpu, true); });
  QVERIFY2(fp16.contains("eval_precision") && fp16.contains("bf16-mixed"), qPrintable(fp16));
  QCOMPARE(dm::jobs::precision_name(std::nullopt), std::string("32"));
  QCOMPARE(dm::jobs::precision_name(at::kBFloat16), std::string("bf16-mixed"));
}

// A job device as training overrides (the window's setting, quick-comparison --device), and every stage of
// the Quick comparison on it.
void TestDevices::device_overrides_for_training() {
  using V = std::vector<std::string>;
  QCOMPARE(dm::jobs::device_overrides("auto"), V{});
  QCOMPARE(dm::jobs::device_overrides("cpu"), V{"trainer.accelerator=cpu"});
  QCOMPARE(dm::jobs::device_overrides("cuda"), V{"trainer.accelerator=gpu"});
  QCOMPARE(dm::jobs::device_overrides("cuda:1"), (V{"trainer.accelerator=gpu", "trainer.devices=[1]"}));
  for (const char* d : {"cuda:", "cuda:x", "cuda:-1", "gpu", ""}) {
    const auto e = dm::test::error_of<dm::ConfigError>([&] { dm::jobs::device_overrides(d); });
    QVERIFY2(e.contains("auto, cpu, cuda or cuda:N"), qPrintable(QString(d) + ": " + e));
  }
  // The overrides are ones the config accepts.
  auto args = dm::jobs::device_overrides("cuda:1");
  args.insert(args.begin(), "experiment=demo/mamba2-fortunes");
  const auto cfg = dm::config::resolve(args);
  QCOMPARE(cfg.string("trainer.accelerator"), std::string("gpu"));
  QCOMPARE(cfg.at("trainer.devices").dump(), std::string("[1]"));

  dm::jobs::QuickComparisonOptions o;
  o.device = "cpu";
  const dm::jobs::Workspace ws{"/nonexistent-workspace"};
  const auto quick = dm::jobs::quick_train_args(o, "diffmamba2");
  QVERIFY(std::find(quick.begin(), quick.end(), "trainer.accelerator=cpu") != quick.end());
  QCOMPARE(dm::jobs::quick_needle_options(ws, o, "diffmamba2", "m.safetensors").device, std::string("cpu"));
  QCOMPARE(dm::jobs::quick_eval_options(ws, o, "diffmamba2").device, std::string("cpu"));
  QCOMPARE(dm::jobs::quick_lens_train_options(ws, o, "diffmamba2").device, std::string("cpu"));
  QCOMPARE(dm::jobs::quick_lens_eval_options(ws, o, "diffmamba2").device, std::string("cpu"));
}

void TestDevices::autocast_scope_restores() {
  const auto cpu = c10::DeviceType::CPU;
  QVERIFY(!at::autocast::is_autocast_enabled(cpu));
  const auto dtype_before = at::autocast::get_autocast_dtype(cpu);
  {
    const dm::train::AutocastScope none(cpu, std::nullopt);  // fp32: does nothing
    QVERIFY(!at::autocast::is_autocast_enabled(cpu));
  }
  {
    const dm::train::AutocastScope bf16(cpu, at::kBFloat16);
    QVERIFY(at::autocast::is_autocast_enabled(cpu));
    QCOMPARE(at::autocast::get_autocast_dtype(cpu), at::kBFloat16);
    const auto y = torch::mm(torch::randn({4, 4}), torch::randn({4, 4}));
    QCOMPARE(y.scalar_type(), at::kBFloat16);
  }
  QVERIFY(!at::autocast::is_autocast_enabled(cpu));
  QCOMPARE(at::autocast::get_autocast_dtype(cpu), dtype_before);
  // Left by a throw: restored too.
  try {
    const dm::train::AutocastScope bf16(cpu, at::kBFloat16);
    throw std::runtime_error("out");
  } catch (const std::runtime_error&) {
  }
  QVERIFY(!at::autocast::is_autocast_enabled(cpu));
  QCOMPARE(torch::mm(torch::randn({2, 2}), torch::randn({2, 2})).scalar_type(), at::kFloat);
}

// Greedy decoding under bf16 autocast (what eval-babilong does on a GPU by default), on the CPU: the SSM
// state stays fp32, and the prefill and every step's logits stay within bf16 rounding of the fp32 ones.
void TestDevices::bf16_decoding_matches_fp32() {
  for (auto family : {dm::model::Family::mamba2, dm::model::Family::diffmamba2}) {
    auto cfg = dm::test::tiny_hf(family, 2, 27, 64);
    cfg.chunk_size = 16;
    torch::manual_seed(3);
    dm::model::LanguageModel m(cfg);
    m->eval();
    torch::NoGradGuard ng;
    const auto prompt = torch::randint(0, 27, {1, 37}, torch::kLong);
    const auto nexts = torch::randint(0, 27, {6}, torch::kLong);
    auto decode = [&](std::optional<at::ScalarType> autocast, std::vector<torch::Tensor>& logits) {
      const dm::train::AutocastScope mixed(c10::DeviceType::CPU, autocast);
      auto state = m->initial_state(1);
      auto h = m->hidden(prompt, nullptr, &state);
      logits.push_back(m->head(h.select(1, h.size(1) - 1)).to(torch::kFloat));
      for (int64_t i = 0; i < nexts.size(0); ++i) logits.push_back(m->step(nexts.narrow(0, i, 1), state).to(torch::kFloat));
      return state;
    };
    std::vector<torch::Tensor> ref, bf;
    decode(std::nullopt, ref);
    const auto state = decode(at::kBFloat16, bf);
    // The SSM state (summed over the whole context) stays fp32; the conv state holds the last inputs, exact
    // in the activations' dtype.
    int checked = 0;
    for (const auto& b : state.blocks)
      for (const auto& t : {b.m1.ssm, b.m2.ssm})
        if (t.defined()) {
          QVERIFY2(t.scalar_type() == at::kFloat, qPrintable(QStringLiteral("%1 state tensor %2 [%3] is %4").arg(QString::fromStdString(dm::model::to_string(family))).arg(checked).arg(QString::fromStdString(c10::str(t.sizes()))).arg(c10::toString(t.scalar_type()))));
          ++checked;
        }
    QVERIFY(checked >= 2);
    for (size_t i = 0; i < ref.size(); ++i) {
      const double scale = ref[i].abs().max().item<double>();
      const double err = (bf[i] - ref[i]).abs().max().item<double>();
      QVERIFY2(err <= 0.05 * scale, qPrintable(QStringLiteral("%1 position %2: bf16 logits off by %3 (max |logit| %4)")
                                                   .arg(QString::fromStdString(dm::model::to_string(family)))
                                                   .arg(i)
                                                   .arg(err)
                                                   .arg(scale)));
      QVERIFY(err > 0);  // autocast really ran in bf16
    }
    // The job's decoding under the autocast: as many tokens as asked (no eos in a character model).
    const std::vector<int64_t> ids(prompt.data_ptr<int64_t>(), prompt.data_ptr<int64_t>() + prompt.numel());
    QCOMPARE(dm::jobs::generate_greedy(m, ids, 5, std::nullopt, at::kBFloat16).size(), size_t{5});
  }
}

void TestDevices::eval_babilong_device_and_precision() {
  QTemporaryDir d;
  dm::test::save_tiny_model(dm::model::Family::diffmamba2, d.filePath("tiny.safetensors").toStdString(), 1, 2);
  const QStringList base = {"eval-babilong", "--ckpt_path", d.filePath("tiny.safetensors"), "--workspace", d.filePath("ws"),
                            "--tasks", "qa1", "--lengths", "0k", "--samples", "3", "--max_new_tokens", "3", "--quiet"};
  // The default: the GPU when there is one; here, on a machine without one, the CPU and one warning.
  auto a = run(base);
  QVERIFY2(a.code == 0, qPrintable(a.out + a.err));
  auto [rec, cfg] = newest_run(d.filePath("ws"));
  if (!has_gpu()) {
    QCOMPARE(a.err.count("no GPU can be used"), 1);
    QCOMPARE(rec.device, std::string("cpu"));
    QCOMPARE(cfg.at("precision").get<std::string>(), std::string("32"));
  } else {
    QCOMPARE(rec.device, std::string("cuda:0"));
    QCOMPARE(cfg.at("precision").get<std::string>(), std::string("bf16-mixed"));
  }
  // Asked for the CPU: no warning. bf16 on the CPU on request.
  auto c = run(base + QStringList{"--device", "cpu", "--precision", "bf16-mixed"});
  QVERIFY2(c.code == 0 && !c.err.contains("no GPU"), qPrintable(c.out + c.err));
  std::tie(rec, cfg) = newest_run(d.filePath("ws"));
  QCOMPARE(rec.device, std::string("cpu"));
  QCOMPARE(cfg.at("precision").get<std::string>(), std::string("bf16-mixed"));
  if (!has_gpu()) {
    auto g = run(base + QStringList{"--device", "cuda"});
    QCOMPARE(g.code, 2);
    QVERIFY2(g.err.contains("no CUDA device can be used"), qPrintable(g.err));
  }
  auto p = run(base + QStringList{"--precision", "16"});
  QCOMPARE(p.code, 2);
  QVERIFY2(p.err.contains("precision") && p.err.contains("bf16-mixed"), qPrintable(p.err));
  auto t = run(base + QStringList{"--device", "tpu"});
  QCOMPARE(t.code, 2);
  QVERIFY2(t.err.contains("auto, cpu, cuda or cuda:N"), qPrintable(t.err));
}

// finetune-pg19 trains in fp32 either way (the seed's Trainer); --eval_precision bf16-mixed changes only the
// evaluation, so the same run's eval loss moves by bf16 rounding and nothing else.
void TestDevices::finetune_eval_precision() {
  QTemporaryDir d;
  dm::test::save_tiny_model(dm::model::Family::diffmamba2, d.filePath("tiny.safetensors").toStdString(), 2, 2);
  QDir(d.path()).mkpath("books");
  for (const char* b : {"books/a.txt", "books/b.txt"}) {
    std::ofstream f(d.filePath(b).toStdString());
    for (int i = 0; i < 40; ++i) f << "The old ship sailed slowly along the grey coast of the northern sea. ";
  }
  std::map<std::string, double> loss;
  for (const QString precision : {"32", "bf16-mixed"}) {
    auto ft = run({"finetune-pg19", "--ckpt_path", d.filePath("tiny.safetensors"), "--pg19", d.filePath("books"),
                   "--output_dir", d.filePath("out-" + precision), "--max_steps", "2", "--batch_size", "2", "--max_length",
                   "128", "--eval_steps", "2", "--save_steps", "2", "--warmup", "0", "--workspace", d.filePath("ws"),
                   "--device", "cpu", "--eval_precision", precision, "--quiet"});
    QVERIFY2(ft.code == 0, qPrintable(ft.out + ft.err));
    const auto [rec, cfg] = newest_run(d.filePath("ws"));
    QCOMPARE(rec.device, std::string("cpu"));
    QCOMPARE(cfg.at("precision").get<std::string>(), std::string("32"));
    QCOMPARE(cfg.at("eval_precision").get<std::string>(), precision.toStdString());
    loss[precision.toStdString()] = last_metric(d.filePath("ws"), rec.id, "eval/loss");
  }
  const double l32 = loss["32"], lbf = loss["bf16-mixed"];
  QVERIFY2(std::isfinite(l32) && std::isfinite(lbf), qPrintable(QStringLiteral("%1 %2").arg(l32).arg(lbf)));
  QVERIFY2(std::abs(lbf - l32) <= 0.02 * l32 && lbf != l32,
           qPrintable(QStringLiteral("eval loss fp32 %1, bf16 %2").arg(l32, 0, 'g', 9).arg(lbf, 0, 'g', 9)));
}

void TestDevices::lens_device_and_precision() {
  QTemporaryDir d;
  auto cfg = dm::test::tiny_hf(dm::model::Family::mamba2, 2, 27);
  torch::manual_seed(4);
  dm::model::LanguageModel m(cfg);
  dm::io::save_hf_directory(m, d.filePath("ckpt").toStdString());
  auto t = run({"lens", "train", "--model.name", d.filePath("ckpt"), "--output", d.filePath("lens"), "--num_steps", "2",
                "--tokens_per_step", "128", "--max_seq_len", "64", "--workspace", d.filePath("ws"), "--device", "cpu",
                "--precision", "bf16-mixed", "--quiet"});
  QVERIFY2(t.code == 0 && !t.err.contains("no GPU"), qPrintable(t.out + t.err));
  auto [rec, rcfg] = newest_run(d.filePath("ws"));
  QCOMPARE(rec.kind, std::string("lens-train"));
  QCOMPARE(rec.device, std::string("cpu"));
  QCOMPARE(rcfg.at("precision").get<std::string>(), std::string("bf16-mixed"));
  auto e = run({"lens", "eval", "--ckpt_path", d.filePath("ckpt"), "--lens", d.filePath("lens"), "--num_examples", "3",
                "--samples", "2", "--workspace", d.filePath("ws"), "--output", d.filePath("eval.txt"), "--quiet"});
  QVERIFY2(e.code == 0, qPrintable(e.out + e.err));
  std::tie(rec, rcfg) = newest_run(d.filePath("ws"));
  QCOMPARE(rec.kind, std::string("lens-eval"));
  QCOMPARE(rcfg.at("precision").get<std::string>(), std::string("32"));  // auto: fp32, as test_babilong_0k.py
  if (!has_gpu()) QCOMPARE(e.err.count("no GPU can be used"), 1);
  auto bad = run({"lens", "eval", "--ckpt_path", d.filePath("ckpt"), "--lens", d.filePath("lens"), "--workspace",
                  d.filePath("ws"), "--device", "cuda:9"});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("cuda:9"), qPrintable(bad.err));
}

// `init-model`: the random model the device check decodes at 16k and 64k tokens (a 370M shape without a
// download); the shape's numbers, overrides, both file layouts, the same seed giving the same weights.
void TestDevices::init_model_writes_a_published_shape() {
  QTemporaryDir d;
  auto a = run({"init-model", "--family", "diffmamba2", "--shape", "370m", "--n_layers", "2", "--vocab", "27", "--seed", "5",
                "--out", d.filePath("a")});
  QVERIFY2(a.code == 0 && a.out.contains("Diff-Mamba2") && a.out.contains("d_model 1024"), qPrintable(a.out + a.err));
  auto m = dm::io::load_hf_directory(d.filePath("a").toStdString());
  const auto& c = m->config();
  QCOMPARE(c.family, dm::model::Family::diffmamba2);
  QCOMPARE(c.n_layers, int64_t{2});
  QCOMPARE(c.d_model, int64_t{1024});
  QCOMPARE(c.head_dim, dm::model::ModelConfig::hf_370m(dm::model::Family::diffmamba2).head_dim);
  QCOMPARE(c.d_state, int64_t{128});
  QCOMPARE(c.vocab_size, int64_t{27});
  QVERIFY(a.out.contains(QString::number(m->num_parameters())));
  auto b = run({"init-model", "--family", "diffmamba2", "--shape", "370m", "--n_layers", "2", "--vocab", "27", "--seed", "5",
                "--out", d.filePath("b")});
  QVERIFY2(b.code == 0, qPrintable(b.err));
  auto m2 = dm::io::load_hf_directory(d.filePath("b").toStdString());
  const auto p1 = m->parameters(), p2 = m2->parameters();
  QCOMPARE(p1.size(), p2.size());
  for (size_t i = 0; i < p1.size(); ++i) QVERIFY(torch::equal(p1[i], p2[i]));
  // A family without an HF layout: a model file in the folder, which every command opens.
  auto s6 = run({"init-model", "--family", "diffs6mamba2", "--shape", "demo", "--vocab", "27", "--out", d.filePath("s6")});
  QVERIFY2(s6.code == 0, qPrintable(s6.out + s6.err));
  auto tm = dm::jobs::open_text_model(d.filePath("s6").toStdString());
  QCOMPARE(tm.model->config().family, dm::model::Family::diffs6mamba2);
  QCOMPARE(tm.model->config().d_model, int64_t{64});
  auto bad = run({"init-model", "--shape", "7b", "--out", d.filePath("x")});
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("370m or demo"), qPrintable(bad.err));
  QVERIFY(!QFileInfo::exists(d.filePath("x")));
}

// per-token-loss --precision: bf16 on request on the CPU, the per-position losses within bf16 rounding of fp32,
// the precision part of what a saved progress must match.
void TestDevices::per_token_loss_precision() {
  QTemporaryDir d;
  dm::test::save_tiny_model(dm::model::Family::diffmamba2, d.filePath("m.safetensors").toStdString(), 6, 2);
  {
    std::ofstream f(d.filePath("doc.txt").toStdString());
    for (int i = 0; i < 20; ++i) f << "the grey ship sailed on along the coast of the northern sea ";
  }
  auto once = [&](const QString& out, const QString& precision) {
    return run({"per-token-loss", "--ckpt_path", d.filePath("m.safetensors"), "--data", d.filePath("doc.txt"), "--eval_len",
                "300", "--chunk", "64", "--output_dir", out, "--workspace", d.filePath("ws"), "--device", "cpu",
                "--precision", precision, "--quiet"});
  };
  std::map<QString, std::vector<double>> losses;
  for (const QString p : {"32", "bf16-mixed"}) {
    auto r = once(d.filePath("out-" + p), p);
    QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
    std::ifstream f(d.filePath("out-" + p + "/results.json").toStdString());
    const auto j = nlohmann::json::parse(f);
    losses[p] = j.at("val/loss_per_token").get<std::vector<double>>();
    const auto [rec, cfg] = newest_run(d.filePath("ws"));
    QCOMPARE(cfg.at("precision").get<std::string>(), p.toStdString());
  }
  QCOMPARE(losses["32"].size(), size_t{300});
  QCOMPARE(losses["bf16-mixed"].size(), size_t{300});
  double worst = 0;
  for (size_t i = 0; i < 300; ++i) worst = std::max(worst, std::abs(losses["32"][i] - losses["bf16-mixed"][i]));
  QVERIFY2(worst > 0 && worst < 0.05, qPrintable(QStringLiteral("largest per-position difference %1 nats").arg(worst)));
  auto bad = once(d.filePath("out-x"), "16-mixed");
  QCOMPARE(bad.code, 2);
  QVERIFY2(bad.err.contains("precision"), qPrintable(bad.err));
}

QTEST_GUILESS_MAIN(TestDevices)
#include "tst_devices.moc"
