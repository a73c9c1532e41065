// Run records opened, heartbeated and closed in one place; a run whose process is gone becomes
// crashed (same host: pid dead or reused; other host: heartbeat too old); events keep their shape.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <sys/wait.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/jobs/run_session.h"
#include "core/store/run_store.h"

using namespace dm;

namespace {

// The pid of a process that has ended (forked, exited and reaped).
int64_t dead_pid() {
  const pid_t p = fork();
  if (p == 0) _exit(0);
  int st = 0;
  waitpid(p, &st, 0);
  return p;
}

int64_t insert_running(store::RunStore& db, const std::string& host, int64_t pid, const std::string& start, double beat) {
  store::RunRecord r;
  r.name = "r";
  r.kind = "train";
  r.config_json = "{}";
  r.config_hash = config_hash("{}");
  r.status = "running";
  r.host = host;
  r.pid = pid;
  r.process_start = start;
  r.heartbeat = beat;
  return db.create_run(r);
}

}  // namespace

class TestRunSession : public QObject {
  Q_OBJECT
 private slots:
  void opens_with_process_and_heartbeat();
  void dead_process_is_crashed_with_last_step();
  void reused_pid_is_crashed();
  void other_host_goes_stale();
  void exception_marks_failed_and_cancel_cancelled();
  void resume_refuses_live_and_finished_runs();
  void one_process_owns_a_run_folder();
  void one_hash_for_every_config();
  void event_shapes();
};

void TestRunSession::opens_with_process_and_heartbeat() {
  QTemporaryDir d;
  jobs::Workspace ws{d.path().toStdString()};
  ws.ensure();
  store::RunStore db(ws.db_path());
  jobs::RunSpec spec;
  spec.kind = "eval-babilong";
  spec.config_json = R"({"a":1})";
  int64_t id = 0;
  {
    jobs::RunSession s(db, ws, spec);
    id = s.id();
    const auto r = *db.run(id);
    QCOMPARE(QString::fromStdString(r.status), QString("running"));
    QCOMPARE(r.pid, static_cast<int64_t>(getpid()));
    QVERIFY(!r.host.empty());
    QVERIFY(!r.process_start.empty());  // Linux: boot id / start ticks
    QVERIFY(r.heartbeat > store::unix_now() - 60);
    QVERIFY(!r.started_at.empty());
    QCOMPARE(QString::fromStdString(r.config_hash), QString::fromStdString(config_hash(R"({"a":1})")));
    QVERIFY(QFileInfo(QString::fromStdString(s.run_dir())).isDir());
    // Our own live run is never reaped.
    QVERIFY(jobs::reap_dead_runs(db).empty());
    // Metrics of events are recorded and committed with a heartbeat.
    std::vector<train::TrainEvent> seen;
    auto sink = s.sink([&](const train::TrainEvent& e) { seen.push_back(e); });
    QCOMPARE(int(seen.size()), 1);  // the run is announced first
    QCOMPARE(seen[0].run_id, id);
    train::TrainEvent ev;
    ev.kind = train::TrainEvent::Kind::step;
    ev.step = 7;
    ev.metrics = {{"train/loss", 2.5}};
    sink(ev);
    QCOMPARE(seen.back().run_id, id);
    QCOMPARE(db.metrics(id, "train/loss").size(), size_t(1));
    s.heartbeat(7, true);
    QCOMPARE(db.run(id)->last_step, int64_t(7));
    s.finish("finished", "done");
  }
  const auto r = *db.run(id);
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  QCOMPARE(QString::fromStdString(r.message), QString("done"));
  QVERIFY(!r.ended_at.empty());
}

void TestRunSession::dead_process_is_crashed_with_last_step() {
  QTemporaryDir d;
  store::RunStore db(d.filePath("runs.db").toStdString());
  const auto me = jobs::this_process();
  const int64_t gone = insert_running(db, me.host, dead_pid(), "", store::unix_now());
  db.add_metric(gone, {42, 0, "train/loss", 1.0, 0});
  db.flush();
  const int64_t live = insert_running(db, me.host, me.pid, me.start, store::unix_now());
  const auto reaped = jobs::reap_dead_runs(db);
  QCOMPARE(int(reaped.size()), 1);
  QCOMPARE(reaped[0], gone);
  const auto r = *db.run(gone);
  QCOMPARE(QString::fromStdString(r.status), QString("crashed"));
  QVERIFY2(QString::fromStdString(r.message).contains("last step 42"), r.message.c_str());
  QVERIFY(!r.ended_at.empty());
  QCOMPARE(QString::fromStdString(db.run(live)->status), QString("running"));
  QVERIFY(jobs::reap_dead_runs(db).empty());  // once
}

