#include "core/jobs/finetune_job.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/dist/dist.h"
#include "core/io/atomic_file.h"
#include "core/io/convert.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/model_source.h"
#include "core/jobs/run_session.h"
#include "core/store/run_store.h"
#include "core/train/autocast.h"
#include "core/train/schedule.h"
#include "core/train/trainer.h"

namespace dm::jobs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::vector<Example> pg19_examples(const std::string& dir, const data::Codec& codec, int64_t max_length, bool eval) {
  std::error_code ec;
  if (dir.empty()) throw ConfigError("pg19_dir", "(none)", "finetune-pg19 needs --pg19 DIR, a folder of PG19 books (*.txt)");
  if (!fs::is_directory(dir, ec)) throw FileError(dir, "is not a folder of PG19 books (*.txt)");
  std::vector<fs::path> books;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".txt") books.push_back(e.path());
  std::sort(books.begin(), books.end());
  if (books.empty()) throw FileError(dir, "has no *.txt books");
  // A `test` subfolder is the evaluation split (PG19's layout); otherwise every 20th book (the last
  // book when there are fewer than 20).
  std::vector<Example> out;
  for (size_t i = 0; i < books.size(); ++i) {
    const bool has_test_dir = fs::exists(fs::path(dir) / "test", ec);
    const bool held_out = books.size() >= 20 ? i % 20 == 19 : (books.size() > 1 && i + 1 == books.size());
    const bool is_test = has_test_dir ? books[i].string().find("/test/") != std::string::npos : held_out;
    if (is_test != eval) continue;
    const auto ids = codec.encode(codec.normalize(io::read_file(books[i].string())));
    for (size_t s = 0; s < ids.size(); s += static_cast<size_t>(max_length)) {
      Example e;
      e.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(s),
                   ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), s + static_cast<size_t>(max_length))));
      e.labels = e.ids;
      if (e.ids.size() >= 2) out.push_back(std::move(e));
    }
  }
  if (out.empty() && !eval) throw FileError(dir, "yields no training windows");
  return out;
}

}  // namespace

Batch collate(const std::vector<const Example*>& batch, int64_t pad) {
  size_t len = 0;
  for (const auto* e : batch) len = std::max(len, e->ids.size());
  const auto rows = static_cast<int64_t>(batch.size()), cols = static_cast<int64_t>(len);
  Batch out{torch::full({rows, cols}, pad, torch::kLong), torch::full({rows, cols}, -100, torch::kLong),
            torch::zeros({rows, cols}, torch::kLong)};
  for (int64_t b = 0; b < rows; ++b) {
    const auto& e = *batch[static_cast<size_t>(b)];
    if (e.ids.size() != e.labels.size()) throw Error("collate: an example's ids and labels differ in length");
    const auto n = static_cast<int64_t>(e.ids.size());
    out.ids[b].narrow(0, cols - n, n).copy_(torch::tensor(e.ids, torch::kLong));
    out.labels[b].narrow(0, cols - n, n).copy_(torch::tensor(e.labels, torch::kLong));
    out.mask[b].narrow(0, cols - n, n).fill_(1);
  }
  return out;
}

torch::Tensor batch_loss(model::LanguageModel& m, const Batch& batch) {
  const auto l = batch.ids.size(1);
  return m->loss(batch.ids.narrow(1, 0, l - 1), batch.labels.narrow(1, 1, l - 1), batch.mask.narrow(1, 0, l - 1));
}

Example needle_example(const babilong::Record& r, const data::Codec& codec, int64_t max_length) {
  // The answer span = the tokens of prompt + answer after their longest common prefix with the prompt's
  // own tokens (a BPE merges the prompt's trailing space into the answer's first token: "Ġoffice").
  const auto p = codec.encode(codec.normalize(babilong::finetune_prompt(r)));
  auto full = codec.encode(codec.normalize(babilong::finetune_prompt(r) + r.target));
  const auto lcp = static_cast<size_t>(std::mismatch(p.begin(), p.end(), full.begin(), full.end()).first - p.begin());
  if (lcp == 0 || lcp >= full.size() || p.size() - lcp > 2)
    throw Error("needle example: cannot find the answer span of '" + r.target + "' (the prompt's tokens and prompt + "
                "answer's tokens differ too early)");
  Example e;
  e.labels.assign(full.size(), -100);
  for (size_t i = lcp; i < full.size(); ++i) e.labels[i] = full[i];
  // Too long: drop context from the left so the question and the answer stay.
  if (static_cast<int64_t>(full.size()) > max_length) {
    const auto cut = static_cast<std::ptrdiff_t>(full.size()) - max_length;
    full.erase(full.begin(), full.begin() + cut);
    e.labels.erase(e.labels.begin(), e.labels.begin() + cut);
  }
  e.ids = std::move(full);
  return e;
}

