#include "core/store/run_store.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <ctime>
#include <thread>
#include <sqlite3.h>

#include "core/common/error.h"

namespace dm::store {
namespace {

// Schema history. Version 1 held runs and metrics; version 2 added eval cells, lens points,
// artifacts and runs.message; 3 eval samples; 4 runs.archived; 5 the run's process and heartbeat; 6 sweeps
// (runs.sweep_id). Each entry upgrades from the previous version.
const char* kMigrations[] = {
    // 0 → 1
    R"sql(
    CREATE TABLE runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL, kind TEXT NOT NULL, family TEXT, preset TEXT,
      overrides TEXT, config TEXT NOT NULL, config_hash TEXT NOT NULL,
      status TEXT NOT NULL, created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT,
      host TEXT, device TEXT, git_rev TEXT, run_dir TEXT);
    CREATE TABLE metrics (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      step INTEGER NOT NULL, epoch INTEGER NOT NULL, name TEXT NOT NULL,
      value REAL, wall_time REAL NOT NULL,
      PRIMARY KEY (run_id, name, step));
    )sql",
    // 1 → 2
    R"sql(
    ALTER TABLE runs ADD COLUMN message TEXT;
    CREATE TABLE eval_cells (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      task TEXT NOT NULL, length TEXT NOT NULL, metric TEXT NOT NULL, value REAL, samples INTEGER,
      PRIMARY KEY (run_id, task, length, metric));
    CREATE TABLE lens_points (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      layer INTEGER NOT NULL, task TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
      PRIMARY KEY (run_id, layer, task, metric));
    CREATE TABLE artifacts (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kind TEXT NOT NULL, path TEXT NOT NULL, step INTEGER, created_at TEXT NOT NULL);
    CREATE INDEX metrics_by_run ON metrics(run_id, step);
    )sql",
    // 2 → 3
    R"sql(
    CREATE TABLE eval_samples (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      task TEXT NOT NULL, length TEXT NOT NULL, idx INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
      prompt_hash TEXT NOT NULL, question TEXT NOT NULL, target TEXT NOT NULL, output TEXT NOT NULL,
      correct INTEGER NOT NULL,
      PRIMARY KEY (run_id, task, length, idx));
    )sql",
    // 3 → 4
    R"sql(
    ALTER TABLE runs ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 4 → 5: the process that runs each run, and its heartbeat
    R"sql(
    ALTER TABLE runs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN process_start TEXT;
    ALTER TABLE runs ADD COLUMN heartbeat REAL NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN last_step INTEGER NOT NULL DEFAULT -1;
    CREATE INDEX runs_by_status ON runs(status);
    )sql",
    // 5 → 6: sweeps, each grouping the runs of one grid
    R"sql(
    CREATE TABLE sweeps (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL, kind TEXT NOT NULL, base TEXT NOT NULL, grid TEXT NOT NULL, created_at TEXT NOT NULL);
    ALTER TABLE runs ADD COLUMN sweep_id INTEGER REFERENCES sweeps(id) ON DELETE SET NULL;
    CREATE INDEX runs_by_sweep ON runs(sweep_id);
    )sql",
};

// The database's last error with its cause said plainly: the file, SQLite's message, and what a full disk,
// a read-only workspace or an I/O error means for the user (with the OS error behind it).
std::string db_error(sqlite3* db) {
  const int os_errno = errno;  // SQLite may not keep it (sqlite3_system_errno is 0 after some failed writes)
  const char* file = sqlite3_db_filename(db, "main");
  std::string m = std::string("run database ") + (file && *file ? file : "") + ": " + sqlite3_errmsg(db);
  const int sys = sqlite3_system_errno(db) ? sqlite3_system_errno(db) : os_errno;
  switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_FULL: m += " (the disk holding the workspace is full; nothing of this write was kept)"; break;
    case SQLITE_READONLY: m += " (the workspace is read-only: browsing works, writes are unavailable)"; break;
    case SQLITE_IOERR:
      m += std::string(" (the system refused a read or write") + (sys ? std::string(": ") + std::strerror(sys) : std::string()) +
           "; is the disk full, over a quota or failing?)";
      break;
    case SQLITE_CORRUPT: case SQLITE_NOTADB: m += " (the file is damaged or not a run database)"; break;
    default: break;
  }
  return m;
}

