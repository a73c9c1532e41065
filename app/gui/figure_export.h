// What the figure pages share when they save a figure: the folder they suggest, the save dialog, and
// writing the figure with its numbers beside it.
#pragma once

#include <QCoreApplication>
#include <QString>
#include <functional>

#include "plotting/export.h"

class QCustomPlot;
class QWidget;

namespace dm {
namespace gui {

class FigureExport {
  Q_DECLARE_TR_FUNCTIONS(FigureExport)

 public:
  // <workspace>/figures, or ~/figures without a workspace.
  static QString folder(const QString& workspace);
  // Writes `plot` to `path` (format by suffix) at `size` and its numbers to <stem>.csv through writeCsv;
  // a .csv path writes the numbers only. Returns what the page says about it; throws on failure.
  static QString write(QCustomPlot* plot, const QString& path, const plotting::FigureSize& size,
                       const std::function<void(const QString& csv)>& writeCsv);
  // The "Export figure…" dialog, opened at `suggested` (its folder made); empty when cancelled.
  static QString ask(QWidget* parent, const QString& suggested);
};

}  // namespace gui
}  // namespace dm
