#include "core/jobs/lens_job.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <torch/torch.h>

#include "core/babilong/babilong.h"
#include "core/common/error.h"
#include "core/dist/dist.h"
#include "core/io/atomic_file.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/model_source.h"
#include "core/jobs/run_session.h"
#include "core/train/autocast.h"

namespace dm::jobs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Documents (one per line of the file, else the fortunes text) joined with EOS (a leading EOS too, as
// tuned-lens's chunk_and_tokenize) or a space, cut into max_seq_len chunks; the partial tail dropped.
std::vector<torch::Tensor> text_chunks(const std::string& data, const data::Codec& codec, int64_t len) {
  std::string text;
  if (!data.empty()) {
    text = io::read_file(data);
  } else {
    for (const char* f : {"/usr/share/games/fortunes/fortunes", "/usr/share/games/fortunes/literature",
                          "/usr/share/games/fortunes/riddles"})
      if (fs::exists(f)) text += io::read_file(f);
    if (text.empty())
      throw FileError("/usr/share/games/fortunes", "no --data file given and the default corpus (fortunes-min) is missing");
  }
  std::vector<int64_t> ids;
  const auto eos = codec.eos_id();
  if (eos) ids.push_back(*eos);
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line == "%") continue;
    const auto t = codec.encode(codec.normalize(line + (eos ? "" : " ")));
    ids.insert(ids.end(), t.begin(), t.end());
    if (eos) ids.push_back(*eos);
  }
  std::vector<torch::Tensor> chunks;
  for (size_t s = 0; s + static_cast<size_t>(len) <= ids.size(); s += static_cast<size_t>(len))
    chunks.push_back(torch::tensor(std::vector<int64_t>(ids.begin() + static_cast<std::ptrdiff_t>(s),
                                                        ids.begin() + static_cast<std::ptrdiff_t>(s + len)),
                                   torch::kLong));
  if (chunks.size() < 2)
    throw FileError(data.empty() ? "default corpus" : data,
                    "has " + std::to_string(ids.size()) + " tokens: fewer than two chunks of max_seq_len " + std::to_string(len));
  return chunks;
}

RunSpec lens_run(const std::string& name, const std::string& kind, model::LanguageModel& m, nlohmann::json cfg,
                 std::optional<at::ScalarType> autocast) {
  RunSpec rec;
  rec.name = name.empty() ? kind : name;
  rec.kind = kind;
  rec.family = model::to_string(m->config().family);
  rec.device = model_device(m).str();
  cfg["device"] = rec.device;
  cfg["precision"] = precision_name(autocast);
  rec.config_json = cfg.dump();
  return rec;
}

}  // namespace

std::vector<double> lens_kl(model::LanguageModel& m, lens::TunedLens& lens, const std::vector<torch::Tensor>& chunks,
                            std::optional<at::ScalarType> autocast) {
  torch::NoGradGuard ng;
  const auto device = model_device(m);
  const train::AutocastScope mixed(device.type(), autocast);
  std::vector<double> kl(static_cast<size_t>(lens->num_layers()), 0.0);
  for (const auto& c : chunks) {
    std::vector<torch::Tensor> hidden;
    const auto final_logits = m->forward_ex(c.to(device).unsqueeze(0), &hidden, nullptr);
    for (int64_t i = 0; i < lens->num_layers(); ++i)
      kl[static_cast<size_t>(i)] += lens::kl_from_final(final_logits, lens->logits(m, i, hidden[static_cast<size_t>(i)]))
                                        .item<double>() / static_cast<double>(chunks.size());
  }
  return kl;
}

