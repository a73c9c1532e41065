#include "plotting/heatmap.h"

#include <cmath>

#include <qcustomplot.h>

#include "core/common/stats.h"
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

// A legend entry that is a colour swatch and a text (the heatmaps have no plottables to stand for).
class SwatchItem : public QCPAbstractLegendItem {
 public:
  SwatchItem(QCPLegend* legend, const QColor& color, const QString& text) : QCPAbstractLegendItem(legend), color_(color), text_(text) {}

 protected:
  void draw(QCPPainter* painter) override {
    painter->setFont(mFont);
    painter->setPen(QPen(mTextColor));
    const QSize icon = mParentLegend->iconSize();
    const int rowHeight = std::max(icon.height(), QFontMetrics(mFont).height());
    const QRect swatch(mRect.x(), mRect.y() + (rowHeight - icon.height()) / 2, icon.width(), icon.height());
    painter->setRenderHint(QPainter::Antialiasing, false);  // crisp swatch edges, alike on screen and in files
    painter->setBrush(color_);
    painter->setPen(QPen(Qt::black, 1.0));
    painter->drawRect(swatch);
    painter->setPen(QPen(mTextColor));
    painter->drawText(mRect.x() + icon.width() + mParentLegend->iconTextPadding(), mRect.y(), mRect.width(), rowHeight,
                      Qt::AlignLeft | Qt::AlignVCenter, text_);
  }
  QSize minimumOuterSizeHint() const override {
    const QSize icon = mParentLegend->iconSize();
    const QFontMetrics fm(mFont);
    return QSize(icon.width() + mParentLegend->iconTextPadding() + fm.horizontalAdvance(text_) + mMargins.left() + mMargins.right(),
                 std::max(icon.height(), fm.height()) + mMargins.top() + mMargins.bottom());
  }

 private:
  QColor color_;
  QString text_;
};

// The legend below the grid: one swatch per colour the figure uses, two per row.
void addLegend(QCustomPlot* plot, const std::vector<std::pair<QColor, QString>>& entries, const Style& style,
               const QString& note = QString()) {
  QCPLayoutGrid* layout = plot->plotLayout();
  int row = layout->rowCount();
  if (!entries.empty()) {
    auto* legend = new QCPLegend;
    legend->setObjectName(QStringLiteral("heatmapLegend"));
    layout->addElement(row, 0, legend);
    layout->setRowStretchFactor(row, 0.001);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(2);
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
    legend->setFont(styleFont(style, style.legendPt));
    legend->setTextColor(style.foreground);
    legend->setIconSize(16, 12);
    legend->setMargins(QMargins(4, 2, 4, 2));
    legend->setRowSpacing(0);
    legend->setColumnSpacing(12);
    for (const auto& [color, text] : entries) {
      auto* item = new SwatchItem(legend, color, text);
      item->setFont(legend->font());
      item->setTextColor(style.foreground);
      legend->addItem(item);
    }
    ++row;
  }
  if (!note.isEmpty()) {  // one line under the swatches saying how to read the numbers
    auto* text = new QCPTextElement(plot, note, styleFont(style, style.legendPt * 0.9));
    text->setObjectName(QStringLiteral("legendNote"));
    text->setTextColor(style.foreground);
    layout->addElement(row, 0, text);
    layout->setRowStretchFactor(row, 0.001);
  }
}

void addTitle(QCustomPlot* plot, const QString& title, const Style& style) {
  if (title.isEmpty()) return;
  QCPLayoutGrid* layout = plot->plotLayout();
  layout->insertRow(0);
  auto* text = new QCPTextElement(plot, title, styleFont(style, style.axisLabelPt, true));
  text->setObjectName(QStringLiteral("title"));
  text->setTextColor(style.foreground);
  layout->addElement(0, 0, text);
  layout->setRowStretchFactor(0, 0.001);
}

// "40", or "20–40" when the cells' counts differ.
QString sampleRange(const Matrix& m) {
  int64_t lo = -1, hi = 0;
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      const int64_t n = m.samplesAt(r, c);
      lo = lo < 0 ? n : std::min(lo, n);
      hi = std::max(hi, n);
    }
  return lo == hi ? QString::number(hi) : QStringLiteral("%1–%2").arg(lo).arg(hi);
}

QString signedText(double d) { return (d > 0 ? QStringLiteral("+") : QString()) + QString::number(d, 'f', 1); }