JobResult run_finetune_job(const Workspace& ws, const FinetuneOptions& opt, const train::EventSink& sink,
                           const std::atomic<bool>& cancel) {
  if (opt.kind != "needle" && opt.kind != "pg19") throw ConfigError("kind", opt.kind, "must be needle or pg19");
  for (auto [name, v] : {std::pair{"batch_size", opt.batch_size}, {"grad_accum_steps", opt.grad_accum_steps},
                         {"max_steps", opt.max_steps}, {"eval_steps", opt.eval_steps}, {"save_steps", opt.save_steps},
                         {"max_length", opt.max_length}})
    if (v <= 0) throw ConfigError(name, std::to_string(v), "must be positive");
  if (opt.warmup < 0) throw ConfigError("warmup", std::to_string(opt.warmup), "must be ≥ 0");
  if (!(opt.lr > 0)) throw ConfigError("lr", std::to_string(opt.lr), "must be positive");
  if (opt.output_dir.empty()) throw ConfigError("output_dir", "(none)", "name the folder for the fine-tuned model");
  torch::manual_seed(static_cast<int64_t>(opt.seed));
  auto tm = open_text_model(opt.ckpt_path, opt.tokenizer);
  if (opt.diffmamba && tm.model->config().family == model::Family::mamba2) {
    if (tm.model->config().backbone != model::Backbone::hf)
      throw ConfigError("diffmamba", "true", "conversion needs an HF-backbone Mamba2 checkpoint");
    tm.model = io::convert_to_diffmamba(tm.model, "alternate", opt.seed);
  }
  auto& m = tm.model;
  const int64_t pad = tm.codec->eos_id().value_or(0);
  const auto env = dist::from_environment();
  HeldEvents early;
  const auto device = device_from_option(opt.device, env.rank == 0 ? early.sink() : nullptr, env.local_rank, env.local_world);
  const auto eval_autocast = autocast_from_option("eval_precision", opt.eval_precision, device, true);
  m->to(device);

  // Data-parallel (torchrun, srun, or --nproc_per_node through our launcher): Gloo on the CPU, NCCL on
  // GPUs. Every rank builds the same data and model; rank 0's weights are broadcast.
  const auto group = dist::join_group(m->parameters(), device);
  std::unique_ptr<dist::GradSync> grad_sync;
  const int rank = group ? group->rank() : 0, world = group ? group->size() : 1;

  // Data.
  std::vector<Example> train, eval;
  if (opt.kind == "needle") {
    std::optional<babilong::NoiseSource> noise;
    if (!opt.pg19_dir.empty()) noise = babilong::NoiseSource::from_pg19(opt.pg19_dir);
    for (const auto& task : opt.tasks) {
      auto recs = babilong_cell(task, opt.length, opt.samples, opt.seed + 17, *tm.codec, noise ? &*noise : nullptr,
                                opt.data_dir);
      const size_t held = std::min<size_t>(100, std::max<size_t>(1, recs.size() / 10));
      if (recs.size() < 2) throw ConfigError("samples", std::to_string(recs.size()), "needs at least 2 per task");
      for (size_t i = 0; i < recs.size(); ++i)
        (i + held >= recs.size() ? eval : train).push_back(needle_example(recs[i], *tm.codec, opt.max_length));
    }
  } else {
    train = pg19_examples(opt.pg19_dir, *tm.codec, opt.max_length, false);
    eval = pg19_examples(opt.pg19_dir, *tm.codec, opt.max_length, true);
  }
  std::mt19937_64 shuffle_rng(42);
  std::shuffle(train.begin(), train.end(), shuffle_rng);

  // Optimiser: AdamW (β 0.9/0.999, ε 1e-8), no decay on A_log, D, dt_bias, biases and norms.
  auto optim_ptr = train::make_adamw(m, opt.lr, 0.9, 0.999, 1e-8, opt.weight_decay);
  if (group) grad_sync = std::make_unique<dist::GradSync>(*group, m->parameters(), false);
  auto& optim = *optim_ptr;

  // Run record (rank 0's).
  RunSpec rec;
  rec.name = opt.name.empty() ? "finetune-" + opt.kind : opt.name;
  rec.kind = "finetune-" + opt.kind;
  rec.family = model::to_string(m->config().family);
  rec.device = device.str();
  nlohmann::json cfg = {{"ckpt_path", opt.ckpt_path}, {"model", tm.source}, {"diffmamba", opt.diffmamba},
                        {"lr", opt.lr}, {"weight_decay", opt.weight_decay}, {"batch_size", opt.batch_size},
                        {"grad_accum_steps", opt.grad_accum_steps}, {"max_steps", opt.max_steps},
                        {"warmup", opt.warmup}, {"save_steps", opt.save_steps}, {"eval_steps", opt.eval_steps},
                        {"seed", opt.seed}, {"max_length", opt.max_length}, {"output_dir", opt.output_dir},
                        {"tasks", opt.tasks}, {"length", opt.length}, {"samples", opt.samples},
                        {"data_dir", opt.data_dir}, {"pg19_dir", opt.pg19_dir}, {"train_examples", train.size()},
                        {"eval_examples", eval.size()}, {"processes", world}, {"device", device.str()},
                        {"precision", "32"}, {"eval_precision", precision_name(eval_autocast)}};
  rec.config_json = cfg.dump();
  rec.run_dir = opt.output_dir;
  if (group) rec.device = group->describe();
  auto shared = open_shared_run(ws, rec, group.get(), "finetune-run");
  auto& session = shared.session;
  const int64_t run = shared.id;
  const train::EventSink run_sink = shared.sink(sink);
  early.replay(run_sink);
  if (rank == 0) fs::create_directories(opt.output_dir);
  auto save_to = [&](const std::string& dir) {
    if (rank != 0) return;
    if (m->config().backbone == model::Backbone::hf) io::save_hf_directory(m, dir);
    else {
      fs::create_directories(dir);
      io::save_model(m, (fs::path(dir) / "model.safetensors").string());
    }
    std::error_code ec;
    if (!opt.tokenizer.empty()) fs::copy_file(opt.tokenizer, fs::path(dir) / "tokenizer.json", fs::copy_options::overwrite_existing, ec);
    else if (fs::exists(fs::path(opt.ckpt_path) / "tokenizer.json", ec))
      fs::copy_file(fs::path(opt.ckpt_path) / "tokenizer.json", fs::path(dir) / "tokenizer.json", fs::copy_options::overwrite_existing, ec);
  };
  // A global batch (batch_size examples per process) is shared out as HF's DistributedSampler does:
  // this rank takes items rank, rank + world, … . Losses are the global batch's mean over its labelled
  // tokens: each rank's NLL sum over the global token count (all-reduced), times the world size because
  // the Reducer averages gradients; so N processes × batch B train as one process × batch N·B.
  auto mine = [&](const std::vector<const Example*>& global) {
    std::vector<const Example*> out;
    for (size_t j = static_cast<size_t>(rank); j < global.size(); j += static_cast<size_t>(world)) out.push_back(global[j]);
    return out;
  };
  auto nll_sum = [&](const std::vector<const Example*>& part) -> std::pair<torch::Tensor, double> {
    if (part.empty()) return {torch::zeros({}, torch::TensorOptions().device(device)), 0.0};
    auto b = collate(part, pad);
    b = {b.ids.to(device), b.labels.to(device), b.mask.to(device)};
    const auto l = b.ids.size(1);
    const auto targets = b.labels.narrow(1, 1, l - 1);
    const auto valid = targets != -100;
    auto nll = m->token_nll(b.ids.narrow(1, 0, l - 1), targets, b.mask.narrow(1, 0, l - 1));
    return {(nll * valid).sum(), valid.sum().item<double>()};
  };
  // {sum, count} added over the ranks.
  auto global_sums = [&](double sum, double count) {
    if (!group) return std::pair{sum, count};
    const auto r = group->allreduce_sum(std::vector<double>{sum, count});
    return std::pair{r[0], r[1]};
  };
  const size_t global_batch = static_cast<size_t>(opt.batch_size) * static_cast<size_t>(world);
  auto evaluate = [&] {
    torch::NoGradGuard ng;
    const train::AutocastScope mixed(device.type(), eval_autocast);
    m->eval();
    double sum = 0;
    int64_t n = 0;
    for (size_t i = 0; i < eval.size(); i += global_batch) {
      std::vector<const Example*> b;
      for (size_t j = i; j < std::min(eval.size(), i + global_batch); ++j) b.push_back(&eval[j]);
      const auto [s_local, c_local] = nll_sum(mine(b));
      const auto [s_all, c_all] = global_sums(s_local.item<double>(), c_local);
      sum += s_all / std::max(c_all, 1.0) * static_cast<double>(b.size());
      n += static_cast<int64_t>(b.size());
    }
    m->train();
    return n ? sum / static_cast<double>(n) : std::nan("");
  };

  std::atomic<bool> stopped{false};  // every rank agreed to stop (someone's Ctrl-C)
  double best = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_params;
  size_t cursor = 0;
  const auto t0 = Clock::now();
  m->train();
  try {
    for (int64_t step = 0; step < opt.max_steps; ++step) {
      bool stop = cancel.load();
      if (group) stop = group->any(stop);  // every rank stops at the same step
      if (stop) {
        stopped = true;
        throw Error("cancelled");
      }
      optim.zero_grad();
      double loss_sum = 0;
      for (int64_t a = 0; a < opt.grad_accum_steps; ++a) {
        std::vector<const Example*> b;
        for (size_t j = 0; j < global_batch; ++j) {
          if (cursor >= train.size()) {
            cursor = 0;
            std::shuffle(train.begin(), train.end(), shuffle_rng);
          }
          b.push_back(&train[cursor++]);
        }
        const auto [s_local, c_local] = nll_sum(mine(b));
        const auto [s_all, c_all] = global_sums(s_local.item<double>(), c_local);
        const double accum = static_cast<double>(opt.grad_accum_steps);
        auto loss = s_local / std::max(c_all, 1.0) * static_cast<double>(world) / accum;
        if (grad_sync && a + 1 == opt.grad_accum_steps) grad_sync->prepare(loss);
        loss.backward();
        loss_sum += s_all / std::max(c_all, 1.0) / accum;
      }
      const double lr = opt.lr * train::lr_multiplier("cosine", step, opt.warmup, opt.max_steps);
      for (auto& g : optim.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      torch::nn::utils::clip_grad_norm_(m->parameters(), 1.0);
      optim.step();
      const int64_t done = step + 1;
      const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
      train::TrainEvent ev;
      ev.kind = train::TrainEvent::Kind::step;
      ev.step = done;
      ev.progress = static_cast<double>(done) / static_cast<double>(opt.max_steps);
      ev.metrics = {{"train/loss", loss_sum}, {"train/lr", lr}};
      ev.eta_s = wall / static_cast<double>(done) * static_cast<double>(opt.max_steps - done);
      run_sink(ev);
      if (done % opt.eval_steps == 0 || done == opt.max_steps) {
        const double el = evaluate();
        if (el < best) {
          best = el;
          best_params.clear();
          for (const auto& p : m->parameters()) best_params.push_back(p.detach().clone());
        }
        train::TrainEvent e2;
        e2.kind = train::TrainEvent::Kind::eval;
        e2.step = done;
        e2.progress = ev.progress;
        e2.metrics = {{"eval/loss", el}};
        e2.message = "step " + std::to_string(done) + ": eval loss " + c10::str(el);
        run_sink(e2);
      }
      if (done % opt.save_steps == 0) save_to((fs::path(opt.output_dir) / ("checkpoint-" + std::to_string(done))).string());
    }
  } catch (const std::exception& e) {
    if (session && session->fail(e, stopped)) return {run, "cancelled", e.what()};
    if (!session && stopped.load()) return {run, "cancelled", e.what()};
    throw;
  }
  // The best model by eval loss (load_best_model_at_end), saved as the result.
  if (!best_params.empty()) {
    torch::NoGradGuard ng;
    auto params = m->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_params[i]);
  }
  save_to(opt.output_dir);
  if (session) {
    shared.db->add_artifact(run, "model", opt.output_dir, opt.max_steps);
    session->finish("finished", "best eval loss " + c10::str(best));
  }
  return {run, "finished", "best eval loss " + c10::str(best)};
}

}  // namespace dm::jobs
