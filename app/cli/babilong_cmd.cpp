// `diffmamba babilong generate|score` and `diffmamba eval-babilong`.
#include <torch/torch.h>

#include <cstdio>
#include <thread>
#include <filesystem>

#include "app/cli/commands.h"
#include "app/cli/console.h"
#include "core/dist/dist.h"
#include "core/dist/launcher.h"
#include "core/babilong/babilong.h"
#include "core/common/error.h"
#include "core/data/codec.h"
#include "core/io/npy.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/finetune_job.h"

namespace dm::cli {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kDefaultTasks = {"qa1", "qa2", "qa3", "qa4", "qa5"};
const std::vector<std::string> kDefaultLengths = {"0k", "1k", "2k", "4k", "8k", "16k", "32k", "64k"};

void print_matrix(const torch::Tensor& acc, const std::vector<std::string>& tasks, const std::vector<std::string>& lengths) {
  std::printf("%-6s", "task");
  for (const auto& l : lengths) std::printf(" %7s", l.c_str());
  std::printf("\n");
  for (size_t t = 0; t < tasks.size(); ++t) {
    std::printf("%-6s", tasks[t].c_str());
    for (size_t l = 0; l < lengths.size(); ++l)
      std::printf(" %7.2f", acc[static_cast<int64_t>(t)][static_cast<int64_t>(l)].item<double>());
    std::printf("\n");
  }
}

}  // namespace

