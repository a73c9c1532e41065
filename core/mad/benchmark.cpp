#include "core/mad/benchmark.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/jobs/run_session.h"
#include "core/mad/tasks.h"
#include "core/mad/train.h"
#include "core/store/run_store.h"

namespace dm::mad {
namespace {

// The scores from the sweep's finished runs: family → task → mean over settings of the best test_acc.
void score(const store::RunStore& db, BenchmarkResult& r) {
  std::map<std::string, std::map<std::string, std::map<std::string, double>>> best;  // family → task → setting
  for (const auto& run : db.runs_of_sweep(r.sweep_id)) {
    if (run.kind != "mad" || run.status != "finished") continue;
    for (const auto& c : db.eval_cells(run.id))
      if (c.metric == "test_acc") {
        auto& b = best[run.family][c.task];
        auto it = b.find(c.length);
        if (it == b.end() || c.value > it->second) b[c.length] = c.value;
      }
  }
  for (const auto& [family, tasks] : best) {
    double sum = 0;
    int n = 0;
    for (const auto& t : r.tasks) {
      auto it = tasks.find(t);
      if (it == tasks.end() || it->second.empty()) continue;
      double s = 0;
      for (const auto& [setting, acc] : it->second) s += acc;
      r.scores[family][t] = s / static_cast<double>(it->second.size());
      sum += r.scores[family][t];
      ++n;
    }
    if (n > 0) r.total[family] = sum / n;
  }
}

}  // namespace

BenchmarkOptions BenchmarkOptions::quick() {
  BenchmarkOptions o;
  o.width = 32;
  o.n_layers = 2;
  o.epochs = 3;
  o.train_examples = 384;
  o.test_examples = 128;
  o.lrs = {1e-3, 3e-3};
  o.weight_decays = {0.0};
  return o;
}

BenchmarkResult run_mad_benchmark(const jobs::Workspace& ws, const BenchmarkOptions& opt, const train::EventSink& sink,
                                  const std::atomic<bool>& cancel) {
  BenchmarkResult r;
  r.tasks = opt.tasks.empty() ? task_names() : opt.tasks;
  if (opt.families.empty()) throw ConfigError("layers", "(none)", "name at least one family");
  if (opt.lrs.empty() || opt.weight_decays.empty()) throw ConfigError("lrs", "(none)", "the grid needs a learning rate and a weight decay");
  for (const auto& f : opt.families) model::family_from_string(f, "layers");
  // Every configuration, checked before anything runs.
  std::vector<Settings> settings;
  for (const auto& t : r.tasks)
    for (auto s : task_settings(t)) {
      if (!opt.all_settings && s.name != "baseline") continue;
      if (opt.train_examples > 0) s.num_train_examples = opt.train_examples;
      if (opt.test_examples > 0) s.num_test_examples = opt.test_examples;
      s.validate();
      settings.push_back(s);
    }
  nlohmann::ordered_json grid;
  grid["family"] = opt.families;
  grid["task"] = r.tasks;
  std::vector<std::string> names;
  for (const auto& s : settings) names.push_back(s.task + " " + s.name);
  grid["setting"] = names;
  grid["lr"] = opt.lrs;
  grid["weight_decay"] = opt.weight_decays;
  const nlohmann::json base = {{"width", opt.width}, {"layers", opt.n_layers}, {"epochs", opt.epochs},
                               {"batch_size", opt.batch_size}, {"train_examples", opt.train_examples},
                               {"test_examples", opt.test_examples}, {"seed", opt.seed}, {"device", opt.device}};
  {
    store::RunStore db(ws.db_path());
    store::SweepRecord sw;
    sw.name = opt.name.empty() ? "MAD" : opt.name;
    sw.kind = "mad";
    sw.base_json = base.dump();
    sw.grid_json = grid.dump();
    r.sweep_id = db.create_sweep(sw);
  }
  const int64_t total_runs = static_cast<int64_t>(opt.families.size() * settings.size() * opt.lrs.size() * opt.weight_decays.size());
  for (const auto& family : opt.families)
    for (const auto& s : settings)
      for (double lr : opt.lrs)
        for (double wd : opt.weight_decays) {
          if (cancel) {
            r.status = "cancelled";
            r.message = "stopped after " + std::to_string(r.runs) + " of " + std::to_string(total_runs) + " runs";
            return r;
          }
          TrainOptions t;
          t.data = s;
          t.family = family;
          t.width = opt.width;
          t.n_layers = opt.n_layers;
          t.epochs = opt.epochs;
          t.batch_size = opt.batch_size;
          t.lr = lr;
          t.weight_decay = wd;
          t.seed = opt.seed;
          t.device = opt.device;
          t.sweep_id = r.sweep_id;
          char name[160];
          std::snprintf(name, sizeof name, "mad %s %s %s lr %g wd %g", family.c_str(), s.task.c_str(), s.name.c_str(), lr, wd);
          t.name = name;
          if (sink) {
            train::TrainEvent ev;
            ev.message = "MAD run " + std::to_string(r.runs + 1) + " of " + std::to_string(total_runs) + ": " + name;
            ev.progress = static_cast<double>(r.runs) / static_cast<double>(total_runs);
            sink(ev);
          }
          const auto res = run_mad_train(ws, t, sink, cancel);
          ++r.runs;
          if (res.status == "cancelled") {
            r.status = "cancelled";
            r.message = "stopped in run " + std::to_string(r.runs) + " of " + std::to_string(total_runs);
            return r;
          }
        }
  store::RunStore db(ws.db_path());
  score(db, r);
  // One "mad-score" run per family holds its scores (task × "score") and the total, for the window and
  // for later comparison; its config names the sweep.
  for (const auto& family : opt.families) {
    jobs::RunSpec spec;
    spec.name = "MAD scores " + family;
    spec.kind = "mad-score";
    spec.family = family;
    spec.device = "cpu";
    spec.sweep_id = r.sweep_id;
    spec.config_json = nlohmann::json({{"sweep", r.sweep_id}, {"base", base}, {"grid", grid}}).dump();
    jobs::RunSession session(db, ws, spec);
    for (const auto& [task, value] : r.scores[family])
      db.put_eval_cell(session.id(), store::EvalCell{task, "score", "mad_score", value, 0});
    if (r.total.count(family)) db.put_eval_cell(session.id(), store::EvalCell{"total", "score", "mad_score", r.total[family], 0});
    r.score_runs[family] = session.id();
    session.finish("finished");
  }
  return r;
}

std::string scores_csv(const BenchmarkResult& r) {
  std::string out;
  for (const auto& t : r.tasks) out += t + ",";
  out += "total,model\n";
  for (const auto& [family, tasks] : r.scores) {
    for (const auto& t : r.tasks) {
      auto it = tasks.find(t);
      if (it != tasks.end()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", it->second);
        out += buf;
      }
      out += ",";
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", r.total.count(family) ? r.total.at(family) : 0.0);
    out += std::string(buf) + "," + family + "\n";
  }
  return out;
}

std::string write_scores_csv(const jobs::Workspace& ws, const BenchmarkResult& r, std::string path) {
  if (path.empty()) path = ws.root + "/mad/mad_scores-sweep" + std::to_string(r.sweep_id) + ".csv";
  if (const auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) std::filesystem::create_directories(dir);
  io::write_file_atomic(path, scores_csv(r));
  return path;
}

}  // namespace dm::mad