JobResult run_lens_train(const Workspace& ws, const LensTrainOptions& opt, const train::EventSink& sink,
                         const std::atomic<bool>& cancel) {
  for (auto [name, v] : {std::pair{"num_steps", opt.num_steps}, {"tokens_per_step", opt.tokens_per_step},
                         {"per_gpu_batch_size", opt.per_gpu_batch_size}, {"max_seq_len", opt.max_seq_len}})
    if (v <= 0) throw ConfigError(name, std::to_string(v), "must be positive");
  if (opt.output.empty()) throw ConfigError("output", "(none)", "name the folder for the lens");
  const auto env = dist::from_environment();
  HeldEvents early;
  const auto device = device_from_option(opt.device, env.rank == 0 ? early.sink() : nullptr, env.local_rank, env.local_world);
  const auto autocast = autocast_from_option("precision", opt.precision, device, true);
  auto tm = open_text_model(opt.ckpt_path, opt.tokenizer);
  auto& m = tm.model;
  m->to(device);
  for (auto& p : m->parameters()) p.requires_grad_(false);  // the model is frozen; only translators learn
  auto chunks = text_chunks(opt.data, *tm.codec, opt.max_seq_len);
  std::mt19937_64 rng(opt.seed);
  std::shuffle(chunks.begin(), chunks.end(), rng);
  // 5 % of the chunks (at least one) are held out to report the KL before and after training.
  const size_t held = std::max<size_t>(1, chunks.size() / 20);
  const std::vector<torch::Tensor> heldout(chunks.end() - static_cast<std::ptrdiff_t>(held), chunks.end());
  chunks.resize(chunks.size() - held);
  torch::manual_seed(static_cast<int64_t>(opt.seed));
  auto lens = lens::lens_for(m);
  lens->to(device);
  torch::optim::SGD sgd(lens->parameters(), torch::optim::SGDOptions(opt.lr).momentum(opt.momentum).nesterov(true)
                                                .weight_decay(opt.weight_decay));
  // Data-parallel (torchrun, srun, --nproc_per_node): tokens_per_step is global, as in the seed; each
  // micro-step's global batch (per_gpu_batch_size × processes sequences) is shared out interleaved (HF's
  // DistributedSampler) and the translators' gradients are averaged over the ranks before the step.
  const auto group = dist::join_group(lens->parameters(), device);
  const int rank = group ? group->rank() : 0, world = group ? group->size() : 1;
  const int64_t seqs_per_step = std::max<int64_t>(1, opt.tokens_per_step / opt.max_seq_len);
  const int64_t global_micro_batch = opt.per_gpu_batch_size * world;
  const int64_t micro = std::max<int64_t>(1, (seqs_per_step + global_micro_batch - 1) / global_micro_batch);

  const nlohmann::json cfg = {{"ckpt_path", opt.ckpt_path}, {"model", tm.source}, {"data", opt.data.empty() ? "fortunes" : opt.data},
                              {"output", opt.output}, {"num_steps", opt.num_steps}, {"tokens_per_step", opt.tokens_per_step},
                              {"per_gpu_batch_size", opt.per_gpu_batch_size}, {"max_seq_len", opt.max_seq_len},
                              {"lr", opt.lr}, {"momentum", opt.momentum}, {"weight_decay", opt.weight_decay},
                              {"seed", opt.seed}, {"train_chunks", chunks.size()}, {"heldout_chunks", held},
                              {"processes", world}};
  auto spec = lens_run(opt.name, "lens-train", m, cfg, autocast);
  spec.run_dir = opt.output;
  if (group) spec.device = group->describe();
  auto shared = open_shared_run(ws, spec, group.get(), "lens-run");
  auto& session = shared.session;
  const int64_t run = shared.id;
  const train::EventSink run_sink = shared.sink(sink);
  early.replay(run_sink);
  std::atomic<bool> stopped{false};
  const auto before = lens_kl(m, lens, heldout, autocast);
  size_t cursor = 0;
  int64_t tokens = 0;
  const auto t0 = Clock::now();
  try {
    for (int64_t step = 0; step < opt.num_steps; ++step) {
      bool stop = cancel.load();
      if (group) stop = group->any(stop);  // every rank stops at the same step
      if (stop) {
        stopped = true;
        throw Error("cancelled");
      }
      sgd.zero_grad();
      double loss_sum = 0;
      for (int64_t a = 0; a < micro; ++a) {
        std::vector<torch::Tensor> batch;
        for (int64_t b = 0; b < global_micro_batch; ++b) {
          if (cursor >= chunks.size()) cursor = 0;
          if (b % world == rank) batch.push_back(chunks[cursor]);
          ++cursor;
        }
        const auto ids = torch::stack(batch).to(device);
        std::vector<torch::Tensor> hidden;
        torch::Tensor final_logits;
        {
          torch::NoGradGuard ng;
          const train::AutocastScope mixed(device.type(), autocast);
          final_logits = m->forward_ex(ids, &hidden, nullptr);
        }
        // Each translator's loss back-propagated on its own (they share nothing), freeing its logits; its
        // forward under the autocast (tuned-lens: bf16), the backward outside it.
        for (int64_t i = 0; i < lens->num_layers(); ++i) {
          torch::Tensor kl;
          {
            const train::AutocastScope mixed(device.type(), autocast);
            kl = lens::kl_from_final(final_logits, lens->logits(m, i, hidden[static_cast<size_t>(i)])).to(torch::kFloat) /
                 static_cast<double>(micro);
          }
          kl.backward();
          loss_sum += kl.item<double>();
        }
        tokens += ids.numel() * world;
      }
      if (group) {
        // Equal sequences per rank: the mean of the ranks' gradients is the global batch's.
        std::vector<torch::Tensor> grads;
        for (auto& p : lens->parameters())
          if (p.grad().defined()) grads.push_back(p.mutable_grad());
        group->allreduce_sum(grads);
        for (auto& g : grads) g.div_(static_cast<double>(world));
        loss_sum = group->allreduce_sum(std::vector<double>{loss_sum})[0] / static_cast<double>(world);
      }
      const double lr = opt.lr * (1.0 - static_cast<double>(step) / static_cast<double>(opt.num_steps));
      for (auto& g : sgd.param_groups()) static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
      torch::nn::utils::clip_grad_norm_(lens->parameters(), 1.0);
      sgd.step();
      const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
      const double mean_kl = loss_sum / static_cast<double>(lens->num_layers());
      train::TrainEvent ev;
      ev.kind = train::TrainEvent::Kind::step;
      ev.step = step + 1;
      ev.progress = static_cast<double>(step + 1) / static_cast<double>(opt.num_steps);
      ev.tokens_per_s = tokens / std::max(wall, 1e-9);
      ev.metrics = {{"lens/kl", mean_kl}, {"lens/tokens_per_s", ev.tokens_per_s}};
      ev.eta_s = wall / static_cast<double>(step + 1) * static_cast<double>(opt.num_steps - step - 1);
      run_sink(ev);
    }
  } catch (const std::exception& e) {
    if (session && session->fail(e, stopped)) return {run, "cancelled", e.what()};
    if (!session && stopped.load()) return {run, "cancelled", e.what()};
    throw;
  }
  const auto after = lens_kl(m, lens, heldout, autocast);
  if (!session) return {run, "finished", "rank " + std::to_string(rank) + " done"};
  for (size_t i = 0; i < after.size(); ++i) {
    session->add_metric(static_cast<int64_t>(i), 0, "lens/heldout_kl_before", before[i]);
    session->add_metric(static_cast<int64_t>(i), 0, "lens/heldout_kl_after", after[i]);
  }
  lens::save_lens(lens, m, opt.output, opt.ckpt_path);
  shared.db->add_artifact(run, "lens", opt.output, opt.num_steps);
  double mb = 0, ma = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    mb += before[i] / static_cast<double>(after.size());
    ma += after[i] / static_cast<double>(after.size());
  }
  const auto msg = "held-out KL per block, mean " + c10::str(mb) + " → " + c10::str(ma);
  session->finish("finished", msg);
  return {run, "finished", msg};
}

