// Every visible string of the desktop app is translated: lupdate extracts the strings of the current
// sources, and each must have a finished Simplified Chinese translation in translations/*.ts; the
// compiled translation must reach real widgets (the contexts match the classes' names at run time); and
// the open window switches language live, leaving no visible English string and translating Qt's own
// standard buttons.
#include <torch/torch.h>

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTranslator>
#include <QXmlStreamReader>
#include <QtTest>

#include <QAbstractButton>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLibraryInfo>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSettings>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextDocumentFragment>
#include <QAbstractSpinBox>
#include <QSpinBox>
#include <QDoubleSpinBox>
#include <qcustomplot.h>

#include "app/gui/experiment_form.h"
#include "app/gui/language.h"
#include "app/gui/main_window.h"
#include "app/gui/monitor_view.h"
#include "app/gui/results_view.h"
#include "app/gui/runs_browser.h"
#include "app/gui/settings.h"

#if !defined(DM_LUPDATE) || !defined(DM_LRELEASE) || !defined(DM_SOURCE_DIR)
#error "DM_LUPDATE, DM_LRELEASE and DM_SOURCE_DIR must be defined"
#endif

namespace {

struct Message {
  QString context, source, translation;
  bool unfinished = false, numerus = false;
};

// (context, source) → message, read from a Qt Linguist file.
QMap<QPair<QString, QString>, Message> readTs(const QString& path) {
  QMap<QPair<QString, QString>, Message> out;
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return out;
  QXmlStreamReader x(&f);
  QString context;
  Message m;
  while (!x.atEnd()) {
    x.readNext();
    if (x.isStartElement()) {
      if (x.name() == QLatin1String("name")) context = x.readElementText();
      if (x.name() == QLatin1String("message")) {
        m = Message{};
        m.context = context;
        m.numerus = x.attributes().value("numerus") == QLatin1String("yes");
      }
      if (x.name() == QLatin1String("source")) m.source = x.readElementText();
      if (x.name() == QLatin1String("translation")) {
        const auto type = x.attributes().value("type");
        m.unfinished = type == QLatin1String("unfinished") || type == QLatin1String("vanished") ||
                       type == QLatin1String("obsolete");
        m.translation = x.readElementText(QXmlStreamReader::IncludeChildElements).trimmed();
      }
    }
    if (x.isEndElement() && x.name() == QLatin1String("message")) out.insert({m.context, m.source}, m);
  }
  return out;
}

// Every text a user can see in `root` (labels, buttons, group titles, placeholders, combo items, tab
// texts, table headers, menus and their actions, tool tips, spin box suffixes), keyed by widget and role so
// that the same text can be found again after a language switch. Subtrees hidden on purpose are left out
// (tab pages that are merely not current are kept). The config form's own key names, their documentation
// (shared with the CLI's `train --help`) and the presets' names are data, not interface, and left out.
QMap<QString, QString> visibleTexts(QWidget* root) {
  QMap<QString, QString> out;
  auto key = [](const QObject* o, const QString& role) {
    return QStringLiteral("%1@%2 %3 %4")
        .arg(QString::fromLatin1(o->metaObject()->className()))
        .arg(reinterpret_cast<quintptr>(o), 0, 16)
        .arg(o->objectName(), role);
  };
  auto isData = [](const QWidget* w) {
    for (const QWidget* p = w; p; p = p->parentWidget())
      if (p->objectName().startsWith(QLatin1String("field")) || p->objectName() == QLatin1String("presetBox")) return true;
    return false;
  };
  std::vector<QWidget*> todo{root};
  while (!todo.empty()) {
    QWidget* w = todo.back();
    todo.pop_back();
    for (auto* child : w->findChildren<QWidget*>(QString(), Qt::FindDirectChildrenOnly)) {
      const bool page = qobject_cast<QStackedWidget*>(w) != nullptr;
      if (child->isHidden() && !page && !qobject_cast<QMenu*>(child)) continue;
      todo.push_back(child);
    }
    if (isData(w)) continue;
    auto* label = qobject_cast<QLabel*>(w);
    if (label && label->buddy() && isData(label->buddy())) continue;  // a config key's name
    if (!w->toolTip().isEmpty()) out.insert(key(w, "tooltip"), w->toolTip());
    if (label) out.insert(key(w, "text"), QTextDocumentFragment::fromHtml(label->text()).toPlainText());
    if (auto* b = qobject_cast<QAbstractButton*>(w)) out.insert(key(w, "text"), b->text());
    if (auto* g = qobject_cast<QGroupBox*>(w)) out.insert(key(w, "title"), g->title());
    if (auto* e = qobject_cast<QLineEdit*>(w)) out.insert(key(w, "placeholder"), e->placeholderText());
    if (auto* c = qobject_cast<QComboBox*>(w))
      for (int i = 0; i < c->count(); ++i) out.insert(key(w, QStringLiteral("item %1").arg(i)), c->itemText(i));
    if (auto* t = qobject_cast<QTabWidget*>(w))
      for (int i = 0; i < t->count(); ++i) out.insert(key(w, QStringLiteral("tab %1").arg(i)), t->tabText(i));
    if (auto* t = qobject_cast<QTableWidget*>(w))
      for (int i = 0; i < t->columnCount(); ++i)
        if (t->horizontalHeaderItem(i)) out.insert(key(w, QStringLiteral("header %1").arg(i)), t->horizontalHeaderItem(i)->text());
    if (auto* d = qobject_cast<QDockWidget*>(w)) out.insert(key(w, "title"), d->windowTitle());
    if (auto* sb = qobject_cast<QSpinBox*>(w)) out.insert(key(w, "suffix"), sb->suffix() + " " + sb->specialValueText());
    if (auto* sb = qobject_cast<QDoubleSpinBox*>(w)) out.insert(key(w, "suffix"), sb->suffix() + " " + sb->specialValueText());
    if (auto* m = qobject_cast<QMenu*>(w)) {
      out.insert(key(w, "title"), m->title());
      for (auto* a : m->actions())
        if (!a->isSeparator() && !a->menu()) out.insert(key(a, "action"), a->text());
    }
  }
  return out;
}

// What is left of a text once names (the same in every language), paths and numbers are taken out: English
// words here, in a text the switch left as it was or that has no Chinese at all, mean an untranslated text.
// (A translation may keep a technical term in English: "tuned lens", "needle", a config key.)
bool looksEnglish(QString text) {
  static const QStringList kNames = {"Diff-Mamba Studio", "Diff-S6", "Diff-Mamba2", "Diff-Mamba", "Mamba2", "Mamba", "BABILong",
                                     "LibTorch", "PyTorch", "TensorBoard", "CUDA", "GPU", "CPU", "CSV", "PNG", "PDF",
                                     "SVG", "SQLite", "c10d", "viridis", "dpi", "ETA", "ID", "tokens/s", "English"};
  for (const auto& n : kNames) text.replace(n, " ");
  text.remove(QRegularExpression(QStringLiteral("(^|\\s)/\\S*")));  // paths
  // key=value examples and config keys quoted in help texts
  text.remove(QRegularExpression(QStringLiteral("[A-Za-z_./]*[._=/<>~:][A-Za-z0-9_./=<>~:]*")));
  text.remove(QRegularExpression(QStringLiteral("&(?=\\w)")));  // menu accelerators
  return text.contains(QRegularExpression(QStringLiteral("[A-Za-z]{2,}")));
}

}  // namespace

