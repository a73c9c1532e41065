// The window's language, switched live: applyLanguage installs our translations and Qt's own (qtbase:
// standard buttons, dialogs) for a locale, which sends QEvent::LanguageChange to every widget; each widget
// sets its texts in functions registered with onLanguageChange, run at once and again at every change.
#pragma once

#include <QString>
#include <functional>

class QWidget;

namespace dm {
namespace gui {

// "" = the system's language; "en", "zh_CN", … Returns false when our translations for a language other
// than English could not be loaded (the texts stay English).
// `ours`: the folder of our compiled translations (diffmamba_<lang>.qm; the executable's own by default).
bool applyLanguage(const QString& language, const QString& ours = QStringLiteral(":/i18n"));
QString currentLanguage();  // what applyLanguage last applied ("" = the system's)

// Runs `apply` now and whenever the language changes while `widget` lives.
void onLanguageChange(QWidget* widget, std::function<void()> apply);

}  // namespace gui
}  // namespace dm
