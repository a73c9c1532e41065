// The app's settings (QSettings): workspace and recent workspaces, LibTorch threads, job concurrency,
// device, language and theme; and the dialog that edits them.
#pragma once

#include <QDialog>
#include <QList>
#include <QString>
#include <QStringList>

class QComboBox;
class QSpinBox;

namespace dm {
namespace gui {

namespace settings {
QString workspace();  // "" when never set
void setWorkspace(const QString& path);  // also first in the recent list
QStringList recentWorkspaces();
int threads();      // 0 = all cores
int concurrency();  // ≥ 1
QString device();   // auto | cpu | cuda | cuda:N (anything else stored reads as auto)
QString language(); // "" (system) | en | zh_CN
QString theme();    // system | light | dark

// The GPUs `diffmamba doctor` sees: the device to ask for ("cuda:N") and a label naming the card and its
// memory; empty with `whyNone` set when this build or machine has none. Defined in job_specs.cpp, where
// LibTorch is included.
struct Gpu {
  QString device, label;
};
QList<Gpu> gpus(QString* whyNone = nullptr);
}  // namespace settings

class SettingsDialog : public QDialog {
  Q_OBJECT

 public:
  explicit SettingsDialog(QWidget* parent = nullptr);
  void save();  // writes the edited values (also on OK)

 private:
  QSpinBox* threads_ = nullptr;
  QSpinBox* concurrency_ = nullptr;
  QComboBox* device_ = nullptr;
  QComboBox* language_ = nullptr;
  QComboBox* theme_ = nullptr;
};

// Applies a theme to the application palette ("dark": Fusion dark palette).
void applyTheme(const QString& theme);

}  // namespace gui
}  // namespace dm
