// The SQLite run store: records, batched metrics, cascade delete, migration from an older schema,
// a reader working while a writer commits (WAL), and files that are not databases.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <fstream>
#include <sqlite3.h>
#include <mutex>
#include <thread>
#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/store/run_filter.h"
#include "core/store/run_store.h"

using dm::store::MetricRow;
using dm::store::RunRecord;
using dm::store::RunStore;

namespace {

RunRecord sample(const std::string& name) {
  RunRecord r;
  r.name = name;
  r.kind = "train";
  r.family = "diffmamba2";
  r.preset = "demo/diffmamba2-fortunes";
  r.overrides_json = "[\"loader.l_max=64\"]";
  r.config_json = "{\"a\":1}";
  r.config_hash = "0123456789abcdef";
  r.status = "queued";
  return r;
}

}  // namespace

class TestStore : public QObject {
  Q_OBJECT

 private slots:
  void records_and_metrics();
  void migrates_version_1_database();
  void reader_while_writer_commits();
  void not_a_database();
  void damaged_database_is_found_without_writing();
  void concurrent_first_open();
  void read_only_workspace_is_browsable();
  void write_errors_say_their_cause();
  void filter_language();
  void sweeps_group_runs();
};

void TestStore::records_and_metrics() {
  QTemporaryDir d;
  const auto path = d.filePath("runs.db").toStdString();
  RunStore db(path);
  QCOMPARE(db.schema_version(), dm::store::kSchemaVersion);
  const auto id = db.create_run(sample("first"));
  const auto id2 = db.create_run(sample("second"));
  QCOMPARE(id2, id + 1);
  db.update_status(id, "running");
  db.set_field(id, "device", "cpu");
  for (int s = 1; s <= 150; ++s) db.add_metric(id, {s, 0, "train/loss", 1.0 / s, 0.1 * s});
  // 150 rows: two automatic batches of 64 are committed, 22 still pending until flush().
  {
    RunStore other(path);
    QCOMPARE(int(other.metrics(id).size()), 128);
  }
  db.flush();
  QCOMPARE(int(db.metrics(id, "train/loss").size()), 150);
  QCOMPARE(db.last_step(id), int64_t(150));
  db.add_metric(id, {3, 0, "val/loss", 2.0, 0.3});
  db.add_metric(id2, {1, 0, "other/metric", 1.0, 0.1});
  db.flush();
  QCOMPARE(db.metric_names(id), (std::vector<std::string>{"train/loss", "val/loss"}));
  QCOMPARE(db.metric_names(id2), (std::vector<std::string>{"other/metric"}));
  QVERIFY(db.metric_names(12345).empty());
  const auto last = db.last_metrics(id);  // each metric at its highest step
  QCOMPARE(int(last.size()), 2);
  QCOMPARE(QString::fromStdString(last[0].name), QString("train/loss"));
  QCOMPARE(last[0].step, int64_t(150));
  QCOMPARE(last[0].value, 1.0 / 150);
  QCOMPARE(QString::fromStdString(last[1].name), QString("val/loss"));
  QCOMPARE(last[1].value, 2.0);
  db.add_metric(id, {150, 0, "train/loss", 42.0, 1.0});  // a resumed run rewrites a step: replaced, not duplicated
  db.flush();
  QCOMPARE(db.metrics(id, "train/loss").back().value, 42.0);
  auto rec = db.run(id);
  QCOMPARE(QString::fromStdString(rec->status), QString("running"));
  QCOMPARE(QString::fromStdString(rec->device), QString("cpu"));
  QCOMPARE(QString::fromStdString(rec->overrides_json), QString("[\"loader.l_max=64\"]"));
  QVERIFY(!rec->created_at.empty());
  QCOMPARE(int(db.runs().size()), 2);
  QCOMPARE(db.runs().front().id, id2);  // newest first
  db.delete_run(id);
  QVERIFY(!db.run(id));
  QCOMPARE(int(db.metrics(id).size()), 0);  // metrics went with the run
  QVERIFY_THROWS_EXCEPTION(dm::Error, db.set_field(id2, "config; DROP TABLE runs", "x"));
  QCOMPARE(QString::fromStdString(db.integrity_check()), QString("ok"));
}

