// The sweep dialog: the Experiments page's settings as the base job and a grid of values (one axis per row:
// a configuration key and its values), every combination checked as `diffmamba sweep train` checks it
// before anything is queued; the window then records one sweep and queues a run per combination.
#pragma once

#include <QDialog>
#include <QList>
#include <QStringList>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTableWidget;

namespace dm {
namespace gui {

class SweepDialog : public QDialog {
  Q_OBJECT

 public:
  // `baseArgs`: experiment=… and key=value of the form; `name`: the form's run name (may be empty).
  SweepDialog(const QStringList& baseArgs, const QString& name, QWidget* parent = nullptr);

  // Axis rows: a key (any configuration key) and its values, comma separated ("1e-4, 5e-4, 1e-3"), or a
  // bracketed list as the CLI takes it ("[[0],[1]]" for a key whose value is a list).
  int addAxis(const QString& key, const QString& values);  // returns the row
  void setAxis(int row, const QString& key, const QString& values);
  void removeAxis(int row);
  int axisCount() const;

  QString error() const { return error_; }  // empty when every combination resolves
  // The base arguments (without the axes' keys) and one key=[…] argument per axis: what `sweep train` takes.
  QStringList gridArguments() const { return grid_; }
  // Every combination's train arguments, the first axis varying slowest; and its "key=value …" label.
  QList<QStringList> combinations() const { return combos_; }
  QStringList labels() const { return labels_; }
  QString sweepName() const;  // the name field, else the preset and the axes
  QString baseJson() const;   // the sweep record's base job and grid, as the CLI writes them
  QString gridJson() const;

  QTableWidget* axes() const { return axes_; }
  QPlainTextEdit* preview() const { return preview_; }
  QPushButton* okButton() const { return ok_; }

 private:
  void revalidate();

  QStringList base_, grid_, labels_;
  QList<QStringList> combos_;
  QStringList fixed_;
  QString error_, preset_, axesText_, gridJson_;
  QTableWidget* axes_ = nullptr;
  QLineEdit* name_ = nullptr;
  QLabel* count_ = nullptr;
  QPlainTextEdit* preview_ = nullptr;
  QPushButton* ok_ = nullptr;
  bool loading_ = false;
};

}  // namespace gui
}  // namespace dm
