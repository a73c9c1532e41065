// The `diffmamba` subcommands (argument parsing lives in main.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dm::cli {

struct TrainArgs {
  std::vector<std::string> overrides;  // experiment=… and key=value, the seed's syntax
  std::string workspace;
  std::string name;
  int64_t resume = 0;
  int64_t sweep = 0;  // > 0: the run joins this sweep record (a member of a grid started elsewhere)
  bool print_config = false;
  bool quiet = false;
  int threads = 0;
  std::vector<std::string> argv;  // the command line, to start the ranks of a data-parallel run
};
int run_train(const TrainArgs& a, std::atomic<bool>& cancel);

struct RunsArgs {
  std::string action;  // list | show | export | archive | unarchive | delete
  std::string workspace;
  int64_t id = 0;
  std::string csv;
  bool files = false;  // delete: also remove the run folder
  bool all = false;    // list: archived runs too
  std::string filter;  // list: the runs filter (core/store/run_filter.h)
};
int run_runs(const RunsArgs& a);

struct LogitsArgs {
  std::string ckpt_path;  // HF Mamba2 / Diff-Mamba2 / mamba_ssm directory
  std::string ids;        // "1,2,3"
  std::string text;       // tokenized with the tokenizer
  std::string tokenizer;  // tokenizer.json; default: the one in ckpt_path
  std::string out;        // .npy
};
int run_logits(const LogitsArgs& a);

struct InitModelArgs {
  std::string family = "diffmamba2", shape = "370m", out;
  int64_t vocab = 0, d_model = 0, n_layers = 0;  // 0: the shape's
  uint64_t seed = 0;
};
int run_init_model(const InitModelArgs& a);

struct TokenizeArgs {
  std::string tokenizer;  // tokenizer.json, or a directory holding one
  std::string text;
  std::string file;       // read the text from a file instead
  bool lines = false;     // one id line per input line
  std::string decode;     // comma-separated ids to decode instead
  bool no_special = false;  // treat <|endoftext|> etc. in the text as plain text
};
int run_tokenize(const TokenizeArgs& a);

struct BabilongArgs {
  std::string action;  // generate | score | aggregate
  // generate
  std::string task = "qa1", length = "0k", out, tokenizer, pg19_dir;
  int64_t samples = 100;
  uint64_t seed = 0;
  // score
  std::string results_folder, model_name;
  std::vector<std::string> tasks, lengths;
  std::string prompt_name;
  // aggregate
  std::vector<std::string> inputs;
  std::string std_out;
};
int run_babilong(const BabilongArgs& a);

struct EvalBabilongArgs {
  std::string ckpt_path, tokenizer, workspace, name, data_dir, pg19_dir, results_folder, model_name;
  std::string device = "auto", precision = "auto";
  std::vector<std::string> tasks, lengths;
  int64_t samples = 100, max_new_tokens = 20;
  uint64_t seed = 0;
  bool instruction = false, examples = false, post_prompt = false, answer_cue = false, quiet = false;
};
int run_eval_babilong(const EvalBabilongArgs& a, std::atomic<bool>& cancel);

struct FinetuneArgs {
  std::string kind;  // needle | pg19
  std::string ckpt_path, tokenizer, output_dir, workspace, name, data_dir, pg19_dir, length = "0k";
  std::string device = "auto", eval_precision = "auto";
  std::vector<std::string> tasks;
  bool diffmamba = false, quiet = false;
  double lr = 3e-4, weight_decay = 0.1;
  int64_t batch_size = 6, grad_accum_steps = 1, max_steps = 500, warmup = 50, save_steps = 100, eval_steps = 100;
  int64_t samples = 1000, max_length = 2048, nproc_per_node = 1;
  std::vector<std::string> argv;  // the command line, to start the processes of --nproc_per_node
  uint64_t seed = 0;
};
int run_finetune(const FinetuneArgs& a, std::atomic<bool>& cancel);

struct LensArgs {
  std::string action;  // train | eval | import
  std::string ckpt_path, tokenizer, data, output, lens, workspace, name, data_dir, results, family;
  std::string device = "auto", precision = "auto";
  std::vector<std::string> tasks;
  int64_t per_gpu_batch_size = 1, num_steps = 250, tokens_per_step = 1 << 18, max_seq_len = 2048;
  int64_t num_examples = 0, samples = 100, nproc_per_node = 1;
  std::vector<std::string> argv;  // the command line, to start the processes of --nproc_per_node
  double lr = 0.1;
  uint64_t seed = 42;
  bool ssm = false, diffmamba = false, quiet = false;
};
int run_lens(const LensArgs& a, std::atomic<bool>& cancel);

struct PlotArgs {
  std::string action;  // heatmap | compare | ratio | lens | curves | per-token-loss | mad
  // the seed's result files
  std::string results_folder, model_name, baseline_name, prompt_name;
  std::vector<std::string> tasks, lengths, seeds;
  std::string diff_results_path, mamba_results_path;
  // the run store
  std::string workspace;
  std::vector<int64_t> runs, baseline_runs;
  int64_t diff_run = 0, mamba_run = 0;
  // figure
  std::string output_file, csv, metric = "loss", x = "step";
  std::string palette = "colorblind";  // or seed (the published scripts' red / green)
  std::string title;                   // default: names the runs or models; "none": no title
  bool ci = false;  // compare / ratio: bootstrap intervals of the difference per cell
  std::string band;  // curves: "sd" or "minmax": seeds of one configuration as mean and band
  bool ratio = false, std_line = false, log = false, log_x = false, lines = false, raw_lens = false, no_csv = false,
       no_npy = false;
  int start_layer = 0, end_layer = 0;  // 0 = the data's first / last
  std::vector<std::string> results;      // per-token-loss: results.json files; mad: mad_scores CSVs
  int64_t sweep = 0;                     // mad: the scores of this MAD sweep
  bool no_total = false;                 // mad: no overall-score group
  int training_length = 2048, window = 101;
  // attention: .npz files of `diffmamba attention`, one panel each
  std::vector<std::string> maps;
  int64_t block = -1, head = 0;           // block −1: the last block every file holds
  std::string map = "combined", att_metric = "snr", range;  // range "i0:i1" (rows and columns), empty: all
  bool log_abs = false;
  double smoothing = 0.6, width_in = 0, height_in = 0, dpi = 0;  // 0 = the figure's default size
};
// Built only with the plotting library (Qt 6 + QCustomPlot); elsewhere it explains that and returns 2.
int run_plot(const PlotArgs& a);

// Several figures in one offscreen application (e.g. those of the Quick comparison); stops at the first error.
int run_plots(const std::vector<PlotArgs>& all);

struct QuickArgs {
  std::string workspace, figures;      // figures: default <workspace>/figures/quick-comparison
  std::vector<std::string> overrides;  // training key=value, after the defaults (e.g. trainer.max_steps=…)
  std::vector<std::string> tasks, lengths;
  int64_t needle_steps = 0, needle_samples = 0, eval_samples = 0, lens_steps = 0, lens_tokens_per_step = 0,
          lens_samples = 0;  // 0 = the Quick comparison's setting
  uint64_t seed = 0;
  std::string device = "auto";
  bool no_figures = false, quiet = false;
  bool ablation = false;  // Mamba2, Diff-Mamba2, Diff-Mamba2E and Diff-S6-Mamba2 instead of the pair
};
int run_quick_comparison(const QuickArgs& a, std::atomic<bool>& cancel);

// Every configuration key with type, default and documentation (for --help).
std::string config_keys_help();

}  // namespace dm::cli
