// Core benchmark: SSD forward+backward (chunked vs the sequential oracle), activation memory against
// L, and one training step of small Mamba2 / Diff-Mamba2 LMs. Each case runs in a child process of
// this executable so that its peak memory is its own. Prints one Markdown table.
//
//   bench_core                 run every case and print the table
//   bench_core --quick         smaller repeat counts (a smoke run)
//   bench_core --segsum        only the chunked SSD's segment-sum forms (stable vs difference), paired
//   bench_core --scan          only Mamba-1's selective scan (S6): the CPU scan vs its oracle, memory vs L
//   bench_core --case ...      (internal) run one case and print a RESULT line
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include "core/model/language_model.h"
#include "core/ops/dispatch.h"
#include "core/ops/selective_scan.h"
#include "core/ops/ssd.h"
#include "core/runtime.h"
#include "core/io/atomic_file.h"
#include "core/io/model_file.h"
#include "core/jobs/lens_job.h"
#include <atomic>
#include <filesystem>
#include "bench/bench_util.h"

namespace {

using namespace dm::bench;

// FLOPs of one chunked SSD forward (the matmuls): per token and head 2Q(N+P) + 4PN.
double ssd_flops(int64_t b, int64_t l, int64_t h, int64_t p, int64_t n, int64_t q) {
  return static_cast<double>(b * l * h) * (2.0 * q * (n + p) + 4.0 * p * n);
}

int run_ssd(bool chunked, int64_t b, int64_t l, int64_t h, int64_t p, int64_t n, int repeats, int64_t q) {
  torch::manual_seed(0);
  auto x = torch::randn({b, l, h, p}).requires_grad_(true);
  auto dt = torch::softplus(torch::randn({b, l, h}) - 2).requires_grad_(true);
  auto A = (-torch::exp(torch::randn({h}) * 0.5)).requires_grad_(true);
  auto B = torch::randn({b, l, 1, n}).requires_grad_(true);
  auto C = torch::randn({b, l, 1, n}).requires_grad_(true);
  auto D = torch::randn({h}).requires_grad_(true);
  const double base = rss_mb();
  auto once = [&] {
    auto r = chunked ? dm::ops::ssd_chunked(x, dt, A, B, C, D, q) : dm::ops::ssd_sequential(x, dt, A, B, C, D);
    (r.y.sum() + r.final_state.sum()).backward();
    for (auto* t : {&x, &dt, &A, &B, &C, &D}) t->mutable_grad() = torch::Tensor();
  };
  const double s = median_seconds(1, repeats, once);
  std::printf("RESULT seconds=%.6f tokens_per_s=%.1f peak_mb=%.1f gflops=%.2f\n", s, double(b * l) / s,
              peak_rss_mb() - base, 3.0 * ssd_flops(b, l, h, p, n, q) / s / 1e9);
  return 0;
}

// Mamba-1's selective scan forward + backward, the CPU scan or the step-by-step oracle, on a trained
// mixer's value ranges (Δ = softplus(x − 2), A = −(1..N)).
int run_scan(bool fast, int64_t b, int64_t l, int64_t di, int64_t n, int repeats) {
  torch::manual_seed(0);
  auto u = torch::randn({b, l, di}).requires_grad_(true);
  auto delta = torch::softplus(torch::randn({b, l, di}) - 2).requires_grad_(true);
  auto A = (-torch::arange(1, n + 1, torch::kFloat).repeat({di, 1})).requires_grad_(true);
  auto B = torch::randn({b, l, n}).requires_grad_(true);
  auto C = torch::randn({b, l, n}).requires_grad_(true);
  auto D = torch::randn({di}).requires_grad_(true);
  const double base = rss_mb();
  auto once = [&] {
    auto r = fast ? dm::ops::selective_scan(u, delta, A, B, C, D) : dm::ops::selective_scan_sequential(u, delta, A, B, C, D);
    (r.y.sum() + r.final_state.sum()).backward();
    for (auto* t : {&u, &delta, &A, &B, &C, &D}) t->mutable_grad() = torch::Tensor();
  };
  const double s = median_seconds(1, repeats, once);
  std::printf("RESULT seconds=%.6f tokens_per_s=%.1f peak_mb=%.1f\n", s, double(b * l) / s, peak_rss_mb() - base);
  return 0;
}

int scan_table(const char* self, bool quick) {
  std::printf("| Mamba-1 selective scan, fwd+bwd | shape | median s | tokens/s | peak MB | vs oracle |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  const std::string dims = "1 4096 512 16 ";
  const auto oracle = run_child(self, "scan sequential " + dims + (quick ? "1" : "3"));
  const auto fast = run_child(self, "scan fast " + dims + (quick ? "2" : "5"));
  const double to = std::stod(field(oracle, "tokens_per_s")), tf = std::stod(field(fast, "tokens_per_s"));
  std::printf("| CPU scan | B=1 L=4096 Di=512 N=16 | %s | %.0f | %s | %.1f× |\n", field(fast, "seconds").c_str(), tf,
              field(fast, "peak_mb").c_str(), tf / to);
  std::printf("| sequential oracle | B=1 L=4096 Di=512 N=16 | %s | %.0f | %s | 1.0× |\n", field(oracle, "seconds").c_str(),
              to, field(oracle, "peak_mb").c_str());
  for (int64_t l : {1024, 4096, 16384}) {
    const auto r = run_child(self, "scan fast 1 " + std::to_string(l) + " 512 16 " + (quick ? "1" : "3"));
    std::printf("| CPU scan, memory vs L | B=1 L=%lld Di=512 N=16 | %s | %s | %s | |\n", static_cast<long long>(l),
                field(r, "seconds").c_str(), field(r, "tokens_per_s").c_str(), field(r, "peak_mb").c_str());
    std::fflush(stdout);
  }
  return 0;
}

// One optimizer step (forward, backward, AdamW) of `cfg` on random tokens; prints a RESULT line.
int time_train_step(const dm::model::ModelConfig& cfg, int64_t b, int64_t l, int repeats) {
  torch::manual_seed(0);
  dm::model::LanguageModel m(cfg);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(5e-4).weight_decay(0.1));
  auto ids = torch::randint(0, cfg.vocab_size, {b, l + 1}, torch::kLong);
  auto x = ids.narrow(1, 0, l), y = ids.narrow(1, 1, l);
  const double base = rss_mb();
  const double s = median_seconds(1, repeats, [&] {
    opt.zero_grad();
    m->loss(x, y).backward();
    opt.step();
  });
  std::printf("RESULT seconds=%.6f tokens_per_s=%.1f peak_mb=%.1f params=%lld\n", s, double(b * l) / s,
              peak_rss_mb() - base, static_cast<long long>(m->num_parameters()));
  return 0;
}

// The lm backbone ([mixer, mixer, FFN] × 4, post-LayerNorm) of the training-step row.
int run_train(const std::string& family, int64_t b, int64_t l, int repeats) {
  const auto fam = dm::model::family_from_string(family);
  auto cfg = dm::model::ModelConfig::lm_defaults(fam);
  if (cfg.is_mamba1()) cfg.d_state = 16;  // the published Mamba-1 layers
  if (fam == dm::model::Family::diffs6mamba2) cfg.head_dim = 128;  // 108 needs d_model 54·k; 2·256 = 512 = 4·128
  cfg.vocab_size = 256;
  cfg.d_model = 256;
  cfg.n_layers = 4;
  cfg.dropout = 0.1;
  return time_train_step(cfg, b, l, repeats);
}

// The hf backbone (pre-RMSNorm Mamba2 blocks, as transformers' Mamba2ForCausalLM) for the peer row.
int run_train_hf(int64_t layers, int64_t d, int64_t b, int64_t l, int repeats) {
  auto cfg = dm::model::ModelConfig::hf_370m(dm::model::Family::mamba2);
  cfg.vocab_size = 256;
  cfg.d_model = d;
  cfg.n_layers = layers;
  cfg.head_dim = 128;
  cfg.d_state = 64;
  return time_train_step(cfg, b, l, repeats);
}

// The model of the generation and lens rows: 4 hf blocks, d_model 256, text8's 27 symbols.
dm::model::ModelConfig generation_model(bool diff) {
  auto cfg = dm::model::ModelConfig::hf_370m(diff ? dm::model::Family::diffmamba2 : dm::model::Family::mamba2);
  cfg.vocab_size = 27;
  cfg.d_model = 256;
  cfg.n_layers = 4;
  cfg.head_dim = 64;
  cfg.d_state = 64;
  cfg.chunk_size = 64;
  return cfg;
}

// BABILong-style generation: prefill a prompt of L tokens once, then `fresh` greedy recurrent steps.
int run_generate(bool diff, int64_t l, int64_t fresh) {
  const auto cfg = generation_model(diff);
  dm::model::LanguageModel m(cfg);
  m->eval();
  auto prompt = torch::randint(0, 27, {l}, torch::kLong);
  std::vector<int64_t> ids(prompt.data_ptr<int64_t>(), prompt.data_ptr<int64_t>() + l);
  const double base = rss_mb();
  torch::NoGradGuard ng;
  auto t0 = Clock::now();
  auto state = m->initial_state(1);
  auto h = m->hidden(prompt.unsqueeze(0), nullptr, &state);
  auto logits = m->head(h.select(1, l - 1));
  const double prefill = seconds_since(t0);
  h = torch::Tensor();
  const double after_prefill = rss_mb();
  t0 = Clock::now();
  for (int64_t i = 0; i < fresh; ++i) logits = m->step(logits.argmax(-1), state);
  const double decode = seconds_since(t0);
  const double after_decode = rss_mb();
  std::printf("RESULT prefill_tok_s=%.0f decode_tok_s=%.1f peak_mb=%.0f state_mb=%.1f growth_kb_per_token=%.2f\n",
              l / prefill, fresh / decode, peak_rss_mb() - base, after_prefill - base,
              (after_decode - after_prefill) * 1024.0 / fresh);
  return 0;
}

// Tuned lens on the generation benchmark's model: training tokens/s and BABILong-0k evaluation samples/s.
int run_lens(bool diff) {
  const auto cfg = generation_model(diff);
  dm::model::LanguageModel m(cfg);
  const auto dir = std::filesystem::temp_directory_path() / ("dm-bench-lens-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  dm::io::save_model(m, (dir / "m.safetensors").string());
  dm::jobs::Workspace ws{(dir / "ws").string()};
  std::atomic<bool> cancel{false};
  dm::jobs::LensTrainOptions t;
  t.ckpt_path = (dir / "m.safetensors").string();
  t.output = (dir / "lens").string();
  t.num_steps = 6;
  t.max_seq_len = 512;
  t.tokens_per_step = 4096;
  t.per_gpu_batch_size = 4;
  double tps = 0;
  dm::jobs::run_lens_train(ws, t, [&](const dm::train::TrainEvent& ev) { tps = ev.tokens_per_s; }, cancel);
  dm::jobs::LensEvalOptions e;
  e.ckpt_path = t.ckpt_path;
  e.lens = t.output;
  e.samples = 20;
  e.output = (dir / "eval.txt").string();
  const auto r = dm::jobs::run_lens_eval(ws, e, nullptr, cancel);
  double sps = 0;
  for (const auto& p : r.points)
    if (p.metric == "samples_per_s") sps = p.value;
  dm::io::remove_tree(dir.string());
  std::printf("RESULT train_tokens_per_s=%.0f eval_samples_per_s=%.2f\n", tps, sps);
  return 0;
}

int run_gemm(int repeats) {
  auto a = torch::randn({1024, 1024}), c = torch::randn({1024, 1024});
  const double s = median_seconds(3, repeats, [&] { auto r = torch::mm(a, c); });
  std::printf("RESULT seconds=%.6f gflops=%.2f\n", s, 2.0 * 1024 * 1024 * 1024 / s / 1e9);
  return 0;
}

// The chunked SSD's two segment-sum forms, fwd+bwd, each timed three times in alternation so that
// drift on a shared machine falls on both.
int segsum_table(const char* self) {
  std::printf("| shape | Q | stable median s | difference median s | stable / difference time |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  struct Shape { int64_t b, l; };
  for (auto s : {Shape{8, 1024}, Shape{2, 4096}}) {
    for (int q : {64, 256}) {
      const std::string args = "ssd chunked " + std::to_string(s.b) + " " + std::to_string(s.l) + " 8 64 64 5 " +
                               std::to_string(q) + " ";
      std::vector<double> st, df;
      for (int round = 0; round < 3; ++round) {
        st.push_back(std::stod(field(run_child(self, args + "stable"), "seconds")));
        df.push_back(std::stod(field(run_child(self, args + "difference"), "seconds")));
      }
      std::sort(st.begin(), st.end());
      std::sort(df.begin(), df.end());
      std::printf("| B=%lld L=%lld H=8 P=64 N=64 | %d | %.4f | %.4f | %.3f |\n", static_cast<long long>(s.b),
                  static_cast<long long>(s.l), q, st[1], df[1], st[1] / df[1]);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dm::init_runtime(0);
  if (argc > 2 && std::string(argv[1]) == "--case") {
    const std::string c = argv[2];
    auto arg = [&](int i) { return std::stoll(argv[i]); };
    if (c == "ssd" && argc > 11)
      dm::ops::set_ssd_segsum(std::string(argv[11]) == "difference" ? dm::ops::SsdSegsum::difference
                                                                     : dm::ops::SsdSegsum::stable);
    if (c == "ssd")
      return run_ssd(std::string(argv[3]) == "chunked", arg(4), arg(5), arg(6), arg(7), arg(8), int(arg(9)),
                     argc > 10 ? arg(10) : 256);
    if (c == "scan") return run_scan(std::string(argv[3]) == "fast", arg(4), arg(5), arg(6), arg(7), int(arg(8)));
    if (c == "train") return run_train(argv[3], arg(4), arg(5), int(arg(6)));
    if (c == "gemm") return run_gemm(int(arg(3)));
    if (c == "lens") return run_lens(std::string(argv[3]) == "diffmamba2");
    if (c == "generate") return run_generate(std::string(argv[3]) == "diffmamba2", arg(4), arg(5));
    if (c == "train_hf") return run_train_hf(arg(3), arg(4), arg(5), arg(6), int(arg(7)));
    return 2;
  }
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const bool generation_only = argc > 1 && std::string(argv[argc - 1]) == "--generation";
  const int rep = quick ? 2 : 5, rep_seq = quick ? 1 : 3;
  std::printf("LibTorch %s, %d intra-op threads\n\n", dm::torch_version().c_str(), torch::get_num_threads());
  if (argc > 1 && std::string(argv[1]) == "--segsum") return segsum_table(argv[0]);
  if (argc > 1 && std::string(argv[1]) == "--scan") return scan_table(argv[0], argc > 2 && std::string(argv[2]) == "--quick");

  if (generation_only) goto generation;
  {
  const auto gemm = run_child(argv[0], "gemm 10");
  const double peak_gflops = std::stod(field(gemm, "gflops").empty() ? "0" : field(gemm, "gflops"));
  std::printf("fp32 GEMM 1024^3 on this machine: %.1f GFLOP/s (the compute floor below uses it)\n\n", peak_gflops);

  std::printf("| case | shape | median s | tokens/s | peak MB | GFLOP/s | vs oracle |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|\n");
  struct Shape { int64_t b, l; };
  for (auto s : {Shape{8, 1024}, Shape{2, 4096}}) {
    const std::string dims = std::to_string(s.b) + " " + std::to_string(s.l) + " 8 64 64 ";
    const auto sq = run_child(argv[0], "ssd sequential " + dims + std::to_string(rep_seq));
    const double ts = std::stod(field(sq, "tokens_per_s"));
    const std::string shape = "B=" + std::to_string(s.b) + " L=" + std::to_string(s.l) + " H=8 P=64 N=64";
    for (int q : {64, 256}) {
      const auto ch = run_child(argv[0], "ssd chunked " + dims + std::to_string(rep) + " " + std::to_string(q));
      const double tc = std::stod(field(ch, "tokens_per_s"));
      std::printf("| SSD fwd+bwd chunked, Q=%d%s | %s | %s | %.0f | %s | %s | %.1f× |\n", q,
                  q == 64 ? " (CPU default)" : "", shape.c_str(), field(ch, "seconds").c_str(), tc,
                  field(ch, "peak_mb").c_str(), field(ch, "gflops").c_str(), tc / ts);
    }
    std::printf("| SSD fwd+bwd sequential oracle | %s | %s | %.0f | %s | – | 1.0× |\n", shape.c_str(),
                field(sq, "seconds").c_str(), ts, field(sq, "peak_mb").c_str());
    std::fflush(stdout);
  }
  for (int64_t l : {1024, 2048, 4096, 8192, 16384}) {
    const auto ch = run_child(argv[0], "ssd chunked 2 " + std::to_string(l) + " 8 64 64 " + std::to_string(rep) + " 64");
    std::printf("| SSD fwd+bwd chunked Q=64, memory vs L | B=2 L=%lld H=8 P=64 N=64 | %s | %s | %s | %s | |\n",
                static_cast<long long>(l), field(ch, "seconds").c_str(), field(ch, "tokens_per_s").c_str(),
                field(ch, "peak_mb").c_str(), field(ch, "gflops").c_str());
    std::fflush(stdout);
  }
  for (const char* fam : {"mamba2", "diffmamba2", "mamba"}) {  // mamba: Mamba-1, d_state 16
    const auto r = run_child(argv[0], std::string("train ") + fam + " 8 512 " + std::to_string(rep));
    std::printf("| train step (fwd+bwd+AdamW) %s LM, 4 layers × [mixer, mixer, FFN], d_model 256, %s params | B=8 L=512 | %s | %s | %s | – | |\n",
                fam, field(r, "params").c_str(), field(r, "seconds").c_str(), field(r, "tokens_per_s").c_str(),
                field(r, "peak_mb").c_str());
    std::fflush(stdout);
  }
  // Peer: transformers' Mamba2ForCausalLM (pure-PyTorch CPU path) against our hf backbone, same geometry.
  {
    const auto ours = run_child(argv[0], "train_hf 8 256 8 512 " + std::to_string(rep));
    std::printf("| train step, Mamba2ForCausalLM geometry (8 blocks, d_model 256, head_dim 128, N 64), ours, %s params | B=8 L=512 | %s | %s | %s | – | |\n",
                field(ours, "params").c_str(), field(ours, "seconds").c_str(), field(ours, "tokens_per_s").c_str(),
                field(ours, "peak_mb").c_str());
    const char* py = std::getenv("DM_PEER_PYTHON");
    if (py && *py) {
      const std::string cmd = std::string(py) + " " + DM_SOURCE_DIR + "/bench/peer_hf_mamba2.py 8 256 8 512 " +
                              std::to_string(rep) + " 2>/dev/null";
      const std::string peer = run_command(cmd);
      if (!peer.empty()) {
        const double tp = std::stod(field(peer, "tokens_per_s")), to = std::stod(field(ours, "tokens_per_s"));
        std::printf("| same, transformers %s Mamba2ForCausalLM (peer), %s params | B=8 L=512 | %s | %.0f | %s | – | ours %.2f× |\n",
                    field(peer, "transformers").c_str(), field(peer, "params").c_str(), field(peer, "seconds").c_str(), tp,
                    field(peer, "peak_mb").c_str(), to / tp);
      } else {
        std::printf("| same, transformers peer | – | failed to run %s | | | | |\n", cmd.c_str());
      }
    } else {
      std::printf("| same, transformers peer | – | not run (set DM_PEER_PYTHON to a python with torch + transformers) | | | | |\n");
    }
  }
  }
generation:
  std::printf("\nBABILong-style generation (4 blocks, d_model 256, vocab 27; prompt prefilled once, then %d greedy recurrent steps):\n\n",
              quick ? 32 : 128);
  std::printf("| model | prompt tokens | prefill tokens/s | generated tokens/s | peak MB | memory growth per generated token |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const char* fam : {"mamba2", "diffmamba2"}) {
    for (int64_t l : {1024, 4096, 16384}) {
      const auto g = run_child(argv[0], std::string("generate ") + fam + " " + std::to_string(l) + " " + (quick ? "32" : "128"));
      std::printf("| %s | %lld | %s | %s | %s | %s KB |\n", fam, static_cast<long long>(l), field(g, "prefill_tok_s").c_str(),
                  field(g, "decode_tok_s").c_str(), field(g, "peak_mb").c_str(), field(g, "growth_kb_per_token").c_str());
      std::fflush(stdout);
    }
  }
  std::printf("\nTuned lens on the same model (training: 6 steps of 4096 tokens, sequences of 512; evaluation: 100 BABILong-0k samples, qa1–qa5):\n\n");
  std::printf("| model | lens training tokens/s | lens evaluation samples/s |\n|---|---:|---:|\n");
  for (const char* fam : {"mamba2", "diffmamba2"}) {
    const auto r = run_child(argv[0], std::string("lens ") + fam);
    std::printf("| %s | %s | %s |\n", fam, field(r, "train_tokens_per_s").c_str(), field(r, "eval_samples_per_s").c_str());
    std::fflush(stdout);
  }
  std::printf("\npeak MB = peak resident memory of the case's process minus its resident memory after the inputs were built.\n");
  std::printf("GFLOP/s counts the chunked algorithm's matmul FLOPs (forward 2Q(N+P)+4PN per token and head, backward 2×).\n");
  return 0;
}