QString intervalLine(double percent, int64_t n) {
  const auto i = stats::wilson(percent / 100.0, n);
  return QStringLiteral("[%1–%2]").arg(100 * i.low, 0, 'f', 0).arg(100 * i.high, 0, 'f', 0);
}

void addColorBar(QCustomPlot* plot, const Style& style, Palette palette, const QString& label) {
  auto* scale = new QCPColorScale(plot);
  plot->plotLayout()->addElement(0, 1, scale);
  scale->setType(QCPAxis::atRight);
  QCPColorGradient gradient;
  gradient.clearColorStops();
  gradient.setColorInterpolation(QCPColorGradient::ciRGB);
  for (int i = 0; i <= 16; ++i) gradient.setColorStopAt(i / 16.0, scoreScaleAt(i / 16.0, palette));
  gradient.setLevelCount(256);
  scale->setGradient(gradient);
  scale->setDataRange(QCPRange(0, 100));
  scale->setBarWidth(14);
  styleAxis(scale->axis(), style);
  QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
  ticker->setTickStep(20);
  scale->axis()->setTicker(ticker);
  scale->axis()->setSubTicks(false);
  scale->axis()->setLabel(label);
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
      const QColor fill = scoreColor(v, options.palette);
      addRect(plot, r, c, QBrush(fill), cellLine, cellItemName(r, c));
      if (options.annotate) {
        const double sd = options.showStd ? scores.sdAt(r, c) : 0.0;
        QString text = annotationText(v, options.decimals, options.showStd ? &sd : nullptr);
        if (!options.showStd && options.showIntervals && scores.samplesAt(r, c) > 0)
          text += QLatin1Char('\n') + intervalLine(v, scores.samplesAt(r, c));
        addText(plot, r, c, text, annotationTextColor(fill), options.style);
      }
    }
  if (options.colorBar) addColorBar(plot, options.style, options.palette, options.colorBarLabel);
  if (options.showIntervals && !options.showStd && scores.hasSamples())
    addLegend(plot, {}, options.style,
              QStringLiteral("[lo–hi]: the 95 % interval of each accuracy (Wilson; %1 samples per cell)").arg(sampleRange(scores)));
  addTitle(plot, options.title, options.style);
}