void TestRunSession::reused_pid_is_crashed() {
  QTemporaryDir d;
  store::RunStore db(d.filePath("runs.db").toStdString());
  const auto me = jobs::this_process();
  // Our pid, but recorded with another start time (the pid was reused after a crash or a reboot).
  const int64_t id = insert_running(db, me.host, me.pid, "another-boot/123", store::unix_now());
  QCOMPARE(int(jobs::reap_dead_runs(db).size()), 1);
  QCOMPARE(QString::fromStdString(db.run(id)->status), QString("crashed"));
}

void TestRunSession::other_host_goes_stale() {
  QTemporaryDir d;
  store::RunStore db(d.filePath("runs.db").toStdString());
  const double now = store::unix_now();
  const int64_t fresh = insert_running(db, "gpu-node-7", 1234, "x/1", now - 30);
  const int64_t stale = insert_running(db, "gpu-node-8", 1234, "x/1", now - jobs::kStaleAfterSeconds - 60);
  const auto reaped = jobs::reap_dead_runs(db);
  QCOMPARE(int(reaped.size()), 1);
  QCOMPARE(reaped[0], stale);
  QVERIFY2(QString::fromStdString(db.run(stale)->message).contains("no heartbeat"), db.run(stale)->message.c_str());
  QCOMPARE(QString::fromStdString(db.run(fresh)->status), QString("running"));
}

void TestRunSession::exception_marks_failed_and_cancel_cancelled() {
  QTemporaryDir d;
  jobs::Workspace ws{d.path().toStdString()};
  ws.ensure();
  store::RunStore db(ws.db_path());
  jobs::RunSpec spec;
  spec.kind = "lens-train";
  spec.config_json = "{}";
  int64_t id = 0;
  try {
    jobs::RunSession s(db, ws, spec);
    id = s.id();
    throw std::runtime_error("boom");
  } catch (const std::exception&) {
  }
  QCOMPARE(QString::fromStdString(db.run(id)->status), QString("failed"));
  QVERIFY(!db.run(id)->ended_at.empty());
  {
    jobs::RunSession s(db, ws, spec);
    id = s.id();
    std::atomic<bool> cancel{false};
    QVERIFY(!s.fail(std::runtime_error("disk full"), cancel));
  }
  QCOMPARE(QString::fromStdString(db.run(id)->status), QString("failed"));
  QCOMPARE(QString::fromStdString(db.run(id)->message), QString("disk full"));
  {
    jobs::RunSession s(db, ws, spec);
    id = s.id();
    std::atomic<bool> cancel{true};
    QVERIFY(s.fail(std::runtime_error("cancelled"), cancel));
  }
  QCOMPARE(QString::fromStdString(db.run(id)->status), QString("cancelled"));
}

void TestRunSession::resume_refuses_live_and_finished_runs() {
  QTemporaryDir d;
  jobs::Workspace ws{d.path().toStdString()};
  ws.ensure();
  store::RunStore db(ws.db_path());
  jobs::RunSpec spec;
  spec.kind = "train";
  spec.config_json = "{}";
  jobs::RunSession live(db, ws, spec);
  try {
    jobs::RunSession again(db, ws, live.id());
    QFAIL("resumed a live run");
  } catch (const Error& e) {
    QVERIFY2(QString(e.what()).contains("still running"), e.what());
  }
  live.finish("finished");
  QVERIFY_THROWS_EXCEPTION(Error, jobs::RunSession(db, ws, live.id()));
  // A crashed run is taken over: running again, in this process, its start kept.
  const auto me = jobs::this_process();
  const int64_t dead = insert_running(db, me.host, dead_pid(), "", store::unix_now());
  jobs::RunSession resumed(db, ws, dead);
  const auto r = *db.run(dead);
  QCOMPARE(QString::fromStdString(r.status), QString("running"));
  QCOMPARE(r.pid, me.pid);
  QVERIFY(r.message.empty());
  resumed.finish("finished");
}

