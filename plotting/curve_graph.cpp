#include "plotting/curve_graph.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dm::plotting {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// pixel = a · t(coord) + b, with t the identity or ln for a logarithmic axis — the same affine map
// QCPAxis::coordToPixel applies, evaluated without a function call per point.
struct AxisMap {
  bool log = false;
  double a = 0.0, b = 0.0;

  explicit AxisMap(const QCPAxis* axis) : log(axis->scaleType() == QCPAxis::stLogarithmic) {
    const QCPRange r = axis->range();
    const double t0 = log ? std::log(r.lower) : r.lower;
    const double t1 = log ? std::log(r.upper) : r.upper;
    const double p0 = axis->coordToPixel(r.lower), p1 = axis->coordToPixel(r.upper);
    a = t1 != t0 ? (p1 - p0) / (t1 - t0) : 0.0;
    b = p0 - a * t0;
  }
  bool valid(double c) const { return std::isfinite(c) && (!log || c > 0.0); }
  double operator()(double c) const { return a * (log ? std::log(c) : c) + b; }
  double inverse(double pixel) const {
    const double t = (pixel - b) / a;
    return log ? std::exp(t) : t;
  }
};

bool inDomain(double v, QCP::SignDomain d) {
  return d == QCP::sdBoth || (d == QCP::sdPositive && v > 0.0) || (d == QCP::sdNegative && v < 0.0);
}

}  // namespace

CurveGraph::CurveGraph(QCPAxis* keyAxis, QCPAxis* valueAxis, Kind kind) : QCPGraph(keyAxis, valueAxis), kind_(kind) {
  setSelectable(QCP::stNone);
  setAdaptiveSampling(true);  // documents intent; the sampling below is our own
}

void CurveGraph::setSource(const std::vector<double>* keys, const std::vector<double>* values) {
  keys_ = keys;
  values_ = values;
}

QVector<QPointF> CurveGraph::sampledPixels() const {
  QVector<QPointF> out;
  if (!keys_ || !values_ || keys_->empty() || !mKeyAxis || !mValueAxis) return out;
  const std::vector<double>& keys = *keys_;
  const std::vector<double>& values = *values_;
  const size_t n = std::min(keys.size(), values.size());
  const AxisMap kx(mKeyAxis.data()), vy(mValueAxis.data());
  const QCPRange range = mKeyAxis->range();

  // Visible points plus one on each side, so lines leave the axis rect instead of stopping short.
  size_t i0 = static_cast<size_t>(std::lower_bound(keys.begin(), keys.begin() + static_cast<long>(n), range.lower) -
                                  keys.begin());
  size_t i1 = static_cast<size_t>(std::upper_bound(keys.begin(), keys.begin() + static_cast<long>(n), range.upper) -
                                  keys.begin());
  if (i0 > 0) --i0;
  if (i1 < n) ++i1;
  while (i0 < i1 && !kx.valid(keys[i0])) ++i0;  // log key axis: keys ≤ 0 cannot be drawn
  if (i0 >= i1) return out;

  const double span = std::abs(kx(keys[i1 - 1]) - kx(keys[i0]));
  const size_t count = i1 - i0;
  dense_ = static_cast<double>(count) > 2.0 * span + 2.0;
  if (!dense_) {
    out.reserve(static_cast<qsizetype>(count));
    for (size_t i = i0; i < i1; ++i) {
      const double v = values[i];
      out.append(QPointF(kx(keys[i]), vy.valid(v) ? vy(v) : kNaN));
    }
    return out;
  }

  out.reserve(static_cast<qsizetype>(2.0 * span + 8.0));
  const double* K = keys.data();
  const double* V = values.data();
  const bool smoothed = kind_ == Kind::Smoothed;
  // One column's points become one vertex (smoothed: the middle of its range) or its min and max in
  // the order they occur (raw).
  auto push = [&out, &vy, smoothed](double column, double minV, double maxV, size_t minAt, size_t maxAt) {
    if (smoothed) {
      out.append(QPointF(column + 0.5, 0.5 * (vy(minV) + vy(maxV))));
    } else if (minAt == maxAt) {
      out.append(QPointF(column + 0.5, vy(minV)));
    } else {
      const bool minFirst = minAt < maxAt;
      out.append(QPointF(column + 0.25, vy(minFirst ? minV : maxV)));
      out.append(QPointF(column + 0.75, vy(minFirst ? maxV : minV)));
    }
  };
  // Keys are sorted, so a point leaves the current pixel column when its key reaches the column's
  // far edge: one comparison per point instead of mapping every key to pixels.
  const bool increasing = kx.a > 0.0;
  const bool logValues = vy.log;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double edgeKey = -kInf;
  bool have = false;
  double column = 0.0, minV = 0.0, maxV = 0.0;
  size_t minAt = 0, maxAt = 0;
  for (size_t i = i0; i < i1; ++i) {
    const double key = K[i];
    if (key >= edgeKey) {
      const double c = std::floor(kx(key));
      if (c != column) {
        if (have) push(column, minV, maxV, minAt, maxAt);
        have = false;
        column = c;
      }
      edgeKey = kx.a != 0.0 ? kx.inverse(increasing ? c + 1.0 : c) : kInf;
      if (!(edgeKey > key)) edgeKey = std::nextafter(key, kInf);
    }
    const double v = V[i];
    if (!std::isfinite(v) || (logValues && v <= 0.0)) {  // a gap
      if (have) push(column, minV, maxV, minAt, maxAt);
      have = false;
      if (out.isEmpty() || !std::isnan(out.last().y())) out.append(QPointF(column + 0.5, kNaN));
      continue;
    }
    if (!have) {
      minV = maxV = v;
      minAt = maxAt = i;
      have = true;
    } else if (v < minV) {
      minV = v;
      minAt = i;
    } else if (v > maxV) {
      maxV = v;
      maxAt = i;
    }
  }
  if (have) push(column, minV, maxV, minAt, maxAt);
  return out;
}

