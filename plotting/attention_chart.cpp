#include "plotting/attention_chart.h"

#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "plotting/colors.h"
#include "plotting/errors.h"
#include "plotting/figure.h"

namespace dm::plotting {

namespace {

// Runs of consecutive positions within [lo, hi): (first, last + 1).
std::vector<std::pair<int, int>> runs(std::vector<int> pos, int lo, int hi) {
  std::sort(pos.begin(), pos.end());
  std::vector<std::pair<int, int>> out;
  for (int p : pos) {
    if (p < lo || p >= hi) continue;
    if (!out.empty() && out.back().second == p) out.back().second = p + 1;
    else if (out.empty() || out.back().second < p) out.push_back({p, p + 1});
  }
  return out;
}

// The window pooled to at most `maxCells` per side: each cell the entry of largest |M| of its block.
struct Pooled {
  int rows = 0, cols = 0, fr = 1, fc = 1;  // cells and the block size in positions
  std::vector<double> v;
};
Pooled pool(const AttentionPanel& p, int maxCells) {
  Pooled o;
  const int m = std::max(1, maxCells);
  o.fr = (p.rows() + m - 1) / m, o.fc = (p.cols() + m - 1) / m;
  o.rows = (p.rows() + o.fr - 1) / o.fr, o.cols = (p.cols() + o.fc - 1) / o.fc;
  o.v.assign(static_cast<size_t>(o.rows) * o.cols, 0.0);
  std::vector<double> best(o.v.size(), -1.0);
  for (int i = 0; i < p.rows(); ++i)
    for (int j = 0; j < p.cols(); ++j) {
      const double x = p.values[static_cast<size_t>(i) * p.cols() + j];
      const size_t k = static_cast<size_t>(i / o.fr) * o.cols + j / o.fc;
      if (std::abs(x) > best[k]) best[k] = std::abs(x), o.v[k] = x;
    }
  return o;
}

QCPColorGradient gradient(AttentionScale s) {
  QCPColorGradient g;
  g.clearColorStops();
  if (s == AttentionScale::Signed) {
    g.setColorStopAt(0.0, QColor(33, 102, 172));
    g.setColorStopAt(0.25, QColor(146, 197, 222));
    g.setColorStopAt(0.5, QColor(247, 247, 247));
    g.setColorStopAt(0.75, QColor(244, 165, 130));
    g.setColorStopAt(1.0, QColor(178, 24, 43));
  } else {
    for (int k = 0; k <= 8; ++k) g.setColorStopAt(k / 8.0, scoreScaleAt(k / 8.0, Palette::ColorBlind));
  }
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(Qt::white);
  return g;
}

void markSpans(QCustomPlot* plot, QCPAxisRect* r, const std::vector<std::pair<int, int>>& spans, bool horizontal,
               double edge0, double edge1, const QColor& c, const QString& name) {
  for (const auto& [a, b] : spans) {
    auto* rect = new QCPItemRect(plot);
    rect->setClipAxisRect(r);
    rect->setClipToAxisRect(true);
    for (auto* pos : {rect->topLeft, rect->bottomRight}) pos->setAxes(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
    if (horizontal) {  // a strip along the x axis over key columns [a, b)
      rect->topLeft->setCoords(a - 0.5, edge0);
      rect->bottomRight->setCoords(b - 0.5, edge1);
    } else {  // a strip along the y axis over query rows [a, b)
      rect->topLeft->setCoords(edge0, a - 0.5);
      rect->bottomRight->setCoords(edge1, b - 0.5);
    }
    rect->setPen(Qt::NoPen);
    rect->setBrush(c);
    rect->setObjectName(name);
  }
}

}  // namespace

float AttentionPanel::at(int i, int j) const {
  if (i < r0 || i >= r1 || j < c0 || j >= c1)
    throw PlotError(QStringLiteral("attention: (%1, %2) is outside the panel's window").arg(i).arg(j));
  return values[static_cast<size_t>(i - r0) * cols() + (j - c0)];
}

void AttentionPanel::validate() const {
  if (r1 <= r0 || c1 <= c0 || r0 < 0 || c0 < 0)
    throw PlotError(QStringLiteral("attention: %1 has an empty window").arg(label));
  if (values.size() != static_cast<size_t>(rows()) * cols())
    throw PlotError(QStringLiteral("attention: %1 has %2 values for a %3 × %4 window").arg(label).arg(values.size()).arg(rows()).arg(cols()));
  for (float v : values)
    if (!std::isfinite(v)) throw PlotError(QStringLiteral("attention: %1 has a non-finite value").arg(label));
}

std::pair<double, double> attentionRange(const std::vector<AttentionPanel>& panels, AttentionScale scale) {
  std::vector<double> mags;
  double mx = 0;
  for (const auto& p : panels)
    for (float v : p.values) {
      mags.push_back(std::abs(v));
      mx = std::max(mx, static_cast<double>(std::abs(v)));
    }
  if (!(mx > 0)) return scale == AttentionScale::Signed ? std::pair{-1.0, 1.0} : std::pair{-6.0, 0.0};
  if (scale == AttentionScale::LogAbs) return {std::log10(mx) - 6.0, std::log10(mx)};
  const size_t k = std::min(mags.size() - 1, static_cast<size_t>(0.995 * static_cast<double>(mags.size())));
  std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(k), mags.end());
  const double c = mags[k] > 0 ? mags[k] : mx;
  return {-c, c};
}

void drawAttentionFigure(QCustomPlot* plot, const std::vector<AttentionPanel>& panels,
                         const std::vector<AttentionCurve>& curves, const AttentionFigureOptions& o) {
  if (panels.empty()) throw PlotError(QStringLiteral("attention: no map to draw"));
  for (const auto& p : panels) p.validate();
  for (const auto& c : curves)
    if (c.blocks.size() != c.values.size())
      throw PlotError(QStringLiteral("attention: curve %1 has %2 blocks and %3 values").arg(c.label).arg(c.blocks.size()).arg(c.values.size()));
  resetPlot(plot);
  applyStyle(plot, o.style);
  const auto [lo, hi] = attentionRange(panels, o.scale);
  auto* layout = plot->plotLayout();
  // Row 0: the maps and the colour bar; row 1: the curves.
  auto* mapsRow = new QCPLayoutGrid;
  auto* first = plot->xAxis->axisRect();  // the default rect resetPlot kept
  layout->take(first);
  layout->simplify();
  layout->addElement(0, 0, mapsRow);
  QCPColorScale* bar = nullptr;
  for (size_t k = 0; k < panels.size(); ++k) {
    const auto& p = panels[k];
    auto* r = k == 0 ? first : new QCPAxisRect(plot);
    mapsRow->addElement(0, static_cast<int>(k), r);
    for (auto* ax : r->axes()) styleAxis(ax, o.style);
    auto* x = r->axis(QCPAxis::atBottom);
    auto* y = r->axis(QCPAxis::atLeft);
    y->setRangeReversed(true);  // row 0 on top, as a matrix
    x->setLabel(QStringLiteral("Key position j"));
    y->setLabel(k == 0 ? QStringLiteral("Query position i") : QString());
    const auto pooled = pool(p, o.maxCells);
    auto* map = new QCPColorMap(x, y);
    map->setObjectName(QStringLiteral("attentionMap%1").arg(k));
    map->data()->setSize(pooled.cols, pooled.rows);
    // Cell centres in positions; a pooled cell covers fc × fr positions.
    map->data()->setRange(QCPRange(p.c0 + (pooled.fc - 1) / 2.0, p.c0 + (pooled.cols - 1) * pooled.fc + (pooled.fc - 1) / 2.0),
                          QCPRange(p.r0 + (pooled.fr - 1) / 2.0, p.r0 + (pooled.rows - 1) * pooled.fr + (pooled.fr - 1) / 2.0));
    for (int i = 0; i < pooled.rows; ++i)
      for (int j = 0; j < pooled.cols; ++j) {
        const double v = pooled.v[static_cast<size_t>(i) * pooled.cols + j];
        double z = v;
        if (o.scale == AttentionScale::LogAbs) z = v != 0 ? std::max(lo, std::log10(std::abs(v))) : std::nan("");
        map->data()->setCell(j, i, z);
      }
    map->setGradient(gradient(o.scale));
    map->setDataRange(QCPRange(lo, hi));
    map->setInterpolate(false);
    if (!bar) {
      bar = new QCPColorScale(plot);
      bar->setType(QCPAxis::atRight);
      bar->setGradient(gradient(o.scale));
      bar->setDataRange(QCPRange(lo, hi));
      bar->axis()->setLabel(o.scale == AttentionScale::Signed ? QStringLiteral("M (clipped at ±%1)").arg(hi, 0, 'g', 3)
                                                               : QStringLiteral("log10 |M|"));
      styleAxis(bar->axis(), o.style);
    }
    map->setColorScale(bar);
    x->setRange(p.c0 - 0.5, p.c1 - 0.5);
    y->setRange(p.r0 - 0.5, p.r1 - 0.5);
    // Marks: needle columns along the bottom edge and needle / question rows along the left edge (3 % deep).
    const double dr = std::max(1.0, 0.03 * p.rows()), dc = std::max(1.0, 0.03 * p.cols());
    markSpans(plot, r, runs(p.needle, p.c0, p.c1), true, p.r1 - 0.5 - dr, p.r1 - 0.5, QColor(0, 158, 115, 200),
              QStringLiteral("needleX%1").arg(k));
    markSpans(plot, r, runs(p.needle, p.r0, p.r1), false, p.c0 - 0.5, p.c0 - 0.5 + dc, QColor(0, 158, 115, 200),
              QStringLiteral("needleY%1").arg(k));
    markSpans(plot, r, runs(p.question, p.r0, p.r1), false, p.c0 - 0.5, p.c0 - 0.5 + dc, QColor(204, 121, 167, 220),
              QStringLiteral("questionY%1").arg(k));
    auto* label = new QCPItemText(plot);
    label->setClipToAxisRect(false);
    label->position->setType(QCPItemPosition::ptAxisRectRatio);
    label->position->setAxisRect(r);
    label->position->setCoords(0.5, -0.02);
    label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    label->setText(p.label);
    label->setFont(styleFont(o.style, o.style.legendPt));
    label->setColor(o.style.foreground);
    label->setObjectName(QStringLiteral("panelLabel%1").arg(k));
    r->setMinimumMargins(QMargins(10, 28, 10, 10));
  }
  mapsRow->addElement(0, static_cast<int>(panels.size()), bar);
  auto* group = new QCPMarginGroup(plot);
  for (size_t k = 0; k < panels.size(); ++k)
    qobject_cast<QCPAxisRect*>(mapsRow->element(0, static_cast<int>(k)))->setMarginGroup(QCP::msTop | QCP::msBottom, group);
  bar->setMarginGroup(QCP::msTop | QCP::msBottom, group);
  if (!curves.empty()) {
    auto* cr = new QCPAxisRect(plot);
    cr->setObjectName(QStringLiteral("attentionCurves"));
    auto* curvesRow = new QCPLayoutGrid;
    layout->addElement(1, 0, curvesRow);
    curvesRow->addElement(0, 0, cr);
    layout->setRowStretchFactor(0, 2.2);
    layout->setRowStretchFactor(1, 1.0);
    for (auto* ax : cr->axes()) styleAxis(ax, o.style);
    double ylo = INFINITY, yhi = -INFINITY;
    int xlo = INT32_MAX, xhi = INT32_MIN;
    for (size_t k = 0; k < curves.size(); ++k) {
      auto* g = plot->addGraph(cr->axis(QCPAxis::atBottom), cr->axis(QCPAxis::atLeft));
      g->setName(curves[k].label);
      g->setPen(QPen(seriesColor(static_cast<int>(k)), o.style.lineWidth));
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
      for (size_t i = 0; i < curves[k].blocks.size(); ++i) {
        const double v = curves[k].values[i];
        xlo = std::min(xlo, curves[k].blocks[i]), xhi = std::max(xhi, curves[k].blocks[i]);
        if (!std::isfinite(v) || (o.logCurve && v <= 0)) continue;
        g->addData(curves[k].blocks[i], v);
        ylo = std::min(ylo, v), yhi = std::max(yhi, v);
      }
    }
    auto* cy = cr->axis(QCPAxis::atLeft);
    if (o.logCurve) {
      cy->setScaleType(QCPAxis::stLogarithmic);
      QSharedPointer<QCPAxisTickerLog> log(new QCPAxisTickerLog);
      log->setTickCount(4);  // decades; short curve rects would otherwise crowd their labels
      log->setSubTickCount(0);
      cy->setTicker(log);
    }
    if (std::isfinite(ylo)) cy->setRange(o.logCurve ? ylo / 1.5 : ylo - 0.05 * (yhi - ylo + 1e-9), o.logCurve ? yhi * 1.5 : yhi + 0.05 * (yhi - ylo + 1e-9));
    cy->setLabel(o.curveLabel);
    auto* cx = cr->axis(QCPAxis::atBottom);
    cx->setLabel(QStringLiteral("Block"));
    if (xlo <= xhi) cx->setRange(xlo - 0.5, xhi + 0.5);
    QSharedPointer<QCPAxisTickerFixed> t(new QCPAxisTickerFixed);
    t->setTickStep(std::max(1, (xhi - xlo) / 12 + 1));
    t->setScaleStrategy(QCPAxisTickerFixed::ssNone);
    cx->setTicker(t);
    plot->legend->setVisible(true);
    plot->legend->setFont(styleFont(o.style, o.style.legendPt));
    if (auto* holder = qobject_cast<QCPLayoutInset*>(plot->legend->layout()); holder && holder != cr->insetLayout()) {
      holder->take(plot->legend);
      cr->insetLayout()->addElement(plot->legend, Qt::AlignTop | Qt::AlignRight);
    }
  }
  if (!o.title.isEmpty()) {
    layout->insertRow(0);
    layout->addElement(0, 0, new QCPTextElement(plot, o.title, styleFont(o.style, o.style.axisLabelPt)));
  }
}

QString attentionToolTip(const AttentionPanel& p, int row, int col) {
  if (row < p.r0 || row >= p.r1 || col < p.c0 || col >= p.c1 || col > row) return {};
  auto tok = [&](int i) {
    if (i < 0 || i >= p.tokens.size()) return QString();
    QString t = p.tokens[i];
    t.replace('\n', QStringLiteral("\\n"));
    return QStringLiteral(" '%1'").arg(t);
  };
  auto role = [&](int i) {
    if (std::find(p.question.begin(), p.question.end(), i) != p.question.end()) return QStringLiteral(" (question)");
    if (std::find(p.needle.begin(), p.needle.end(), i) != p.needle.end()) return QStringLiteral(" (needle)");
    return QString();
  };
  return QStringLiteral("%1\nquery %2%3%4 → key %5%6%7\nM = %8")
      .arg(p.label)
      .arg(row)
      .arg(tok(row), role(row))
      .arg(col)
      .arg(tok(col), role(col))
      .arg(static_cast<double>(p.at(row, col)), 0, 'g', 4);
}

void writeAttentionCsv(const std::vector<AttentionPanel>& panels, const std::vector<AttentionCurve>& curves,
                       const QString& path) {
  for (const auto& p : panels) p.validate();
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) throw PlotError(QStringLiteral("%1: cannot write").arg(path));
  QTextStream out(&f);
  out << "panel,row,col,value\n";
  for (const auto& p : panels) {
    QString name = p.label;
    name.replace(',', ';');
    for (int i = p.r0; i < p.r1; ++i)
      for (int j = p.c0; j < std::min(p.c1, i + 1); ++j) out << name << ',' << i << ',' << j << ',' << QString::number(p.at(i, j), 'g', 8) << '\n';
  }
  if (!curves.empty()) {
    out << "\ncurve,block,value\n";
    for (const auto& c : curves) {
      QString name = c.label;
      name.replace(',', ';');
      for (size_t i = 0; i < c.blocks.size(); ++i) out << name << ',' << c.blocks[i] << ',' << QString::number(c.values[i], 'g', 8) << '\n';
    }
  }
  if (out.status() != QTextStream::Ok || !f.flush()) throw PlotError(QStringLiteral("%1: write failed").arg(path));
}

}  // namespace dm::plotting