void TestRunSession::one_process_owns_a_run_folder() {
  QTemporaryDir d;
  jobs::Workspace ws{d.path().toStdString()};
  ws.ensure();
  store::RunStore db(ws.db_path());
  const auto me = jobs::this_process();
  const int64_t dead = insert_running(db, me.host, dead_pid(), "", store::unix_now());
  jobs::reap_dead_runs(db);
  const auto dir = ws.run_dir(dead);
  QVERIFY(QDir().mkpath(QString::fromStdString(dir)));
  // Temporaries a killed write left behind go when the folder is taken; other files stay.
  const auto left = QString::fromStdString(dir) + "/.model.safetensors.tmp-Ab12Cd";
  const auto keep = QString::fromStdString(dir) + "/.notes.tmp-keep-this-one";
  QFile(left).open(QIODevice::WriteOnly);
  QFile(keep).open(QIODevice::WriteOnly);
  {
    // Another holder of the folder (flock is per open file, so a second lock here behaves as a second process).
    jobs::RunLock other(dir, dead);
    QVERIFY(!QFile::exists(left));
    QVERIFY(QFile::exists(keep));
    try {
      jobs::RunSession again(db, ws, dead);
      QFAIL("resumed a run whose folder another process holds");
    } catch (const Error& e) {
      const QString m = e.what();
      QVERIFY2(m.contains("in use by process " + QString::number(me.pid) + " on " + QString::fromStdString(me.host)),
               e.what());
    }
    QCOMPARE(QString::fromStdString(db.run(dead)->status), QString("crashed"));  // untouched
  }
  // The claim is one statement: of two processes that both saw the run free, only the first gets it.
  QVERIFY(db.claim(dead, "host-a", 11, ""));
  QVERIFY(!db.claim(dead, "host-b", 22, ""));
  QCOMPARE(db.run(dead)->pid, int64_t{11});
  db.update_status(dead, "crashed");
  // Free again: resumed, and the lock goes with the session.
  {
    jobs::RunSession resumed(db, ws, dead);
    QVERIFY_THROWS_EXCEPTION(Error, jobs::RunLock(dir, dead));
    resumed.finish("failed", "test");
  }
  jobs::RunLock after(dir, dead);
}

void TestRunSession::one_hash_for_every_config() {
  // FNV-1a with the project's offset, computed here by hand: empty = the offset, then xor-multiply.
  const uint64_t offset = 1469598103934665603ull, prime = 1099511628211ull;
  QCOMPARE(fnv1a(std::string_view("")), offset);
  QCOMPARE(fnv1a(std::string_view("a")), (offset ^ uint64_t('a')) * prime);
  QCOMPARE(fnv1a(std::string_view("b"), fnv1a(std::string_view("a"))), fnv1a(std::string_view("ab")));
  QCOMPARE(QString::fromStdString(config_hash("a")), QString::fromStdString(hex64((offset ^ uint64_t('a')) * prime)));
  QCOMPARE(int(config_hash("{}").size()), 16);
}

void TestRunSession::event_shapes() {
  using K = train::TrainEvent::Kind;
  train::TrainEvent e;
  QVERIFY(train::check_shape(e).empty());  // info: nothing required
  e.kind = K::step;
  e.step = 3;
  QVERIFY(!train::check_shape(e).empty());  // a step without metrics
  e.metrics = {{"train/loss", 1.0}};
  QVERIFY(train::check_shape(e).empty());
  QCOMPARE(*e.metric("train/loss"), 1.0);
  QVERIFY(!e.metric("train/lr"));
  e.kind = K::warning;
  QVERIFY(!train::check_shape(e).empty());  // a warning without a message
  e.kind = K::eval;
  e.metrics.clear();
  QVERIFY(!train::check_shape(e).empty());
  e.message = "qa1 0k: 3/5";
  QVERIFY(train::check_shape(e).empty());
}

QTEST_GUILESS_MAIN(TestRunSession)
#include "tst_run_session.moc"
