// The CLI's event printer gets every event kind, with and without metrics and messages, in every
// mode the commands use, and never assumes more than the kind promises (the lens-train crash).
#include <QtTest>
#include <cstdio>

#include "app/cli/console.h"

using namespace dm;
using K = train::TrainEvent::Kind;

namespace {

struct Captured {
  std::string out, err;
};

Captured feed(const cli::ConsoleOptions& base, const std::vector<train::TrainEvent>& events, bool end = true) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  auto o = base;
  o.out = out;
  o.err = err;
  cli::ConsolePrinter printer(o);
  auto sink = printer.sink();
  for (const auto& e : events) sink(e);
  if (end) printer.end_line();
  auto read = [](std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  };
  return {read(out), read(err)};
}

// Every kind in its bare form (what check_shape allows at the minimum) and a full one.
std::vector<train::TrainEvent> every_kind() {
  std::vector<train::TrainEvent> v;
  for (K k : {K::info, K::warning, K::step, K::eval, K::checkpoint}) {
    train::TrainEvent bare;
    bare.kind = k;
    bare.step = k == K::step ? 1 : 0;
    v.push_back(bare);  // no metrics, no message (a step even without metrics: a consumer must survive it)
    train::TrainEvent full = bare;
    full.step = 10;
    full.metrics = {{"train/loss", 2.25}, {"train/lr", 3e-4}, {"train/tokens_per_s", 5.0}, {"eval/acc", std::nan("")}};
    full.message = std::string(kind_name(k)) + " message";
    full.progress = 0.5;
    full.tokens_per_s = 1234;
    full.eta_s = 61;
    full.run_id = 3;
    v.push_back(full);
  }
  return v;
}

}  // namespace

class TestConsole : public QObject {
  Q_OBJECT
 private slots:
  void every_kind_every_mode();
  void run_announcement_first();
  void step_lines();
  void quiet_keeps_warnings();
};

void TestConsole::every_kind_every_mode() {
  for (bool quiet : {false, true})
    for (bool tty : {false, true})
      for (bool bar : {false, true})
        for (bool percent : {false, true})
          for (int64_t every : {1, 10}) {
            cli::ConsoleOptions o;
            o.quiet = quiet, o.tty = tty, o.bar = bar, o.percent = percent, o.every = every;
            const auto c = feed(o, every_kind());
            QVERIFY(c.err.find("warning: warning message") != std::string::npos);
            if (!quiet) {
              QVERIFY2(c.out.find("info message") != std::string::npos, c.out.c_str());
              QVERIFY2(c.out.find("eval message") != std::string::npos, c.out.c_str());
              QVERIFY2(c.out.find("eval @ step 0:") != std::string::npos, c.out.c_str());  // metrics-less, message-less eval
            } else {
              QCOMPARE(c.out.find("message"), std::string::npos);
            }
          }
}

void TestConsole::run_announcement_first() {
  // What `lens train` printed when it crashed: the run announcement (info, step 0, no metrics) first.
  std::vector<train::TrainEvent> got;
  auto announced = train::for_run([&](const train::TrainEvent& e) { got.push_back(e); }, 7);
  QCOMPARE(int(got.size()), 1);
  QCOMPARE(got[0].kind, K::info);
  QVERIFY(got[0].metrics.empty());
  cli::ConsoleOptions o;
  o.every = 10;  // lens train's printer
  const auto c = feed(o, got);
  QCOMPARE(QString::fromStdString(c.out), QString("run 7 started\n"));
}

void TestConsole::step_lines() {
  train::TrainEvent e;
  e.kind = K::step;
  e.step = 20;
  e.progress = 0.25;
  e.metrics = {{"lens/kl", 0.125}, {"lens/tokens_per_s", 99}};
  e.tokens_per_s = 99;
  e.eta_s = 3725;
  QCOMPARE(QString::fromStdString(cli::format_step(e, false)), QString("step 20 ( 25%) kl 0.1250 99 tok/s ETA 1:02:05"));
  QVERIFY(cli::format_step(e, true).rfind("[######..................] step 20", 0) == 0);
  cli::ConsoleOptions o;
  o.every = 10;
  std::vector<train::TrainEvent> steps;
  for (int s = 1; s <= 25; ++s) {
    e.step = s;
    e.progress = s / 25.0;
    steps.push_back(e);
  }
  const auto c = feed(o, steps);
  // The first, every 10th and the last.
  QCOMPARE(QString::fromStdString(c.out).count("step "), 4);
  // On a terminal the step line is rewritten in place and ended before anything else is printed.
  o.tty = true;
  train::TrainEvent info;
  info.message = "done";
  steps.push_back(info);
  const auto t = feed(o, steps);
  QVERIFY2(t.out.find("\r") != std::string::npos && t.out.find("\ndone\n") != std::string::npos, t.out.c_str());
}

void TestConsole::quiet_keeps_warnings() {
  train::TrainEvent w;
  w.kind = K::warning;
  w.message = "no GPU";
  cli::ConsoleOptions o;
  o.quiet = true;
  const auto c = feed(o, {w});
  QCOMPARE(QString::fromStdString(c.err), QString("warning: no GPU\n"));
  QVERIFY(c.out.empty());
}

QTEST_GUILESS_MAIN(TestConsole)
#include "tst_console.moc"
