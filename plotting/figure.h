// What every figure builder shares: clearing a QCustomPlot before a new figure is drawn into it, the
// object names given to heatmap cells and annotations (so the app and tests can find them), and the
// task × length grid layout of the heatmaps.
#pragma once

#include <optional>

#include <QPointF>
#include <QString>

class QCustomPlot;

namespace dm::plotting {

// Removes plottables, items, colour bars and extra layout elements, resets the default axis rect's axes
// (linear, not reversed, default tickers, no labels) and hides the legend. Every draw* function calls
// it first, so a plot can be reused for another figure. A CurvePlot must not share its plot.
void resetPlot(QCustomPlot* plot);

// Object names of heatmap items: the filled cell, its border (compare/ratio), its annotation text.
QString cellItemName(int row, int col);
QString borderItemName(int row, int col);
QString textItemName(int row, int col);

struct CellIndex {
  int row = 0, col = 0;
};
// The heatmap cell under a widget pixel (e.g. a mouse position), or nothing outside the grid.
std::optional<CellIndex> heatmapCellAt(const QCustomPlot* plot, const QPointF& pixel, int rows, int cols);

}  // namespace dm::plotting