void TestStore::migrates_version_1_database() {
  QTemporaryDir d;
  const auto path = d.filePath("old.db").toStdString();
  {  // A database as version 1 of the schema wrote it, with one run and two metrics.
    sqlite3* raw = nullptr;
    QCOMPARE(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    const char* v1 = R"sql(
      CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL, family TEXT,
        preset TEXT, overrides TEXT, config TEXT NOT NULL, config_hash TEXT NOT NULL, status TEXT NOT NULL,
        created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT, host TEXT, device TEXT, git_rev TEXT, run_dir TEXT);
      CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
        epoch INTEGER NOT NULL, name TEXT NOT NULL, value REAL, wall_time REAL NOT NULL, PRIMARY KEY (run_id, name, step));
      INSERT INTO runs (name, kind, config, config_hash, status, created_at) VALUES ('old', 'train', '{}', 'h', 'finished', 't');
      INSERT INTO metrics VALUES (1, 1, 0, 'train/loss', 2.5, 0.1), (1, 2, 0, 'train/loss', 2.0, 0.2);
      PRAGMA user_version = 1;)sql";
    QCOMPARE(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  RunStore db(path);
  QCOMPARE(db.schema_version(), dm::store::kSchemaVersion);
  auto rec = db.run(1);
  QVERIFY(rec);
  QCOMPARE(QString::fromStdString(rec->name), QString("old"));
  QVERIFY(rec->message.empty());  // the column added by version 2
  QVERIFY(!rec->archived);         // version 4
  db.set_archived(1, true);
  QVERIFY(db.run(1)->archived);
  QVERIFY(db.runs().front().archived);
  db.set_archived(1, false);
  QVERIFY(!db.run(1)->archived);
  QCOMPARE(int(db.metrics(1).size()), 2);
  db.update_status(1, "finished", "migrated");
  QCOMPARE(QString::fromStdString(db.run(1)->message), QString("migrated"));
  QCOMPARE(QString::fromStdString(db.integrity_check()), QString("ok"));
}

void TestStore::reader_while_writer_commits() {
  QTemporaryDir d;
  const auto path = d.filePath("runs.db").toStdString();
  RunStore writer(path);
  const auto id = writer.create_run(sample("live"));
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::string reader_error;
  std::thread reader([&] {
    try {
      RunStore r(path);
      while (!done) {
        r.metrics(id, "train/loss");
        r.runs();
        ++reads;
      }
    } catch (const std::exception& e) {
      reader_error = e.what();
    }
  });
  for (int s = 0; s < 3000; ++s) {
    writer.add_metric(id, {s, 0, "train/loss", double(s), 0});
    if (s % 10 == 0) writer.flush();
  }
  writer.flush();
  done = true;
  reader.join();
  QVERIFY2(reader_error.empty(), reader_error.c_str());
  QVERIFY(reads > 0);
  QCOMPARE(int(writer.metrics(id).size()), 3000);
}

namespace {

// Runs `body` in a child process and returns its exit status (0: every check passed; else the number of
// the failed check). Used where a check needs a process-wide setting (another user, a file size limit).
template <typename F>
int in_child(F body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

}  // namespace

void TestStore::read_only_workspace_is_browsable() {
  QTemporaryDir d;
  const auto path = d.filePath("runs.db").toStdString();
  int64_t id = 0;
  {
    RunStore db(path);
    id = db.create_run(sample("kept"));
    db.add_metric(id, {5, 0, "train/loss", 1.5, 0.1});
  }
  // Asked for read-only: every query works; a write is refused with a message saying why.
  {
    RunStore db(path, RunStore::Access::read_only);
    QVERIFY(db.read_only());
    QCOMPARE(int(db.runs().size()), 1);
    QCOMPARE(db.metrics(id, "train/loss").size(), size_t{1});
    try {
      db.update_status(id, "finished");
      QFAIL("a read-only store accepted a write");
    } catch (const dm::Error& e) {
      QVERIFY2(QString(e.what()).contains("read-only") && QString(e.what()).contains("runs.db"), e.what());
    }
  }
  // A workspace this process cannot write (permissions; checked as an unprivileged user when the tests
  // run as root, since root writes anyway): opened read-only by itself, never changed.
  QFile::setPermissions(d.path(), QFileDevice::ReadOwner | QFileDevice::ExeOwner | QFileDevice::ReadOther |
                                      QFileDevice::ExeOther | QFileDevice::ReadGroup | QFileDevice::ExeGroup);
  ::chmod(path.c_str(), 0444);
  auto bytes_of = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const auto before = bytes_of(path);
  const int rc = in_child([&] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 1;
    try {
      RunStore db(path);
      if (!db.read_only()) return 2;
      if (db.runs().size() != 1 || db.runs()[0].name != "kept") return 3;
      if (db.metrics(id).size() != 1) return 4;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 5;
    }
    return 0;
  });
  QFile::setPermissions(d.path(), QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
  QCOMPARE(rc, 0);
  QVERIFY(bytes_of(path) == before);
}

void TestStore::write_errors_say_their_cause() {
  // A write the file system refuses (here: the file size limit, as a full disk would) reports SQLite's
  // error with its cause, never the "cannot rollback - no transaction is active" that used to hide it.
  QTemporaryDir d;
  const auto path = d.filePath("runs.db").toStdString();
  const int rc = in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    try {
      RunStore db(path);
      const auto id = db.create_run(sample("big"));
      struct rlimit lim {65536, 65536};
      ::setrlimit(RLIMIT_FSIZE, &lim);
      for (int64_t step = 0; step < 100000; ++step) db.add_metric(id, {step, 0, std::string(200, 'm'), 1.0, 0.0});
      db.flush();
      return 1;  // 20 MB of metrics under a 64 kB limit must fail
    } catch (const dm::Error& e) {
      const QString m = e.what();
      std::fprintf(stderr, "%s\n", e.what());
      if (m.contains("no transaction is active")) return 2;
      if (!m.contains("runs.db")) return 3;
      if (!m.contains("disk is full") && !m.contains("disk full")) return 4;
      return 0;
    }
  });
  QCOMPARE(rc, 0);
}

