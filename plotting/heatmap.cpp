#include "plotting/heatmap.h"

#include <cmath>

#include <qcustomplot.h>

#include "plotting/colors.h"
#include "plotting/errors.h"
#include "plotting/figure.h"

namespace dm::plotting {

namespace {

const QColor kGridGrey(211, 211, 211);  // matplotlib "lightgray"

// Category axes of a rows × cols grid: column c centred at x = c, row r at y = r with row 0 on top.
void setupGrid(QCustomPlot* plot, const Matrix& labels, const QString& xLabel, const QString& yLabel,
               const Style& style) {
  resetPlot(plot);
  applyStyle(plot, style);
  auto setup = [&](QCPAxis* axis, int n, bool columns, const QString& title) {
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < n; ++i) ticker->addTick(i, columns ? labels.colLabel(i) : labels.rowLabel(i));
    axis->setTicker(ticker);
    axis->setRange(-0.5, n - 0.5);
    axis->setSubTicks(false);
    axis->setTickLength(0, 4);
    axis->setBasePen(Qt::NoPen);
    axis->grid()->setVisible(false);
    axis->setLabel(title);
  };
  setup(plot->xAxis, labels.cols, true, xLabel);
  setup(plot->yAxis, labels.rows, false, yLabel);
  plot->yAxis->setRangeReversed(true);
}

QCPItemRect* addRect(QCustomPlot* plot, int r, int c, const QBrush& brush, const QPen& pen, const QString& name) {
  auto* item = new QCPItemRect(plot);
  item->topLeft->setCoords(c - 0.5, r - 0.5);
  item->bottomRight->setCoords(c + 0.5, r + 0.5);
  item->setBrush(brush);
  item->setPen(pen);
  item->setSelectable(false);
  item->setObjectName(name);
  return item;
}

void addText(QCustomPlot* plot, int r, int c, const QString& text, const QColor& color, const Style& style) {
  auto* item = new QCPItemText(plot);
  item->position->setCoords(c, r);
  item->setPositionAlignment(Qt::AlignCenter);
  item->setTextAlignment(Qt::AlignCenter);
  // A second line (± sd) makes the text wider and taller than a cell holds at the paper size: smaller font.
  item->setFont(styleFont(style, text.contains(QLatin1Char('\n')) ? style.annotationPt * 0.7 : style.annotationPt));
  item->setColor(color);
  item->setText(text);
  item->setSelectable(false);
  item->setObjectName(textItemName(r, c));
}

QString cellName(const Matrix& m, int r, int c) { return QStringLiteral("(%1, %2)").arg(m.rowLabel(r), m.colLabel(c)); }

void requireFinite(const Matrix& m, const QString& what, bool nonNegative) {
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      const double v = m.at(r, c);
      if (!std::isfinite(v) || (nonNegative && v < 0.0))
        throw PlotError(QStringLiteral("%1 value at %2 is %3; expected a finite accuracy%4")
                            .arg(what, cellName(m, r, c))
                            .arg(v)
                            .arg(nonNegative ? QStringLiteral(" ≥ 0") : QString()));
    }
}

// Shapes must agree; labels must agree where both give them. Returns the labels to draw with.
Matrix pairLabels(const Matrix& model, const Matrix& baseline, const QString& figure) {
  model.validate(figure + QStringLiteral(", model"));
  baseline.validate(figure + QStringLiteral(", baseline"));
  if (model.rows != baseline.rows || model.cols != baseline.cols)
    throw PlotError(QStringLiteral("%1: the model matrix is %2 × %3 but the baseline is %4 × %5")
                        .arg(figure)
                        .arg(model.rows)
                        .arg(model.cols)
                        .arg(baseline.rows)
                        .arg(baseline.cols));
  auto check = [&](const QStringList& a, const QStringList& b, const char* which) {
    if (!a.isEmpty() && !b.isEmpty() && a != b)
      throw PlotError(QStringLiteral("%1: model %2 labels (%3) differ from the baseline's (%4)")
                          .arg(figure, QLatin1String(which), a.join(','), b.join(',')));
  };
  check(model.rowLabels, baseline.rowLabels, "row");
  check(model.colLabels, baseline.colLabels, "column");
  Matrix labels;
  labels.rows = model.rows;
  labels.cols = model.cols;
  labels.rowLabels = model.rowLabels.isEmpty() ? baseline.rowLabels : model.rowLabels;
  labels.colLabels = model.colLabels.isEmpty() ? baseline.colLabels : model.colLabels;
  return labels;
}

