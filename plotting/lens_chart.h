// The tuned-lens layer chart of plot_tuned_lens.py: needle probability per layer, Diff-Mamba vs Mamba,
// as grouped bars (the seed) or lines, linear or log y, over a start…end layer range.
#pragma once

#include <optional>

#include <QColor>
#include <QString>

#include "plotting/data.h"
#include "plotting/style.h"

class QCustomPlot;

namespace dm::plotting {

enum class LensChartKind { Bars, Lines };

struct LensOptions {
  std::optional<int> startLayer;  // default: the first layer in the data (the seed: 1)
  std::optional<int> endLayer;    // default: the last layer in the data (the seed: 48)
  bool logY = false;
  // Plot probability × 100 so the "[%]" in the axis title is true. The seed plots raw probabilities
  // under a "[%]" label; set false to plot raw probabilities (the title then drops the unit).
  bool percent = true;
  LensChartKind kind = LensChartKind::Bars;
  QString xLabel = QStringLiteral("Layer");
  QColor diffColor = QColor(230, 159, 0);    // Okabe–Ito orange (the seed: #F5B041)
  QColor mambaColor = QColor(86, 180, 233);  // Okabe–Ito sky blue (the seed: #5DADE2)
  double barWidth = 0.4;                     // per model, in layer units (the seed: 0.4)
  Style style = paperStyle();
};

// y axis title for the options: "Needle Probability [%]" or "Needle Probability".
QString lensYLabel(const LensOptions& options);

// Draws the selected layers (LensLayers::select; throws PlotError on a bad range or bad data).
// Bars: Diff-Mamba left of each layer, Mamba right; lines: one graph per model with markers.
void drawLensLayers(QCustomPlot* plot, const LensLayers& lens, const LensOptions& options = {});

}  // namespace dm::plotting