class TestTranslations : public QObject {
  Q_OBJECT

 private slots:
  void every_string_is_translated();
  void widgets_show_the_translation();
  void window_switches_language_live();
};

void TestTranslations::every_string_is_translated() {
  const QDir root(DM_SOURCE_DIR);
  const QString committed = root.filePath("translations/diffmamba_zh_CN.ts");
  QVERIFY2(QFile::exists(committed), qPrintable(committed));
  QTemporaryDir tmp;
  const QString fresh = tmp.filePath("fresh.ts");
  QProcess p;
  p.setWorkingDirectory(root.path());
  p.start(DM_LUPDATE, {"-no-obsolete", "-locations", "none", "-I", ".", "app/gui", "-ts", fresh});
  QVERIFY(p.waitForFinished(120000));
  QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
  const auto now = readTs(fresh), ours = readTs(committed);
  QVERIFY2(now.size() > 100, "lupdate found the GUI's strings");
  QStringList missing;
  for (const auto& m : now) {
    const auto it = ours.constFind({m.context, m.source});
    if (it == ours.constEnd() || it->unfinished || it->translation.isEmpty())
      missing << QStringLiteral("%1: \"%2\"").arg(m.context, m.source);
  }
  QVERIFY2(missing.isEmpty(), qPrintable(QStringLiteral("%1 untranslated string(s) (run the update_translations target, "
                                                        "then translate):\n")
                                             .arg(missing.size()) +
                                         missing.join('\n')));
}

void TestTranslations::widgets_show_the_translation() {
  QTemporaryDir tmp;
  const QString qm = tmp.filePath("zh.qm");
  QProcess p;
  p.start(DM_LRELEASE, {QDir(DM_SOURCE_DIR).filePath("translations/diffmamba_zh_CN.ts"), "-qm", qm});
  QVERIFY(p.waitForFinished(60000));
  QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
  QTranslator t;
  QVERIFY(t.load(qm));
  QVERIFY(QCoreApplication::installTranslator(&t));
  dm::gui::ExperimentForm form;
  const QString run = form.runButton()->text();
  QVERIFY2(run != QStringLiteral("Run") && !run.isEmpty(), qPrintable(run));
  QCOMPARE(run, t.translate("dm::gui::ExperimentForm", "Run"));
  QCoreApplication::removeTranslator(&t);
}

