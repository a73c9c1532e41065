// The workspace database: every run, its resolved config, status and metrics (and, for later jobs,
// eval cells, lens points and artifacts) in one SQLite file. WAL mode, busy timeout, versioned
// schema with migrations; metric writes are buffered and committed in batches.
#pragma once

#include <cstdint>
#include <optional>
#include <functional>
#include <map>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace dm::store {

inline constexpr int kSchemaVersion = 6;

struct RunRecord {
  int64_t id = 0;
  std::string name, kind, family, preset, overrides_json, config_json, config_hash, status;
  std::string created_at, started_at, ended_at, host, device, git_rev, run_dir, message;
  bool archived = false;  // hidden from the app's lists unless asked for; nothing else changes
  // The process that runs (or last ran) it: with `host`, what tells a live run from a dead one.
  int64_t pid = 0;
  std::string process_start;   // "<boot id>/<start time in clock ticks>" (Linux), empty elsewhere
  double heartbeat = 0;        // Unix seconds of the last sign of life (0: none yet)
  int64_t last_step = -1;      // the step reported with that heartbeat (-1: none)
  int64_t sweep_id = 0;        // the sweep it belongs to (0: none)
};

// A sweep: one base job and a grid of values, whose runs (one per combination) point to it.
struct SweepRecord {
  int64_t id = 0;
  std::string name, kind;       // kind: "train", "mad", …
  std::string base_json;        // the base job (e.g. the train arguments)
  std::string grid_json;        // {"key": [values…], …} in the order given
  std::string created_at;
};

struct MetricRow {
  int64_t step = 0, epoch = 0;
  std::string name;
  double value = 0, wall_time = 0;
};

// One cell of an evaluation grid (BABILong: task × length; metric "accuracy" in percent).
struct EvalCell {
  std::string task, length, metric;
  double value = 0;
  int64_t samples = 0;
};

// One evaluated sample: what the model was given (token count and a hash of the prompt ids, whose
// text is in the run's samples file), what it answered and whether that matched.
struct EvalSample {
  std::string task, length;
  int64_t index = 0, prompt_tokens = 0;
  std::string prompt_hash, question, target, output;
  bool correct = false;
};

// One tuned-lens result: layer, task ("all" for every task), metric (avg_prob, …), value.
struct LensPoint {
  int64_t layer = 0;
  std::string task, metric;
  double value = 0;
};

class RunStore {
 public:
  enum class Access { read_write, read_only };
  // Opens (creating or migrating) `path`. Throws FileError when it is not a usable database. Opened
  // read-only when asked, or when this process cannot write the file or its folder (a read-only
  // workspace): every query works, writes fail with an error saying the workspace is read-only.
  explicit RunStore(const std::string& path, Access access = Access::read_write);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  int schema_version() const;
  int64_t create_run(const RunRecord& r);  // returns the new id; sets created_at
  void update_status(int64_t run, const std::string& status, const std::string& message = "");
  void set_field(int64_t run, const std::string& column, const std::string& value);  // started_at, ended_at, device, run_dir, host, git_rev, name
  // Claims the run for a process (host, pid, process start) and clears its end: status running. Atomic:
  // false (nothing changed) when the run is already running or finished.
  bool claim(int64_t run, const std::string& host, int64_t pid, const std::string& process_start);
  // A sign of life: heartbeat = now, last_step = max(last_step, step).
  void heartbeat(int64_t run, int64_t step);
  // Marks a run crashed only if it is still `running` and still claimed by `pid` (another process may
  // have resumed it meanwhile); true when it changed. ended_at = `ended_at`.
  bool mark_crashed(int64_t run, int64_t pid, const std::string& message, const std::string& ended_at);
  std::vector<RunRecord> runs_with_status(const std::string& status) const;
  std::optional<RunRecord> run(int64_t id) const;
  std::vector<RunRecord> runs() const;  // newest first
  void set_archived(int64_t run, bool archived);
  int64_t create_sweep(const SweepRecord& s);  // returns the new id; sets created_at
  std::vector<SweepRecord> sweeps() const;     // newest first
  std::optional<SweepRecord> sweep(int64_t id) const;
  void set_run_sweep(int64_t run, int64_t sweep);  // 0: none
  std::vector<RunRecord> runs_of_sweep(int64_t sweep) const;  // oldest first (the grid's order)
  void delete_run(int64_t id);

