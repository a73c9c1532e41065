// `diffmamba`: the headless front end of Diff-Mamba Studio.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "app/cli/commands.h"
#include "app/cli/demo.h"
#include "app/cli/doctor_cmd.h"
#include "app/cli/mad_cmd.h"
#include "app/cli/sweep_cmd.h"
#include "app/cli/attention_cmd.h"
#include "app/cli/per_token_cmd.h"
#include "core/common/error.h"
#include "core/io/convert.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/npy.h"
#include "core/ops/dispatch.h"
#include "core/runtime.h"

namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_sigint(int) {
  if (g_cancel.exchange(true)) std::_Exit(130);  // a second Ctrl-C stops at once
}

std::string default_out_dir() {
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/diffmamba-studio/demo";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/diffmamba-studio/demo";
  return "diffmamba-demo";
}

}  // namespace

#ifndef DM_HAVE_PLOTTING
int dm::cli::run_plots(const std::vector<PlotArgs>& all) { return all.empty() ? 0 : run_plot(all[0]); }
int dm::cli::run_plot(const PlotArgs&) {
  throw dm::Error("this diffmamba was built without the plotting library (it needs Qt 6 Widgets, Svg, PrintSupport and "
                  "QCustomPlot's Qt 6 build; configure with -DDM_GUI=ON). Copy the result files to a machine with it.");
}
#endif