void TestStore::filter_language() {
  using dm::store::RunFilter;
  auto r = sample("needle run");
  r.id = 7;
  r.kind = "finetune-needle";
  r.config_json = R"({"model": {"d_model": 64, "family": "diffmamba2"}, "loader": {"l_max": 128, "eval": {"l_max": 256}},
                      "samples": 100, "tag": "A/B"})";
  const auto f = dm::store::run_fields(r, {{10, 0, "val/loss", 0.75, 1.0}, {10, 0, "train/loss", 1.5, 1.0}});
  auto yes = [&](const char* text) { return RunFilter::parse(text).matches(f); };
  QVERIFY(yes("model.d_model=64") && yes("model.d_model=64.0") && yes("d_model>32") && yes("d_model>=64"));
  QVERIFY(!yes("d_model>64") && !yes("d_model<64") && yes("d_model<=64") && yes("d_model!=63"));
  QVERIFY(yes("l_max=128") && yes("loader.eval.l_max=256"));  // the shortest key that ends in l_max
  QVERIFY(yes("kind=finetune-needle") && yes("kind~NEEDLE") && !yes("kind=train") && yes("kind!=train"));
  QVERIFY(yes("val/loss<1") && !yes("train/loss<1") && yes("samples>=100") && yes("id=7"));
  QVERIFY(yes("needle run") && !yes("run needle") && yes("NEEDLE") && yes("tag=A/B"));  // a phrase, any field
  QVERIFY(yes("family=diffmamba2 d_model>32 val/loss<=0.75 needle"));                 // every part must hold
  QVERIFY(!yes("family=diffmamba2 d_model>100"));
  QVERIFY(!yes("nosuchkey=1") && !yes("nosuchkey!=1"));  // a key the run lacks never matches
  QVERIFY(RunFilter::parse("").empty() && RunFilter::parse("").matches(f));
  QCOMPARE(RunFilter::parse("nosuchkey=1 d_model>1").unknown_keys({f}), std::vector<std::string>{"nosuchkey"});
  for (const char* bad : {"d_model>", "=64", "a!b", "x~"}) {
    try {
      RunFilter::parse(bad);
      QFAIL(bad);
    } catch (const dm::ConfigError& e) {
      QVERIFY2(QString(e.what()).contains(bad) && QString(e.what()).contains("key=value"), e.what());
    }
  }
}

void TestStore::not_a_database() {
  QTemporaryDir d;
  const auto path = d.filePath("junk.db").toStdString();
  std::ofstream(path) << std::string(4096, 'x');
  try {
    RunStore db(path);
    QFAIL("a junk file was accepted");
  } catch (const dm::FileError& e) {
    QVERIFY2(QString(e.what()).contains("junk.db"), e.what());
  }
  // A database from a newer version of the program is refused, not downgraded.
  const auto newer = d.filePath("newer.db").toStdString();
  {
    sqlite3* raw = nullptr;
    sqlite3_open(newer.c_str(), &raw);
    sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
  }
  try {
    RunStore db(newer);
    QFAIL("a newer schema was accepted");
  } catch (const dm::FileError& e) {
    QVERIFY2(QString(e.what()).contains("newer"), e.what());
  }
}

