#include "core/train/trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/data/lm_corpus.h"
#include "core/dist/dist.h"
#include "core/io/model_file.h"
#include "core/ops/doctor.h"
#include "core/train/autocast.h"
#include "core/train/checkpoint.h"
#include "core/train/grad_scaler.h"
#include "core/train/schedule.h"

namespace dm::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool no_decay(const std::string& name) {
  // The lm head's per-token output bias and cluster bias are biases too (the seed decays them, as it does every
  // parameter outside its backbone; see docs/design.md).
  if (name == "output_bias" || name == "cluster_bias") return true;
  const auto dot = name.rfind('.');
  const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
  // The SSM's own parameters, as the seed's `_no_weight_decay` flags, in every family's spelling (Diff-S6's
  // second scan: A_log_2, D_2; Diff-S6-Mamba2's two branches: dt_bias1, A_log2, …).
  static const std::set<std::string> ssm = {"A_log", "A_log_2", "A_log1", "A_log2", "D",        "D_2",
                                            "D1",    "D2",      "dt_bias", "dt_bias1", "dt_bias2", "bias"};
  if (ssm.count(leaf)) return true;
  // λ's vectors (lambda_q1, lambda_k1, …; Diff-S6-Mamba2's scalar lambda_q). The seed's backbone hook decays
  // them (upstream.md §6.6), which pulls q toward 0 and λ toward λ_init + ½ (or λ_init), a prior the paper does not
  // state; we exempt them (docs/design.md).
  if (leaf.rfind("lambda_", 0) == 0) return true;
  return name.find(".norm.") != std::string::npos || name.find(".subln.") != std::string::npos ||
         name.find(".norm_f.") != std::string::npos;
}

struct EvalResult {
  double loss = 0, batch_mean_loss = 0, batch_mean_ppl = 0;
  int64_t tokens = 0;
};

// With a group, each rank evaluates its rows of every batch and the per-batch sums are added over the
// ranks, so the metrics are those of one process with the global batch.
EvalResult evaluate(model::LanguageModel& m, data::OrderedBatches& batches, int64_t limit, const torch::Device& dev,
                    dist::Group* group) {
  torch::NoGradGuard ng;
  m->eval();
  EvalResult r;
  double nll = 0;
  int64_t n_batches = 0;
  const int64_t total = limit > 0 ? std::min(limit, batches.size()) : batches.size();
  std::vector<double> sums, counts;
  for (int64_t i = 0; i < total; ++i) {
    auto [x, y] = batches.get(0, i);
    sums.push_back(m->token_nll(x.to(dev), y.to(dev)).sum().item<double>());
    counts.push_back(static_cast<double>(y.numel()));
  }
  if (group) {
    std::vector<double> both = sums;
    both.insert(both.end(), counts.begin(), counts.end());
    both = group->allreduce_sum(both);
    sums.assign(both.begin(), both.begin() + static_cast<std::ptrdiff_t>(total));
    counts.assign(both.begin() + static_cast<std::ptrdiff_t>(total), both.end());
  }
  for (int64_t i = 0; i < total; ++i) {
    const double sum = sums[static_cast<size_t>(i)], n = counts[static_cast<size_t>(i)];
    nll += sum;
    r.tokens += static_cast<int64_t>(n);
    r.batch_mean_loss += sum / n;
    r.batch_mean_ppl += std::exp(sum / n);
    ++n_batches;
  }
  m->train();
  r.loss = r.tokens ? nll / static_cast<double>(r.tokens) : std::nan("");
  r.batch_mean_loss /= std::max<int64_t>(1, n_batches);
  r.batch_mean_ppl /= std::max<int64_t>(1, n_batches);
  return r;
}

void add_eval_metrics(TrainEvent& ev, const std::string& split, const EvalResult& r, const std::string& metric) {
  ev.metrics.emplace_back(split + "/loss", r.loss);
  if (metric == "bpc") {
    ev.metrics.emplace_back(split + "/bpc", r.loss / std::log(2.0));
    ev.metrics.emplace_back(split + "/bpc_batchmean", r.batch_mean_loss / std::log(2.0));
  } else {
    ev.metrics.emplace_back(split + "/ppl", std::exp(r.loss));
    ev.metrics.emplace_back(split + "/ppl_batchmean", r.batch_mean_ppl);
  }
}

}  // namespace

