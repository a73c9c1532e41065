#include "plotting/curve_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

#include "plotting/csv.h"
#include "plotting/curve_graph.h"
#include "plotting/errors.h"
#include "plotting/figure.h"

namespace dm::plotting {

namespace {

QCPLayer* bufferedLayer(QCustomPlot* plot, const QString& name, QCPLayer* below) {
  if (!plot->layer(name)) plot->addLayer(name, below, QCustomPlot::limAbove);
  QCPLayer* layer = plot->layer(name);
  layer->setMode(QCPLayer::lmBuffered);
  return layer;
}

struct Flag {
  bool& flag;
  explicit Flag(bool& f) : flag(f) { flag = true; }
  ~Flag() { flag = false; }
};

}  // namespace

CurvePlot::CurvePlot(QCustomPlot* plot, const Style& style, QObject* parent)
    : QObject(parent), plot_(plot), style_(style) {
  resetPlot(plot);
  applyStyle(plot, style);
  layer_ = bufferedLayer(plot, QStringLiteral("dmCurves"), plot->layer(QStringLiteral("main")));
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->setNoAntialiasingOnDrag(true);
  plot->legend->setVisible(true);
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  auto userMoved = [this](const QCPRange&) {
    if (!settingRange_) autoRange_ = false;
  };
  connect(plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, userMoved);
  connect(plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, userMoved);
  connect(plot, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) {
    setAutoRange(true);
    replot();
  });
  setupXAxis();
  setupYAxis();
}

CurvePlot::~CurvePlot() { removeAllCurves(); }

CurvePlot::Curve& CurvePlot::curveAt(int curve, const char* what) {
  return const_cast<Curve&>(static_cast<const CurvePlot*>(this)->curveAt(curve, what));
}

const CurvePlot::Curve& CurvePlot::curveAt(int curve, const char* what) const {
  if (curve < 0 || curve >= curveCount())
    throw PlotError(QStringLiteral("%1: curve %2 does not exist (%3 curves)")
                        .arg(QLatin1String(what))
                        .arg(curve)
                        .arg(curveCount()));
  return *curves_[static_cast<size_t>(curve)];
}

const std::vector<double>& CurvePlot::keysOf(const Curve& c) const {
  return xAxis_ == XAxis::WallTime ? c.walls : c.steps;
}

void CurvePlot::connectSources(Curve& c) {
  c.raw->setSource(&keysOf(c), &c.y);
  c.smooth->setSource(&keysOf(c), &c.smoothed);
}

int CurvePlot::addCurve(const QString& label) { return addCurve(label, seriesColor(curveCount())); }

int CurvePlot::addCurve(const QString& label, const QColor& color) {
  if (!plot_) throw PlotError(QStringLiteral("add curve: the plot no longer exists"));
  auto c = std::make_unique<Curve>();
  c->label = label;
  c->color = color;
  c->smoother = IncrementalSmoother(weight_);
  c->raw = new CurveGraph(plot_->xAxis, plot_->yAxis, CurveGraph::Kind::Raw);
  c->raw->setLayer(layer_);
  c->raw->removeFromLegend();
  c->raw->setName(label + QStringLiteral(" (raw)"));
  // Raw curves below every smoothed one: move the existing smoothed curves above the new raw one.
  for (auto& other : curves_) {
    other->smooth->setLayer(plot_->layer(QStringLiteral("main")));
    other->smooth->setLayer(layer_);
  }
  c->smooth = new CurveGraph(plot_->xAxis, plot_->yAxis, CurveGraph::Kind::Smoothed);
  c->smooth->setLayer(layer_);
  c->smooth->setName(label);
  connectSources(*c);
  applyCurveLook(*c);
  curves_.push_back(std::move(c));
  needFullReplot_ = true;
  return curveCount() - 1;
}

void CurvePlot::removeAllCurves() {
  if (plot_)
    for (auto& c : curves_) {
      plot_->removeGraph(c->raw);
      plot_->removeGraph(c->smooth);
    }
  curves_.clear();
  needFullReplot_ = true;
}