void drawCompare(QCustomPlot* plot, const Matrix& model, const Matrix& baseline, const CompareOptions& options) {
  const Matrix labels = pairLabels(model, baseline, QStringLiteral("compare heatmap"));
  requireFinite(model, options.modelName, false);
  requireFinite(baseline, options.baselineName, false);
  if (options.showStd && !model.hasStddev())
    throw PlotError(QStringLiteral("compare heatmap: \"±sd\" was requested but the %1 matrix has no per-cell "
                                   "standard deviation (give a mean over several seeds)")
                        .arg(options.modelName));
  const DifferenceIntervals* ci = options.differences ? &*options.differences : nullptr;
  if (ci) ci->validate(labels);
  const bool withIntervals = ci || (options.intervals && model.hasSamples() && baseline.hasSamples());
  setupGrid(plot, labels, options.xLabel, options.yLabel, options.style);
  auto fillAt = [&](int r, int c) {
    return compareVerdictColor(ci ? compareVerdict(model, baseline, r, c, *ci) : compareVerdict(model, baseline, r, c, options.intervals),
                               options.palette);
  };
  for (int r = 0; r < labels.rows; ++r)
    for (int c = 0; c < labels.cols; ++c) addRect(plot, r, c, QBrush(fillAt(r, c)), QPen(kGridGrey, 1.0), cellItemName(r, c));
  // Borders after all fills, so a neighbour's grey line never covers a black edge.
  for (int r = 0; r < labels.rows; ++r)
    for (int c = 0; c < labels.cols; ++c)
      if (model.at(r, c) != baseline.at(r, c))
        addRect(plot, r, c, Qt::NoBrush, QPen(Qt::black, 1.0), borderItemName(r, c));
  if (options.annotate)
    for (int r = 0; r < labels.rows; ++r)
      for (int c = 0; c < labels.cols; ++c) {
        const double sd = options.showStd ? model.sdAt(r, c) : 0.0;
        QString text = annotationText(model.at(r, c), options.decimals, options.showStd ? &sd : nullptr);
        if (!options.showStd && ci && ci->has(r, c))
          text += QStringLiteral("\nΔ %1 [%2, %3]")
                      .arg(signedText(model.at(r, c) - baseline.at(r, c)), signedText(ci->low[ci->index(r, c)]),
                           signedText(ci->high[ci->index(r, c)]));
        else if (!options.showStd && !ci && withIntervals && model.samplesAt(r, c) > 0 && baseline.samplesAt(r, c) > 0)
          text += QStringLiteral("\nΔ %1").arg(signedText(model.at(r, c) - baseline.at(r, c)));
        addText(plot, r, c, text, annotationTextColor(fillAt(r, c)), options.style);
      }
  if (options.legend) {
    const QString& m = options.modelName;
    const QString& b = options.baselineName;
    const Palette p = options.palette;
    std::vector<std::pair<QColor, QString>> entries;
    QString note;
    if (withIntervals) {
      entries = {{compareVerdictColor(CompareVerdict::ClearlyBetter, p), QStringLiteral("%1 higher (clear)").arg(m)},
                 {compareVerdictColor(CompareVerdict::ClearlyWorse, p), QStringLiteral("%1 higher (clear)").arg(b)},
                 {compareVerdictColor(CompareVerdict::Better, p), QStringLiteral("%1 higher (within noise)").arg(m)},
                 {compareVerdictColor(CompareVerdict::Worse, p), QStringLiteral("%1 higher (within noise)").arg(b)},
                 {compareVerdictColor(CompareVerdict::Equal, p), QStringLiteral("equal")}};
      note = ci ? QStringLiteral("Cells: the first model's accuracy (%), Δ and its 95 % interval (%1). Clear: the "
                                 "interval excludes 0.")
                      .arg(ci->method)
                : QStringLiteral("Cells: the first model's accuracy (%) and Δ, the difference. Clear: the 95 % interval "
                                 "of Δ excludes 0.");
    } else {
      entries = {{compareVerdictColor(CompareVerdict::Better, p), QStringLiteral("%1 higher").arg(m)},
                 {compareVerdictColor(CompareVerdict::Worse, p), QStringLiteral("%1 higher").arg(b)},
                 {compareVerdictColor(CompareVerdict::Equal, p), QStringLiteral("equal")}};
      note = QStringLiteral("Cells: the first model's accuracy (%).");
    }
    addLegend(plot, entries, options.style, note);
  }
  addTitle(plot, options.title, options.style);
}

CompareVerdict compareVerdict(const Matrix& model, const Matrix& baseline, int r, int c, const DifferenceIntervals& d) {
  const double m = model.at(r, c), b = baseline.at(r, c);
  if (m == b) return CompareVerdict::Equal;
  if (d.excludesZero(r, c)) return m > b ? CompareVerdict::ClearlyBetter : CompareVerdict::ClearlyWorse;
  return m > b ? CompareVerdict::Better : CompareVerdict::Worse;
}

CompareVerdict compareVerdict(const Matrix& model, const Matrix& baseline, int r, int c, bool intervals) {
  const double m = model.at(r, c), b = baseline.at(r, c);
  if (m == b) return CompareVerdict::Equal;
  const int64_t nm = model.samplesAt(r, c), nb = baseline.samplesAt(r, c);
  if (intervals && nm > 0 && nb > 0) {
    const bool clear = !stats::newcombe_difference(m / 100.0, nm, b / 100.0, nb).contains(0.0);
    if (clear) return m > b ? CompareVerdict::ClearlyBetter : CompareVerdict::ClearlyWorse;
  }
  return m > b ? CompareVerdict::Better : CompareVerdict::Worse;
}

