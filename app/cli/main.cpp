// `diffmamba`: the headless front end of Diff-Mamba Studio.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "app/cli/demo.h"
#include "core/common/error.h"
#include "core/ops/dispatch.h"
#include "core/runtime.h"

namespace {

std::string default_out_dir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/diffmamba-studio/demo";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/diffmamba-studio/demo";
  return "diffmamba-demo";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Diff-Mamba Studio command line: train, evaluate and compare Mamba2 and Diff-Mamba2"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "LibTorch intra-op threads (0 = all cores)")->check(CLI::NonNegativeNumber);

  dm::cli::DemoOptions demo;
  demo.out_dir = default_out_dir();
  auto* d = app.add_subcommand("demo", "Train a tiny Mamba2 and Diff-Mamba2 on the default corpus and print losses");
  d->add_option("--steps", demo.steps, "training steps per model")->check(CLI::PositiveNumber)->capture_default_str();
  d->add_option("--d-model", demo.d_model, "model width")->check(CLI::PositiveNumber)->capture_default_str();
  d->add_option("--layers", demo.layers, "layers of [mixer, mixer, FFN]")->check(CLI::PositiveNumber)->capture_default_str();
  d->add_option("--length", demo.length, "sequence length")->check(CLI::PositiveNumber)->capture_default_str();
  d->add_option("--batch", demo.batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  d->add_option("--lr", demo.lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  d->add_option("--seed", demo.seed, "random seed")->capture_default_str();
  d->add_option("--corpus-dir", demo.corpus_dir, "folder of fortune text files")->capture_default_str();
  d->add_option("--out", demo.out_dir, "folder for the trained demo models ('' = do not save)")->capture_default_str();

  auto* info = app.add_subcommand("info", "Print the LibTorch version, devices and build options");

  CLI11_PARSE(app, argc, argv);
  try {
    dm::init_runtime(threads);
    if (*d) return dm::cli::run_demo(demo);
    if (*info) {
      std::printf("LibTorch %s\nCUDA available: %s (%d devices)\nCUDA kernels built: %s\nintra-op threads: %d\n",
                  dm::torch_version().c_str(), torch::cuda::is_available() ? "yes" : "no",
                  static_cast<int>(torch::cuda::device_count()), dm::ops::cuda_kernels_built() ? "yes" : "no",
                  static_cast<int>(torch::get_num_threads()));
      return 0;
    }
  } catch (const dm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error (LibTorch): %s\n", e.what_without_backtrace());
    return 2;
  }
  return 0;
}
