#include "core/jobs/run_session.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <cctype>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/dist/dist.h"

#ifndef DM_GIT_REV
#define DM_GIT_REV "unknown"
#endif

namespace dm::jobs {
namespace {

namespace fs = std::filesystem;

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string boot_id() {
  std::ifstream f("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(f, id);
  return id;
}

// The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), "" when the
// process does not exist or /proc cannot tell. The command name (field 2) may hold spaces and ')'.
std::string start_ticks(int64_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!f || !std::getline(f, line)) return "";
  const auto close = line.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i)
    if (!(rest >> field)) return "";
  return field;
}

enum class Liveness { alive, gone, unknown };

Liveness local_process(int64_t pid, const std::string& recorded_start) {
  if (pid <= 0) return Liveness::unknown;
  if (fs::exists("/proc/self/stat")) {
    const auto ticks = start_ticks(pid);
    if (ticks.empty()) return Liveness::gone;
    if (recorded_start.empty()) return Liveness::alive;
    return recorded_start == boot_id() + "/" + ticks ? Liveness::alive : Liveness::gone;
  }
  if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) return Liveness::alive;
  return errno == ESRCH ? Liveness::gone : Liveness::unknown;
}

// Unix seconds of an ISO-8601 UTC timestamp written by now_utc(); 0 when unreadable.
double unix_of(const std::string& iso) {
  std::tm tm{};
  if (iso.size() < 19 || !strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<double>(timegm(&tm));
}

std::string minutes(double s) {
  std::ostringstream o;
  o.precision(1);
  o << std::fixed << s / 60.0 << " min";
  return o.str();
}

}  // namespace

ProcessIdentity this_process() {
  static const ProcessIdentity me = [] {
    ProcessIdentity p;
    p.host = hostname();
    p.pid = static_cast<int64_t>(::getpid());
    const auto ticks = start_ticks(p.pid);
    if (!ticks.empty()) p.start = boot_id() + "/" + ticks;
    return p;
  }();
  return me;
}

std::vector<int64_t> reap_dead_runs(store::RunStore& db, double stale_after_s) {
  std::vector<int64_t> changed;
  if (db.read_only()) return changed;  // browsing a read-only workspace changes nothing
  const auto me = this_process();
  const double now = store::unix_now();
  for (const auto& r : db.runs_with_status("running")) {
    std::string why;
    if (r.host == me.host && r.pid > 0) {
      if (local_process(r.pid, r.process_start) == Liveness::gone)
        why = "its process " + std::to_string(r.pid) + " on " + r.host + " ended without closing the run";
    } else {
      const double seen = r.heartbeat > 0 ? r.heartbeat : unix_of(r.started_at.empty() ? r.created_at : r.started_at);
      if (seen > 0 && now - seen > stale_after_s)
        why = (r.pid > 0 ? "no heartbeat from process " + std::to_string(r.pid) + " on " + r.host
                         : std::string("no process recorded (an older version) and no sign of life")) +
              " for " + minutes(now - seen);
    }
    if (why.empty()) continue;
    const int64_t last = std::max(r.last_step, db.last_step(r.id));
    const std::string msg = why + (last >= 0 ? "; last step " + std::to_string(last) : "; no step recorded");
    const double ended = r.heartbeat > 0 ? r.heartbeat : now;
    if (db.mark_crashed(r.id, r.pid, msg, store::utc_of(ended))) changed.push_back(r.id);
  }
  return changed;
}