  // Buffered; written by flush() (called automatically every `batch` rows) in one transaction.
  void add_metric(int64_t run, const MetricRow& m);
  void flush();
  std::vector<MetricRow> metrics(int64_t run, const std::string& name = "") const;
  int64_t last_step(int64_t run) const;  // highest step with a metric, -1 if none
  // The rows committed after `cursor` (a row number this returns; start at 0), in commit order: for a
  // reader following a run another process writes. `cursor` is advanced past the rows returned.
  std::vector<MetricRow> metrics_since(int64_t run, int64_t& cursor) const;
  // The names of the run's metrics, sorted (a DISTINCT query: no metric rows are loaded).
  std::vector<std::string> metric_names(int64_t run) const;
  // Each metric's row at its highest step, sorted by name (one grouped query).
  std::vector<MetricRow> last_metrics(int64_t run) const;
  // Summaries of every run at once, for the runs table (one grouped query each):
  struct Extremes {
    double min = 0, max = 0;
  };
  std::map<int64_t, Extremes> metric_extremes(const std::string& name) const;  // run → min / max of the metric
  std::map<int64_t, double> eval_means(const std::string& metric = "accuracy") const;  // run → mean over its cells
  // run → the lens value at the run's highest layer (task "all"), e.g. avg_prob of the model's output.
  std::map<int64_t, double> lens_last_layer(const std::string& metric = "avg_prob") const;

  void put_eval_cell(int64_t run, const EvalCell& c);  // replaces the same (task, length, metric)
  std::vector<EvalCell> eval_cells(int64_t run) const;
  void add_eval_samples(int64_t run, const std::vector<EvalSample>& samples);  // one transaction
  std::vector<EvalSample> eval_samples(int64_t run, const std::string& task = "", const std::string& length = "") const;
  void put_lens_points(int64_t run, const std::vector<LensPoint>& points);  // one transaction
  std::vector<LensPoint> lens_points(int64_t run) const;
  void add_artifact(int64_t run, const std::string& kind, const std::string& path, int64_t step = -1);
  std::vector<std::pair<std::string, std::string>> artifacts(int64_t run) const;  // (kind, path)
  std::string integrity_check() const;   // "ok" when healthy

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }

  // What SQLite makes of an existing database file, read without writing anything (read-only, immutable: a
  // -wal beside it is not read): `readable` when its schema can be read, `healthy` when its quick_check finds
  // nothing wrong (about 0.1 s for a 70 MB database), else `problem` says what is wrong.
  struct FileHealth {
    bool readable = false, healthy = false;
    std::string problem;
  };
  static FileHealth check_file(const std::string& path);

  // An audit hook: called with the SQL of every statement any RunStore prepares or runs, on the thread that
  // runs it (the window's tests prove with it that the UI thread never queries). Null: none (the default).
  using StatementObserver = void (*)(const char* sql);
  static void set_statement_observer(StatementObserver observer);

 private:
  void exec(const std::string& sql) const;
  void in_transaction(const std::function<void()>& body);  // BEGIN IMMEDIATE … COMMIT, ROLLBACK on throw
  void migrate();
  void rollback_after_error() noexcept;

  sqlite3* db_ = nullptr;
  std::string path_;
  std::vector<std::pair<int64_t, MetricRow>> pending_;
  size_t batch_ = 64;
  bool read_only_ = false;
};

// ISO-8601 UTC timestamp of now, of a Unix time; the Unix time of now (seconds).
std::string now_utc();
std::string utc_of(double unix_seconds);
double unix_now();

}  // namespace dm::store
