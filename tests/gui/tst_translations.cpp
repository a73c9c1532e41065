// Every visible string of the desktop app is translated: lupdate extracts the strings of the current
// sources, and each must have a finished Simplified Chinese translation in translations/*.ts; the
// compiled translation must reach real widgets (the contexts match the classes' names at run time).
#include <torch/torch.h>

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTranslator>
#include <QXmlStreamReader>
#include <QtTest>

#include "app/gui/experiment_form.h"

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

}  // namespace

class TestTranslations : public QObject {
  Q_OBJECT

 private slots:
  void every_string_is_translated();
  void widgets_show_the_translation();
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

QTEST_MAIN(TestTranslations)
#include "tst_translations.moc"
