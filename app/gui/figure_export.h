// What the figure pages share: the folder they suggest, the save dialog, writing the figure with its
// numbers beside it, and the hover tool tip over the plot.
#pragma once

#include <QCoreApplication>
#include <QString>
#include <functional>

#include "plotting/export.h"

class QCustomPlot;
class QEvent;
class QPoint;
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
  // For a page's eventFilter: on a mouse move over `plot`, shows tipAt(position) as a tool tip (hides it
  // when empty).
  static void hoverTip(QWidget* plot, QEvent* event, const std::function<QString(const QPoint&)>& tipAt);
};

}  // namespace gui
}  // namespace dm
