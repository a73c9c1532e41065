#include "plotting/figure.h"

#include <cmath>
#include <set>

#include <qcustomplot.h>

#include "plotting/errors.h"

namespace dm::plotting {

namespace {

void resetAxis(QCPAxis* axis, bool primary) {
  axis->setScaleType(QCPAxis::stLinear);
  axis->setRangeReversed(false);
  axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  axis->setLabel(QString());
  axis->setTickLabelRotation(0);
  axis->setNumberFormat(QStringLiteral("gbd"));
  axis->setNumberPrecision(6);
  axis->setTickLength(0, 5);
  axis->setSubTickLength(0, 2);
  axis->setSubTicks(true);
  axis->setTicks(true);
  axis->setTickLabels(true);
  axis->setPadding(0);
  axis->setLabelPadding(5);
  axis->setRange(0, 5);
  axis->setVisible(primary);
  axis->grid()->setVisible(primary);
  axis->grid()->setSubGridVisible(false);
}

}  // namespace

void resetPlot(QCustomPlot* plot) {
  if (!plot) throw PlotError(QStringLiteral("no plot to draw into (null QCustomPlot)"));
  plot->clearItems();
  plot->clearPlottables();
  plot->setInteractions(QCP::Interactions());

  // Keep the first axis rect (the one plot->xAxis / yAxis belong to); drop colour bars and the rest.
  QCPLayoutGrid* layout = plot->plotLayout();
  // (Not axisRect(0): QCustomPlot lists the rects of nested grids depth-first from the last, so in a figure
  // with rows of rects the first it lists need not be the default one.)
  QCPAxisRect* rect = plot->xAxis ? plot->xAxis->axisRect() : plot->axisRect(0);
  // The rect may sit in a nested grid (figures with rows of maps): take it from whichever layout holds it.
  if (rect) {
    if (auto* parent = qobject_cast<QCPLayout*>(rect->layout())) parent->take(rect);
    // A legend moved into another rect's inset would be deleted with it: bring it home first.
    if (plot->legend) {
      if (auto* holder = qobject_cast<QCPLayoutInset*>(plot->legend->layout()); holder && holder != rect->insetLayout()) {
        holder->take(plot->legend);
        rect->insetLayout()->addElement(plot->legend, Qt::AlignTop | Qt::AlignRight);
      }
    }
  }
  layout->clear();
  if (!rect) {
    rect = new QCPAxisRect(plot, true);
    plot->xAxis = rect->axis(QCPAxis::atBottom);
    plot->yAxis = rect->axis(QCPAxis::atLeft);
    plot->xAxis2 = rect->axis(QCPAxis::atTop);
    plot->yAxis2 = rect->axis(QCPAxis::atRight);
  }
  layout->addElement(0, 0, rect);
  layout->simplify();

  std::set<QCPMarginGroup*> groups;
  for (QCP::MarginSide side : {QCP::msLeft, QCP::msRight, QCP::msTop, QCP::msBottom})
    if (QCPMarginGroup* g = rect->marginGroup(side)) groups.insert(g);
  rect->setMarginGroup(QCP::msAll, nullptr);
  for (QCPMarginGroup* g : groups)
    if (g->isEmpty()) delete g;

  rect->setAutoMargins(QCP::msAll);
  // Room above and right of the axes for the half of a tick label that sticks out at the range ends
  // (QCustomPlot drops labels that would leave the viewport).
  rect->setMinimumMargins(QMargins(10, 16, 24, 10));
  rect->setRangeDrag(Qt::Horizontal | Qt::Vertical);
  rect->setRangeZoom(Qt::Horizontal | Qt::Vertical);
  for (QCPAxis* axis : rect->axes()) {
    const bool primary = axis->axisType() == QCPAxis::atBottom || axis->axisType() == QCPAxis::atLeft;
    resetAxis(axis, primary);
  }
  if (plot->legend) {
    plot->legend->clearItems();
    plot->legend->setVisible(false);
    rect->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  }
}

QString cellItemName(int row, int col) { return QStringLiteral("cell:%1:%2").arg(row).arg(col); }
QString borderItemName(int row, int col) { return QStringLiteral("border:%1:%2").arg(row).arg(col); }
QString textItemName(int row, int col) { return QStringLiteral("text:%1:%2").arg(row).arg(col); }

std::optional<CellIndex> heatmapCellAt(const QCustomPlot* plot, const QPointF& pixel, int rows, int cols) {
  if (!plot || !plot->axisRect(0)) return std::nullopt;
  // (Not axisRect(0): QCustomPlot lists the rects of nested grids depth-first from the last, so in a figure
  // with rows of rects the first it lists need not be the default one.)
  QCPAxisRect* rect = plot->xAxis ? plot->xAxis->axisRect() : plot->axisRect(0);
  if (!rect->rect().contains(pixel.toPoint())) return std::nullopt;
  const double x = rect->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x());
  const double y = rect->axis(QCPAxis::atLeft)->pixelToCoord(pixel.y());
  const int col = static_cast<int>(std::floor(x + 0.5));
  const int row = static_cast<int>(std::floor(y + 0.5));
  if (row < 0 || row >= rows || col < 0 || col >= cols) return std::nullopt;
  return CellIndex{row, col};
}

}  // namespace dm::plotting
