#include "app/cli/attention_cmd.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <torch/torch.h>

#include "app/cli/console.h"
#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/jobs/attention_job.h"
#include "core/jobs/model_source.h"
#include "core/jobs/workspace.h"

namespace dm::cli {

namespace fs = std::filesystem;

AttentionCommand::AttentionCommand(CLI::App& app) {
  cmd_ = app.add_subcommand("attention",
                            "Implicit attention maps of the Mamba2-family layers (M = (C·Bᵀ) ∘ decay ∘ Δ; "
                            "differential layers: M₁ − λ·M₂ and both branches) on a text or a BABILong sample, "
                            "with per-layer needle mass, signal-to-noise, entropy and removed mass");
  cmd_->add_option("--ckpt_path", ckpt_path_, "the model: an HF directory, a run folder or a model file")->required();
  cmd_->add_option("--tokenizer", tokenizer_, "tokenizer.json (default: the model's)");
  auto* text = cmd_->add_option("--text", text_, "the text to map");
  auto* file = cmd_->add_option("--text-file", text_file_, "read the text from a file");
  auto* sample = cmd_->add_option("--babilong-sample", sample_,
                                  "a BABILong .jsonl/.json file (diffmamba babilong generate, or the released data)");
  text->excludes(file)->excludes(sample);
  file->excludes(sample);
  cmd_->add_option("--index", index_, "which record of --babilong-sample (0-based)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd_->add_option("--needle", needles_,
                   "text whose tokens are the needle (repeatable; default for a BABILong sample: its facts, else "
                   "the input's sentences naming the question's words)");
  cmd_->add_option("--question", question_, "with --text: the query text whose tokens' rows the metrics average");
  cmd_->add_option("--layers", layers_, "blocks to map, 0-based (default: every Mamba2-family block)");
  cmd_->add_option("--heads", heads_, "heads to store in the file (default: all; the metrics use all)");
  cmd_->add_flag("--float16", float16_, "store the maps as float16 (half the file)");
  cmd_->add_flag("--no-maps", no_maps_, "print and store the metrics and tokens only, no [L, L] maps");
  cmd_->add_option("--out", out_, "the .npz (default: <workspace>/attention/<model>-<sample>.npz)");
  cmd_->add_option("--workspace", workspace_, "workspace folder (default: the user's data location)");
  cmd_->add_option("--device", device_,
                   "where the model's forward pass runs: auto (the GPU when there is one), cpu or cuda[:N]; the maps "
                   "are computed on the CPU")
      ->capture_default_str();
}

bool AttentionCommand::parsed() const { return cmd_->parsed(); }

int AttentionCommand::run() const {
  if (text_.empty() && text_file_.empty() && sample_.empty())
    throw ConfigError("input", "(none)", "give --text, --text-file or --babilong-sample");
  const auto t0 = std::chrono::steady_clock::now();
  const auto device = jobs::device_from_option(device_, ConsolePrinter(ConsoleOptions{}).sink());
  auto tm = jobs::open_text_model(ckpt_path_, tokenizer_);
  tm.model->to(device);
  jobs::AttentionSample s;
  std::string sample_name;
  if (!sample_.empty()) {
    const auto records = babilong::read_records(sample_);
    if (index_ >= static_cast<int64_t>(records.size()))
      throw ConfigError("index", std::to_string(index_),
                        sample_ + " holds " + std::to_string(records.size()) + " records (0-based index)");
    s = jobs::attention_sample_from_record(*tm.codec, records[static_cast<size_t>(index_)], needles_);
    s.label = fs::path(sample_).filename().string() + " #" + std::to_string(index_);
    sample_name = fs::path(sample_).stem().string() + "-" + std::to_string(index_);
  } else {
    const std::string text = text_file_.empty() ? text_ : io::read_file(text_file_);
    s = jobs::attention_sample_from_text(*tm.codec, text, needles_, question_);
    if (!text_file_.empty()) s.label = fs::path(text_file_).filename().string();
    sample_name = text_file_.empty() ? "text" : fs::path(text_file_).stem().string();
  }
  const fs::path ck(ckpt_path_);
  auto stem = fs::is_regular_file(ck) ? ck.stem().string() : ck.filename().string();
  if (stem.empty()) stem = ck.parent_path().filename().string();
  std::string out = out_;
  if (out.empty()) {
    const auto ws = workspace_.empty() ? jobs::Workspace::default_location() : jobs::Workspace{workspace_};
    ws.ensure();
    out = (fs::path(ws.root) / "attention" / (stem + "-" + sample_name + ".npz")).string();
  }
  if (const auto parent = fs::path(out).parent_path(); !parent.empty()) fs::create_directories(parent);

  const auto L = static_cast<int64_t>(s.ids.size());
  const auto maps = model::ImplicitAttention::trace(tm.model, torch::tensor(s.ids, torch::kLong), layers_);
  const auto report = jobs::attention_report(maps, s);
  jobs::AttentionFileOptions fo;
  fo.heads = heads_;
  fo.maps = !no_maps_;
  fo.float16 = float16_;
  fo.model = stem;
  std::printf("%s: %lld tokens; needle %zu tokens (%s); question %zu tokens%s\n", s.label.c_str(),
              static_cast<long long>(L), s.needle.size(), s.needle_origin.c_str(), s.question.size(),
              s.question.empty() ? " (metrics over the last row)" : "");
  std::printf("%6s  %-15s %7s  %11s %9s %9s %9s   %s\n", "block", "kind", "lambda", "needle_mass", "snr", "entropy",
              "removed", "branch 1: needle_mass snr");
  for (const auto& r : report) {
    std::printf("%6lld  %-15s %7s  %11.4f %9.3f %9.3f %9s", static_cast<long long>(r.block), r.kind.c_str(),
                std::isnan(r.lambda) ? "-" : std::to_string(r.lambda).substr(0, 6).c_str(), r.combined.needle_mass,
                r.combined.snr, r.combined.entropy,
                std::isnan(r.combined.removed) ? "-" : std::to_string(r.combined.removed).substr(0, 7).c_str());
    if (r.kind != "Mamba2") std::printf("   %11.4f %9.3f", r.branch1.needle_mass, r.branch1.snr);
    std::printf("\n");
  }
  jobs::write_attention_npz(out, maps, s, report, fo);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s (%.1f MiB of maps, %s) in %.1f s\n", out.c_str(),
              static_cast<double>(jobs::attention_npz_bytes(maps, fo)) / (1 << 20), float16_ ? "float16" : "float32", secs);
  return 0;
}

}  // namespace dm::cli
