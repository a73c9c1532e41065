// Runs the diffmamba executable (DM_CLI_PATH, set by CMake) for the CLI test suites.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

#ifndef DM_CLI_PATH
#error "DM_CLI_PATH must name the diffmamba executable"
#endif

namespace dm::test {

struct CliResult {
  int code = -1;  // -1 also when it did not finish in time
  QString out, err;
};

inline CliResult run_cli(const QStringList& args, const QString& cwd = QString(), int timeout_ms = 120000) {
  QProcess p;
  if (!cwd.isEmpty()) p.setWorkingDirectory(cwd);
  p.start(DM_CLI_PATH, args);
  if (!p.waitForStarted()) return {-1, {}, "could not start " + QString(DM_CLI_PATH) + ": " + p.errorString()};
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished();
    return {-1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError()) + "\n(did not finish in time)"};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
          QString::fromUtf8(p.readAllStandardError())};
}

}  // namespace dm::test
