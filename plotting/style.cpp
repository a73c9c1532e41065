#include "plotting/style.h"

#include <algorithm>

#include <qcustomplot.h>

namespace dm::plotting {

Style paperStyle() { return Style{}; }

const std::vector<QColor>& okabeIto() {
  static const std::vector<QColor> colours = {
      QColor(0, 0, 0),      QColor(230, 159, 0), QColor(86, 180, 233), QColor(0, 158, 115),
      QColor(240, 228, 66), QColor(0, 114, 178), QColor(213, 94, 0),   QColor(204, 121, 167),
  };
  return colours;
}

QColor seriesColor(int index) {
  static const int order[] = {5, 1, 3, 6, 7, 2, 0, 4};
  const int n = static_cast<int>(std::size(order));
  const int i = ((index % n) + n) % n;
  return okabeIto()[static_cast<size_t>(order[i])];
}

QFont styleFont(const Style& style, double pointSize, bool bold) {
  QFont font(style.fontFamily);
  // Pixel-sized (points of the 96-dpi logical figure): text measures the same on every paint device
  // (screen, PNG, PDF, SVG), so layout and look do not change between screen and files.
  font.setPixelSize(std::max(1, qRound(pointSize * kLogicalDpi / 72.0)));
  font.setBold(bold);
  font.setStyleHint(QFont::SansSerif);
  return font;
}

void styleAxis(QCPAxis* axis, const Style& style) {
  const QPen axisPen(style.foreground, 1.0);
  axis->setBasePen(axisPen);
  axis->setTickPen(axisPen);
  axis->setSubTickPen(axisPen);
  axis->setTickLabelColor(style.foreground);
  axis->setLabelColor(style.foreground);
  axis->setTickLabelFont(styleFont(style, style.tickPt));
  axis->setLabelFont(styleFont(style, style.axisLabelPt));
  axis->grid()->setPen(QPen(style.gridColor, 1.0));
  axis->grid()->setSubGridPen(QPen(style.gridColor.lighter(108), 1.0, Qt::DotLine));
  axis->grid()->setZeroLinePen(Qt::NoPen);
}

void applyStyle(QCustomPlot* plot, const Style& style) {
  plot->setBackground(QBrush(style.background));
  plot->setFont(styleFont(style, style.tickPt));
  if (QCPAxisRect* rect = plot->axisRect()) {
    rect->setBackground(QBrush(style.background));
    for (QCPAxis* axis : rect->axes()) styleAxis(axis, style);
  }
  if (plot->legend) {
    plot->legend->setFont(styleFont(style, style.legendPt));
    plot->legend->setTextColor(style.foreground);
    plot->legend->setBrush(QBrush(QColor(255, 255, 255, 230)));
    plot->legend->setBorderPen(QPen(style.gridColor, 1.0));
  }
}

}  // namespace dm::plotting