void addColorBar(QCustomPlot* plot, const Style& style) {
  auto* scale = new QCPColorScale(plot);
  plot->plotLayout()->addElement(0, 1, scale);
  scale->setType(QCPAxis::atRight);
  QCPColorGradient gradient;
  gradient.clearColorStops();
  gradient.setColorInterpolation(QCPColorGradient::ciRGB);
  for (int i = 0; i <= 16; ++i) gradient.setColorStopAt(i / 16.0, scoreScaleAt(i / 16.0));
  gradient.setLevelCount(256);
  scale->setGradient(gradient);
  scale->setDataRange(QCPRange(0, 100));
  scale->setBarWidth(14);
  styleAxis(scale->axis(), style);
  QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
  ticker->setTickStep(20);
  scale->axis()->setTicker(ticker);
  scale->axis()->setSubTicks(false);
  scale->setRangeDrag(false);
  scale->setRangeZoom(false);
  auto* group = new QCPMarginGroup(plot);
  plot->axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, group);
  scale->setMarginGroup(QCP::msTop | QCP::msBottom, group);
}

QString sdSuffix(const Matrix& m, int r, int c, int decimals) {
  if (!m.hasStddev()) return QString();
  return QStringLiteral(" ± %1").arg(QString::number(m.sdAt(r, c), 'f', decimals));
}

}  // namespace

QString annotationText(double value, int decimals, const double* sd) {
  QString text = QString::number(value, 'f', decimals);
  if (sd) text += QStringLiteral("\n±") + QString::number(*sd, 'f', decimals);
  return text;
}

void drawHeatmap(QCustomPlot* plot, const Matrix& scores, const HeatmapOptions& options) {
  scores.validate(QStringLiteral("score heatmap"));
  if (options.showStd && !scores.hasStddev())
    throw PlotError(
        QStringLiteral("score heatmap: \"±sd\" was requested but the matrix has no per-cell standard "
                       "deviation (give a mean over several seeds)"));
  setupGrid(plot, scores, options.xLabel, options.yLabel, options.style);
  const QPen cellLine(Qt::white, 1.0);  // seaborn linewidths=.5, linecolor white
  for (int r = 0; r < scores.rows; ++r)
    for (int c = 0; c < scores.cols; ++c) {
      const double v = scores.at(r, c);
      const QColor fill = scoreColor(v);
      addRect(plot, r, c, QBrush(fill), cellLine, cellItemName(r, c));
      if (options.annotate) {
        const double sd = options.showStd ? scores.sdAt(r, c) : 0.0;
        addText(plot, r, c, annotationText(v, options.decimals, options.showStd ? &sd : nullptr),
                annotationTextColor(fill), options.style);
      }
    }
  if (options.colorBar) addColorBar(plot, options.style);
}

void drawCompare(QCustomPlot* plot, const Matrix& model, const Matrix& baseline, const CompareOptions& options) {
  const Matrix labels = pairLabels(model, baseline, QStringLiteral("compare heatmap"));
  requireFinite(model, options.modelName, false);
  requireFinite(baseline, options.baselineName, false);
  if (options.showStd && !model.hasStddev())
    throw PlotError(QStringLiteral("compare heatmap: \"±sd\" was requested but the %1 matrix has no per-cell "
                                   "standard deviation (give a mean over several seeds)")
                        .arg(options.modelName));
  setupGrid(plot, labels, options.xLabel, options.yLabel, options.style);
  for (int r = 0; r < labels.rows; ++r)
    for (int c = 0; c < labels.cols; ++c)
      addRect(plot, r, c, QBrush(compareCellColor(model.at(r, c), baseline.at(r, c))), QPen(kGridGrey, 1.0),
              cellItemName(r, c));
  // Borders after all fills, so a neighbour's grey line never covers a black edge.
  for (int r = 0; r < labels.rows; ++r)
    for (int c = 0; c < labels.cols; ++c)
      if (model.at(r, c) != baseline.at(r, c))
        addRect(plot, r, c, Qt::NoBrush, QPen(Qt::black, 1.0), borderItemName(r, c));
  if (options.annotate)
    for (int r = 0; r < labels.rows; ++r)
      for (int c = 0; c < labels.cols; ++c) {
        const double sd = options.showStd ? model.sdAt(r, c) : 0.0;
        const QColor fill = compareCellColor(model.at(r, c), baseline.at(r, c));
        addText(plot, r, c, annotationText(model.at(r, c), options.decimals, options.showStd ? &sd : nullptr),
                annotationTextColor(fill), options.style);
      }
}