std::atomic<RunStore::StatementObserver> g_observer{nullptr};

void observe(const char* sql) {
  if (auto* o = g_observer.load(std::memory_order_relaxed)) o(sql);
}

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    observe(sql);
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw Error(db_error(db) + " (preparing: " + sql + ")");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  Stmt& bind(int i, double v) { sqlite3_bind_double(s_, i, v); return *this; }
  Stmt& bind(int i, const std::string& v) { sqlite3_bind_text(s_, i, v.c_str(), -1, SQLITE_TRANSIENT); return *this; }
  Stmt& bind_null(int i) { sqlite3_bind_null(s_, i); return *this; }
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error(db_error(sqlite3_db_handle(s_)));
  }
  void reset() { sqlite3_reset(s_); sqlite3_clear_bindings(s_); }
  int64_t i(int c) const { return sqlite3_column_int64(s_, c); }
  double d(int c) const { return sqlite3_column_double(s_, c); }
  std::string t(int c) const {
    auto* p = sqlite3_column_text(s_, c);
    return p ? reinterpret_cast<const char*>(p) : "";
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

const char* kRunColumns =
    "id, name, kind, family, preset, overrides, config, config_hash, status, created_at, started_at, ended_at, host, "
    "device, git_rev, run_dir, message, archived, pid, process_start, heartbeat, last_step, sweep_id";

RunRecord read_run(const Stmt& s) {
  RunRecord r;
  r.id = s.i(0);
  r.name = s.t(1); r.kind = s.t(2); r.family = s.t(3); r.preset = s.t(4); r.overrides_json = s.t(5);
  r.config_json = s.t(6); r.config_hash = s.t(7); r.status = s.t(8); r.created_at = s.t(9); r.started_at = s.t(10);
  r.ended_at = s.t(11); r.host = s.t(12); r.device = s.t(13); r.git_rev = s.t(14); r.run_dir = s.t(15);
  r.message = s.t(16);
  r.archived = s.i(17) != 0;
  r.pid = s.i(18);
  r.process_start = s.t(19);
  r.heartbeat = s.d(20);
  r.last_step = s.i(21);
  r.sweep_id = s.i(22);
  return r;
}

}  // namespace

std::string now_utc() { return utc_of(unix_now()); }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string utc_of(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// Whether this process may write the database and create its -wal / -shm files beside it.
bool writable(const std::string& path) {
  const auto dir = std::filesystem::path(path).has_parent_path() ? std::filesystem::path(path).parent_path().string() : ".";
  if (::access(dir.c_str(), W_OK) != 0) return false;
  return ::access(path.c_str(), F_OK) != 0 || ::access(path.c_str(), W_OK) == 0;
}

// A URI for sqlite3_open_v2 naming `path` (percent-encoding what a URI may not hold).
std::string file_uri(const std::string& path) {
  std::string u = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::strchr("/-_.~", c)) {
      u += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      u += hex;
    }
  }
  return u;
}

}  // namespace

RunStore::RunStore(const std::string& path, Access access) : path_(path) {
  if (access == Access::read_only || !writable(path)) {
    // A read-only workspace (permissions, a read-only mount, an archive): browsed as it is. immutable=1
    // because a WAL database cannot otherwise be read where its -shm file cannot be created.
    read_only_ = true;
    const auto uri = file_uri(path) + "?immutable=1";
    if (sqlite3_open_v2(uri.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX, nullptr) !=
        SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw FileError(path, "cannot open the run database read-only: " + why);
    }
    try {
      const int v = schema_version();
      if (v != kSchemaVersion)
        throw Error("its schema version is " + std::to_string(v) + " and this program reads " +
                    std::to_string(kSchemaVersion) + "; open it once where it is writable to upgrade it");
    } catch (const Error& e) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw FileError(path, std::string("not a usable run database (opened read-only): ") + e.what());
    }
    return;
  }
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw FileError(path, "cannot open the run database: " + why);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec("PRAGMA foreign_keys = ON");
    // Switching to WAL needs a moment alone with the file and does not wait on the busy handler, so
    // a second connection opening a new database at the same time retries here.
    for (int attempt = 0;; ++attempt) {
      try {
        exec("PRAGMA journal_mode = WAL");
        break;
      } catch (const Error&) {
        const int code = sqlite3_errcode(db_);
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || attempt >= 500) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    exec("PRAGMA synchronous = NORMAL");
    migrate();
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw FileError(path, std::string("not a usable run database: ") + e.what());
  }
}

