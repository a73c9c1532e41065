#include "plotting/lens_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

#include "plotting/errors.h"
#include "plotting/figure.h"

namespace dm::plotting {

QString lensYLabel(const LensOptions& options) {
  return options.percent ? QStringLiteral("Needle Probability [%]") : QStringLiteral("Needle Probability");
}

void drawLensLayers(QCustomPlot* plot, const LensLayers& lens, const LensOptions& options) {
  const LensLayers shown = lens.select(options.startLayer, options.endLayer);
  if (!(options.barWidth > 0.0 && options.barWidth <= 0.5))
    throw PlotError(QStringLiteral("lens chart: bar width %1 must be in (0, 0.5] layer units").arg(options.barWidth));
  const double scale = options.percent ? 100.0 : 1.0;
  for (size_t i = 0; i < shown.layers.size(); ++i)
    for (double v : {shown.diff[i], shown.mamba[i]})
      if (!std::isfinite(v) || v < 0.0)
        throw PlotError(QStringLiteral("lens chart: layer %1 has probability %2; expected a finite value ≥ 0")
                            .arg(shown.layers[i])
                            .arg(v));

  resetPlot(plot);
  applyStyle(plot, options.style);
  const Style& style = options.style;

  QVector<double> x, yDiff, yMamba;
  for (size_t i = 0; i < shown.layers.size(); ++i) {
    x.push_back(shown.layers[i]);
    yDiff.push_back(shown.diff[i] * scale);
    yMamba.push_back(shown.mamba[i] * scale);
  }

  if (options.kind == LensChartKind::Bars) {
    auto* group = new QCPBarsGroup(plot);
    group->setSpacingType(QCPBarsGroup::stAbsolute);
    group->setSpacing(0);
    auto addBars = [&](const QVector<double>& y, const QColor& color, const QString& name) {
      auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
      bars->setWidth(options.barWidth);
      bars->setPen(Qt::NoPen);
      bars->setBrush(color);
      bars->setName(name);
      bars->setData(x, y, true);
      bars->setBarsGroup(group);
      bars->setSelectable(QCP::stNone);
      return bars;
    };
    addBars(yDiff, options.diffColor, shown.diffLabel);
    addBars(yMamba, options.mambaColor, shown.mambaLabel);
  } else {
    auto addLine = [&](const QVector<double>& y, const QColor& color, const QString& name,
                       QCPScatterStyle::ScatterShape shape) {
      QCPGraph* graph = plot->addGraph(plot->xAxis, plot->yAxis);
      graph->setPen(QPen(color, style.lineWidth));
      graph->setScatterStyle(QCPScatterStyle(shape, color, color, 6));
      graph->setName(name);
      graph->setData(x, y, true);
      graph->setSelectable(QCP::stNone);
      return graph;
    };
    addLine(yDiff, options.diffColor, shown.diffLabel, QCPScatterStyle::ssCircle);
    addLine(yMamba, options.mambaColor, shown.mambaLabel, QCPScatterStyle::ssSquare);
  }

  // x: one tick per layer, labels rotated 90° as in the seed.
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (int layer : shown.layers) ticker->addTick(layer, QString::number(layer));
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setTickLabelRotation(shown.layers.size() > 12 ? -90 : 0);  // reads bottom-up, as matplotlib's 90°
  plot->xAxis->setSubTicks(false);
  plot->xAxis->setRange(shown.layers.front() - 0.6, shown.layers.back() + 0.6);
  plot->xAxis->grid()->setVisible(false);
  plot->xAxis->setLabel(options.xLabel);
  plot->yAxis->setLabel(lensYLabel(options));

  double hi = 0.0, loPositive = std::numeric_limits<double>::infinity();
  for (int i = 0; i < x.size(); ++i)
    for (double v : {yDiff[i], yMamba[i]}) {
      hi = std::max(hi, v);
      if (v > 0.0) loPositive = std::min(loPositive, v);
    }
  if (options.logY) {
    plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog));
    plot->yAxis->setNumberFormat(QStringLiteral("eb"));
    plot->yAxis->setNumberPrecision(0);
    if (!std::isfinite(loPositive)) loPositive = hi = options.percent ? 1.0 : 0.01;  // all zero: any decade
    plot->yAxis->setRange(loPositive / 2.0, hi * 2.0);
  } else {
    plot->yAxis->setRange(0.0, hi > 0.0 ? hi * 1.05 : 1.0);
  }

  plot->legend->setVisible(true);
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
}

}  // namespace dm::plotting
