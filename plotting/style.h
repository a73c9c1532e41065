// The one look of every figure: fonts, sizes, line widths and the colour-blind-safe Okabe–Ito palette,
// sized for an 8 × 5 in figure that stays readable when shrunk to a paper column. The same Style is
// used on screen and in exported files, so both look alike.
#pragma once

#include <vector>

#include <QColor>
#include <QFont>
#include <QString>

class QCustomPlot;
class QCPAxis;

namespace dm::plotting {

// Figures are laid out in logical pixels of 1/96 in (an 8 × 5 in figure is 768 × 480); font sizes
// are points of that logical figure.
inline constexpr double kLogicalDpi = 96.0;

struct Style {
  QString fontFamily = QStringLiteral("DejaVu Sans");
  double tickPt = 13;        // tick labels
  double axisLabelPt = 15;   // axis titles
  double annotationPt = 13;  // numbers written in heatmap cells
  double legendPt = 12;
  double lineWidth = 1.8;                  // curves and lens lines, device-independent pixels
  double rawCurveAlpha = 0.3;              // the raw curve: its colour at this opacity over the background
  QColor foreground = QColor(38, 38, 38);  // text, axes (matplotlib's ".15")
  QColor gridColor = QColor(220, 220, 220);
  QColor background = Qt::white;
};

// The default look for screen and paper.
Style paperStyle();

// The eight Okabe–Ito colours in their published order: black, orange, sky blue, bluish green, yellow,
// blue, vermillion, reddish purple.
const std::vector<QColor>& okabeIto();

// Colour of the i-th series (cycles): Okabe–Ito reordered for lines on white — blue, orange, bluish
// green, vermillion, reddish purple, sky blue, black, yellow (the low-contrast yellow last).
QColor seriesColor(int index);

// A font of `pointSize` points at kLogicalDpi, pixel-sized so every paint device measures it alike.
QFont styleFont(const Style& style, double pointSize, bool bold = false);

// Applies fonts, colours and background to the plot, its default axis rect's four axes and its legend.
void applyStyle(QCustomPlot* plot, const Style& style);
void styleAxis(QCPAxis* axis, const Style& style);

}  // namespace dm::plotting