std::string format_seed_lens_results(const std::map<int64_t, std::pair<double, int64_t>>& sum_total) {
  std::ostringstream out;
  out.precision(17);
  out << "{";
  bool first = true;
  for (const auto& [k, st] : sum_total) {
    out << (first ? "" : ", ") << k << ": {'sum': " << st.first << ", 'total': " << st.second
        << ", 'avg': " << (st.second ? st.first / static_cast<double>(st.second) : 0.0) << "}";
    first = false;
  }
  out << "}";
  return out.str();
}

std::map<int64_t, double> parse_seed_lens_results(const std::string& text, const std::string& origin) {
  // {k: {'sum': …, 'total': …, 'avg': …}, …}; numbers may be plain or wrapped (tensor(…), np.float64(…)).
  static const std::regex entry(R"((\d+)\s*:\s*\{([^{}]*)\})");
  static const std::regex avg(R"('avg'\s*:\s*(?:[A-Za-z_][A-Za-z_0-9.]*\()?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf))");
  std::map<int64_t, double> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), entry); it != std::sregex_iterator(); ++it) {
    const std::string body = (*it)[2];
    std::smatch m;
    if (!std::regex_search(body, m, avg)) throw FileError(origin, "layer " + (*it)[1].str() + " has no 'avg' value");
    const std::string layer = (*it)[1];
    if (layer.size() > 9) throw FileError(origin, "layer number " + layer + " is not below 10^9");
    const double value = std::strtod(m[1].str().c_str(), nullptr);  // overflow gives ±inf, as Python reads it
    out[std::stoll(layer)] = value;
  }
  if (out.empty()) throw FileError(origin, "is not a tuned-lens result ({layer: {'sum': …, 'total': …, 'avg': …}, …})");
  return out;
}

