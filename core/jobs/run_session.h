// The one place that opens, heartbeats and closes a run record. Every job (training, fine-tuning,
// BABILong evaluation, lens training / evaluation / import) goes through it, so every run records
// its host, process, start time and a heartbeat, and a run whose process died is `crashed`, never
// `running` (reap_dead_runs, called wherever runs are listed or opened).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/jobs/workspace.h"
#include "core/store/run_store.h"
#include "core/train/events.h"

namespace dm::dist {
class Group;
}

namespace dm::jobs {

// What a job says about the run it opens; the session adds host, process, git revision and times.
struct RunSpec {
  std::string name, kind, family, preset, overrides_json, config_json, device;
  std::string config_hash;  // empty: config_hash(config_json)
  std::string run_dir;      // empty: <workspace>/runs/<id>, created
  int64_t sweep_id = 0;     // the sweep the run belongs to (0: none)
};

// This process as a run record names it.
struct ProcessIdentity {
  std::string host;
  int64_t pid = 0;
  std::string start;  // "<boot id>/<start time in clock ticks>" on Linux, "" where unknown
};
ProcessIdentity this_process();

// How long a run on another host may go without a heartbeat before it counts as crashed.
inline constexpr double kStaleAfterSeconds = 300;

// Turns every `running` run whose process is gone into `crashed` (message with its last step;
// ended_at = its last heartbeat): same host and the pid is not alive, or alive but another process
// (different start time or boot); another host (or no process recorded) and no heartbeat for
// `stale_after_s`. Returns the ids it changed.
std::vector<int64_t> reap_dead_runs(store::RunStore& db, double stale_after_s = kStaleAfterSeconds);

// The advisory lock (flock) a process holds on a run folder while it writes there: `<run_dir>/.lock`,
// holding "host pid". A second holder is refused with the first one's host and pid. The lock goes with
// the process (also on kill -9). Taking it also deletes the temporary files a killed write left behind
// (".NAME.tmp-XXXXXX"), since no other writer can be active in the folder. A folder that cannot be
// created or written is an Error naming it.
class RunLock {
 public:
  RunLock(const std::string& run_dir, int64_t run_id);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

class RunSession {
 public:
  // Opens a new run: status running, this host and process, started_at, heartbeat.
  RunSession(store::RunStore& db, const Workspace& ws, const RunSpec& spec);
  // Takes over run `id` to continue it (resume): refused when it does not exist, has finished, or
  // is still running in a live process.
  RunSession(store::RunStore& db, const Workspace& ws, int64_t id);
  // A session not closed by finish()/fail() marks its run failed (an exception passed through, or
  // the job returned without saying how it ended).
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  int64_t id() const { return id_; }
  const std::string& run_dir() const { return run_dir_; }
  const store::RunRecord& record() const { return record_; }  // as opened

  // Announces the run to `user` (an info event with the run id) and returns the sink a job reports
  // to: every event is stamped with the run, its metrics recorded (wall time since the session
  // opened), step / eval / checkpoint events committed with a heartbeat, then passed to `user`.
  train::EventSink sink(const train::EventSink& user);
  // Records one metric outside an event (committed with the next flush).
  void add_metric(int64_t step, int64_t epoch, const std::string& name, double value);
  // Commits pending metrics and writes a heartbeat (at most every 2 s unless `force`).
  void heartbeat(int64_t step, bool force = false);

  void finish(const std::string& status, const std::string& message = "");
  // After an exception: `cancelled` when `cancel` is set (returns true: the job returns normally),
  // else `failed` with the exception's message (returns false: the job rethrows).
  bool fail(const std::exception& e, const std::atomic<bool>& cancel);
  bool closed() const { return closed_; }

 private:
  void start_keepalive();
  void stop_keepalive();
  double wall() const;

  store::RunStore& db_;
  int64_t id_ = 0;
  std::string run_dir_;
  store::RunRecord record_;
  std::unique_ptr<RunLock> lock_;
  bool closed_ = false;
  int uncaught_at_open_ = 0;
  int64_t last_step_ = -1;
  double opened_ = 0, last_beat_ = 0;
  // A thread that writes a heartbeat every 30 s from its own connection, so a long step (or a
  // model load) never looks like a dead process to another host.
  std::thread keepalive_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
};

// A run opened for a job that may run as several processes (data-parallel): rank 0, or the only process,
// opens the database and the session; every rank learns the run id through `group`'s store under `key`.
// An error opening it on rank 0 reaches the other ranks as an Error naming it (they do not wait out the
// timeout). `group` may be null (one process).
struct SharedRun {
  std::unique_ptr<store::RunStore> db;  // rank 0 only; outlives the session
  std::unique_ptr<RunSession> session;  // rank 0 only
  int64_t id = 0;
  // The session's sink, or (other ranks) one that drops every event.
  train::EventSink sink(const train::EventSink& user) const;
};
SharedRun open_shared_run(const Workspace& ws, const RunSpec& spec, dist::Group* group, const std::string& key);

}  // namespace dm::jobs