void CurvePlot::setAxisNames(const QString& step, const QString& wallSeconds, const QString& wallClock) {
  stepName_ = step;
  wallSecondsName_ = wallSeconds;
  wallClockName_ = wallClock;
  setupXAxis();
  needFullReplot_ = true;
}

void CurvePlot::removeCurve(int curve) {
  Curve& c = curveAt(curve, "remove curve");
  if (plot_) {
    plot_->removeGraph(c.raw);
    plot_->removeGraph(c.smooth);
  }
  curves_.erase(curves_.begin() + curve);
  needFullReplot_ = true;
}

void CurvePlot::applyCurveLook(Curve& c) {
  // The raw curve: the series colour at rawCurveAlpha over the background, pre-blended (opaque), so
  // its segments do not darken where they meet.
  const double a = style_.rawCurveAlpha;
  auto mix = [a](int fg, int bg) { return static_cast<int>(std::lround(a * fg + (1.0 - a) * bg)); };
  const QColor faint(mix(c.color.red(), style_.background.red()), mix(c.color.green(), style_.background.green()),
                     mix(c.color.blue(), style_.background.blue()));
  c.raw->setPen(QPen(faint, 1.0));
  c.raw->setVisible(weight_ > 0.0);  // at weight 0 the smoothed curve is the raw curve
  c.smooth->setPen(QPen(c.color, style_.lineWidth));
}

void CurvePlot::appendPoints(int curve, const std::vector<double>& steps, const std::vector<double>& y) {
  appendPoints(curve, steps, y, {});
}

void CurvePlot::appendPoints(int curve, const std::vector<double>& steps, const std::vector<double>& y,
                             const std::vector<double>& wallSeconds) {
  Curve& c = curveAt(curve, "append points");
  const QString where = QStringLiteral("append points to curve %1 (%2)").arg(curve).arg(c.label);
  if (steps.size() != y.size())
    throw PlotError(QStringLiteral("%1: %2 steps but %3 values").arg(where).arg(steps.size()).arg(y.size()));
  const bool withWall = !wallSeconds.empty();
  if (withWall && wallSeconds.size() != y.size())
    throw PlotError(QStringLiteral("%1: %2 wall times for %3 values").arg(where).arg(wallSeconds.size()).arg(y.size()));
  if (y.empty()) return;
  if (!c.y.empty() && withWall != c.hasWall)
    throw PlotError(QStringLiteral("%1: the curve was started %2 wall times; give them with every append or never")
                        .arg(where, c.hasWall ? QStringLiteral("with") : QStringLiteral("without")));
  if (!withWall && xAxis_ == XAxis::WallTime)
    throw PlotError(QStringLiteral("%1: the plot shows wall time but no wall times were given").arg(where));
  auto checkOrder = [&](const std::vector<double>& v, const std::vector<double>& existing, const char* name) {
    double previous = existing.empty() ? -std::numeric_limits<double>::infinity() : existing.back();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i]) || v[i] < previous)
        throw PlotError(QStringLiteral("%1: %2 %3 at position %4 comes after %5; %2s must be finite and "
                                       "non-decreasing")
                            .arg(where, QLatin1String(name))
                            .arg(v[i])
                            .arg(i)
                            .arg(previous));
      previous = v[i];
    }
  };
  checkOrder(steps, c.steps, "step");
  if (withWall) checkOrder(wallSeconds, c.walls, "wall time");
  if (c.y.empty()) c.hasWall = withWall;

  c.steps.insert(c.steps.end(), steps.begin(), steps.end());
  c.y.insert(c.y.end(), y.begin(), y.end());
  if (withWall) c.walls.insert(c.walls.end(), wallSeconds.begin(), wallSeconds.end());
  for (double v : y) {
    if (!std::isfinite(v)) continue;
    if (!c.hasY) {
      c.yMin = c.yMax = v;
      c.hasY = true;
    }
    c.yMin = std::min(c.yMin, v);
    c.yMax = std::max(c.yMax, v);
    if (v > 0.0) {
      c.yMinPositive = c.hasPositiveY ? std::min(c.yMinPositive, v) : v;
      c.hasPositiveY = true;
    }
  }
  c.smoother.update(c.y, c.smoothed);  // O(new points), or all once a constant start ends
}

