// Checkpoint and tokenizer benchmark: load time and peak memory of a 370M-shaped HF Mamba2 checkpoint
// (random weights, written by this benchmark) as model.safetensors and as pytorch_model.bin, and
// byte-level BPE tokenizer throughput. With DM_PEER_PYTHON (a python with torch, transformers and
// tokenizers) the same work is timed in transformers / HF tokenizers in the same run.
//
//   bench_io [--quick] [--dir SCRATCH]     run every case and print the table
//   bench_io --case ...                    (internal) run one case and print a RESULT line
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench/bench_util.h"
#include "core/data/tokenizer.h"
#include "core/io/atomic_file.h"
#include "core/io/hf_checkpoint.h"
#include "core/runtime.h"

namespace {

using namespace dm::bench;
namespace fs = std::filesystem;

int case_write(const std::string& dir, int64_t layers) {
  auto cfg = dm::model::ModelConfig::hf_370m(dm::model::Family::mamba2);
  cfg.n_layers = layers;
  dm::model::LanguageModel m(cfg);
  const auto t0 = Clock::now();
  dm::io::save_hf_directory(m, dir);
  std::printf("RESULT seconds=%.3f params=%lld\n", seconds_since(t0), static_cast<long long>(m->num_parameters()));
  return 0;
}

int case_load(const std::string& dir) {
  const double base = rss_mb();
  const auto t0 = Clock::now();
  auto m = dm::io::load_hf_directory(dir);
  const double s = seconds_since(t0);
  std::printf("RESULT seconds=%.3f peak_mb=%.0f params=%lld\n", s, peak_rss_mb() - base,
              static_cast<long long>(m->num_parameters()));
  return 0;
}

int case_tokenize(const std::string& tokenizer, const std::string& text_file, int repeats) {
  const auto tok = dm::data::BpeTokenizer::from_file(tokenizer);
  const std::string text = dm::io::read_file(text_file);
  size_t n = 0;
  const double s = median_seconds(1, repeats, [&] { n = tok.encode(text).size(); });
  std::printf("RESULT seconds=%.4f mb_per_s=%.2f tokens=%zu bytes=%zu\n", s, text.size() / s / 1e6, n, text.size());
  return 0;
}

// English text of about `mb` MB: the fortunes corpus repeated (or the test fixture's lines).
std::string make_text(const fs::path& scratch, double mb) {
  std::string base;
  for (const char* f : {"/usr/share/games/fortunes/fortunes", "/usr/share/games/fortunes/literature",
                        "/usr/share/games/fortunes/riddles"})
    if (fs::exists(f)) base += dm::io::read_file(f);
  if (base.empty()) base = "The quick brown fox jumps over the lazy dog. It's 2026; naïve café résumé.\n";
  std::string text;
  while (text.size() < mb * 1e6) text += base;
  const auto path = (scratch / "text.txt").string();
  dm::io::write_file_atomic(path, text);
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  dm::init_runtime(0);
  if (argc > 2 && std::string(argv[1]) == "--case") {
    const std::string c = argv[2];
    if (c == "write") return case_write(argv[3], std::stoll(argv[4]));
    if (c == "load") return case_load(argv[3]);
    if (c == "tokenize") return case_tokenize(argv[3], argv[4], std::stoi(argv[5]));
    return 2;
  }
  bool quick = false;
  fs::path scratch = fs::temp_directory_path() / "dm-bench-io";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--dir" && i + 1 < argc) scratch = argv[++i];
  }
  fs::create_directories(scratch);
  const char* py_env = std::getenv("DM_PEER_PYTHON");
  const std::string py = py_env ? py_env : "";
  const std::string peer_script = std::string(DM_SOURCE_DIR) + "/bench/peer_io.py";
  const int64_t layers = quick ? 4 : 48;
  std::printf("LibTorch %s, %d intra-op threads; scratch folder %s\n\n", dm::torch_version().c_str(),
              torch::get_num_threads(), scratch.string().c_str());

