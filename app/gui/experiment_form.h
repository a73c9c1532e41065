// The Experiments page: a preset, every configuration key in a form generated from core's schema
// (editor by type, range and documentation in tool tips), inline validation with the CLI's own
// messages, the equivalent `diffmamba train …` line, the family switch, "run this set" (the same settings
// for each ticked family: the pair, or an ablation), "sweep…" (a grid of runs as one sweep), and saving the settings as a user preset.
#pragma once

#include <QHash>
#include <QString>
#include <QStringList>
#include <QMap>
#include <QWidget>

class QCheckBox;
class QGroupBox;

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QVBoxLayout;

namespace dm {
namespace gui {

class ExperimentForm : public QWidget {
  Q_OBJECT

 public:
  explicit ExperimentForm(QWidget* parent = nullptr);

  void reloadPresets();
  void setPreset(const QString& preset);  // resets every field to the preset's value
  QString preset() const;
  QStringList presets() const;

  // Sets a field from text as a user would type it (tests, scripts); false for an unknown key.
  bool setValue(const QString& key, const QString& text);
  QString value(const QString& key) const;
  QWidget* editor(const QString& key) const;

  // experiment=<preset> and key=value for every field that differs from the preset.
  QStringList arguments() const;
  QString commandLine() const;
  QString validationError() const { return error_; }  // empty when the settings are valid
  QString runName() const;
  // The preset of `family` matching this one (demo/mamba2-fortunes → demo/mamba-fortunes), "" when none.
  QString presetFor(const QString& family) const;

  // Saves the current settings as "user/<name>"; returns the error text or "" on success.
  QString savePreset(const QString& name, const QString& description);

  QPushButton* runButton() const { return run_; }
  QPushButton* runSetButton() const { return runSet_; }
  QPushButton* sweepButton() const { return sweep_; }
  // The families "Run this set" queues (ticked boxes, object names "setFamily_<family>"), in the list's order;
  // remembered across sessions. Default: Mamba2 and Diff-Mamba2.
  QStringList familySet() const;
  void setFamilySet(const QStringList& families);
  // The arguments that train `family` with these settings: its own preset when there is one (with every
  // edit kept), otherwise this preset with model.family switched.
  QStringList argumentsFor(const QString& family) const;
  QLabel* errorLabel() const { return errorLabel_; }
  // "1 process in this window" or "N processes (…), started as child processes of the window".
  QLabel* processesLabel() const { return processesLabel_; }

 signals:
  void runRequested(const QStringList& args, const QString& name);
  // One argument list per family of the set, in the same order as `families`.
  void runSetRequested(const QList<QStringList>& arguments, const QStringList& families, const QString& name);
  // "Sweep…": the settings as a sweep's base job (the window opens the sweep dialog on them).
  void sweepRequested(const QStringList& args, const QString& name);
  void presetSaved(const QString& preset);
  void validityChanged(bool valid);

 private:
  struct Field {
    QString key;
    int type = 0;  // config::KeyType
    QWidget* editor = nullptr;
    QString baseline;  // the preset's value as text
  };
  void buildFields(QVBoxLayout* into);
  static QString sectionTitle(const QString& section);
  QMap<QString, QGroupBox*> sectionBoxes_;  // config section → its group
  QString fieldText(const Field& f) const;
  void setFieldText(Field& f, const QString& text);
  void revalidate();
  void onFamilyChanged(int index);
  void onSaveClicked();
  QStringList overrides(bool withFamily) const;

  QComboBox* presetBox_ = nullptr;
  QComboBox* familyBox_ = nullptr;
  QLineEdit* nameEdit_ = nullptr;
  QLineEdit* filterEdit_ = nullptr;
  QLineEdit* commandEdit_ = nullptr;
  QLabel* processesLabel_ = nullptr;
  QLabel* errorLabel_ = nullptr;
  QPushButton* run_ = nullptr;
  QPushButton* runSet_ = nullptr;
  QPushButton* sweep_ = nullptr;
  QList<QCheckBox*> setBoxes_;
  void updateRunSet();
  QPushButton* save_ = nullptr;
  QList<Field> fields_;
  QHash<QString, QPair<QFormLayout*, QWidget*>> rows_;  // key → its form row (for the filter)
  QString error_;
  bool loading_ = false;
};

}  // namespace gui
}  // namespace dm