int main(int argc, char** argv) {
  CLI::App app{"Diff-Mamba Studio command line: train, evaluate and compare Mamba2 and Diff-Mamba2"};
  app.set_version_flag("--version", "diffmamba 0.1.0 (LibTorch " + dm::torch_version() + ")");
  app.require_subcommand(1);
  int threads = 0;
  // At most 4 per core: more only costs memory and time (100000 took 2.6 GB and minutes).
  const int max_threads = 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--threads", threads, "LibTorch intra-op threads (0 = all cores; at most 4 per core)")
      ->check(CLI::Range(0, max_threads));

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

  dm::cli::TrainArgs ta;
  auto* t = app.add_subcommand("train", "Train a language model: diffmamba train experiment=lm/diffmamba2-text8 key=value …");
  t->add_option("--workspace", ta.workspace, "workspace folder (default: the user's data location)");
  t->add_option("--name", ta.name, "run name (default: the preset)");
  t->add_option("--resume", ta.resume, "continue run ID from its last checkpoint")->check(CLI::PositiveNumber);
  t->add_option("--sweep", ta.sweep, "the run belongs to sweep ID (see `diffmamba sweep list`)")->check(CLI::PositiveNumber);
  t->add_flag("--print-config", ta.print_config, "print the resolved configuration as JSON and exit");
  t->add_flag("--quiet", ta.quiet, "no progress lines");
  t->allow_extras();
  t->footer(dm::cli::config_keys_help());

  dm::cli::RunsArgs ra;
  auto* r = app.add_subcommand("runs", "List, show, export or delete the runs of a workspace");
  r->add_option("--workspace", ra.workspace, "workspace folder (default: the user's data location)");
  r->require_subcommand(1);
  auto* rl = r->add_subcommand("list", "one line per run (archived runs with --all)");
  rl->add_flag("--all", ra.all, "also archived runs");
  rl->add_option("--filter", ra.filter,
                 "only runs that match, e.g. \"model.family=diffmamba2 d_model>32 val/bpc<1.5 name~needle\" "
                 "(= != < <= > >= ~ over fields, config keys and last metric values; words match any field)");
  auto* rs = r->add_subcommand("show", "a run's record, last metric values and config");
  rs->add_option("id", ra.id, "run id")->required();
  auto* re = r->add_subcommand("export", "a run's metrics as CSV");
  re->add_option("id", ra.id, "run id")->required();
  re->add_option("--csv", ra.csv, "output file")->required();
  auto* rd = r->add_subcommand("delete", "remove a run from the database");
  rd->add_option("id", ra.id, "run id")->required();
  rd->add_flag("--files", ra.files, "also delete the run's folder (checkpoints, models)");
  auto* ra1 = r->add_subcommand("archive", "hide a run from lists (everything is kept)");
  ra1->add_option("id", ra.id, "run id")->required();
  auto* ra2 = r->add_subcommand("unarchive", "show an archived run again");
  ra2->add_option("id", ra.id, "run id")->required();

  for (auto* sub : {r->get_subcommand("list"), rs, re, rd, ra1, ra2}) sub->fallthrough();  // --workspace after the action too

  std::string conv_from, conv_to, conv_settings = "alternate";
  uint64_t conv_seed = 0;
  auto* cv = app.add_subcommand("convert", "Turn a HuggingFace Mamba2 directory into Diff-Mamba2 (the released recipe's slicing)");
  cv->add_option("--from", conv_from, "HF Mamba2 directory (config.json + model.safetensors)")->required();
  cv->add_option("--to", conv_to, "output directory (HF layout, config with diffmamba keys)")->required();
  cv->add_option("--settings", conv_settings, "which blocks: alternate, all, quarter or a count of last blocks")
      ->capture_default_str();
  cv->add_option("--seed", conv_seed, "seed for the fresh lambda_q1")->capture_default_str();

  dm::cli::LogitsArgs la;
  auto* lg = app.add_subcommand("logits", "Write a checkpoint's next-token logits as a float32 [tokens, vocab] .npy");
  lg->add_option("--ckpt_path,--model_id", la.ckpt_path, "HF Mamba2 / Diff-Mamba2 / Mamba (Mamba-1) / mamba_ssm directory, a run folder or a model file of ours")->required();
  auto* ids_opt = lg->add_option("--ids", la.ids, "comma-separated token ids, e.g. 1,2,3");
  auto* text_opt = lg->add_option("--text", la.text, "text, tokenized with the checkpoint's tokenizer.json");
  ids_opt->excludes(text_opt);
  lg->add_option("--tokenizer", la.tokenizer, "tokenizer.json (default: the one beside the weights; text8 characters for character-level models)");
  lg->add_option("--out", la.out, "output .npy file")->required();

  dm::cli::InitModelArgs ima;
  auto* im = app.add_subcommand("init-model", "Write a randomly initialised model of a published shape (benchmarks, device "
                                              "checks, memory tests) without downloading weights");
  im->add_option("--family", ima.family, "mamba2, diffmamba2, diffmamba2E, diffs6mamba2, mamba, diffmamba or diffs6")
      ->capture_default_str();
  im->add_option("--shape", ima.shape, "370m (AntonV/mamba2-370m-hf: 48 blocks, d_model 1024) or demo (2 blocks, d_model 64)")
      ->capture_default_str();
  im->add_option("--vocab", ima.vocab, "vocabulary size (default: the shape's; 27 = text8 characters, no tokenizer needed)")
      ->check(CLI::PositiveNumber);
  im->add_option("--d_model", ima.d_model, "width instead of the shape's")->check(CLI::PositiveNumber);
  im->add_option("--n_layers", ima.n_layers, "blocks instead of the shape's")->check(CLI::PositiveNumber);
  im->add_option("--seed", ima.seed, "initialisation seed")->capture_default_str();
  im->add_option("--out", ima.out, "output folder (HF layout for Mamba2 / Diff-Mamba2, else model.safetensors)")->required();

  dm::cli::TokenizeArgs tka;
  auto* tk = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids) with a byte-level BPE tokenizer.json");
  tk->add_option("--tokenizer", tka.tokenizer, "tokenizer.json, or a checkpoint directory holding one")->required();
  auto* tk_text = tk->add_option("--text", tka.text, "text to encode");
  auto* tk_file = tk->add_option("--file", tka.file, "encode this file's text instead");
  tk_text->excludes(tk_file);
  tk->add_flag("--lines", tka.lines, "one comma-separated id line per input line");
  tk->add_option("--decode", tka.decode, "comma-separated ids to decode instead")->excludes(tk_text)->excludes(tk_file);
  tk->add_flag("--no-special", tka.no_special, "treat special tokens such as <|endoftext|> in the text as plain text");

  dm::cli::BabilongArgs ba;
  auto* bl = app.add_subcommand("babilong", "Generate BABILong samples, or score the seed's result CSVs");
  bl->require_subcommand(1);
  auto* bg = bl->add_subcommand("generate", "write BABILong samples (input, question, target) as JSON lines");
  bg->add_option("--task", ba.task, "qa1 … qa5")->capture_default_str();
  bg->add_option("--length", ba.length, "0k 1k 2k 4k 8k 16k 32k 64k 128k (k = 1024 tokens)")->capture_default_str();
  bg->add_option("--samples", ba.samples, "number of samples")->check(CLI::PositiveNumber)->capture_default_str();
  bg->add_option("--seed", ba.seed, "random seed")->capture_default_str();
  bg->add_option("--tokenizer", ba.tokenizer, "count lengths in this tokenizer.json's tokens (default: text8 characters)");
  bg->add_option("--pg19", ba.pg19_dir, "folder of PG19 books (*.txt) for the distractor text (default: fortunes)");
  bg->add_option("--out", ba.out, "output .jsonl")->required();
  auto* bsc = bl->add_subcommand("score", "score the seed's {task}_{length}_{prompt}.csv files into acc_<model>.npy");
  bsc->add_option("--results_folder", ba.results_folder, "folder holding <model_name>/")->required();
  bsc->add_option("--model_name", ba.model_name, "model folder name")->required();
  bsc->add_option("--tasks", ba.tasks, "tasks (default qa1 … qa5)");
  bsc->add_option("--lengths", ba.lengths, "lengths (default 0k … 64k)");
  bsc->add_option("--prompt_name", ba.prompt_name, "prompt part of the file names (default: the seed's no_instruct name)");

  auto* bag = bl->add_subcommand("aggregate", "mean (and standard deviation) of several seeds' acc_*.npy matrices");
  bag->add_option("--inputs", ba.inputs, "acc_*.npy files of the same model, one per seed")->required();
  bag->add_option("--out", ba.out, "output .npy of the per-cell mean")->required();
  bag->add_option("--std_out", ba.std_out, "output .npy of the per-cell standard deviation");

  dm::cli::EvalBabilongArgs ea;
  auto* ev = app.add_subcommand("eval-babilong", "Evaluate a model on BABILong: accuracy per task × context length");
  ev->add_option("--ckpt_path,--model_id", ea.ckpt_path, "HF directory, run folder or model file")->required();
  ev->add_option("--tokenizer", ea.tokenizer, "tokenizer.json (default: the checkpoint's; text8 for char models)");
  ev->add_option("--workspace", ea.workspace, "workspace folder (default: the user's data location)");
  ev->add_option("--name", ea.name, "run name");
  ev->add_option("--tasks", ea.tasks, "tasks (default qa1 … qa5)");
  ev->add_option("--lengths", ea.lengths, "lengths (default 0k … 64k)");
  ev->add_option("--samples", ea.samples, "samples per cell")->check(CLI::PositiveNumber)->capture_default_str();
  ev->add_option("--seed", ea.seed, "seed of the generated samples")->capture_default_str();
  ev->add_option("--data_dir", ea.data_dir, "evaluate on BABILong files (<length>/<task>.jsonl) instead of generated samples");
  ev->add_option("--pg19", ea.pg19_dir, "folder of PG19 books for the distractor text (default: fortunes)");
  ev->add_option("--max_new_tokens", ea.max_new_tokens, "greedy tokens per answer")->check(CLI::PositiveNumber)->capture_default_str();
  ev->add_flag("--instruction", ea.instruction, "add BABILong's task instruction (the seed evaluates without)");
  ev->add_flag("--examples", ea.examples, "add BABILong's in-context examples");
  ev->add_flag("--post_prompt", ea.post_prompt, "add BABILong's answer-format post prompt");
  ev->add_flag("--answer_cue", ea.answer_cue, "end the prompt with \" Answer:\" as the needle fine-tuning does (the seed does not)");
  ev->add_option("--results_folder", ea.results_folder, "also write the seed's CSVs and acc_<model>.npy under this folder");
  ev->add_option("--model_name", ea.model_name, "model folder name under --results_folder");
  ev->add_option("--device", ea.device, "auto (the GPU when there is one), cpu or cuda[:N]")->capture_default_str();
  ev->add_option("--precision", ea.precision,
                 "auto (bf16 autocast on a GPU, as the seed evaluates in bf16; fp32 on the CPU), 32 or bf16-mixed")
      ->capture_default_str();
  ev->add_flag("--quiet", ea.quiet, "no progress lines");

  dm::cli::FinetuneArgs fa_needle, fa_pg19;
  fa_needle.kind = "needle";
  fa_pg19.kind = "pg19";
  fa_pg19.max_steps = 4000;
  fa_pg19.warmup = 400;
  fa_pg19.save_steps = fa_pg19.eval_steps = 500;
  fa_pg19.grad_accum_steps = 9;
  auto add_finetune = [&](const char* name, const char* what, dm::cli::FinetuneArgs& fa) {
    auto* c = app.add_subcommand(name, what);
    c->add_option("--ckpt_path,--model_id", fa.ckpt_path, "HF directory, run folder or model file to start from")->required();
    c->add_option("--tokenizer", fa.tokenizer, "tokenizer.json (default: the checkpoint's; text8 for char models)");
    c->add_flag("--diffmamba", fa.diffmamba, "turn a Mamba2 checkpoint into a Diff-Mamba2 (alternate blocks) first");
    c->add_option("--lr", fa.lr, "peak learning rate")->capture_default_str();
    c->add_option("--batch_size", fa.batch_size, "sequences per step and accumulation")->capture_default_str();
    c->add_option("--grad_accum_steps", fa.grad_accum_steps, "gradient accumulation")->capture_default_str();
    c->add_option("--max_steps", fa.max_steps, "optimizer steps")->capture_default_str();
    c->add_option("--weight_decay", fa.weight_decay, "AdamW weight decay")->capture_default_str();
    c->add_option("--warmup,--warmup_steps", fa.warmup, "linear warm-up steps, then cosine to 0")->capture_default_str();
    c->add_option("--save_steps", fa.save_steps, "save checkpoint-<step>/ every N steps")->capture_default_str();
    c->add_option("--eval_steps", fa.eval_steps, "evaluate every N steps")->capture_default_str();
    c->add_option("--seed", fa.seed, "random seed")->capture_default_str();
    c->add_option("--output_dir", fa.output_dir, "folder of the fine-tuned model")->required();
    c->add_option("--max_length", fa.max_length, "tokens per sequence")->capture_default_str();
    c->add_option("--nproc_per_node", fa.nproc_per_node,
                  "processes on this machine (data-parallel, c10d: Gloo on the CPU, NCCL on GPUs); torchrun / srun set their own")
        ->capture_default_str();
    c->add_option("--device", fa.device, "auto (the GPU when there is one; one per process), cpu or cuda[:N]")->capture_default_str();
    c->add_option("--eval_precision", fa.eval_precision,
                  "auto (bf16 autocast on a GPU: the seed's bf16_full_eval; fp32 on the CPU), 32 or bf16-mixed; training is fp32")
        ->capture_default_str();
    c->add_option("--workspace", fa.workspace, "workspace folder (default: the user's data location)");
    c->add_option("--name", fa.name, "run name");
    c->add_option("--pg19", fa.pg19_dir, "folder of PG19 books (*.txt)");
    c->add_flag("--quiet", fa.quiet, "no progress lines");
    return c;
  };
  auto* fn = add_finetune("finetune-needle", "Fine-tune on BABILong samples, loss on the answer tokens only", fa_needle);
  fn->add_option("--tasks", fa_needle.tasks, "tasks (default qa1 … qa5)");
  fn->add_option("--length", fa_needle.length, "context length of the training samples")->capture_default_str();
  fn->add_option("--samples", fa_needle.samples, "samples per task (the last 10 %, at most 100, held out)")->capture_default_str();
  fn->add_option("--data_dir", fa_needle.data_dir, "BABILong files (<length>/<task>.jsonl) instead of generated samples");
  auto* fp = add_finetune("finetune-pg19", "Fine-tune as a language model on PG19 books", fa_pg19);

  dm::cli::LensArgs la_lens;
  auto* ln = app.add_subcommand("lens", "Tuned lens: train per-layer translators, evaluate needle probability per layer");
  ln->require_subcommand(1);
  auto* lt = ln->add_subcommand("train", "train a lens for a checkpoint (python -m tuned_lens train)");
  lt->add_option("--ckpt_path,--model.name", la_lens.ckpt_path, "checkpoint (HF directory, run folder or model file)")->required();
  lt->add_option("--data,--data.name", la_lens.data, "text file, one document per line (default: the fortunes corpus)");
  lt->add_option("--output", la_lens.output, "lens folder (default: my_lenses/<checkpoint name>)");
  lt->add_option("--per_gpu_batch_size", la_lens.per_gpu_batch_size, "sequences per forward pass")->capture_default_str();
  lt->add_option("--num_steps", la_lens.num_steps, "optimizer steps")->capture_default_str();
  lt->add_option("--tokens_per_step", la_lens.tokens_per_step, "tokens per optimizer step")->capture_default_str();
  lt->add_option("--max_seq_len", la_lens.max_seq_len, "tokens per sequence")->capture_default_str();
  lt->add_option("--lr", la_lens.lr, "SGD learning rate (Nesterov momentum 0.9, linear decay)")->capture_default_str();
  lt->add_option("--seed", la_lens.seed, "data shuffling seed")->capture_default_str();
  lt->add_option("--nproc_per_node", la_lens.nproc_per_node,
                 "processes on this machine (data-parallel, c10d: Gloo on the CPU, NCCL on GPUs; --tokens_per_step stays global)")
      ->capture_default_str();
  lt->add_flag("--ssm", la_lens.ssm, "accepted for the seed's command line (every model here is an SSM)");
  lt->add_option("--precision", la_lens.precision,
                 "auto (bf16 autocast on a GPU, as tuned-lens trains; fp32 on the CPU), 32 or bf16-mixed")
      ->capture_default_str();
  auto* le = ln->add_subcommand("eval", "needle probability per layer on BABILong 0k (test_babilong_0k.py)");
  le->add_option("--ckpt_path", la_lens.ckpt_path, "checkpoint")->required();
  le->add_option("--lens", la_lens.lens, "lens folder (default: my_lenses/<checkpoint name>)");
  le->add_option("--output", la_lens.output, "seed-format results file (default: <ckpt_path>-lens_eval.txt)");
  le->add_option("--num_examples", la_lens.num_examples, "stop after N samples");
  le->add_option("--tasks", la_lens.tasks, "tasks (default qa1 … qa5 generated; all present with --data_dir)");
  le->add_option("--samples", la_lens.samples, "samples per task")->capture_default_str();
  le->add_option("--data_dir", la_lens.data_dir, "BABILong files (0k/<task>.jsonl) instead of generated samples");
  le->add_flag("--diffmamba", la_lens.diffmamba, "accepted for the seed's command line (the family comes from the checkpoint)");
  le->add_option("--precision", la_lens.precision, "auto (fp32, as test_babilong_0k.py), 32 or bf16-mixed")->capture_default_str();
  for (auto* c : {lt, le})
    c->add_option("--device", la_lens.device, "auto (the GPU when there is one), cpu or cuda[:N]")->capture_default_str();
  auto* li = ln->add_subcommand("import", "store a seed results file ({layer: {'avg': …}}) as a run");
  li->add_option("--results", la_lens.results, "the seed's *-lens_eval.txt")->required();
  li->add_option("--family", la_lens.family, "mamba2 or diffmamba2")->check(CLI::IsMember({"mamba2", "diffmamba2"}))->required();
  for (auto* c : {lt, le, li}) {
    c->add_option("--tokenizer", la_lens.tokenizer, "tokenizer.json (default: the checkpoint's; text8 for char models)");
    c->add_option("--workspace", la_lens.workspace, "workspace folder (default: the user's data location)");
    c->add_option("--name", la_lens.name, "run name");
    c->add_flag("--quiet", la_lens.quiet, "no progress lines");
  }

  dm::cli::PlotArgs pa;
  pa.results_folder = "scripts/babilong_evals";
  dm::cli::QuickArgs qa;
  auto* qc = app.add_subcommand("quick-comparison",
                                "The window's Quick comparison, headless: train, needle-fine-tune, evaluate on BABILong and "
                                "lens-analyse a tiny Mamba2 and Diff-Mamba2, print the accuracy cells with their 95 % "
                                "intervals and write the figures (key=value arguments go to both trainings)");
  qc->add_option("--workspace", qa.workspace, "workspace folder (default: the user's data location)");
  qc->add_option("--figures", qa.figures, "folder of the figures (default: <workspace>/figures/quick-comparison)");
  qc->add_flag("--no-figures", qa.no_figures, "print the cells only");
  qc->add_flag("--ablation", qa.ablation,
               "the paper's ablation: Diff-Mamba2E and Diff-S6-Mamba2 too, each against Mamba2 (about twice as long)");
  qc->add_option("--tasks", qa.tasks, "evaluated tasks (default qa1 … qa5)");
  qc->add_option("--lengths", qa.lengths, "evaluated lengths (default 0k 1k)");
  qc->add_option("--needle_steps", qa.needle_steps, "needle fine-tuning steps (default 500)")->check(CLI::PositiveNumber);
  qc->add_option("--needle_samples", qa.needle_samples, "needle samples per task (default 2000)")->check(CLI::PositiveNumber);
  qc->add_option("--samples", qa.eval_samples, "evaluated samples per cell (default 40)")->check(CLI::PositiveNumber);
  qc->add_option("--lens_steps", qa.lens_steps, "lens training steps (default 20)")->check(CLI::PositiveNumber);
  qc->add_option("--lens_tokens_per_step", qa.lens_tokens_per_step, "lens tokens per step (default 4096)")
      ->check(CLI::PositiveNumber);
  qc->add_option("--lens_samples", qa.lens_samples, "lens evaluation samples per task (default 20)")->check(CLI::PositiveNumber);
  qc->add_option("--seed", qa.seed, "seed of the needle data, its fine-tuning and the evaluated samples")->capture_default_str();
  qc->add_option("--device", qa.device, "every stage's device: auto (the GPU when there is one), cpu, cuda or cuda:N")
      ->capture_default_str();
  qc->add_flag("--quiet", qa.quiet, "no progress lines");
  qc->allow_extras();

  auto* pl = app.add_subcommand("plot", "Draw the paper's figures offscreen (PDF / PNG / SVG + CSV) from result files or runs");
  pl->require_subcommand(1);
  auto* ph = pl->add_subcommand("heatmap", "BABILong accuracy, tasks × context lengths (plot.py)");
  auto* pc = pl->add_subcommand("compare", "model vs baseline: cells tinted where the model wins or loses (plot_compare.py)");
  auto* pr = pl->add_subcommand("ratio", "model vs baseline: max/min ratio per cell (plot_compare.py --ratio)");
  auto* pn = pl->add_subcommand("lens", "tuned-lens needle probability per layer, Diff-Mamba vs Mamba (plot_tuned_lens.py)");
  auto* pv = pl->add_subcommand("curves", "training curves of runs (loss, bpc, lr, tokens/s, …)");
  auto* pt = pl->add_subcommand("per-token-loss", "loss per token position over long contexts, and the cumulative "
                                                  "perplexity, models overlaid (plot_per_token_loss.py)");
  auto* pm = pl->add_subcommand("mad", "MAD scores per task and overall, one bar per model (mad_scores*.csv); default: the "
                                       "workspace's newest MAD sweep");
  pm->add_option("--run", pa.runs, "mad-score run(s) of the workspace (one per family and sweep)");
  pm->add_option("--sweep", pa.sweep, "every family of this MAD sweep")->check(CLI::PositiveNumber);
  pm->add_option("--results", pa.results, "the seed's mad_scores*.csv files instead of runs");
  pm->add_flag("--no-total", pa.no_total, "no overall MAD score group");
  pm->add_option("--title", pa.title, "figure title (default: none)");
  auto* pa_att = pl->add_subcommand("attention", "implicit attention maps side by side (files of `diffmamba attention`), "
                                                 "needle and question marked, a per-block metric below");
  pa_att->add_option("--maps", pa.maps, "the .npz files, one panel each (e.g. Mamba2 and Diff-Mamba2 on one sample)")->required();
  pa_att->add_option("--block", pa.block, "block to show (default: the last one every file holds)");
  pa_att->add_option("--head", pa.head, "head to show")->capture_default_str()->check(CLI::NonNegativeNumber);
  pa_att->add_option("--map", pa.map, "combined (what the block applies), branch1 or branch2 (differential blocks)")
      ->check(CLI::IsMember({"combined", "branch1", "branch2"}))
      ->capture_default_str();
  pa_att->add_option("--metric", pa.att_metric, "per-block curve: snr, needle_mass, entropy, removed, branch1_snr, …")
      ->capture_default_str();
  pa_att->add_option("--range", pa.range, "token positions FIRST:END to zoom into (rows and columns)");
  pa_att->add_flag("--log-abs", pa.log_abs, "colour log10 |M| instead of the signed value");
  pa_att->add_option("--title", pa.title, "figure title (default: none)");
  pt->add_option("--run", pa.runs, "per-token-loss run(s) of the workspace");
  pt->add_option("--results", pa.results, "results.json files of per-token-loss (instead of, or beside, runs)");
  pt->add_option("--training-length", pa.training_length, "dashed line at the training length (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  pt->add_option("--window", pa.window, "centred moving average window")->check(CLI::PositiveNumber)->capture_default_str();
  pt->add_option("--title", pa.title, "figure title (default: none)");
  for (auto* c : {ph, pc, pr}) {
    c->add_option("--results_folder", pa.results_folder, "the seed's evaluation folder: <folder>/<model>/{task}_{length}_{prompt}.csv or acc_<model>.npy")
        ->capture_default_str();
    c->add_option("--model_name", pa.model_name, "the model's folder / file name in the results folder");
    c->add_option("--prompt_name", pa.prompt_name, "prompt part of the CSV names (default: the seed's no_instruct name)");
    c->add_option("--tasks", pa.tasks, "rows (default qa1 … qa5; for runs: the run's)");
    c->add_option("--lengths", pa.lengths, "columns (default 0k … 64k; for runs: the run's)");
    c->add_option("--seeds", pa.seeds, "average <model>-seed<N> over these seeds (mean, per-cell sd)");
    c->add_option("--run", pa.runs, "workspace run(s) of eval-babilong instead of files; several = mean over seeds");
    c->add_flag("--std", pa.std_line, "second line in each cell: ± standard deviation over seeds");
    c->add_flag("--no-npy", pa.no_npy, "do not (re)write acc_<model>.npy after scoring CSVs");
  }
  for (auto* c : {pc, pr}) {
    c->add_option("--baseline_name", pa.baseline_name, "the baseline's name (default: swap diffmamba ↔ mamba)");
    c->add_option("--baseline-run", pa.baseline_runs, "the baseline's run(s)");
    c->add_flag("--ci", pa.ci,
                "95 % interval of the difference per cell: paired bootstrap over the runs' samples (seeds, then samples "
                "with several runs); from result files, over seeds (needs ≥ 2 --seeds). Marked cells: interval excludes 0");
  }
  pc->add_flag("--ratio", pa.ratio, "draw the ratio heatmap (as `plot ratio`)");
  pn->add_option("--diff_results_path", pa.diff_results_path, "Diff-Mamba's *-lens_eval.txt");
  pn->add_option("--mamba_results_path", pa.mamba_results_path, "Mamba's *-lens_eval.txt");
  pn->add_option("--diff-run", pa.diff_run, "Diff-Mamba's lens eval run instead of a file")->check(CLI::PositiveNumber);
  pn->add_option("--mamba-run", pa.mamba_run, "Mamba's lens eval run")->check(CLI::PositiveNumber);
  pn->add_flag("--log", pa.log, "log-scale y");
  pn->add_option("--start-layer", pa.start_layer, "first layer drawn (default: the first in the data)")->check(CLI::PositiveNumber);
  pn->add_option("--end-layer", pa.end_layer, "last layer drawn (default: the last)")->check(CLI::PositiveNumber);
  pn->add_flag("--lines", pa.lines, "lines with markers instead of grouped bars");
  pn->add_flag("--raw", pa.raw_lens, "plot raw probabilities (0…1) as the seed does, not percent");
  pv->add_option("--run", pa.runs, "run id(s)")->required();
  pv->add_option("--metric", pa.metric, "metric name (see `diffmamba runs show ID`)")->capture_default_str();
  pv->add_option("--x", pa.x, "x axis")->check(CLI::IsMember({"step", "time"}))->capture_default_str();
  pv->add_option("--smoothing", pa.smoothing, "TensorBoard smoothing weight")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  pv->add_flag("--log-y", pa.log, "log-scale y");
  pv->add_option("--band", pa.band,
                 "group runs by configuration (all but the seed) and draw each group's mean with a band: sd (± one "
                 "standard deviation over seeds) or minmax")
      ->check(CLI::IsMember({"sd", "minmax"}));
  pv->add_flag("--log-x", pa.log_x, "log-scale x");
  for (auto* c : {ph, pc, pr}) {
    c->add_option("--palette", pa.palette, "cell colours: colorblind (viridis, blue / orange) or seed (red / green)")
        ->check(CLI::IsMember({"colorblind", "seed"}))
        ->capture_default_str();
    c->add_option("--title", pa.title, "figure title (default: names the runs or models; 'none': no title)");
  }
  for (auto* c : {ph, pc, pr, pn, pv, pt, pm, pa_att}) {
    c->add_option("--output_file", pa.output_file, "figure file, .pdf / .png / .svg (default: the seed's name and place)");
    c->add_option("--csv", pa.csv, "the numbers drawn (default: the figure's name with .csv)");
    c->add_flag("--no-csv", pa.no_csv, "write no CSV");
    c->add_option("--workspace", pa.workspace, "workspace folder for --run (default: the user's data location)");
    c->add_option("--width", pa.width_in, "figure width in inches")->check(CLI::PositiveNumber);
    c->add_option("--height", pa.height_in, "figure height in inches")->check(CLI::PositiveNumber);
    c->add_option("--dpi", pa.dpi, "PNG resolution")->check(CLI::PositiveNumber);
  }
  dm::cli::DoctorCommands doctor_cmds(app);  // doctor, selfcheck
  dm::cli::MadCommands mad_cmds(app);        // mad generate, mad run
  dm::cli::SweepCommands sweep_cmds(app);    // sweep train, list, show
  dm::cli::PerTokenCommand per_token_cmd(app);  // per-token-loss
  dm::cli::AttentionCommand attention_cmd(app);  // attention

  CLI11_PARSE(app, argc, argv);
  try {
    dm::init_runtime(threads);
    if (*d) return dm::cli::run_demo(demo);
    if (*t) {
      ta.overrides = t->remaining();
      ta.threads = threads;
      ta.argv.assign(argv, argv + argc);
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      return dm::cli::run_train(ta, g_cancel);
    }
    if (*r) {
      for (const auto* sub : r->get_subcommands()) ra.action = sub->get_name();
      return dm::cli::run_runs(ra);
    }
    if (*cv) {
      auto src = dm::io::load_hf_directory(conv_from);
      auto dst = dm::io::convert_to_diffmamba(src, conv_settings, conv_seed);
      dm::io::save_hf_directory(dst, conv_to);
      std::printf("converted %s (%lld parameters) → %s (%lld parameters, diff blocks: %s)\n", conv_from.c_str(),
                  static_cast<long long>(src->num_parameters()), conv_to.c_str(),
                  static_cast<long long>(dst->num_parameters()), conv_settings.c_str());
      return 0;
    }
    if (*lg) return dm::cli::run_logits(la);
    if (*im) return dm::cli::run_init_model(ima);
    if (*tk) return dm::cli::run_tokenize(tka);
    if (*bl) {
      for (const auto* sub : bl->get_subcommands()) ba.action = sub->get_name();
      return dm::cli::run_babilong(ba);
    }
    if (*ln) {
      for (const auto* sub : ln->get_subcommands()) la_lens.action = sub->get_name();
      la_lens.argv.assign(argv, argv + argc);
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      return dm::cli::run_lens(la_lens, g_cancel);
    }
    if (*fn || *fp) {
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      auto& fa_run = *fn ? fa_needle : fa_pg19;
      fa_run.argv.assign(argv, argv + argc);
      return dm::cli::run_finetune(fa_run, g_cancel);
    }
    if (*ev) {
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      return dm::cli::run_eval_babilong(ea, g_cancel);
    }
    if (*qc) {
      qa.overrides = qc->remaining();
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      return dm::cli::run_quick_comparison(qa, g_cancel);
    }
    if (*pl) {
      for (const auto* sub : pl->get_subcommands()) pa.action = sub->get_name();
      return dm::cli::run_plot(pa);
    }
    if (doctor_cmds.parsed()) return doctor_cmds.run();
    if (attention_cmd.parsed()) return attention_cmd.run();
    if (per_token_cmd.parsed()) {
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      return per_token_cmd.run(g_cancel);
    }
    if (sweep_cmds.parsed()) {
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      return sweep_cmds.run(g_cancel);
    }
    if (mad_cmds.parsed()) {
      std::signal(SIGINT, on_sigint);
      std::signal(SIGTERM, on_sigint);
      return mad_cmds.run(g_cancel);
    }
  } catch (const dm::Error& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "\nerror (LibTorch): %s\n", e.what_without_backtrace());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "\nerror: out of memory: this job needs more memory than the machine (or its limit) gives; "
                         "try a smaller model, batch or context (DM_MAX_MODEL_GB bounds the model size checked up front)\n");
    return 3;
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "\nerror: malformed JSON input (%s)\n", e.what());
    return 2;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "\nerror: a value that should be a number is not one (%s)\n", e.what());
    return 2;
  } catch (const std::out_of_range& e) {
    std::fprintf(stderr, "\nerror: a number or position is out of range (%s)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 2;
  }
  return 0;
}