void TestStore::damaged_database_is_found_without_writing() {
  QTemporaryDir d;
  const auto path = d.filePath("runs.db").toStdString();
  {
    RunStore db(path);
    RunRecord r;
    r.name = "a";
    r.kind = "train";
    const auto id = db.create_run(r);
    for (int s = 1; s <= 20000; ++s) db.add_metric(id, {s, 0, "train/loss", 1.0 / s, 0.0});
    db.flush();
  }
  const auto healthy = RunStore::check_file(path);
  QVERIFY(healthy.readable && healthy.healthy);
  QVERIFY(healthy.problem.empty());
  // Junk: SQLite cannot read it at all.
  const auto junk = d.filePath("junk.db").toStdString();
  std::ofstream(junk) << std::string(4096, 'x');
  const auto j = RunStore::check_file(junk);
  QVERIFY(!j.readable && !j.healthy);
  QVERIFY2(QString::fromStdString(j.problem).contains("not a database"), j.problem.c_str());
  // Three pages of the metrics overwritten: its schema still reads, the check says what is wrong, and
  // nothing is written (the file's bytes and the folder stay as they were).
  QFile f(QString::fromStdString(path));
  QVERIFY(f.open(QIODevice::ReadWrite));
  QVERIFY(f.seek(f.size() - 20 * 4096));
  f.write(QByteArray(3 * 4096, '\xff'));
  f.close();
  QVERIFY(f.open(QIODevice::ReadOnly));
  const QByteArray before = f.readAll();
  f.close();
  const auto bad = RunStore::check_file(path);
  QVERIFY(bad.readable && !bad.healthy);
  QVERIFY2(!bad.problem.empty(), "a damaged database says what is wrong");
  QVERIFY(f.open(QIODevice::ReadOnly));
  QCOMPARE(f.readAll(), before);
  QCOMPARE(QDir(d.path()).entryList(QDir::Files), (QStringList{"junk.db", "runs.db"}));
  QVERIFY(!RunStore::check_file(d.filePath("absent.db").toStdString()).readable);
}

void TestStore::concurrent_first_open() {
  // Several connections creating the same new database at once (found by tst_cli: the CLI creating
  // the workspace while another process opened it) must each see one migrated schema.
  QTemporaryDir d;
  for (int round = 0; round < 20; ++round) {
    const auto path = d.filePath(QString("db%1.db").arg(round)).toStdString();
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    std::string last_error;
    std::mutex mu;
    for (int k = 0; k < 4; ++k)
      ts.emplace_back([&] {
        try {
          RunStore db(path);
          if (db.schema_version() != dm::store::kSchemaVersion) ++failures;
        } catch (const std::exception& e) {
          ++failures;
          std::lock_guard<std::mutex> lock(mu);
          last_error = e.what();
        }
      });
    for (auto& t : ts) t.join();
    QVERIFY2(failures == 0, last_error.c_str());
  }
}

void TestStore::sweeps_group_runs() {
  // A sweep record and its runs, in the grid's order; a run outside it has none; deleting a run leaves the
  // sweep and its other runs.
  QTemporaryDir d;
  dm::store::RunStore db(d.filePath("runs.db").toStdString());
  dm::store::SweepRecord sw;
  sw.name = "lr × wd";
  sw.kind = "train";
  sw.base_json = R"(["experiment=demo/mamba2-fortunes"])";
  sw.grid_json = R"({"optimizer.lr":[0.001,0.0005],"optimizer.weight_decay":[0,0.1]})";
  const int64_t id = db.create_sweep(sw);
  QVERIFY(id > 0);
  std::vector<int64_t> runs;
  for (int i = 0; i < 4; ++i) {
    dm::store::RunRecord r;
    r.name = "run " + std::to_string(i);
    r.kind = "train";
    r.config_json = "{}";
    r.config_hash = "h";
    r.status = "finished";
    runs.push_back(db.create_run(r));
    if (i < 3) db.set_run_sweep(runs.back(), id);
  }
  const auto of = db.runs_of_sweep(id);
  QCOMPARE(of.size(), size_t{3});
  for (size_t i = 0; i < of.size(); ++i) {
    QCOMPARE(of[i].id, runs[i]);
    QCOMPARE(of[i].sweep_id, id);
  }
  QCOMPARE(db.run(runs[3])->sweep_id, int64_t{0});
  const auto back = db.sweep(id);
  QVERIFY(back.has_value());
  QCOMPARE(back->grid_json, sw.grid_json);
  QCOMPARE(back->name, sw.name);
  QVERIFY(!back->created_at.empty());
  QCOMPARE(db.sweeps().size(), size_t{1});
  QVERIFY(!db.sweep(id + 1).has_value());
  db.delete_run(runs[0]);
  QCOMPARE(db.runs_of_sweep(id).size(), size_t{2});
  db.set_run_sweep(runs[1], 0);
  QCOMPARE(db.runs_of_sweep(id).size(), size_t{1});
}

QTEST_APPLESS_MAIN(TestStore)
#include "tst_store.moc"
