#include "core/jobs/babilong_job.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"
#include "core/jobs/model_source.h"
#include "core/jobs/run_session.h"
#include "core/ops/doctor.h"
#include "core/runtime.h"
#include "core/store/run_store.h"
#include "core/train/autocast.h"

namespace dm::jobs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

std::vector<babilong::Record> babilong_cell(const std::string& task, const std::string& length, int64_t n, uint64_t seed,
                                            const data::Codec& codec, const babilong::NoiseSource* noise,
                                            const std::string& data_dir) {
  babilong::length_tokens(length);  // validates the name
  if (!data_dir.empty()) {
    auto all = babilong::import_babilong(data_dir, task, length);
    if (n > 0 && static_cast<int64_t>(all.size()) > n) all.resize(static_cast<size_t>(n));
    return all;
  }
  const uint64_t cell_seed = seed * 1000003ull + fnv1a(task.data(), task.size(), fnv1a(length.data(), length.size()));
  const auto samples = babilong::generate_samples(task, n, cell_seed);
  std::mt19937_64 rng(cell_seed ^ 0x9e3779b97f4a7c15ull);
  std::optional<babilong::NoiseSource> fallback;
  if (!noise && babilong::length_tokens(length) > 0) fallback = babilong::NoiseSource::default_corpus();
  std::vector<babilong::Record> out;
  out.reserve(samples.size());
  for (const auto& s : samples) out.push_back(babilong::build_record(s, length, codec, noise ? *noise : *fallback, rng));
  return out;
}

std::vector<int64_t> generate_greedy(model::LanguageModel& m, const std::vector<int64_t>& prompt, int64_t max_new,
                                     std::optional<int64_t> eos, std::optional<at::ScalarType> autocast) {
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  torch::NoGradGuard ng;
  const auto device = model_device(m);
  const train::AutocastScope mixed(device.type(), autocast);
  model::DecodeState state = m->initial_state(1);
  auto h = m->hidden(torch::tensor(prompt, torch::kLong).to(device).unsqueeze(0), nullptr, &state);
  auto logits = m->head(h.select(1, h.size(1) - 1));  // [1, V]: only the last position
  std::vector<int64_t> out;
  for (int64_t i = 0; i < max_new; ++i) {
    const int64_t next = logits.argmax(-1).item<int64_t>();
    if (eos && next == *eos) break;
    out.push_back(next);
    if (i + 1 < max_new) logits = m->step(torch::tensor({next}, torch::kLong).to(device), state);
  }
  return out;
}

void write_seed_csv(const std::string& path, const std::vector<babilong::Record>& records,
                    const std::vector<std::string>& outputs) {
  std::string out = ",target,output,question\n";
  for (size_t i = 0; i < outputs.size(); ++i)
    out += std::to_string(i) + "," + csv_field(records[i].target) + "," + csv_field(outputs[i]) + "," +
           csv_field(records[i].question) + "\n";
  io::write_file_atomic(path, out);
}

torch::Tensor score_seed_results(const std::string& folder, const std::string& model_name,
                                 const std::vector<std::string>& tasks, const std::vector<std::string>& lengths,
                                 const std::string& prompt_name, std::vector<std::string>* missing) {
  auto acc = torch::zeros({static_cast<int64_t>(tasks.size()), static_cast<int64_t>(lengths.size())}, torch::kDouble);
  auto a = acc.accessor<double, 2>();
  if (tasks.empty() || lengths.empty()) throw ConfigError("tasks / lengths", "(none)", "name at least one task and one length");
  for (size_t ti = 0; ti < tasks.size(); ++ti) {
    babilong::task_labels(tasks[ti]);  // validates the task name
    for (size_t li = 0; li < lengths.size(); ++li) {
      const auto path = fs::path(folder) / model_name / (tasks[ti] + "_" + lengths[li] + "_" + prompt_name + ".csv");
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        if (missing) missing->push_back(path.string());
        continue;
      }
      const auto rows = babilong::parse_csv(io::read_file(path.string()), path.string());
      // A missing cell counts 0 as in plot.py, but a present file without answers is a broken run, not 0 %.
      if (rows.size() < 2)
        throw FileError(path.string(), rows.empty() ? "is empty: no answers to score" : "has a header but no answers to score");
      int target = -1, output = -1, question = -1;
      for (size_t c = 0; c < rows[0].size(); ++c) {
        if (rows[0][c] == "target") target = static_cast<int>(c);
        if (rows[0][c] == "output") output = static_cast<int>(c);
        if (rows[0][c] == "question") question = static_cast<int>(c);
      }
      if (target < 0 || output < 0 || question < 0)
        throw FileError(path.string(), "needs the columns target, output and question (the seed's format)");
      int64_t correct = 0, total = 0;
      for (size_t r = 1; r < rows.size(); ++r) {
        const auto& row = rows[r];
        auto cell = [&](int c) { return c < static_cast<int>(row.size()) ? row[static_cast<size_t>(c)] : std::string(); };
        ++total;
        correct += babilong::compare_answers(cell(target), cell(output), cell(question), tasks[ti]);
      }
      a[static_cast<int64_t>(ti)][static_cast<int64_t>(li)] = total ? 100.0 * static_cast<double>(correct) / total : 0.0;
    }
  }
  return acc;
}