void TestTranslations::window_switches_language_live() {
  QStandardPaths::setTestModeEnabled(true);
  QCoreApplication::setOrganizationName("DiffMambaStudioTest");
  QCoreApplication::setApplicationName("tst_translations");
  QSettings().clear();
  QTemporaryDir qmDir, ws;
  QProcess p;
  p.start(DM_LRELEASE, {QDir(DM_SOURCE_DIR).filePath("translations/diffmamba_zh_CN.ts"), "-qm",
                        qmDir.filePath("diffmamba_zh_CN.qm")});
  QVERIFY(p.waitForFinished(60000));
  QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
  QVERIFY2(QFile::exists(QDir(QLibraryInfo::path(QLibraryInfo::TranslationsPath)).filePath("qtbase_zh_CN.qm")),
           "Qt's own translations are installed (Debian qt6-translations-l10n; scripts/setup.sh installs it)");

  QVERIFY(dm::gui::applyLanguage("en", qmDir.path()));
  dm::gui::MainWindow w(ws.path());
  w.resize(1280, 860);
  w.show();
  QTRY_VERIFY(!w.monitor()->loading() && !w.runs()->busy() && !w.results()->loading());
  QTRY_VERIFY(w.welcome()->isVisible());
  const auto english = visibleTexts(&w);
  QVERIFY2(english.size() > 100, qPrintable(QString::number(english.size())));
  QCOMPARE(w.tabs()->tabText(0), QStringLiteral("Experiments"));
  const QString emptyEn = w.monitor()->emptyText(), axisEn = w.monitor()->plot()->xAxis->label();

  // Switched while the window is open, as Settings does: every widget retranslates at once.
  QVERIFY(dm::gui::applyLanguage("zh_CN", qmDir.path()));
  QTRY_VERIFY(w.tabs()->tabText(0) != QStringLiteral("Experiments"));
  QCoreApplication::processEvents();
  const auto chinese = visibleTexts(&w);
  QStringList untranslated;
  auto hasChinese = [](const QString& t) { return t.contains(QRegularExpression(QStringLiteral("[\\x{4e00}-\\x{9fff}]"))); };
  for (auto it = chinese.cbegin(); it != chinese.cend(); ++it) {
    const bool unchanged = english.value(it.key()) == it.value();
    if (looksEnglish(it.value()) && (unchanged || !hasChinese(it.value())))
      untranslated << QStringLiteral("%1: \"%2\"").arg(it.key(), it.value());
  }
  QVERIFY2(chinese.size() >= english.size(), "the same widgets are there after the switch");
  // The Monitor's plot: its empty-state message and its x axis.
  for (const QString& t : {w.monitor()->emptyText(), w.monitor()->plot()->xAxis->label()})
    if (looksEnglish(t) && !hasChinese(t)) untranslated << QStringLiteral("monitor plot: \"%1\"").arg(t);
  QVERIFY(w.monitor()->emptyText() != emptyEn && w.monitor()->plot()->xAxis->label() != axisEn);
  QVERIFY2(untranslated.isEmpty(), qPrintable(QStringLiteral("%1 visible untranslated text(s):\n").arg(untranslated.size()) +
                                              untranslated.join('\n')));
  // The checker finds English where there is some (it is not blind).
  QVERIFY(looksEnglish(QStringLiteral("Refresh")) && looksEnglish(QStringLiteral("Mamba lens")) &&
          !looksEnglish(QStringLiteral("Mamba2 /tmp/x val/bpc<1.5")) && hasChinese(QStringLiteral("刷新")));

  // Qt's own standard buttons (qtbase translations): Yes / No, OK / Cancel.
  QMessageBox box(QMessageBox::Question, "t", "q", QMessageBox::Yes | QMessageBox::No);
  QVERIFY2(!looksEnglish(box.button(QMessageBox::Yes)->text()) && !looksEnglish(box.button(QMessageBox::No)->text()),
           qPrintable(box.button(QMessageBox::Yes)->text()));
  dm::gui::SettingsDialog settings(&w);
  const auto dialog = visibleTexts(&settings);
  QStringList dialogEnglish;
  for (const auto& t : dialog)
    if (looksEnglish(t) && !hasChinese(t)) dialogEnglish << t;
  QVERIFY2(dialogEnglish.isEmpty(), qPrintable(dialogEnglish.join(" | ")));

  // And back, live.
  QVERIFY(dm::gui::applyLanguage("en", qmDir.path()));
  QTRY_COMPARE(w.tabs()->tabText(0), QStringLiteral("Experiments"));
  QCOMPARE(w.monitor()->plot()->xAxis->label(), axisEn);
}

QTEST_MAIN(TestTranslations)
#include "tst_translations.moc"
