#include "app/cli/mad_cmd.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/cli/console.h"
#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/jobs/workspace.h"
#include "core/mad/benchmark.h"
#include "core/mad/tasks.h"

namespace dm::cli {

MadCommands::MadCommands(CLI::App& app) {
  mad_ = app.add_subcommand("mad", "The MAD synthetic benchmark (the seed's six tasks): generate its data");
  generate_ = mad_->add_subcommand(
      "generate", "write a task's instances as JSON lines: inputs, targets (-100 = not scored) and the scored positions");
  generate_->add_option("--task", task_, "in-context-recall, fuzzy-in-context-recall, noisy-in-context-recall, "
                                         "selective-copying, compression or memorization");
  generate_->add_option("--setting", setting_, "baseline or one of the task's difficulty changes (--list shows them)")
      ->capture_default_str();
  generate_->add_option("--split", split_, "train or test (the test set continues the train set's random stream)")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  generate_->add_option("--examples", examples_, "number of training examples (default: the setting's); the test set "
                                                 "has 1,280 and follows them")
      ->check(CLI::PositiveNumber);
  generate_->add_option("--out", out_, "output .jsonl");
  generate_->add_flag("--list", list_, "list the tasks and their settings, then stop");
  run_ = mad_->add_subcommand("run", "train the families on the MAD tasks over the lr × weight-decay grid (one sweep) "
                                     "and write the MAD scores: per task the mean over settings of the best test accuracy");
  run_->add_option("--layers", layers_, "families, e.g. mamba2 diffmamba2 (the seed's two)")->capture_default_str();
  run_->add_option("--tasks", tasks_, "tasks (default: all six)");
  run_->add_option("--settings", settings_, "baseline, or all (the baseline and every difficulty change)")
      ->check(CLI::IsMember({"baseline", "all"}))
      ->capture_default_str();
  run_->add_option("--width", width_, "model width (default 1024, the seed's; --quick: 32)")->check(CLI::Range(8, 16384));
  run_->add_option("--n_layers", n_layers_, "layers (default 4; --quick: 2)")->check(CLI::Range(1, 64));
  run_->add_option("--epochs", epochs_, "epochs (default 200, stopping early at test accuracy 0.999; --quick: 3)")
      ->check(CLI::PositiveNumber);
  run_->add_option("--lrs", lrs_, "learning rates (default 1e-4 5e-4 1e-3)");
  run_->add_option("--wds", wds_, "weight decays (default 0 0.1)");
  run_->add_option("--train_examples", train_examples_, "training examples per setting (default: the setting's)")
      ->check(CLI::PositiveNumber);
  run_->add_option("--test_examples", test_examples_, "test examples per setting (default 1,280)")->check(CLI::PositiveNumber);
  run_->add_flag("--quick", quick_, "a profile that finishes in minutes on 2 CPU cores: width 32, 2 layers, 3 epochs, "
                                    "384 / 128 examples, lr 1e-3 and 3e-3, wd 0, baselines (options given win)");
  run_->add_option("--device", device_, "auto (the GPU when there is one), cpu or cuda[:N]")->capture_default_str();
  run_->add_option("--workspace", workspace_, "workspace folder (default: the user's data location)");
  run_->add_option("--out", out_csv_, "the scores CSV (default: <workspace>/mad/mad_scores-sweep<N>.csv)");
  run_->add_flag("--quiet", quiet_, "no progress lines");
  mad_->require_subcommand(1);
}

bool MadCommands::parsed() const { return mad_->parsed(); }

int MadCommands::run_benchmark(std::atomic<bool>& cancel) const {
  auto o = quick_ ? mad::BenchmarkOptions::quick() : mad::BenchmarkOptions{};
  o.families = layers_;
  o.tasks = tasks_;
  o.all_settings = settings_ == "all";
  if (!lrs_.empty()) o.lrs = lrs_;
  if (!wds_.empty()) o.weight_decays = wds_;
  if (width_ > 0) o.width = width_;
  if (n_layers_ > 0) o.n_layers = n_layers_;
  if (epochs_ > 0) o.epochs = epochs_;
  if (train_examples_ > 0) o.train_examples = train_examples_;
  if (test_examples_ > 0) o.test_examples = test_examples_;
  o.device = device_;
  const auto ws = workspace_.empty() ? jobs::Workspace::default_location() : jobs::Workspace{workspace_};
  ws.ensure();
  std::printf("workspace: %s\nMAD: %zu families × %zu tasks (%s), width %lld, %lld layers, %lld epochs, %zu lr × %zu wd\n",
              ws.root.c_str(), o.families.size(), o.tasks.empty() ? mad::task_names().size() : o.tasks.size(),
              o.all_settings ? "every setting" : "baselines", static_cast<long long>(o.width),
              static_cast<long long>(o.n_layers), static_cast<long long>(o.epochs), o.lrs.size(), o.weight_decays.size());
  std::fflush(stdout);
  ConsoleOptions co;
  co.quiet = quiet_;
  co.every = 50;
  const ConsolePrinter printer(co);
  const auto r = mad::run_mad_benchmark(ws, o, printer.sink(), cancel);
  printer.end_line();
  if (r.status != "finished") {
    std::printf("stopped: %s (sweep %lld)\n", r.message.c_str(), static_cast<long long>(r.sweep_id));
    return r.status == "cancelled" ? 130 : 3;
  }
  std::printf("\nMAD scores (sweep %lld, %lld runs): per task the mean over its settings of the best test accuracy "
              "across the lr × wd grid\n%-16s",
              static_cast<long long>(r.sweep_id), static_cast<long long>(r.runs), "family");
  for (const auto& t : r.tasks) std::printf(" %24s", t.c_str());
  std::printf(" %8s\n", "total");
  for (const auto& f : o.families) {
    std::printf("%-16s", f.c_str());
    for (const auto& t : r.tasks) {
      const auto& sc = r.scores.count(f) ? r.scores.at(f) : std::map<std::string, double>{};
      if (sc.count(t))
        std::printf(" %24.4f", sc.at(t));
      else
        std::printf(" %24s", "-");
    }
    std::printf(" %8.4f\n", r.total.count(f) ? r.total.at(f) : 0.0);
  }
  const std::string csv = mad::write_scores_csv(ws, r, out_csv_);
  std::printf("wrote %s\n", csv.c_str());
  return 0;
}

int MadCommands::run(std::atomic<bool>& cancel) const {
  if (run_->parsed()) return run_benchmark(cancel);
  if (list_) {
    for (const auto& t : mad::task_names())
      for (const auto& s : mad::task_settings(t))
        std::printf("%-24s %-22s vocab %5lld  length %4lld  train %5lld  test %lld\n", t.c_str(), s.name.c_str(),
                    static_cast<long long>(s.vocab_size), static_cast<long long>(s.instance_length()),
                    static_cast<long long>(s.num_train_examples), static_cast<long long>(s.num_test_examples));
    return 0;
  }
  if (task_.empty()) throw ConfigError("--task", "(none)", "name a task (--list shows them)");
  if (out_.empty()) throw ConfigError("--out", "(none)", "name the .jsonl file to write");
  auto s = mad::task_setting(task_, setting_);
  if (examples_ > 0) s.num_train_examples = examples_;
  const auto data = mad::generate(s);
  const auto& split = split_ == "train" ? data.train : data.test;
  std::string text;
  for (int64_t i = 0; i < split.n; ++i) {
    nlohmann::json line;
    const auto at = split.inputs.begin() + i * split.len;
    const auto tt = split.targets.begin() + i * split.len;
    line["inputs"] = std::vector<int64_t>(at, at + split.len);
    line["targets"] = std::vector<int64_t>(tt, tt + split.len);
    std::vector<int64_t> scored;
    for (int64_t j = 0; j < split.len; ++j)
      if (tt[j] != mad::kIgnore) scored.push_back(j);
    line["scored"] = scored;
    text += line.dump() + "\n";
  }
  io::write_file_atomic(out_, text);
  std::printf("wrote %lld %s instances of %s (%s, vocab %lld, length %lld) to %s\n", static_cast<long long>(split.n),
              split_.c_str(), task_.c_str(), s.name.c_str(), static_cast<long long>(s.vocab_size),
              static_cast<long long>(split.len), out_.c_str());
  return 0;
}

}  // namespace dm::cli