void CurvePlot::setSmoothing(double weight) {
  IncrementalSmoother fresh(weight);  // validates
  weight_ = weight;
  for (auto& c : curves_) {
    c->smoother = fresh;
    c->smoothed.clear();
    c->smoother.update(c->y, c->smoothed);
    applyCurveLook(*c);
  }
  needFullReplot_ = true;
}

void CurvePlot::setXAxis(XAxis axis) {
  if (axis == XAxis::WallTime)
    for (const auto& c : curves_)
      if (!c->y.empty() && !c->hasWall)
        throw PlotError(QStringLiteral("wall-time axis: curve \"%1\" has no wall times (only steps)").arg(c->label));
  xAxis_ = axis;
  for (auto& c : curves_) connectSources(*c);
  setupXAxis();
  needFullReplot_ = true;
}

void CurvePlot::setLogX(bool on) {
  logX_ = on;
  setupXAxis();
  needFullReplot_ = true;
}

void CurvePlot::setLogY(bool on) {
  logY_ = on;
  setupYAxis();
  needFullReplot_ = true;
}

void CurvePlot::setYLabel(const QString& label) {
  if (plot_) plot_->yAxis->setLabel(label);
  needFullReplot_ = true;
}

void CurvePlot::setupXAxis() {
  if (!plot_) return;
  Flag guard(settingRange_);
  QCPAxis* x = plot_->xAxis;
  x->setScaleType(logX_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (logX_) {
    x->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog));
    x->setNumberFormat(QStringLiteral("eb"));
    x->setNumberPrecision(0);
  } else if (xAxis_ == XAxis::WallTime) {
    QSharedPointer<QCPAxisTickerTime> ticker(new QCPAxisTickerTime);
    ticker->setTimeFormat(QStringLiteral("%h:%m:%s"));
    x->setTicker(ticker);
  } else {
    x->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    x->setNumberFormat(QStringLiteral("gb"));
    x->setNumberPrecision(6);
  }
  if (xAxis_ == XAxis::Step)
    x->setLabel(stepName_);
  else
    x->setLabel(logX_ ? wallSecondsName_ : wallClockName_);
  if (autoRange_) rescale();
}