Matrix ratioMatrix(const Matrix& model, const Matrix& baseline) {
  Matrix out = pairLabels(model, baseline, QStringLiteral("ratio heatmap"));
  requireFinite(model, QStringLiteral("ratio heatmap, model"), true);
  requireFinite(baseline, QStringLiteral("ratio heatmap, baseline"), true);
  out.values.resize(static_cast<size_t>(out.rows) * static_cast<size_t>(out.cols));
  for (int r = 0; r < out.rows; ++r)
    for (int c = 0; c < out.cols; ++c)
      out.values[static_cast<size_t>(r * out.cols + c)] = ratioValue(model.at(r, c), baseline.at(r, c));
  return out;
}

void drawRatio(QCustomPlot* plot, const Matrix& model, const Matrix& baseline, const CompareOptions& options) {
  const Matrix ratio = ratioMatrix(model, baseline);
  if (options.showStd && (!model.hasStddev() || !baseline.hasStddev()))
    throw PlotError(QStringLiteral("ratio heatmap: \"±sd\" was requested but %1 has no per-cell standard deviation "
                                   "(give means over several seeds for both models)")
                        .arg(model.hasStddev() ? options.baselineName : options.modelName));
  setupGrid(plot, ratio, options.xLabel, options.yLabel, options.style);
  for (int r = 0; r < ratio.rows; ++r)
    for (int c = 0; c < ratio.cols; ++c)
      addRect(plot, r, c, QBrush(ratioCellColor(model.at(r, c), baseline.at(r, c))), Qt::NoPen, cellItemName(r, c));
  for (int r = 0; r < ratio.rows; ++r)
    for (int c = 0; c < ratio.cols; ++c) addRect(plot, r, c, Qt::NoBrush, QPen(Qt::black, 1.0), borderItemName(r, c));
  if (options.annotate)
    for (int r = 0; r < ratio.rows; ++r)
      for (int c = 0; c < ratio.cols; ++c) {
        QString text = QString::number(ratio.at(r, c), 'f', options.decimals);
        if (options.showStd)
          text += QStringLiteral("\n±%1 / ±%2")
                      .arg(QString::number(model.sdAt(r, c), 'f', options.decimals),
                           QString::number(baseline.sdAt(r, c), 'f', options.decimals));
        addText(plot, r, c, text, annotationTextColor(ratioCellColor(model.at(r, c), baseline.at(r, c))),
                options.style);
      }
}

QString heatmapToolTip(const Matrix& scores, int row, int col, int decimals) {
  QString text =
      QStringLiteral("%1 · %2: %3")
          .arg(scores.rowLabel(row), scores.colLabel(col), QString::number(scores.at(row, col), 'f', decimals));
  if (scores.hasStddev()) text += sdSuffix(scores, row, col, decimals) + QStringLiteral(" (sd over seeds)");
  return text;
}

QString compareToolTip(const Matrix& model, const Matrix& baseline, int row, int col, const CompareOptions& options) {
  const Matrix labels = pairLabels(model, baseline, QStringLiteral("compare tool tip"));
  const int d = options.decimals;
  const double m = model.at(row, col), b = baseline.at(row, col);
  const QString verdict = m > b   ? QStringLiteral("%1 better").arg(options.modelName)
                          : m < b ? QStringLiteral("%1 worse").arg(options.modelName)
                                  : QStringLiteral("equal");
  QString text = QStringLiteral("%1 · %2\n").arg(labels.rowLabel(row), labels.colLabel(col));
  text += QStringLiteral("%1: %2%3\n").arg(options.modelName, QString::number(m, 'f', d), sdSuffix(model, row, col, d));
  text += QStringLiteral("%1: %2%3\n")
              .arg(options.baselineName, QString::number(b, 'f', d), sdSuffix(baseline, row, col, d));
  // plot_compare.py draws 0 where either score is 0; the tool tip says what that 0 stands for.
  if (m == 0.0 && b == 0.0)
    text += QStringLiteral("ratio: undefined (0 / 0: both score 0; drawn as 0)");
  else if (m == 0.0 || b == 0.0)
    text += QStringLiteral("ratio: undefined (%1 scores 0; drawn as 0) — %2")
                .arg(m == 0.0 ? options.modelName : options.baselineName, verdict);
  else
    text += QStringLiteral("ratio: %1 (%2)").arg(QString::number(ratioValue(m, b), 'f', d), verdict);
  if (model.hasStddev() || baseline.hasStddev()) text += QStringLiteral("\n± = sd over seeds");
  return text;
}

}  // namespace dm::plotting
