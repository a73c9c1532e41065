// The run store's read paths on a large run: a run with 4 metrics × 100,000 steps (400,000 rows), as a long
// training run logging every step leaves. Each row: the query the app uses now against loading every metric
// row of the run (what the Monitor's metric picker, the plot CLI's error message and `runs show` did
// before). Median of 7 after one warm-up, in one process, one run.
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "bench/bench_util.h"
#include "core/store/run_store.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 100000;
  const fs::path dir = fs::temp_directory_path() / ("dm-bench-store-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "runs.db").string();
  double fill_s = 0;
  int64_t run = 0;
  {
    dm::store::RunStore db(path);
    dm::store::RunRecord r;
    r.name = "long run";
    r.kind = "train";
    r.family = "diffmamba2";
    r.status = "finished";
    run = db.create_run(r);
    const auto t0 = dm::bench::Clock::now();
    for (int64_t s = 1; s <= steps; ++s)
      for (const char* n : {"train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s"})
        db.add_metric(run, {s, 0, n, 1.0 / static_cast<double>(s), 0.01 * static_cast<double>(s)});
    db.flush();
    fill_s = dm::bench::seconds_since(t0);
  }
  dm::store::RunStore db(path);
  const auto ms = [](auto&& f) { return 1e3 * dm::bench::median_seconds(1, 7, f); };
  size_t sink = 0;
  const double names_all = ms([&] {
    std::set<std::string> n;
    for (const auto& m : db.metrics(run)) n.insert(m.name);
    sink += n.size();
  });
  const double names_q = ms([&] { sink += db.metric_names(run).size(); });
  const double last_all = ms([&] {
    std::map<std::string, dm::store::MetricRow> last;
    for (const auto& m : db.metrics(run)) last[m.name] = m;
    sink += last.size();
  });
  const double last_q = ms([&] { sink += db.last_metrics(run).size(); });
  const double curve = ms([&] { sink += db.metrics(run, "train/loss").size(); });
  std::printf("run store, 1 run × 4 metrics × %lld steps = %lld rows (written in %.2f s, %.0f rows/s)\n\n",
              static_cast<long long>(steps), static_cast<long long>(4 * steps), fill_s,
              4.0 * static_cast<double>(steps) / fill_s);
  std::printf("| read | now (ms) | loading every row (ms) | speed-up |\n|---|---:|---:|---:|\n");
  std::printf("| metric names of the run (`metric_names`) | %.1f | %.1f | %.1f× |\n", names_q, names_all,
              names_all / names_q);
  std::printf("| last value of each metric (`last_metrics`) | %.1f | %.1f | %.1f× |\n", last_q, last_all,
              last_all / last_q);
  std::printf("| one metric's curve, %lld points (`metrics(run, name)`) | %.1f | | |\n",
              static_cast<long long>(steps), curve);
  if (sink == 0) std::printf("(no rows were read)\n");
  fs::remove(dir / "runs.db");
  fs::remove(dir / "runs.db-wal");
  fs::remove(dir / "runs.db-shm");
  fs::remove(dir);
  return 0;
}