int run_babilong(const BabilongArgs& a) {
  if (a.action == "generate") {
    // Lengths are measured in the tokens of the model the samples are for: a tokenizer.json (or a
    // checkpoint directory holding one), else text8 characters.
    std::unique_ptr<data::Codec> codec;
    if (a.tokenizer.empty()) {
      codec = data::text8_codec();
    } else {
      fs::path t = a.tokenizer;
      if (fs::is_directory(t)) t /= "tokenizer.json";
      codec = data::bpe_codec(t.string());
    }
    std::optional<babilong::NoiseSource> noise;
    if (!a.pg19_dir.empty()) noise = babilong::NoiseSource::from_pg19(a.pg19_dir);
    const auto records = jobs::babilong_cell(a.task, a.length, a.samples, a.seed, *codec, noise ? &*noise : nullptr, "");
    babilong::write_records(a.out, records);
    int64_t tokens = 0;
    for (const auto& r : records) tokens += r.input_tokens;
    std::printf("wrote %zu %s samples at %s to %s (mean input %.0f %s tokens)\n", records.size(), a.task.c_str(),
                a.length.c_str(), a.out.c_str(), records.empty() ? 0.0 : double(tokens) / records.size(),
                codec->name().c_str());
    return 0;
  }
  if (a.action == "aggregate") {
    std::vector<torch::Tensor> ms;
    for (const auto& f : a.inputs) ms.push_back(io::read_npy(f));
    const auto [mean, sd] = jobs::aggregate_seeds(ms);
    io::write_npy(a.out, mean);
    if (!a.std_out.empty()) io::write_npy(a.std_out, sd);
    std::printf("mean of %zu matrices %s → %s%s\n", ms.size(), c10::str(mean.sizes()).c_str(), a.out.c_str(),
                a.std_out.empty() ? "" : (", standard deviation → " + a.std_out).c_str());
    return 0;
  }
  // score: the seed's CSVs → acc_<model>.npy, as its plot.py does.
  const auto tasks = a.tasks.empty() ? kDefaultTasks : a.tasks;
  const auto lengths = a.lengths.empty() ? kDefaultLengths : a.lengths;
  for (const auto& l : lengths) babilong::length_tokens(l);
  const auto pname = a.prompt_name.empty() ? babilong::prompt_name() : a.prompt_name;
  std::vector<std::string> missing;
  const auto acc = jobs::score_seed_results(a.results_folder, a.model_name, tasks, lengths, pname, &missing);
  if (missing.size() == tasks.size() * lengths.size())
    throw FileError((fs::path(a.results_folder) / a.model_name).string(),
                    "holds none of the expected files, e.g. " + missing.front());
  const auto out = (fs::path(a.results_folder) / a.model_name / ("acc_" + a.model_name + ".npy")).string();
  io::write_npy(out, acc);
  print_matrix(acc, tasks, lengths);
  for (const auto& m : missing) std::fprintf(stderr, "warning: missing %s (scored 0, as plot.py does)\n", m.c_str());
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

int run_eval_babilong(const EvalBabilongArgs& a, std::atomic<bool>& cancel) {
  jobs::BabilongEvalOptions o;
  o.ckpt_path = a.ckpt_path;
  o.tokenizer = a.tokenizer;
  o.name = a.name;
  if (!a.tasks.empty()) o.tasks = a.tasks;
  if (!a.lengths.empty()) o.lengths = a.lengths;
  o.samples = a.samples;
  o.seed = a.seed;
  o.data_dir = a.data_dir;
  o.pg19_dir = a.pg19_dir;
  o.prompt = {a.instruction, a.examples, a.post_prompt, a.answer_cue};
  o.max_new_tokens = a.max_new_tokens;
  o.results_folder = a.results_folder;
  o.model_name = a.model_name;
  o.device = a.device;
  o.precision = a.precision;
  const auto ws = a.workspace.empty() ? jobs::Workspace::default_location() : jobs::Workspace{a.workspace};
  ConsoleOptions co;
  co.quiet = a.quiet;
  co.percent = true;
  const auto r = jobs::run_babilong_eval(ws, o, ConsolePrinter(co).sink(), cancel);
  if (r.status == "cancelled") {
    std::printf("run %lld cancelled\n", static_cast<long long>(r.run_id));
    return 130;
  }
  std::printf("run %lld (%s): accuracy %% per task × length\n", static_cast<long long>(r.run_id), ws.root.c_str());
  print_matrix(r.accuracy, o.tasks, o.lengths);
  return 0;
}

int run_finetune(const FinetuneArgs& a, std::atomic<bool>& cancel) {
  if (const auto rc = dist::launch_nproc_per_node(a.nproc_per_node, a.argv)) return *rc;
  const auto env = dist::from_environment();
  jobs::FinetuneOptions o;
  o.kind = a.kind;
  o.ckpt_path = a.ckpt_path;
  o.tokenizer = a.tokenizer;
  o.output_dir = a.output_dir;
  o.name = a.name;
  o.diffmamba = a.diffmamba;
  o.lr = a.lr;
  o.weight_decay = a.weight_decay;
  o.batch_size = a.batch_size;
  o.grad_accum_steps = a.grad_accum_steps;
  o.max_steps = a.max_steps;
  o.warmup = a.warmup;
  o.save_steps = a.save_steps;
  o.eval_steps = a.eval_steps;
  o.seed = a.seed;
  o.max_length = a.max_length;
  if (!a.tasks.empty()) o.tasks = a.tasks;
  o.length = a.length;
  o.samples = a.samples;
  o.data_dir = a.data_dir;
  o.pg19_dir = a.pg19_dir;
  o.device = a.device;
  o.eval_precision = a.eval_precision;
  // The seed appends -seed<seed> to the needle output folder.
  if (a.kind == "needle" && !o.output_dir.empty()) o.output_dir += "-seed" + std::to_string(a.seed);
  const auto ws = a.workspace.empty() ? jobs::Workspace::default_location() : jobs::Workspace{a.workspace};
  ConsoleOptions co;
  co.quiet = a.quiet || env.rank != 0;  // the other ranks print nothing but errors
  co.every = 10;
  const auto r = jobs::run_finetune_job(ws, o, ConsolePrinter(co).sink(), cancel);
  if (env.rank != 0) return r.status == "cancelled" ? 130 : 0;
  std::printf("run %lld %s (%s); model in %s\n", static_cast<long long>(r.run_id), r.status.c_str(), r.message.c_str(),
              o.output_dir.c_str());
  return r.status == "cancelled" ? 130 : 0;
}

}  // namespace dm::cli