  std::printf("| case | what | seconds | peak MB | MB/s | vs peer |\n|---|---|---:|---:|---:|---:|\n");
  const auto st_dir = scratch / "mamba2-370m-shaped";
  const auto w = run_child(argv[0], "write " + st_dir.string() + " " + std::to_string(layers));
  const double gb = static_cast<double>(fs::file_size(st_dir / "model.safetensors")) / 1e9;
  std::printf("| write HF directory (ours) | %s params, %d layers, fp32 model.safetensors %.2f GB | %s | | %.0f | |\n",
              field(w, "params").c_str(), static_cast<int>(layers), gb, field(w, "seconds").c_str(),
              gb * 1e3 / std::stod(field(w, "seconds")));
  run_child(argv[0], "load " + st_dir.string());  // warm the page cache: every row below reads from memory
  const auto ours = run_child(argv[0], "load " + st_dir.string());
  const double ours_s = std::stod(field(ours, "seconds"));
  std::string peer_load, bin_load;
  if (!py.empty()) {
    const auto bin_dir = scratch / "mamba2-370m-shaped-bin";
    run_command(py + " " + peer_script + " tobin " + st_dir.string() + " " + bin_dir.string() + " 2>/dev/null");
    if (fs::exists(bin_dir / "pytorch_model.bin")) {
      run_child(argv[0], "load " + bin_dir.string());
      bin_load = run_child(argv[0], "load " + bin_dir.string());
    }
    peer_load = run_command(py + " " + peer_script + " load " + st_dir.string() + " 2>/dev/null");
  }
  auto vs = [&](const std::string& peer, double ours_v) {
    if (peer.empty()) return std::string("–");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f×", std::stod(field(peer, "seconds")) / ours_v);
    return std::string(buf);
  };
  std::printf("| load model.safetensors (ours, mmap) | into a fp32 LanguageModel | %.3f | %s | %.0f | %s |\n",
              ours_s, field(ours, "peak_mb").c_str(), gb * 1e3 / ours_s, vs(peer_load, ours_s).c_str());
  if (!bin_load.empty())
    std::printf("| load pytorch_model.bin (ours, mmap) | same weights, torch.save format | %s | %s | %.0f | |\n",
                field(bin_load, "seconds").c_str(), field(bin_load, "peak_mb").c_str(),
                gb * 1e3 / std::stod(field(bin_load, "seconds")));
  if (!peer_load.empty())
    std::printf("| load model.safetensors (transformers %s from_pretrained) | Mamba2ForCausalLM | %s | %s | %.0f | 1.0× |\n",
                field(peer_load, "transformers").c_str(), field(peer_load, "seconds").c_str(),
                field(peer_load, "peak_mb").c_str(), gb * 1e3 / std::stod(field(peer_load, "seconds")));
  else
    std::printf("| load (transformers peer) | not run (set DM_PEER_PYTHON to a python with torch + transformers) | | | | |\n");

  const std::string tok_json = std::string(DM_SOURCE_DIR) + "/tests/data/tokenizer/tokenizer.json";
  const auto text = make_text(scratch, quick ? 1.0 : 10.0);
  const int reps = quick ? 1 : 3;
  const auto t = run_child(argv[0], "tokenize " + tok_json + " " + text + " " + std::to_string(reps));
  std::string tp;
  if (!py.empty())
    tp = run_command(py + " " + peer_script + " tokenize " + tok_json + " " + text + " " + std::to_string(reps) +
                     " 2>/dev/null");
  const double mbs = std::stod(field(t, "mb_per_s"));
  std::printf("| encode (ours, 1 thread) | byte-level BPE, 4k vocab, %.1f MB English text, %s tokens | %s | | %.2f | %s |\n",
              std::stod(field(t, "bytes")) / 1e6, field(t, "tokens").c_str(), field(t, "seconds").c_str(), mbs,
              tp.empty() ? "–" : vs(tp, std::stod(field(t, "seconds"))).c_str());
  if (!tp.empty())
    std::printf("| encode (HF tokenizers %s, 1 thread) | same text; tokens %s (%s) | %s | | %s | 1.0× |\n",
                field(tp, "tokenizers").c_str(), field(tp, "tokens").c_str(),
                field(tp, "tokens") == field(t, "tokens") ? "same count" : "DIFFERENT count", field(tp, "seconds").c_str(),
                field(tp, "mb_per_s").c_str());
  std::printf("\nvs peer = peer time / our time (above 1: we are faster).\n");
  std::printf("peak MB = peak resident memory of the case's process minus its resident memory at the start of the case "
              "(mapped file pages that were touched count as resident). Loads run with a warm page cache.\n");
  return 0;
}