namespace {

std::vector<int64_t> device_indices(const nlohmann::json& devs) {
  std::vector<int64_t> idx;
  if (devs.is_array()) {
    for (const auto& d : devs) idx.push_back(d.get<int64_t>());
  } else {
    for (int64_t i = 0; i < devs.get<int64_t>(); ++i) idx.push_back(i);
  }
  return idx;
}

int64_t cuda_devices() { return torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0; }

}  // namespace

void warn_cpu_fallback(const EventSink& sink, const std::string& what) {
  static std::atomic<bool> warned{false};
  if (!sink || warned.exchange(true)) return;
  TrainEvent w;
  w.kind = TrainEvent::Kind::warning;
  auto why = ops::cuda_unavailable_reason();
  w.message = "no GPU can be used (" + (why.empty() ? std::string("none found") : why) + "): " + what;
  sink(w);
}

int processes_for(const config::ExperimentConfig& cfg) {
  const auto acc = cfg.string("trainer.accelerator");
  const auto& devs = cfg.at("trainer.devices");
  const auto n = static_cast<int>(device_indices(devs).size());
  if (acc == "cpu") return devs.is_array() ? 1 : std::max(1, n);
  if (cuda_devices() == 0) return 1;
  return std::max(1, n);
}

torch::Device resolve_device(const config::ExperimentConfig& cfg, const EventSink& sink, int local_rank, int local_world) {
  const auto acc = cfg.string("trainer.accelerator");
  const auto& devs = cfg.at("trainer.devices");
  const auto idx = device_indices(devs);
  const int64_t have = cuda_devices();
  if (acc == "cpu" || (acc == "auto" && have == 0)) {
    if (acc == "auto" && (devs.is_array() || idx.size() > 1)) {
      TrainEvent w;
      w.kind = TrainEvent::Kind::warning;
      w.message = "trainer.devices=" + devs.dump() + " names GPUs, but this machine has no CUDA device; training on CPU "
                  "(set trainer.accelerator=gpu to make this an error, or trainer.accelerator=cpu with a device count "
                  "for several CPU processes)";
      if (sink) sink(w);
    } else if (acc == "auto") {
      warn_cpu_fallback(sink, "training runs on the CPU (trainer.accelerator=cpu says so without this warning)");
    }
    return torch::kCPU;
  }
  if (have == 0)
    throw ConfigError("trainer.accelerator", acc, "a GPU was requested but this machine has no CUDA device (use cpu or auto)");
  for (auto i : idx)
    if (i < 0 || i >= have)
      throw ConfigError("trainer.devices", devs.dump(), "this machine has " + std::to_string(have) + " CUDA device(s): 0.." +
                                                            std::to_string(have - 1));
  if (idx.empty()) throw ConfigError("trainer.devices", devs.dump(), "names no device");
  if (local_world <= 1 && idx.size() > 1)
    throw ConfigError("trainer.devices", devs.dump(),
                      "several GPUs train in several processes: run `diffmamba train` (it starts one per GPU), "
                      "torchrun or srun; this process can use one");
  if (local_world > 1 && static_cast<int64_t>(idx.size()) != local_world && idx.size() != 1)
    throw ConfigError("trainer.devices", devs.dump(),
                      "names " + std::to_string(idx.size()) + " GPUs but " + std::to_string(local_world) +
                          " processes run on this machine");
  // One device named under a launcher with several processes per machine (torchrun's usual
  // trainer.devices=1): each process takes the GPU of its local rank.
  const int64_t mine = local_world <= 1 ? idx[0] : idx.size() == 1 ? local_rank : idx[static_cast<size_t>(local_rank)];
  if (mine >= have)
    throw ConfigError("trainer.devices", devs.dump(), "local rank " + std::to_string(local_rank) + " needs CUDA device " +
                                                          std::to_string(mine) + ", but this machine has " +
                                                          std::to_string(have));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(mine));
}