void CurvePlot::setupYAxis() {
  if (!plot_) return;
  Flag guard(settingRange_);
  QCPAxis* y = plot_->yAxis;
  y->setScaleType(logY_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (logY_) {
    QSharedPointer<QCPAxisTickerLog> ticker(new QCPAxisTickerLog);
    ticker->setSubTickCount(8);
    y->setTicker(ticker);
    y->setNumberFormat(QStringLiteral("gb"));
    y->setNumberPrecision(3);
  } else {
    y->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    y->setNumberFormat(QStringLiteral("gb"));
    y->setNumberPrecision(6);
  }
  if (autoRange_) rescale();
}

void CurvePlot::setAutoRange(bool on) {
  autoRange_ = on;
  if (on) rescale();
  needFullReplot_ = true;
}

void CurvePlot::rescale() {
  if (!plot_) return;
  Flag guard(settingRange_);
  bool haveX = false, haveY = false;
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  for (const auto& cp : curves_) {
    const Curve& c = *cp;
    if (c.y.empty()) continue;
    const std::vector<double>& keys = keysOf(c);
    double a = keys.front();
    const double b = keys.back();
    if (logX_ && a <= 0.0) {  // log axis: the first positive key (keys are sorted)
      const auto it = std::upper_bound(keys.begin(), keys.end(), 0.0);
      if (it == keys.end()) continue;
      a = *it;
    }
    x0 = haveX ? std::min(x0, a) : a;
    x1 = haveX ? std::max(x1, b) : b;
    haveX = true;
    if (!(logY_ ? c.hasPositiveY : c.hasY)) continue;
    const double lo = logY_ ? c.yMinPositive : c.yMin;
    y0 = haveY ? std::min(y0, lo) : lo;
    y1 = haveY ? std::max(y1, c.yMax) : c.yMax;
    haveY = true;
  }
  QCPAxis* x = plot_->xAxis;
  QCPAxis* y = plot_->yAxis;
  if (haveX) {
    if (x1 <= x0) x1 = x0 + (logX_ ? x0 : 1.0);
    x->setRange(x0, x1);
  }
  if (haveY) {
    if (logY_) {
      if (y1 <= y0) y1 = y0 * 10.0;
      const double f = std::pow(y1 / y0, 0.04);
      y->setRange(y0 / f, y1 * f);
    } else {
      if (y1 <= y0) {
        y0 -= 0.5;
        y1 += 0.5;
      }
      const double m = 0.04 * (y1 - y0);
      y->setRange(y0 - m, y1 + m);
    }
  }
}

void CurvePlot::replot() {
  if (!plot_) return;
  if (autoRange_) {
    const QCPRange oldX = plot_->xAxis->range(), oldY = plot_->yAxis->range();
    rescale();
    if (plot_->xAxis->range() != oldX || plot_->yAxis->range() != oldY) needFullReplot_ = true;
  }
  if (needFullReplot_) {
    plot_->replot(QCustomPlot::rpImmediateRefresh);
    needFullReplot_ = false;
  } else {
    // Only the curves changed: redraw their buffered layer (QCustomPlot falls back to a full replot
    // when its paint buffers are not valid, e.g. after a resize).
    layer_->replot();
  }
}

Series CurvePlot::rawSeries(int curve) const {
  const Curve& c = curveAt(curve, "raw series");
  return Series{keysOf(c), c.y, c.label};
}

Series CurvePlot::smoothedSeries(int curve) const {
  const Curve& c = curveAt(curve, "smoothed series");
  return Series{keysOf(c), c.smoothed, c.label};
}

std::vector<CurvePlot::Readout> CurvePlot::readoutAt(double x) const {
  std::vector<Readout> out;
  for (size_t i = 0; i < curves_.size(); ++i) {
    const Curve& c = *curves_[i];
    const std::vector<double>& keys = keysOf(c);
    if (keys.empty() || keys.size() != c.y.size()) continue;
    // Keys are sorted: the nearest is the first at or after x, or the one before it.
    auto it = std::lower_bound(keys.begin(), keys.end(), x);
    size_t k = it == keys.end() ? keys.size() - 1 : static_cast<size_t>(it - keys.begin());
    if (k > 0 && std::abs(keys[k - 1] - x) <= std::abs(keys[k] - x)) --k;
    Readout r;
    r.curve = static_cast<int>(i);
    r.label = c.label;
    r.color = c.color;
    r.step = c.steps[k];
    r.hasWall = c.hasWall;
    r.wallSeconds = c.hasWall ? c.walls[k] : 0.0;
    r.y = c.y[k];
    r.smoothed = k < c.smoothed.size() ? c.smoothed[k] : c.y[k];
    out.push_back(r);
  }
  return out;
}

int CurvePlot::pointCount(int curve) const { return static_cast<int>(curveAt(curve, "point count").y.size()); }
CurveGraph* CurvePlot::rawGraph(int curve) const { return curveAt(curve, "raw graph").raw; }
CurveGraph* CurvePlot::smoothedGraph(int curve) const { return curveAt(curve, "smoothed graph").smooth; }
QString CurvePlot::curveLabel(int curve) const { return curveAt(curve, "curve label").label; }

void CurvePlot::writeCsv(const QString& path) const {
  CsvWriter out(path);
  out.row({QStringLiteral("curve"), QStringLiteral("step"), QStringLiteral("wall_s"), QStringLiteral("y"),
           QStringLiteral("y_smoothed")});
  writeCsvRows(out, {});
  out.commit();
}

void CurvePlot::writeCsvRows(CsvWriter& out, const QStringList& before) const {
  for (const auto& cp : curves_) {
    const Curve& c = *cp;
    for (size_t i = 0; i < c.y.size(); ++i)
      out.row(before + QStringList{c.label, csvNumber(c.steps[i]), c.hasWall ? csvNumber(c.walls[i]) : QString(),
                                   csvNumber(c.y[i]), csvNumber(c.smoothed[i])});
  }
}

}  // namespace dm::plotting
