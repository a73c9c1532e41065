// `diffmamba-studio`: the desktop window of Diff-Mamba Studio.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QTimer>
#include <cstdio>
#include <string>

#include "app/gui/language.h"
#include "app/gui/main_window.h"
#include "app/gui/settings.h"
#include "core/runtime.h"

namespace {

struct Options {
  QString workspace, screenshot;
};

void name_application() {
  QCoreApplication::setOrganizationName("DiffMambaStudio");
  QCoreApplication::setApplicationName("diffmamba-studio");
  QCoreApplication::setApplicationVersion("0.1.0");
}

// The command line. --help and --version are answered before any window system is touched, so they print
// and exit on a machine without a display; everything else is read after QApplication has taken its own
// options (-platform, -style, …), so an unknown option is an error instead of being ignored.
Options parse_command_line(const QCoreApplication& app) {
  QCommandLineParser p;
  p.setApplicationDescription(
      "Diff-Mamba Studio: train, evaluate and compare Mamba2 and Diff-Mamba2 in a window.\n"
      "The same engine runs headless as `diffmamba` (diffmamba --help).");
  p.addHelpOption();
  p.addVersionOption();
  QCommandLineOption ws("workspace", "Open this workspace folder (created if needed) instead of the last one used.", "DIR");
  QCommandLineOption shot("screenshot", "Save the window as a PNG once it is drawn, then quit.", "FILE");
  p.addOption(ws);
  p.addOption(shot);
  p.process(app);  // prints and exits for --help, --version and unknown options
  return {p.value(ws), p.value(shot)};
}

bool asks_help_or_version(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help" || a == "-?" || a == "--help-all" || a == "-v" || a == "--version") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (asks_help_or_version(argc, argv)) {
    QCoreApplication pre(argc, argv);
    name_application();
    parse_command_line(pre);
  }
  QApplication app(argc, argv);
  name_application();
  const Options opt = parse_command_line(app);
  // LibTorch's thread pools are set once, before any tensor work.
  dm::init_runtime(dm::gui::settings::threads());

  dm::gui::applyLanguage(dm::gui::settings::language());  // switched live from Settings later
  dm::gui::applyTheme(dm::gui::settings::theme());

  dm::gui::MainWindow w(opt.workspace);
  w.show();
  // --screenshot FILE: save the window as a PNG once it is drawn, then quit (the test script's smoke).
  if (!opt.screenshot.isEmpty()) {
    const QString file = opt.screenshot;
    QTimer::singleShot(1500, &w, [&w, file] {
      QDir().mkpath(QFileInfo(file).absolutePath());
      const bool ok = w.grab().save(file);
      std::fprintf(ok ? stdout : stderr, "%s %s\n", ok ? "wrote" : "cannot write", qPrintable(file));
      QApplication::exit(ok ? 0 : 1);
    });
  }
  return QApplication::exec();
}