QColor compareVerdictColor(CompareVerdict v, Palette p) {
  switch (v) {
    case CompareVerdict::ClearlyBetter: return compareClearWinColor(p);
    case CompareVerdict::ClearlyWorse: return compareClearLoseColor(p);
    case CompareVerdict::Better: return compareWinColor(p);
    case CompareVerdict::Worse: return compareLoseColor(p);
    case CompareVerdict::Equal: break;
  }
  return QColor(Qt::white);
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
  // A ratio with a zero score is undefined: the seed draws it as a white 0; here it says so.
  auto undefinedAt = [&](int r, int c) { return model.at(r, c) == 0.0 || baseline.at(r, c) == 0.0; };
  auto ratioFill = [&](int r, int c) {
    return undefinedAt(r, c) && options.palette == Palette::ColorBlind ? missingColor()
                                                                       : ratioCellColor(model.at(r, c), baseline.at(r, c), options.palette);
  };
  for (int r = 0; r < ratio.rows; ++r)
    for (int c = 0; c < ratio.cols; ++c)
      addRect(plot, r, c, QBrush(ratioFill(r, c)), Qt::NoPen, cellItemName(r, c));
  const DifferenceIntervals* ci = options.differences ? &*options.differences : nullptr;
  if (ci) ci->validate(ratio);
  for (int r = 0; r < ratio.rows; ++r)
    for (int c = 0; c < ratio.cols; ++c)
      addRect(plot, r, c, Qt::NoBrush, QPen(Qt::black, ci && ci->excludesZero(r, c) ? 3.0 : 1.0), borderItemName(r, c));
  if (options.annotate)
    for (int r = 0; r < ratio.rows; ++r)
      for (int c = 0; c < ratio.cols; ++c) {
        QString text = !undefinedAt(r, c) ? QString::number(ratio.at(r, c), 'f', options.decimals)
                       : model.at(r, c) == baseline.at(r, c) ? QStringLiteral("0 / 0")
                                                              : QStringLiteral("n/a");
        if (options.showStd)
          text += QStringLiteral("\n±%1 / ±%2")
                      .arg(QString::number(model.sdAt(r, c), 'f', options.decimals),
                           QString::number(baseline.sdAt(r, c), 'f', options.decimals));
        addText(plot, r, c, text, annotationTextColor(ratioFill(r, c)), options.style);
      }
  if (options.legend) {
    const Palette p = options.palette;
    addLegend(plot,
              {{ratioCellColor(2, 1, p), QStringLiteral("%1 higher").arg(options.modelName)},
               {ratioCellColor(1, 2, p), QStringLiteral("%1 higher").arg(options.baselineName)},
               {p == Palette::ColorBlind ? missingColor() : QColor(Qt::white), QStringLiteral("undefined: a score is 0")}},
              options.style,
              ci ? QStringLiteral("Numbers: higher / lower accuracy; darker = larger ratio. Thick border: the 95 % "
                                  "interval of the difference (%1) excludes 0.")
                       .arg(ci->method)
                 : QStringLiteral("Numbers: higher / lower accuracy; darker = larger ratio; 0 / 0: both score 0."));
  }
  addTitle(plot, options.title, options.style);
}

QString heatmapToolTip(const Matrix& scores, int row, int col, int decimals) {
  QString text =
      QStringLiteral("%1 · %2: %3")
          .arg(scores.rowLabel(row), scores.colLabel(col), QString::number(scores.at(row, col), 'f', decimals));
  if (scores.hasStddev()) text += sdSuffix(scores, row, col, decimals) + QStringLiteral(" (sd over seeds)");
  if (const int64_t n = scores.samplesAt(row, col); n > 0) {
    const auto i = stats::wilson(scores.at(row, col) / 100.0, n);
    text += QStringLiteral("\n95 % interval %1–%2 (Wilson, %3 samples)").arg(100 * i.low, 0, 'f', 1).arg(100 * i.high, 0, 'f', 1).arg(n);
  }
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
  const int64_t nm = model.samplesAt(row, col), nb = baseline.samplesAt(row, col);
  if (options.differences && options.differences->has(row, col)) {
    const auto& d = *options.differences;
    const auto k = d.index(row, col);
    text += QStringLiteral("\ndifference %1, 95 % interval %2 to %3 (%4; %5 seed(s)%6): %7")
                .arg(signedText(m - b))
                .arg(d.low[k], 0, 'f', 1)
                .arg(d.high[k], 0, 'f', 1)
                .arg(d.method)
                .arg(d.seeds[k])
                .arg(d.samples[k] > 0 ? QStringLiteral(", %1 samples each").arg(d.samples[k]) : QString())
                .arg(d.excludesZero(row, col) ? QStringLiteral("clear") : QStringLiteral("within noise"));
  } else if (nm > 0 && nb > 0) {
    const auto i = stats::newcombe_difference(m / 100.0, nm, b / 100.0, nb);
    text += QStringLiteral("\ndifference %1, 95 % interval %2 to %3 (Newcombe; %4 and %5 samples): %6")
                .arg(signedText(m - b))
                .arg(100 * i.low, 0, 'f', 1)
                .arg(100 * i.high, 0, 'f', 1)
                .arg(nm)
                .arg(nb)
                .arg(i.contains(0.0) ? QStringLiteral("within sampling noise") : QStringLiteral("clear"));
  }
  return text;
}

}  // namespace dm::plotting