std::pair<torch::Tensor, torch::Tensor> aggregate_seeds(const std::vector<torch::Tensor>& matrices) {
  if (matrices.empty()) throw ShapeError("aggregate: no accuracy matrices given");
  for (const auto& m : matrices)
    if (m.sizes() != matrices[0].sizes())
      throw ShapeError("aggregate: matrices of shapes " + c10::str(matrices[0].sizes()) + " and " + c10::str(m.sizes()) +
                       " cannot be combined (same tasks and lengths needed)");
  auto stack = torch::stack(matrices).to(torch::kDouble);
  auto mean = stack.mean(0);
  auto std = matrices.size() > 1 ? stack.std(0, /*unbiased=*/true) : torch::zeros_like(mean);
  return {mean, std};
}

BabilongEvalResult run_babilong_eval(const Workspace& ws, const BabilongEvalOptions& opt, const train::EventSink& sink,
                                     const std::atomic<bool>& cancel) {
  for (const auto& t : opt.tasks) babilong::task_labels(t);
  for (const auto& l : opt.lengths) babilong::length_tokens(l);
  if (opt.samples <= 0) throw ConfigError("samples", std::to_string(opt.samples), "must be positive");
  if (opt.max_new_tokens <= 0) throw ConfigError("max_new_tokens", std::to_string(opt.max_new_tokens), "must be positive");
  HeldEvents early;
  const auto device = device_from_option(opt.device, early.sink());
  const auto autocast = autocast_from_option("precision", opt.precision, device, true);
  auto tm = open_text_model(opt.ckpt_path, opt.tokenizer);
  tm.model->to(device);
  std::optional<babilong::NoiseSource> noise;
  if (!opt.pg19_dir.empty()) noise = babilong::NoiseSource::from_pg19(opt.pg19_dir);
  ws.ensure();
  store::RunStore db(ws.db_path());
  RunSpec rec;
  rec.name = opt.name.empty() ? "eval-babilong" : opt.name;
  rec.kind = "eval-babilong";
  rec.family = model::to_string(tm.model->config().family);
  rec.device = device.str();
  nlohmann::json cfg = {{"ckpt_path", opt.ckpt_path}, {"model", tm.source},     {"tokenizer", tm.codec->name()},
                        {"tasks", opt.tasks},        {"lengths", opt.lengths},  {"samples", opt.samples},
                        {"seed", opt.seed},          {"data_dir", opt.data_dir}, {"pg19_dir", opt.pg19_dir},
                        {"prompt", babilong::prompt_name(opt.prompt)},         {"max_new_tokens", opt.max_new_tokens},
                        {"device", device.str()},    {"precision", precision_name(autocast)}};
  rec.config_json = cfg.dump();
  RunSession session(db, ws, rec);
  const int64_t run = session.id();
  const auto& run_dir = session.run_dir();
  const auto run_sink = session.sink(sink);
  early.replay(run_sink);
  auto emit = [&](train::TrainEvent::Kind k, const std::string& msg, double progress) {
    train::TrainEvent ev;
    ev.kind = k;
    ev.message = msg;
    ev.progress = progress;
    run_sink(ev);
  };
  BabilongEvalResult res;
  res.run_id = run;
  res.accuracy = torch::zeros({static_cast<int64_t>(opt.tasks.size()), static_cast<int64_t>(opt.lengths.size())},
                              torch::kDouble);
  const std::string pname = babilong::prompt_name(opt.prompt);
  const auto seed_dir = opt.results_folder.empty()
                            ? fs::path()
                            : fs::path(opt.results_folder) / (opt.model_name.empty() ? rec.name : opt.model_name);
  if (!seed_dir.empty()) fs::create_directories(seed_dir);
  const double cells = static_cast<double>(opt.tasks.size() * opt.lengths.size());
  int64_t done_cells = 0;
  try {
    for (size_t li = 0; li < opt.lengths.size(); ++li) {
      for (size_t ti = 0; ti < opt.tasks.size(); ++ti) {
        const auto &task = opt.tasks[ti], &length = opt.lengths[li];
        const auto records = babilong_cell(task, length, opt.samples, opt.seed, *tm.codec, noise ? &*noise : nullptr,
                                           opt.data_dir);
        babilong::write_records((fs::path(run_dir) / (task + "_" + length + ".jsonl")).string(), records);
        std::vector<store::EvalSample> rows;
        std::vector<std::string> outputs;
        int64_t correct = 0, prompt_tokens = 0, new_tokens = 0;
        if (device.is_cuda()) ops::reset_cuda_peak(device.index());
        const auto t0 = Clock::now();
        for (size_t i = 0; i < records.size(); ++i) {
          if (cancel.load()) throw Error("cancelled");
          const auto& r = records[i];
          const auto ids = tm.codec->encode(tm.codec->normalize(babilong::format_prompt(r, opt.prompt)));
          const auto gen = generate_greedy(tm.model, ids, opt.max_new_tokens, tm.codec->eos_id(), autocast);
          std::string out = tm.codec->decode(gen);
          const auto a = out.find_first_not_of(" \t\r\n"), b = out.find_last_not_of(" \t\r\n");
          out = a == std::string::npos ? "" : out.substr(a, b - a + 1);
          const bool ok = babilong::compare_answers(r.target, out, r.question, task);
          correct += ok;
          prompt_tokens += static_cast<int64_t>(ids.size());
          new_tokens += static_cast<int64_t>(gen.size());
          rows.push_back({task, length, static_cast<int64_t>(i), static_cast<int64_t>(ids.size()),
                          hex64(fnv1a(ids.data(), ids.size() * sizeof(int64_t))), r.question, r.target, out, ok});
          outputs.push_back(out);
        }
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        const double accv = records.empty() ? 0.0 : 100.0 * static_cast<double>(correct) / static_cast<double>(records.size());
        res.accuracy[static_cast<int64_t>(ti)][static_cast<int64_t>(li)] = accv;
        db.add_eval_samples(run, rows);
        db.put_eval_cell(run, {task, length, "accuracy", accv, static_cast<int64_t>(records.size())});
        db.put_eval_cell(run, {task, length, "prompt_tokens_per_s", secs > 0 ? prompt_tokens / secs : 0.0,
                               static_cast<int64_t>(records.size())});
        // On a GPU: the cell's peak tensor memory (the prefill's; decoding adds a constant state).
        const int64_t peak = device.is_cuda() ? ops::cuda_peak_allocated(device.index()) : -1;
        if (peak >= 0)
          db.put_eval_cell(run, {task, length, "peak_memory_mb", static_cast<double>(peak) / (1 << 20),
                                 static_cast<int64_t>(records.size())});
        if (!seed_dir.empty()) write_seed_csv((seed_dir / (task + "_" + length + "_" + pname + ".csv")).string(), records, outputs);
        ++done_cells;
        emit(train::TrainEvent::Kind::eval,
             task + " " + length + ": " + std::to_string(correct) + "/" + std::to_string(records.size()) + " correct (" +
                 c10::str(accv) + "%), " + std::to_string(prompt_tokens) + " prompt + " + std::to_string(new_tokens) +
                 " generated tokens in " + c10::str(secs) + " s" +
                 (peak >= 0 ? ", peak GPU memory " + std::to_string(peak >> 20) + " MiB" : std::string()),
             done_cells / cells);
      }
    }
  } catch (const std::exception& e) {
    if (!session.fail(e, cancel)) throw;
    res.status = "cancelled";
    return res;
  }
  const auto npy = (fs::path(run_dir) / ("acc_" + (opt.model_name.empty() ? rec.name : opt.model_name) + ".npy")).string();
  io::write_npy(npy, res.accuracy);
  db.add_artifact(run, "acc_npy", npy);
  if (!seed_dir.empty()) {
    const auto seed_npy = (seed_dir / ("acc_" + seed_dir.filename().string() + ".npy")).string();
    io::write_npy(seed_npy, res.accuracy);
    db.add_artifact(run, "acc_npy", seed_npy);
  }
  session.finish("finished");
  res.status = "finished";
  return res;
}

}  // namespace dm::jobs
