#include "app/gui/settings.h"

#include "app/gui/language.h"

#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QPalette>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QStyleFactory>
#include <QThread>

namespace dm {
namespace gui {

namespace settings {

QString workspace() { return QSettings().value("workspace").toString(); }

void setWorkspace(const QString& path) {
  QSettings s;
  s.setValue("workspace", path);
  QStringList recent = s.value("recentWorkspaces").toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > 8) recent.removeLast();
  s.setValue("recentWorkspaces", recent);
}

QStringList recentWorkspaces() { return QSettings().value("recentWorkspaces").toStringList(); }
int threads() { return QSettings().value("threads", 0).toInt(); }
int concurrency() { return std::max(1, QSettings().value("concurrency", 1).toInt()); }
QString device() {
  const QString d = QSettings().value("device", "auto").toString();
  static const QRegularExpression valid(QStringLiteral("^(auto|cpu|cuda|cuda:[0-9]{1,3})$"));
  return valid.match(d).hasMatch() ? d : QStringLiteral("auto");
}
QString language() { return QSettings().value("language").toString(); }
QString theme() { return QSettings().value("theme", "system").toString(); }

}  // namespace settings

SettingsDialog::SettingsDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Settings"));
  auto* form = new QFormLayout(this);
  threads_ = new QSpinBox(this);
  threads_->setRange(0, 1024);
  threads_->setSpecialValueText(tr("all cores"));
  threads_->setValue(settings::threads());
  concurrency_ = new QSpinBox(this);
  concurrency_->setRange(1, 16);
  concurrency_->setValue(settings::concurrency());
  device_ = new QComboBox(this);
  device_->setObjectName("deviceBox");
  device_->addItem(tr("automatic (GPU when there is one)"), "auto");
  device_->addItem(tr("CPU"), "cpu");
  // Each GPU doctor sees, by index; offered only where it works (asking for CUDA without a GPU would
  // fail every run), else one disabled entry saying why.
  QString whyNone;
  const auto cards = settings::gpus(&whyNone);
  for (const auto& g : cards) device_->addItem(g.label, g.device);
  if (cards.isEmpty()) {
    device_->addItem(tr("CUDA GPU"), "cuda");
    device_->setItemData(2, 0, Qt::UserRole - 1);
    device_->setItemData(2, tr("no CUDA device can be used: %1").arg(whyNone), Qt::ToolTipRole);
  }
  const QString stored = settings::device() == "cuda" && !cards.isEmpty() ? cards.first().device : settings::device();
  device_->setCurrentIndex(std::max(0, device_->findData(stored)));
  device_->setToolTip(tr("Where training, fine-tuning, evaluation and the lens run (automatic: the GPU when there is "
                         "one, else the CPU with a warning)"));
  language_ = new QComboBox(this);
  language_->addItem(tr("system language"), "");
  language_->addItem(QStringLiteral("English"), "en");
  language_->addItem(QStringLiteral("简体中文"), "zh_CN");
  language_->setCurrentIndex(std::max(0, language_->findData(settings::language())));
  theme_ = new QComboBox(this);
  theme_->addItem(tr("system"), "system");
  theme_->addItem(tr("light"), "light");
  theme_->addItem(tr("dark"), "dark");
  theme_->setCurrentIndex(std::max(0, theme_->findData(settings::theme())));
  form->addRow(tr("LibTorch threads"), threads_);
  form->addRow(tr("Jobs at a time"), concurrency_);
  form->addRow(tr("Device"), device_);
  form->addRow(tr("Language"), language_);
  form->addRow(tr("Theme"), theme_);
  auto* note = new QLabel(tr("LibTorch threads apply at the next start; the rest at once."), this);
  note->setEnabled(false);
  form->addRow(note);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    save();
    accept();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

void SettingsDialog::save() {
  QSettings s;
  s.setValue("threads", threads_->value());
  s.setValue("concurrency", concurrency_->value());
  s.setValue("device", device_->currentData());
  const bool newLanguage = s.value("language").toString() != language_->currentData().toString();
  s.setValue("language", language_->currentData());
  s.setValue("theme", theme_->currentData());
  applyTheme(theme_->currentData().toString());
  if (newLanguage) applyLanguage(language_->currentData().toString());  // every open widget retranslates
}

void applyTheme(const QString& theme) {
  static const QPalette original = QApplication::palette();
  if (theme == "dark") {
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    QPalette p;
    p.setColor(QPalette::Window, QColor(45, 45, 48));
    p.setColor(QPalette::WindowText, QColor(230, 230, 230));
    p.setColor(QPalette::Base, QColor(30, 30, 32));
    p.setColor(QPalette::AlternateBase, QColor(45, 45, 48));
    p.setColor(QPalette::Text, QColor(230, 230, 230));
    p.setColor(QPalette::Button, QColor(55, 55, 58));
    p.setColor(QPalette::ButtonText, QColor(230, 230, 230));
    p.setColor(QPalette::Highlight, QColor(86, 156, 214));
    p.setColor(QPalette::HighlightedText, Qt::black);
    p.setColor(QPalette::ToolTipBase, QColor(60, 60, 63));
    p.setColor(QPalette::ToolTipText, QColor(230, 230, 230));
    QApplication::setPalette(p);
  } else if (theme == "light") {
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    QApplication::setPalette(QApplication::style()->standardPalette());
  } else {
    QApplication::setPalette(original);
  }
}

}  // namespace gui
}  // namespace dm