RunStore::~RunStore() {
  try {
    flush();
  } catch (...) {
  }
  sqlite3_close(db_);
}

void RunStore::set_statement_observer(StatementObserver observer) { g_observer.store(observer); }

void RunStore::exec(const std::string& sql) const {
  observe(sql.c_str());
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    throw Error(db_error(db_));
  }
}

void RunStore::rollback_after_error() noexcept {
  // SQLite has already rolled back after some errors (a full disk during COMMIT): a ROLLBACK then fails
  // with "no transaction is active", which must not replace the error that says why.
  if (sqlite3_get_autocommit(db_)) return;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void RunStore::in_transaction(const std::function<void()>& body) {
  exec("BEGIN IMMEDIATE");
  try {
    body();
    exec("COMMIT");
  } catch (...) {
    rollback_after_error();
    throw;
  }
}

int RunStore::schema_version() const {
  Stmt s(db_, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.i(0));
}

void RunStore::migrate() {
  // Another process (the GUI and a CLI run, say) may open the same new database at the same time:
  // the version is re-read inside the write transaction, so each step is applied exactly once.
  while (true) {
    const int v = schema_version();
    if (v > kSchemaVersion)
      throw Error("the database has schema version " + std::to_string(v) + ", newer than this program (" +
                  std::to_string(kSchemaVersion) + ")");
    if (v == kSchemaVersion) return;
    exec("BEGIN IMMEDIATE");
    try {
      const int now = schema_version();
      if (now == v) {
        exec(kMigrations[v]);
        exec("PRAGMA user_version = " + std::to_string(v + 1));
      }
      exec("COMMIT");
    } catch (...) {
      rollback_after_error();
      throw;
    }
  }
}

int64_t RunStore::create_run(const RunRecord& r) {
  Stmt s(db_,
         "INSERT INTO runs (name, kind, family, preset, overrides, config, config_hash, status, created_at, host, device, "
         "git_rev, run_dir, message, pid, process_start, heartbeat, last_step, sweep_id) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, r.name).bind(2, r.kind).bind(3, r.family).bind(4, r.preset).bind(5, r.overrides_json).bind(6, r.config_json);
  s.bind(7, r.config_hash).bind(8, r.status).bind(9, now_utc()).bind(10, r.host).bind(11, r.device).bind(12, r.git_rev);
  s.bind(13, r.run_dir).bind(14, r.message).bind(15, r.pid).bind(16, r.process_start).bind(17, r.heartbeat);
  s.bind(18, r.last_step);
  if (r.sweep_id > 0)
    s.bind(19, r.sweep_id);
  else
    s.bind_null(19);
  s.step();
  return sqlite3_last_insert_rowid(db_);
}

void RunStore::update_status(int64_t run, const std::string& status, const std::string& message) {
  flush();
  Stmt s(db_, "UPDATE runs SET status = ?, message = ? WHERE id = ?");
  s.bind(1, status).bind(2, message).bind(3, run);
  s.step();
}

void RunStore::set_field(int64_t run, const std::string& column, const std::string& value) {
  static const char* allowed[] = {"started_at", "ended_at", "device", "run_dir", "name", "host", "git_rev"};
  bool ok = false;
  for (const char* a : allowed) ok = ok || column == a;
  if (!ok) throw Error("run store: column '" + column + "' cannot be set");
  Stmt s(db_, ("UPDATE runs SET " + column + " = ? WHERE id = ?").c_str());
  s.bind(1, value).bind(2, run);
  s.step();
}

bool RunStore::claim(int64_t run, const std::string& host, int64_t pid, const std::string& process_start) {
  flush();
  // One statement, so two processes resuming the same run cannot both see it free and both take it.
  Stmt s(db_,
         "UPDATE runs SET status = 'running', message = '', ended_at = NULL, host = ?, pid = ?, process_start = ?, "
         "heartbeat = ?, started_at = COALESCE(NULLIF(started_at, ''), ?) "
         "WHERE id = ? AND status NOT IN ('running', 'finished')");
  s.bind(1, host).bind(2, pid).bind(3, process_start).bind(4, unix_now()).bind(5, now_utc()).bind(6, run);
  s.step();
  return sqlite3_changes(db_) > 0;
}

void RunStore::heartbeat(int64_t run, int64_t step) {
  Stmt s(db_, "UPDATE runs SET heartbeat = ?, last_step = MAX(last_step, ?) WHERE id = ?");
  s.bind(1, unix_now()).bind(2, step).bind(3, run);
  s.step();
}

bool RunStore::mark_crashed(int64_t run, int64_t pid, const std::string& message, const std::string& ended_at) {
  Stmt s(db_, "UPDATE runs SET status = 'crashed', message = ?, ended_at = ? WHERE id = ? AND status = 'running' AND pid = ?");
  s.bind(1, message).bind(2, ended_at).bind(3, run).bind(4, pid);
  s.step();
  return sqlite3_changes(db_) > 0;
}

std::vector<RunRecord> RunStore::runs_with_status(const std::string& status) const {
  Stmt s(db_, (std::string("SELECT ") + kRunColumns + " FROM runs WHERE status = ? ORDER BY id DESC").c_str());
  s.bind(1, status);
  std::vector<RunRecord> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

int64_t RunStore::create_sweep(const SweepRecord& sw) {
  Stmt s(db_, "INSERT INTO sweeps (name, kind, base, grid, created_at) VALUES (?,?,?,?,?)");
  s.bind(1, sw.name).bind(2, sw.kind).bind(3, sw.base_json).bind(4, sw.grid_json).bind(5, now_utc());
  s.step();
  return sqlite3_last_insert_rowid(db_);
}

std::vector<SweepRecord> RunStore::sweeps() const {
  Stmt s(db_, "SELECT id, name, kind, base, grid, created_at FROM sweeps ORDER BY id DESC");
  std::vector<SweepRecord> out;
  while (s.step()) out.push_back({s.i(0), s.t(1), s.t(2), s.t(3), s.t(4), s.t(5)});
  return out;
}

std::optional<SweepRecord> RunStore::sweep(int64_t id) const {
  Stmt s(db_, "SELECT id, name, kind, base, grid, created_at FROM sweeps WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return SweepRecord{s.i(0), s.t(1), s.t(2), s.t(3), s.t(4), s.t(5)};
}

void RunStore::set_run_sweep(int64_t run, int64_t sweep) {
  Stmt s(db_, "UPDATE runs SET sweep_id = ? WHERE id = ?");
  if (sweep > 0)
    s.bind(1, sweep);
  else
    s.bind_null(1);
  s.bind(2, run);
  s.step();
}

std::vector<RunRecord> RunStore::runs_of_sweep(int64_t sweep) const {
  Stmt s(db_, (std::string("SELECT ") + kRunColumns + " FROM runs WHERE sweep_id = ? ORDER BY id").c_str());
  s.bind(1, sweep);
  std::vector<RunRecord> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

std::optional<RunRecord> RunStore::run(int64_t id) const {
  Stmt s(db_, (std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_run(s);
}

std::vector<RunRecord> RunStore::runs() const {
  Stmt s(db_, (std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id DESC").c_str());
  std::vector<RunRecord> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

void RunStore::set_archived(int64_t run, bool archived) {
  Stmt s(db_, "UPDATE runs SET archived = ? WHERE id = ?");
  s.bind(1, static_cast<int64_t>(archived)).bind(2, run);
  s.step();
}

void RunStore::delete_run(int64_t id) {
  flush();
  Stmt s(db_, "DELETE FROM runs WHERE id = ?");
  s.bind(1, id);
  s.step();
}

void RunStore::put_eval_cell(int64_t run, const EvalCell& c) {
  Stmt s(db_, "INSERT OR REPLACE INTO eval_cells (run_id, task, length, metric, value, samples) VALUES (?,?,?,?,?,?)");
  s.bind(1, run).bind(2, c.task).bind(3, c.length).bind(4, c.metric).bind(5, c.value).bind(6, c.samples);
  s.step();
}

std::vector<EvalCell> RunStore::eval_cells(int64_t run) const {
  Stmt s(db_, "SELECT task, length, metric, value, samples FROM eval_cells WHERE run_id = ? ORDER BY rowid");
  s.bind(1, run);
  std::vector<EvalCell> out;
  while (s.step()) out.push_back({s.t(0), s.t(1), s.t(2), s.d(3), s.i(4)});
  return out;
}

void RunStore::add_eval_samples(int64_t run, const std::vector<EvalSample>& samples) {
  in_transaction([&] {
    Stmt s(db_, "INSERT OR REPLACE INTO eval_samples (run_id, task, length, idx, prompt_tokens, prompt_hash, question, "
                "target, output, correct) VALUES (?,?,?,?,?,?,?,?,?,?)");
    for (const auto& e : samples) {
      s.bind(1, run).bind(2, e.task).bind(3, e.length).bind(4, e.index).bind(5, e.prompt_tokens).bind(6, e.prompt_hash);
      s.bind(7, e.question).bind(8, e.target).bind(9, e.output).bind(10, static_cast<int64_t>(e.correct));
      s.step();
      s.reset();
    }
  });
}

std::vector<EvalSample> RunStore::eval_samples(int64_t run, const std::string& task, const std::string& length) const {
  Stmt s(db_, "SELECT task, length, idx, prompt_tokens, prompt_hash, question, target, output, correct FROM eval_samples "
              "WHERE run_id = ?1 AND (?2 = '' OR task = ?2) AND (?3 = '' OR length = ?3) ORDER BY rowid");
  s.bind(1, run).bind(2, task).bind(3, length);
  std::vector<EvalSample> out;
  while (s.step()) out.push_back({s.t(0), s.t(1), s.i(2), s.i(3), s.t(4), s.t(5), s.t(6), s.t(7), s.i(8) != 0});
  return out;
}

void RunStore::put_lens_points(int64_t run, const std::vector<LensPoint>& points) {
  in_transaction([&] {
    Stmt s(db_, "INSERT OR REPLACE INTO lens_points (run_id, layer, task, metric, value) VALUES (?,?,?,?,?)");
    for (const auto& p : points) {
      s.bind(1, run).bind(2, p.layer).bind(3, p.task).bind(4, p.metric).bind(5, p.value);
      s.step();
      s.reset();
    }
  });
}

std::vector<LensPoint> RunStore::lens_points(int64_t run) const {
  Stmt s(db_, "SELECT layer, task, metric, value FROM lens_points WHERE run_id = ? ORDER BY task, metric, layer");
  s.bind(1, run);
  std::vector<LensPoint> out;
  while (s.step()) out.push_back({s.i(0), s.t(1), s.t(2), s.d(3)});
  return out;
}

void RunStore::add_artifact(int64_t run, const std::string& kind, const std::string& path, int64_t step) {
  Stmt s(db_, "INSERT INTO artifacts (run_id, kind, path, step, created_at) VALUES (?,?,?,?,?)");
  s.bind(1, run).bind(2, kind).bind(3, path).bind(4, step).bind(5, now_utc());
  s.step();
}

std::vector<std::pair<std::string, std::string>> RunStore::artifacts(int64_t run) const {
  Stmt s(db_, "SELECT kind, path FROM artifacts WHERE run_id = ? ORDER BY rowid");
  s.bind(1, run);
  std::vector<std::pair<std::string, std::string>> out;
  while (s.step()) out.emplace_back(s.t(0), s.t(1));
  return out;
}

void RunStore::add_metric(int64_t run, const MetricRow& m) {
  pending_.emplace_back(run, m);
  if (pending_.size() >= batch_) flush();
}

void RunStore::flush() {
  if (pending_.empty()) return;
  in_transaction([&] {
    Stmt s(db_, "INSERT OR REPLACE INTO metrics (run_id, step, epoch, name, value, wall_time) VALUES (?,?,?,?,?,?)");
    for (const auto& [run, m] : pending_) {
      s.bind(1, run).bind(2, m.step).bind(3, m.epoch).bind(4, m.name).bind(5, m.value).bind(6, m.wall_time);
      s.step();
      s.reset();
    }
  });
  pending_.clear();
}

std::vector<MetricRow> RunStore::metrics(int64_t run, const std::string& name) const {
  Stmt s(db_, name.empty() ? "SELECT step, epoch, name, value, wall_time FROM metrics WHERE run_id = ? ORDER BY step, name"
                           : "SELECT step, epoch, name, value, wall_time FROM metrics WHERE run_id = ? AND name = ? ORDER BY step");
  s.bind(1, run);
  if (!name.empty()) s.bind(2, name);
  std::vector<MetricRow> out;
  while (s.step()) out.push_back({s.i(0), s.i(1), s.t(2), s.d(3), s.d(4)});
  return out;
}

std::vector<MetricRow> RunStore::metrics_since(int64_t run, int64_t& cursor) const {
  Stmt s(db_, "SELECT rowid, step, epoch, name, value, wall_time FROM metrics WHERE rowid > ? AND run_id = ? ORDER BY rowid");
  s.bind(1, cursor);
  s.bind(2, run);
  std::vector<MetricRow> out;
  while (s.step()) {
    cursor = s.i(0);
    out.push_back({s.i(1), s.i(2), s.t(3), s.d(4), s.d(5)});
  }
  return out;
}

std::vector<std::string> RunStore::metric_names(int64_t run) const {
  Stmt s(db_, "SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name");
  s.bind(1, run);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.t(0));
  return out;
}

std::vector<MetricRow> RunStore::last_metrics(int64_t run) const {
  // SQLite fills the bare columns of a MAX() aggregate from the row holding the maximum.
  Stmt s(db_,
         "SELECT MAX(step), epoch, name, value, wall_time FROM metrics WHERE run_id = ? GROUP BY name ORDER BY name");
  s.bind(1, run);
  std::vector<MetricRow> out;
  while (s.step()) out.push_back({s.i(0), s.i(1), s.t(2), s.d(3), s.d(4)});
  return out;
}

std::map<int64_t, RunStore::Extremes> RunStore::metric_extremes(const std::string& name) const {
  Stmt s(db_, "SELECT run_id, MIN(value), MAX(value) FROM metrics WHERE name = ? AND value IS NOT NULL GROUP BY run_id");
  s.bind(1, name);
  std::map<int64_t, Extremes> out;
  while (s.step()) out[s.i(0)] = {s.d(1), s.d(2)};
  return out;
}

std::map<int64_t, double> RunStore::eval_means(const std::string& metric) const {
  Stmt s(db_, "SELECT run_id, AVG(value) FROM eval_cells WHERE metric = ? AND value IS NOT NULL GROUP BY run_id");
  s.bind(1, metric);
  std::map<int64_t, double> out;
  while (s.step()) out[s.i(0)] = s.d(1);
  return out;
}

std::map<int64_t, double> RunStore::lens_last_layer(const std::string& metric) const {
  // The bare value column comes from the row holding MAX(layer).
  Stmt s(db_, "SELECT run_id, MAX(layer), value FROM lens_points WHERE task = 'all' AND metric = ? GROUP BY run_id");
  s.bind(1, metric);
  std::map<int64_t, double> out;
  while (s.step()) out[s.i(0)] = s.d(2);
  return out;
}

int64_t RunStore::last_step(int64_t run) const {
  Stmt s(db_, "SELECT COALESCE(MAX(step), -1) FROM metrics WHERE run_id = ?");
  s.bind(1, run);
  s.step();
  return s.i(0);
}

RunStore::FileHealth RunStore::check_file(const std::string& path) {
  FileHealth h;
  sqlite3* db = nullptr;
  const auto uri = file_uri(path) + "?immutable=1";
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) != SQLITE_OK) {
    h.problem = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return h;
  }
  auto rows = [db](const char* sql, std::string& out) {
    observe(sql);
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (rc == SQLITE_OK)
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const auto* t = sqlite3_column_text(s, 0);
        if (t) out += (out.empty() ? "" : "; ") + std::string(reinterpret_cast<const char*>(t));
      }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_OK) out = sqlite3_errmsg(db);
    return rc == SQLITE_DONE;
  };
  std::string schema, check;
  h.readable = rows("SELECT name FROM sqlite_master", schema);
  if (!h.readable) {
    h.problem = schema;
  } else if (!rows("PRAGMA quick_check", check) || check != "ok") {
    h.problem = check.size() > 300 ? check.substr(0, 300) + "…" : check;
  } else {
    h.healthy = true;
  }
  sqlite3_close(db);
  return h;
}

std::string RunStore::integrity_check() const {
  Stmt s(db_, "PRAGMA integrity_check");
  std::string out;
  while (s.step()) out += (out.empty() ? "" : "; ") + s.t(0);
  return out;
}

}  // namespace dm::store