RunLock::RunLock(const std::string& run_dir, int64_t run_id) {
  const std::string path = (fs::path(run_dir) / ".lock").string();
  std::error_code mk;
  fs::create_directories(run_dir, mk);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw FileError(run_dir, "cannot lock run " + std::to_string(run_id) + "'s folder (" + std::strerror(errno) +
                                 "); is the workspace read-only or the disk full?");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[512] = {0};
    const auto n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("another process");
    while (!holder.empty() && std::isspace(static_cast<unsigned char>(holder.back()))) holder.pop_back();
    if (err == EWOULDBLOCK)
      throw Error("run " + std::to_string(run_id) + " is in use by " + holder + " (" + path +
                  " is locked); stop that process first");
    throw FileError(path, std::string("cannot lock: ") + std::strerror(err));
  }
  const auto me = this_process();
  const std::string who = "process " + std::to_string(me.pid) + " on " + me.host + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, who.data(), who.size(), 0) != static_cast<ssize_t>(who.size())) {
    // The lock holds without its text; only the message of a refused second process loses the holder.
  }
  // Nobody else writes in this folder now: the temporaries of killed writes can go.
  std::error_code ec;
  for (fs::directory_iterator it(run_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    const auto at = name.rfind(".tmp-");
    if (name.size() > 1 && name[0] == '.' && at != std::string::npos && name.size() - at == 11 &&
        it->symlink_status(ec).type() != fs::file_type::directory)
      ::unlink(it->path().c_str());
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

RunSession::RunSession(store::RunStore& db, const Workspace& ws, const RunSpec& spec)
    : db_(db), uncaught_at_open_(std::uncaught_exceptions()), opened_(store::unix_now()) {
  reap_dead_runs(db_);
  const auto me = this_process();
  store::RunRecord r;
  r.name = spec.name.empty() ? spec.kind : spec.name;
  r.kind = spec.kind;
  r.family = spec.family;
  r.preset = spec.preset;
  r.overrides_json = spec.overrides_json;
  r.config_json = spec.config_json;
  r.config_hash = spec.config_hash.empty() ? config_hash(spec.config_json) : spec.config_hash;
  r.sweep_id = spec.sweep_id;
  r.status = "running";
  r.host = me.host;
  r.device = spec.device;
  r.git_rev = DM_GIT_REV;
  r.pid = me.pid;
  r.process_start = me.start;
  r.heartbeat = opened_;
  id_ = db_.create_run(r);
  run_dir_ = spec.run_dir.empty() ? ws.run_dir(id_) : spec.run_dir;
  if (spec.run_dir.empty()) {
    std::error_code ec;
    fs::create_directories(run_dir_, ec);
  }
  db_.set_field(id_, "run_dir", run_dir_);
  lock_ = std::make_unique<RunLock>(run_dir_, id_);
  db_.set_field(id_, "started_at", store::now_utc());
  record_ = *db_.run(id_);
  last_beat_ = opened_;
  start_keepalive();
}

RunSession::RunSession(store::RunStore& db, const Workspace& ws, int64_t id)
    : db_(db), id_(id), uncaught_at_open_(std::uncaught_exceptions()), opened_(store::unix_now()) {
  reap_dead_runs(db_);
  auto rec = db_.run(id);
  if (!rec) throw Error("run " + std::to_string(id) + " does not exist in " + db_.path());
  if (rec->status == "finished") throw Error("run " + std::to_string(id) + " has already finished; nothing to resume");
  if (rec->status == "running")
    throw Error("run " + std::to_string(id) + " is still running (process " + std::to_string(rec->pid) + " on " +
                rec->host + "); stop it first");
  const auto me = this_process();
  run_dir_ = rec->run_dir.empty() ? ws.run_dir(id) : rec->run_dir;
  lock_ = std::make_unique<RunLock>(run_dir_, id);  // a second process resuming this run stops here...
  if (!db_.claim(id, me.host, me.pid, me.start)) {  // ...or here, on another host sharing the workspace
    const auto now = db_.run(id);
    throw Error("run " + std::to_string(id) + " was taken by process " + std::to_string(now ? now->pid : 0) + " on " +
                (now ? now->host : std::string("?")) + " while this one was starting; it is " +
                (now ? now->status : std::string("gone")));
  }
  db_.set_field(id, "git_rev", DM_GIT_REV);
  if (rec->run_dir.empty()) db_.set_field(id, "run_dir", run_dir_);
  record_ = *db_.run(id);
  last_step_ = record_.last_step;
  last_beat_ = opened_;
  start_keepalive();
}

RunSession::~RunSession() {
  stop_keepalive();
  if (closed_) return;
  try {
    const bool unwinding = std::uncaught_exceptions() > uncaught_at_open_;
    finish("failed", unwinding ? "the job stopped on an error it did not report"
                               : "the job ended without recording how it ended");
  } catch (...) {
  }
}

double RunSession::wall() const { return store::unix_now() - opened_; }

void RunSession::start_keepalive() {
  const std::string path = db_.path();
  const int64_t id = id_;
  keepalive_ = std::thread([this, path, id] {
    std::unique_ptr<store::RunStore> own;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(30), [this] { return stop_; })) {
      try {
        if (!own) own = std::make_unique<store::RunStore>(path);
        own->heartbeat(id, -1);
      } catch (...) {
        // A busy or vanished database: the next beat tries again; the run's own writes go on.
      }
    }
  });
}

void RunSession::stop_keepalive() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (keepalive_.joinable()) keepalive_.join();
}

train::EventSink RunSession::sink(const train::EventSink& user) {
  const auto announced = train::for_run(user, id_);
  return [this, announced](const train::TrainEvent& ev) {
    using K = train::TrainEvent::Kind;
    for (const auto& [name, value] : ev.metrics) add_metric(ev.step, ev.epoch, name, value);
    if (ev.kind == K::step || ev.kind == K::eval || ev.kind == K::checkpoint) heartbeat(ev.step, ev.kind != K::step);
    if (announced) announced(ev);
  };
}

void RunSession::add_metric(int64_t step, int64_t epoch, const std::string& name, double value) {
  db_.add_metric(id_, {step, epoch, name, value, wall()});
}

void RunSession::heartbeat(int64_t step, bool force) {
  last_step_ = std::max(last_step_, step);
  db_.flush();
  const double now = store::unix_now();
  if (!force && now - last_beat_ < 2.0) return;
  db_.heartbeat(id_, last_step_);
  last_beat_ = now;
}

void RunSession::finish(const std::string& status, const std::string& message) {
  stop_keepalive();
  db_.flush();
  db_.heartbeat(id_, last_step_);
  db_.update_status(id_, status, message);
  db_.set_field(id_, "ended_at", store::now_utc());
  closed_ = true;
}

bool RunSession::fail(const std::exception& e, const std::atomic<bool>& cancel) {
  const bool cancelled = cancel.load();
  finish(cancelled ? "cancelled" : "failed", e.what());
  return cancelled;
}

train::EventSink SharedRun::sink(const train::EventSink& user) const {
  if (session) return session->sink(user);
  return [](const train::TrainEvent&) {};
}

SharedRun open_shared_run(const Workspace& ws, const RunSpec& spec, dist::Group* group, const std::string& key) {
  SharedRun r;
  if (!group || group->rank() == 0) {
    try {
      ws.ensure();
      r.db = std::make_unique<store::RunStore>(ws.db_path());
      r.session = std::make_unique<RunSession>(*r.db, ws, spec);
      r.id = r.session->id();
    } catch (const std::exception& e) {
      if (group) group->share(key, std::string("error: ") + e.what());
      throw;
    }
  }
  if (group) {
    const auto got = group->share(key, std::to_string(r.id));
    if (got.rfind("error: ", 0) == 0) throw Error("rank 0 could not start the run: " + got.substr(7));
    r.id = std::stoll(got);
  }
  return r;
}

}  // namespace dm::jobs