int64_t import_seed_lens_results(const Workspace& ws, const std::string& path, const std::string& name,
                                 const std::string& family) {
  const auto avg = parse_seed_lens_results(io::read_file(path), path);
  ws.ensure();
  store::RunStore db(ws.db_path());
  RunSpec rec;
  rec.name = name.empty() ? fs::path(path).stem().string() : name;
  rec.kind = "lens-import";
  rec.family = family;
  rec.config_json = nlohmann::json{{"imported_from", path}}.dump();
  RunSession session(db, ws, rec);
  std::vector<store::LensPoint> points;
  for (const auto& [k, v] : avg) points.push_back({k, "all", "avg_prob", v});
  db.put_lens_points(session.id(), points);
  db.add_artifact(session.id(), "lens_eval", path);
  session.finish("finished", "imported " + std::to_string(points.size()) + " layers");
  return session.id();
}

LensEvalResult run_lens_eval(const Workspace& ws, const LensEvalOptions& opt, const train::EventSink& sink,
                             const std::atomic<bool>& cancel) {
  HeldEvents early;
  const auto device = device_from_option(opt.device, early.sink());
  const auto autocast = autocast_from_option("precision", opt.precision, device, false);
  auto tm = open_text_model(opt.ckpt_path, opt.tokenizer);
  auto& m = tm.model;
  auto lens = lens::load_lens(opt.lens, m);
  m->to(device);
  lens->to(device);
  const int64_t n = lens->num_layers();
  std::vector<babilong::Record> records;
  for (const auto& t : opt.tasks) {
    auto r = babilong_cell(t, "0k", opt.samples, opt.seed, *tm.codec, nullptr, opt.data_dir);
    records.insert(records.end(), r.begin(), r.end());
  }
  std::mt19937_64 rng(42);
  std::shuffle(records.begin(), records.end(), rng);
  if (opt.num_examples > 0 && static_cast<int64_t>(records.size()) > opt.num_examples)
    records.resize(static_cast<size_t>(opt.num_examples));
  ws.ensure();
  store::RunStore db(ws.db_path());
  const nlohmann::json cfg = {{"ckpt_path", opt.ckpt_path}, {"model", tm.source}, {"lens", opt.lens}, {"tasks", opt.tasks},
                              {"samples", opt.samples}, {"num_examples", opt.num_examples}, {"seed", opt.seed},
                              {"data_dir", opt.data_dir}};
  LensEvalResult res;
  RunSession session(db, ws, lens_run(opt.name, "lens-eval", m, cfg, autocast));
  res.run_id = session.id();
  const auto run_sink = session.sink(sink);
  early.replay(run_sink);
  // sums[task][layer] = {Σ prob of the first answer token, Σ its log-prob, Σ log-prob of all answer tokens, count}
  std::map<std::string, std::vector<std::array<double, 4>>> sums;
  const auto t0 = Clock::now();
  torch::NoGradGuard ng;
  try {
    for (size_t s = 0; s < records.size(); ++s) {
      if (cancel.load()) throw Error("cancelled");
      const auto& r = records[s];
      const std::string prompt = "<context> \n" + r.input + "\n</context>\n\nQuestion: " + r.question + " Answer:";
      const auto p = tm.codec->encode(tm.codec->normalize(prompt));
      const auto full = tm.codec->encode(tm.codec->normalize(prompt + " " + r.target));
      const auto lcp = static_cast<size_t>(std::mismatch(p.begin(), p.end(), full.begin(), full.end()).first - p.begin());
      if (lcp == 0 || lcp >= full.size()) continue;
      const std::vector<int64_t> in(full.begin(), full.end() - 1);
      const auto answer =
          torch::tensor(std::vector<int64_t>(full.begin() + static_cast<std::ptrdiff_t>(lcp), full.end())).to(device);
      const auto pos = torch::arange(static_cast<int64_t>(lcp) - 1, static_cast<int64_t>(full.size()) - 1).to(device);
      const train::AutocastScope mixed(device.type(), autocast);
      std::vector<torch::Tensor> hidden;
      const auto final_logits =
          m->forward_ex(torch::tensor(in).to(device).unsqueeze(0), &hidden, nullptr)[0].index_select(0, pos);
      for (const std::string& task : {r.task, std::string("all")}) {
        auto& v = sums[task];
        v.resize(static_cast<size_t>(n + 1), {0, 0, 0, 0});
      }
      for (int64_t k = 0; k <= n; ++k) {
        const auto logits = k < n ? lens->logits(m, k, hidden[static_cast<size_t>(k)][0].index_select(0, pos)) : final_logits;
        const auto lp = torch::log_softmax(logits.to(torch::kFloat), -1).gather(1, answer.unsqueeze(1)).squeeze(1);
        const double first = lp[0].item<double>(), all = lp.sum().item<double>();
        for (const std::string& task : {r.task, std::string("all")}) {
          auto& a = sums[task][static_cast<size_t>(k)];
          a[0] += std::exp(first);
          a[1] += first;
          a[2] += all;
          a[3] += 1;
        }
      }
      if (s % 10 == 9 || s + 1 == records.size()) {
        train::TrainEvent ev;
        ev.kind = train::TrainEvent::Kind::eval;
        ev.progress = static_cast<double>(s + 1) / static_cast<double>(records.size());
        ev.message = std::to_string(s + 1) + "/" + std::to_string(records.size()) + " samples";
        run_sink(ev);
      }
    }
  } catch (const std::exception& e) {
    if (!session.fail(e, cancel)) throw;
    res.status = "cancelled";
    return res;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const auto& [task, layers] : sums)
    for (size_t k = 0; k < layers.size(); ++k) {
      const auto& a = layers[k];
      const double c = std::max(a[3], 1.0);
      for (auto [metric, v] : {std::pair{"avg_prob", a[0] / c}, {"avg_logprob", a[1] / c}, {"avg_answer_logprob", a[2] / c},
                               {"samples", a[3]}})
        res.points.push_back({static_cast<int64_t>(k), task, metric, v});
    }
  res.points.push_back({-1, "all", "samples_per_s", records.size() / std::max(secs, 1e-9)});
  db.put_lens_points(res.run_id, res.points);
  // The seed's file: layers 1 … n (k < n the lens after block k, k = n the model's output).
  std::map<int64_t, std::pair<double, int64_t>> seed;
  if (sums.count("all"))
    for (int64_t k = 1; k <= n; ++k) {
      const auto& a = sums["all"][static_cast<size_t>(k)];
      seed[k] = {a[0], static_cast<int64_t>(a[3])};
    }
  const auto out = opt.output.empty() ? (fs::path(ws.run_dir(res.run_id)) / "lens_eval.txt").string() : opt.output;
  if (!fs::path(out).parent_path().empty()) fs::create_directories(fs::path(out).parent_path());
  io::write_file_atomic(out, format_seed_lens_results(seed) + "\n");
  db.add_artifact(res.run_id, "lens_eval", out);
  session.finish("finished");
  res.status = "finished";
  return res;
}

}  // namespace dm::jobs