void CurveGraph::draw(QCPPainter* painter) {
  if (mLineStyle == lsNone || !mKeyAxis || !mValueAxis) return;
  if (mKeyAxis->range().size() <= 0.0) return;
  const QVector<QPointF> lines = sampledPixels();
  if (lines.size() < 2) return;
  painter->setPen(mPen);
  painter->setBrush(Qt::NoBrush);
  drawLinePlot(painter, lines);
}

// Raster painting draws separate segments: Qt strokes one polyline of thousands of self-overlapping
// vertices as a single path, ~50× slower. A dense raw envelope is drawn without antialiasing (a 1-px
// faint band gains nothing from it, and it halves the time). Vector output (PDF, SVG) gets polylines.
void CurveGraph::drawLinePlot(QCPPainter* painter, const QVector<QPointF>& lines) const {
  if (painter->pen().style() == Qt::NoPen || painter->pen().color().alpha() == 0 || lines.size() < 2) return;
  const bool vector = painter->modes().testFlag(QCPPainter::pmVectorized);
  if (kind_ == Kind::Raw && dense_ && !vector)
    painter->setAntialiasing(false);
  else
    applyDefaultAntialiasingHint(painter);
  if (vector) {
    drawPolyline(painter, lines);  // splits at NaN gaps
    return;
  }
  QVector<QLineF> segments;
  segments.reserve(lines.size());
  for (qsizetype i = 1; i < lines.size(); ++i)
    if (!std::isnan(lines[i - 1].y()) && !std::isnan(lines[i].y())) segments.append(QLineF(lines[i - 1], lines[i]));
  painter->drawLines(segments);
}

double CurveGraph::selectTest(const QPointF&, bool, QVariant*) const { return -1.0; }

QCPRange CurveGraph::getKeyRange(bool& foundRange, QCP::SignDomain inSignDomain) const {
  foundRange = false;
  QCPRange r;
  if (!keys_) return r;
  for (double k : *keys_)
    if (std::isfinite(k) && inDomain(k, inSignDomain)) {
      if (!foundRange) r = QCPRange(k, k);
      r.expand(k);
      foundRange = true;
    }
  return r;
}

QCPRange CurveGraph::getValueRange(bool& foundRange, QCP::SignDomain inSignDomain, const QCPRange& inKeyRange) const {
  foundRange = false;
  QCPRange r;
  if (!keys_ || !values_) return r;
  const bool restrict = inKeyRange != QCPRange();
  const size_t n = std::min(keys_->size(), values_->size());
  for (size_t i = 0; i < n; ++i) {
    const double v = (*values_)[i];
    if (!std::isfinite(v) || !inDomain(v, inSignDomain)) continue;
    if (restrict && !inKeyRange.contains((*keys_)[i])) continue;
    if (!foundRange) r = QCPRange(v, v);
    r.expand(v);
    foundRange = true;
  }
  return r;
}

}  // namespace dm::plotting
