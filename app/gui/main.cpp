// `diffmamba-studio`: the desktop window of Diff-Mamba Studio.
#include <QApplication>
#include <QDir>
#include <QFileInfo>
#include <QTimer>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>
#include <cstdio>

#include "app/gui/main_window.h"
#include "app/gui/settings.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("DiffMambaStudio");
  QApplication::setApplicationName("diffmamba-studio");
  QApplication::setApplicationVersion("0.1.0");
  // LibTorch's thread pools are set once, before any tensor work.
  dm::init_runtime(dm::gui::settings::threads());

  const QString lang = dm::gui::settings::language();
  const QLocale locale = lang.isEmpty() ? QLocale::system() : QLocale(lang);
  QTranslator ours, qt;
  if (ours.load(locale, "diffmamba", "_", ":/i18n")) QApplication::installTranslator(&ours);
  if (qt.load(locale, "qtbase", "_", QLibraryInfo::path(QLibraryInfo::TranslationsPath))) QApplication::installTranslator(&qt);
  dm::gui::applyTheme(dm::gui::settings::theme());

  QString workspace;
  const QStringList args = QApplication::arguments();
  if (const int i = args.indexOf("--workspace"); i >= 0 && i + 1 < args.size()) workspace = args[i + 1];
  dm::gui::MainWindow w(workspace);
  w.show();
  // --screenshot FILE: save the window as a PNG once it is drawn, then quit (the test script's smoke).
  if (const int i = args.indexOf("--screenshot"); i >= 0 && i + 1 < args.size()) {
    const QString file = args[i + 1];
    QTimer::singleShot(1500, &w, [&w, file] {
      QDir().mkpath(QFileInfo(file).absolutePath());
      const bool ok = w.grab().save(file);
      std::fprintf(ok ? stdout : stderr, "%s %s\n", ok ? "wrote" : "cannot write", qPrintable(file));
      QApplication::exit(ok ? 0 : 1);
    });
  }
  return QApplication::exec();
}
