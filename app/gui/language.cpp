#include "app/gui/language.h"

#include <QCoreApplication>
#include <QEvent>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>
#include <QWidget>
#include <memory>
#include <vector>

namespace dm {
namespace gui {
namespace {

struct Installed {
  std::unique_ptr<QTranslator> ours, qt;
  QString language;
};

Installed& installed() {
  static Installed i;
  return i;
}

// Child of a widget, filtering its events: re-runs the widget's text setters on LanguageChange.
class LanguageHook : public QObject {
 public:
  explicit LanguageHook(QWidget* widget) : QObject(widget) {
    setObjectName(QStringLiteral("languageHook"));
    widget->installEventFilter(this);
  }
  void add(std::function<void()> f) { apply_.push_back(std::move(f)); }

 protected:
  bool eventFilter(QObject*, QEvent* event) override {
    if (event->type() == QEvent::LanguageChange)
      for (const auto& f : apply_) f();
    return false;
  }

 private:
  std::vector<std::function<void()>> apply_;
};

}  // namespace

bool applyLanguage(const QString& language, const QString& oursDir) {
  Installed& in = installed();
  const QLocale locale = language.isEmpty() ? QLocale::system() : QLocale(language);
  QLocale::setDefault(locale);
  auto ours = std::make_unique<QTranslator>();
  auto qt = std::make_unique<QTranslator>();
  const bool haveOurs = ours->load(locale, QStringLiteral("diffmamba"), QStringLiteral("_"), oursDir);
  const bool haveQt = qt->load(locale, QStringLiteral("qtbase"), QStringLiteral("_"), QLibraryInfo::path(QLibraryInfo::TranslationsPath));
  // Removing and installing each send LanguageChange; the widgets end in the new language either way.
  if (in.ours) QCoreApplication::removeTranslator(in.ours.get());
  if (in.qt) QCoreApplication::removeTranslator(in.qt.get());
  in.ours = haveOurs ? std::move(ours) : nullptr;
  in.qt = haveQt ? std::move(qt) : nullptr;
  if (in.ours) QCoreApplication::installTranslator(in.ours.get());
  if (in.qt) QCoreApplication::installTranslator(in.qt.get());
  in.language = language;
  return haveOurs || locale.language() == QLocale::English || locale.language() == QLocale::C;
}

QString currentLanguage() { return installed().language; }

void onLanguageChange(QWidget* widget, std::function<void()> apply) {
  apply();
  auto* hook = widget->findChild<LanguageHook*>(QStringLiteral("languageHook"), Qt::FindDirectChildrenOnly);
  if (!hook) hook = new LanguageHook(widget);
  hook->add(std::move(apply));
}

}  // namespace gui
}  // namespace dm