TrainOutcome train_language_model(const config::ExperimentConfig& cfg, const TrainOptions& opt, const EventSink& sink,
                                  const std::atomic<bool>& cancel) {
  dist::Group* group = opt.group;
  const int rank = group ? group->rank() : 0, world = group ? group->size() : 1;
  auto emit = [&](TrainEvent ev) {
    if (sink && rank == 0) sink(ev);
  };
  auto info = [&](const std::string& msg) {
    TrainEvent ev;
    ev.message = msg;
    emit(ev);
  };
  const auto device = resolve_device(cfg, rank == 0 ? sink : EventSink{}, group ? group->env().local_rank : 0,
                                     group ? group->env().local_world : 1);
  const auto precision = cfg.string("trainer.precision");
  // Mixed precision: LibTorch autocast around the forward pass (weights and optimizer stay fp32; our
  // SSD, norms and softmax statistics compute in fp32 inside it). fp16 needs a GPU (loss scaling
  // and CPU fp16 kernels are not worth it); bf16 works on CPU and CUDA.
  std::optional<at::ScalarType> autocast;
  if (precision == "bf16" || precision == "bf16-mixed") autocast = at::kBFloat16;
  // fp16: autocast to half with dynamic loss scaling (GradScaler), on CUDA as published; on the CPU too where
  // LibTorch's CPU autocast takes float16 (it does from 2.x), else a clear error.
  const bool fp16 = precision == "16" || precision == "16-mixed";
  if (fp16) {
    if (!at::autocast::is_autocast_available(device.type()))
      throw ConfigError("trainer.precision", precision,
                        "fp16 autocast is not available on " + device.str() + " in this LibTorch; use bf16-mixed or 32");
    autocast = at::kHalf;
  }
  GradScaler scaler(fp16);

  // Data.
  const auto ds = cfg.string("dataset.name");
  std::string dir = cfg.string("dataset.data_dir");
  if (dir.empty() && ds != "fortunes") dir = (fs::path(opt.data_root) / ds).string();
  info("loading " + ds + (dir.empty() ? "" : " from " + dir));
  auto corpus = data::load_corpus(ds, dir);
  const int64_t bs = cfg.integer("loader.batch_size"), l_max = cfg.integer("loader.l_max");
  const int64_t ebs = cfg.is_null("loader.eval.batch_size") ? bs : cfg.integer("loader.eval.batch_size");
  const int64_t el = cfg.is_null("loader.eval.l_max") ? l_max : cfg.integer("loader.eval.l_max");
  const uint64_t seed = static_cast<uint64_t>(cfg.integer("train.seed"));
  if (device.is_cpu()) cfg.model_config(corpus.vocab_size()).check_training_budget(bs, l_max);
  data::OrderedBatches train_b(corpus.train, bs, l_max, true, 42 + seed, rank, world);
  data::OrderedBatches valid_b(corpus.valid, ebs, el, false, 42, rank, world),
      test_b(corpus.test, ebs, el, false, 42, rank, world);

  // Model and optimizer.
  torch::manual_seed(seed);
  model::LanguageModel m(cfg.model_config(corpus.vocab_size()));
  m->to(device);
  m->train();
  std::unique_ptr<dist::GradSync> grad_sync;
  if (group) {
    // Every rank starts from rank 0's weights (as DDP does), and gradients are averaged over the ranks
    // by c10d's Reducer during backward. Adaptive softmax tail clusters may get no gradient in a step.
    std::vector<torch::Tensor> state = m->parameters();
    for (const auto& b : m->buffers()) state.push_back(b);
    {
      torch::NoGradGuard ng;
      group->broadcast(state);
    }
    grad_sync = std::make_unique<dist::GradSync>(*group, m->parameters(), bool(m->adaptive_head));
  }
  const auto betas = cfg.at("optimizer.betas");
  const double lr = cfg.number("optimizer.lr");
  auto optim_ptr = make_adamw(m, lr, betas.at(0).get<double>(), betas.at(1).get<double>(), cfg.number("optimizer.eps"),
                              cfg.number("optimizer.weight_decay"));
  auto& optim = *optim_ptr;

  fs::create_directories(opt.run_dir);
  const std::string ckpt = (fs::path(opt.run_dir) / "checkpoint.safetensors").string();
  Position pos;
  if (opt.resume) {
    if (!fs::exists(ckpt)) throw FileError(ckpt, "no checkpoint to resume from");
    auto [p, extra] = load_checkpoint(ckpt, m, optim);
    const int saved_world = extra.value("world_size", 1);
    if (saved_world != world)
      throw ConfigError("world size", std::to_string(world),
                        "the checkpoint was written by " + std::to_string(saved_world) + " process(es); resume with the "
                        "same number (the data order depends on it: each process reads its own rows of the global "
                        "batch)");
    if (extra.value("config_hash", "") != cfg.hash())
      throw FileError(ckpt, "the checkpoint was written for another configuration (hash " + extra.value("config_hash", "?") +
                                ", this run " + cfg.hash() + ")");
    pos = p;
    scaler.load_state(extra.value("grad_scaler", nlohmann::json::object()));
    info("resumed at step " + std::to_string(pos.step) + " (epoch " + std::to_string(pos.epoch) + ", batch " +
         std::to_string(pos.next_batch) + ")");
  }
  auto write_ckpt = [&] {
    if (rank != 0) return;
    const nlohmann::json extra = {{"config_hash", cfg.hash()}, {"world_size", world}, {"grad_scaler", scaler.state()}};
    save_checkpoint(ckpt, m, optim, pos, extra);
    TrainEvent ev;
    ev.kind = TrainEvent::Kind::checkpoint;
    ev.step = pos.step;
    ev.epoch = pos.epoch;
    ev.message = ckpt;
    emit(ev);
  };

  const int64_t acc = cfg.integer("trainer.accumulate_grad_batches");
  const int64_t max_epochs = cfg.integer("trainer.max_epochs");
  const int64_t steps_per_epoch = (train_b.size() + acc - 1) / acc;
  int64_t max_steps = cfg.integer("trainer.max_steps");
  if (max_steps < 0) max_steps = steps_per_epoch * max_epochs;
  const int64_t val_every = cfg.integer("trainer.val_check_interval");
  const int64_t log_every = cfg.integer("trainer.log_every_n_steps");
  const int64_t ckpt_every = cfg.integer("trainer.checkpoint_every_n_steps");
  const int64_t limit_val = cfg.integer("trainer.limit_val_batches");
  const double clip = cfg.number("trainer.gradient_clip_val");
  const auto sched = cfg.string("scheduler.name");
  const int64_t warm = cfg.integer("scheduler.num_warmup_steps"), total = cfg.integer("scheduler.num_training_steps");
  info("model " + cfg.string("model.family") + ": " + std::to_string(m->num_parameters()) + " parameters on " +
       device.str() + (group ? " × " + std::to_string(world) + " processes (" + group->backend() + ")" : std::string()) +
       "; " + std::to_string(steps_per_epoch) + " steps per epoch, " + std::to_string(max_steps) +
       " steps planned");

  auto validate = [&] {
    TrainEvent ev;
    ev.kind = TrainEvent::Kind::eval;
    ev.step = pos.step;
    ev.epoch = pos.epoch;
    add_eval_metrics(ev, "val", evaluate(m, valid_b, limit_val, device, group), corpus.metric);
    add_eval_metrics(ev, "test", evaluate(m, test_b, limit_val, device, group), corpus.metric);
    emit(ev);
  };

  // Fault injection for tests of the divergence path: DM_FAULT_NAN_AT_STEP=N makes the loss of the
  // first batch after N optimizer steps NaN, exactly as a real divergence would surface.
  const char* fault = std::getenv("DM_FAULT_NAN_AT_STEP");
  const int64_t nan_at = fault && *fault ? std::atoll(fault) : -1;
  // DM_FAULT_INF_GRAD_AT_STEP=N: an inf in one gradient of optimizer step N (the fp16 loss-scaling path).
  const char* inf_fault = std::getenv("DM_FAULT_INF_GRAD_AT_STEP");
  const int64_t inf_at = inf_fault && *inf_fault ? std::atoll(inf_fault) : -1;
  auto t_start = Clock::now();
  int64_t tokens_since = 0, steps_since = 0;
  auto t_log = Clock::now();
  double loss_acc = 0;
  int64_t loss_n = 0;
  optim.zero_grad();
  int64_t in_step = 0;  // batches accumulated toward the next optimizer step
  while (pos.epoch < max_epochs && pos.step < max_steps) {
    while (pos.next_batch < train_b.size() && pos.step < max_steps) {
      // Ranks agree on stopping (any rank's Ctrl-C stops all at the same step boundary).
      bool stop = in_step == 0 && cancel.load();
      if (group && in_step == 0) stop = group->any(stop);
      if (stop) {
        write_ckpt();
        return {"cancelled", pos.step, "cancelled at step " + std::to_string(pos.step)};
      }
      auto [x, y] = train_b.get(pos.epoch, pos.next_batch);
      torch::Tensor loss;
      {
        const AutocastScope mixed(device.type(), autocast);
        loss = m->loss(x.to(device), y.to(device));
        if (autocast) loss = loss.to(torch::kFloat);
      }
      double v = pos.step == nan_at ? std::nan("") : loss.item<double>();
      // The global batch's loss (ranks hold equal token counts); every rank then takes the same branch.
      if (group) v = group->allreduce_sum(std::vector<double>{v})[0] / static_cast<double>(world);
      if (!std::isfinite(v))
        return {"diverged", pos.step,
                "loss became " + std::to_string(v) + " at step " + std::to_string(pos.step) +
                    "; the last checkpoint (before it) is kept"};
      // Gradients are all-reduced on the last micro-step of an accumulation only (DDP's no_sync before).
      if (grad_sync && (in_step + 1 == acc || pos.next_batch + 1 >= train_b.size())) grad_sync->prepare(loss);
      scaler.scale_loss(loss / static_cast<double>(acc)).backward();
      loss_acc += v;
      ++loss_n;
      tokens_since += y.numel() * world;
      ++pos.next_batch;
      ++in_step;
      if (in_step < acc && pos.next_batch < train_b.size()) continue;
      // Optimizer step.
      const double mult = lr_multiplier(sched, pos.step, warm, total);
      for (auto& g : optim.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr * mult);
      // fp16: true gradients before clipping; a step with inf/NaN gradients is skipped (every rank alike) and
      // the scale backs off.
      if (pos.step == inf_at && m->parameters().front().grad().defined())
        m->parameters().front().grad().view(-1)[0].fill_(std::numeric_limits<float>::infinity());
      bool found_inf = scaler.enabled() && !scaler.unscale(m->parameters());
      if (group && scaler.enabled()) found_inf = group->any(found_inf);
      if (!found_inf) {
        if (clip > 0) torch::nn::utils::clip_grad_norm_(m->parameters(), clip);
        optim.step();
      }
      scaler.update(found_inf);
      optim.zero_grad();
      in_step = 0;
      ++pos.step;
      ++steps_since;
      if (pos.step % log_every == 0 || pos.step == max_steps) {
        const double secs = std::chrono::duration<double>(Clock::now() - t_log).count();
        TrainEvent ev;
        ev.kind = TrainEvent::Kind::step;
        ev.step = pos.step;
        ev.epoch = pos.epoch;
        const double mean = loss_acc / static_cast<double>(std::max<int64_t>(1, loss_n));
        ev.metrics = {{"train/loss", mean}, {"train/lr", lr * mult}};
        ev.metrics.emplace_back(corpus.metric == "bpc" ? "train/bpc" : "train/ppl",
                                corpus.metric == "bpc" ? mean / std::log(2.0) : std::exp(mean));
        ev.tokens_per_s = secs > 0 ? static_cast<double>(tokens_since) / secs : 0;
        ev.metrics.emplace_back("train/tokens_per_s", ev.tokens_per_s);
        if (scaler.enabled()) ev.metrics.emplace_back("train/loss_scale", scaler.scale());
        ev.progress = static_cast<double>(pos.step) / static_cast<double>(max_steps);
        ev.eta_s = steps_since > 0 ? secs / static_cast<double>(steps_since) * static_cast<double>(max_steps - pos.step) : -1;
        emit(ev);
        loss_acc = 0;
        loss_n = 0;
        tokens_since = 0;
        steps_since = 0;
        t_log = Clock::now();
      }
      if (val_every > 0 && pos.step % val_every == 0) validate();
      if (pos.step % ckpt_every == 0) write_ckpt();
    }
    if (pos.next_batch >= train_b.size()) {
      ++pos.epoch;
      pos.next_batch = 0;
      if (val_every == 0) validate();
    }
  }
  if (val_every > 0 && pos.step % val_every != 0) validate();
  write_ckpt();
  if (rank == 0) io::save_model(m, (fs::path(opt.run_dir) / "model.safetensors").string());
  const double secs = std::chrono::duration<double>(Clock::now() - t_start).count();
  return {"finished", pos.step, "finished " + std::to_string(pos.step) + " steps in " + std::to_string(secs) + " s"};
}

bool no_weight_decay(const std::string& name) { return no_decay(name); }

std::unique_ptr<torch::optim::AdamW> make_adamw(model::LanguageModel& m, double lr, double beta1, double beta2, double eps,
                                                double weight_decay) {
  std::vector<torch::Tensor> decay, plain;
  for (const auto& item : m->named_parameters()) (no_decay(item.key()) ? plain : decay).push_back(item.value());
  auto base = torch::optim::AdamWOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay);
  auto no_wd = base;
  no_wd.weight_decay(0.0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(base));
  groups.emplace_back(plain, std::make_unique<torch::optim::AdamWOptions>(no_wd));
  return std::make_unique<torch::optim::AdamW>(groups, base);
}

}  // namespace dm::train
