#include "plotting/per_token_chart.h"

#include <cmath>
#include <qcustomplot.h>

#include "plotting/errors.h"
#include "plotting/figure.h"

namespace dm::plotting {
namespace {

void check(const std::vector<PerTokenSeries>& series, const PerTokenOptions& o) {
  if (series.empty()) throw PlotError(QStringLiteral("per-token loss: no series to draw"));
  const size_t n = series.front().loss.size();
  for (const auto& s : series) {
    if (s.loss.size() != n)
      throw PlotError(QStringLiteral("per-token loss: %1 has %2 positions, %3 has %4; compare sequences of one length")
                          .arg(s.label)
                          .arg(s.loss.size())
                          .arg(series.front().label)
                          .arg(n));
    for (double v : s.loss)
      if (!std::isfinite(v)) throw PlotError(QStringLiteral("per-token loss: %1 has a non-finite loss").arg(s.label));
  }
  if (static_cast<int>(n) <= o.start)
    throw PlotError(QStringLiteral("per-token loss: %1 positions, none past the first drawn (%2)").arg(n).arg(o.start));
  if (o.window < 1) throw PlotError(QStringLiteral("per-token loss: window %1 must be ≥ 1").arg(o.window));
}

}  // namespace

std::vector<double> centredMovingAverage(const std::vector<double>& v, int window) {
  const int64_t n = static_cast<int64_t>(v.size()), half = window / 2;
  std::vector<double> prefix(v.size() + 1, 0.0), out(v.size());
  for (size_t i = 0; i < v.size(); ++i) prefix[i + 1] = prefix[i] + v[i];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t lo = std::max<int64_t>(0, i - half), hi = std::min<int64_t>(n, i + half + 1);
    out[static_cast<size_t>(i)] = (prefix[static_cast<size_t>(hi)] - prefix[static_cast<size_t>(lo)]) / static_cast<double>(hi - lo);
  }
  return out;
}

std::vector<double> cumulativePerplexity(const std::vector<double>& loss) {
  std::vector<double> out(loss.size());
  double sum = 0;
  for (size_t i = 0; i < loss.size(); ++i) {
    sum += loss[i];
    out[i] = std::exp(sum / static_cast<double>(i + 1));
  }
  return out;
}

void drawPerTokenLoss(QCustomPlot* plot, const std::vector<PerTokenSeries>& series, const PerTokenOptions& o) {
  check(series, o);
  resetPlot(plot);
  applyStyle(plot, o.style);
  const int n = static_cast<int>(series.front().loss.size());
  auto* top = plot->axisRect();
  auto* bottom = new QCPAxisRect(plot);
  plot->plotLayout()->addElement(1, 0, bottom);
  for (auto* ax : bottom->axes()) styleAxis(ax, o.style);
  auto* group = new QCPMarginGroup(plot);
  top->setMarginGroup(QCP::msLeft | QCP::msRight, group);
  bottom->setMarginGroup(QCP::msLeft | QCP::msRight, group);
  const auto& colors = okabeIto();
  double lo = INFINITY, hi = -INFINITY, plo = INFINITY, phi = -INFINITY;
  for (size_t k = 0; k < series.size(); ++k) {
    const auto smooth = centredMovingAverage(series[k].loss, o.window);
    const auto ppl = cumulativePerplexity(series[k].loss);
    QVector<double> x, y, yp;
    for (int i = o.start; i < n; ++i) {
      x.push_back(i);
      y.push_back(smooth[static_cast<size_t>(i)]);
      yp.push_back(ppl[static_cast<size_t>(i)]);
      lo = std::min(lo, y.back()), hi = std::max(hi, y.back());
      plo = std::min(plo, yp.back()), phi = std::max(phi, yp.back());
    }
    const QColor c = colors[(k + 1) % colors.size()];  // skip black: orange, sky blue, green, …
    auto* g = plot->addGraph(top->axis(QCPAxis::atBottom), top->axis(QCPAxis::atLeft));
    g->setPen(QPen(c, o.style.lineWidth));
    g->setName(series[k].label);
    g->setData(x, y, true);
    auto* gp = plot->addGraph(bottom->axis(QCPAxis::atBottom), bottom->axis(QCPAxis::atLeft));
    gp->setPen(QPen(c, o.style.lineWidth));
    gp->setName(series[k].label);
    gp->removeFromLegend();
    gp->setData(x, yp, true);
  }
  const int tick = std::max(1, std::min(o.tickEvery, std::max(1, n / 4)));
  for (auto* r : {top, bottom}) {
    auto* xa = r->axis(QCPAxis::atBottom);
    // Ticks every `tick` positions, labelled in k (1k = 1,024 tokens) when they fall on whole k, as the seed's.
    QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
    for (int v = tick; v < n + tick; v += tick)
      t->addTick(v, v % 1024 == 0 ? QStringLiteral("%1k").arg(v / 1024) : QString::number(v));
    t->setSubTickCount(0);
    xa->setTicker(t);
    xa->setRange(o.start, n);
    if (o.trainingLength > 0 && o.trainingLength < n) {
      auto* line = new QCPItemStraightLine(plot);
      line->setClipAxisRect(r);
      line->point1->setAxes(xa, r->axis(QCPAxis::atLeft));
      line->point2->setAxes(xa, r->axis(QCPAxis::atLeft));
      line->point1->setCoords(o.trainingLength, 0);
      line->point2->setCoords(o.trainingLength, 1);
      line->setPen(QPen(o.style.foreground, 1.2, Qt::DashLine));
      line->setObjectName(QStringLiteral("trainingLength"));
    }
  }
  const double pad = (hi - lo) * 0.05 + 1e-9, ppad = (phi - plo) * 0.05 + 1e-9;
  top->axis(QCPAxis::atLeft)->setRange(lo - pad, hi + pad);
  top->axis(QCPAxis::atLeft)->setLabel(QStringLiteral("Loss (moving average, %1)").arg(o.window));
  bottom->axis(QCPAxis::atLeft)->setRange(plo - ppad, phi + ppad);
  bottom->axis(QCPAxis::atLeft)->setLabel(QStringLiteral("Cumulative perplexity"));
  bottom->axis(QCPAxis::atBottom)->setLabel(QStringLiteral("Token position"));
  if (!o.title.isEmpty()) {
    plot->plotLayout()->insertRow(0);
    auto* title = new QCPTextElement(plot, o.title, QFont(o.style.fontFamily, static_cast<int>(o.style.axisLabelPt)));
    plot->plotLayout()->addElement(0, 0, title);
  }
  plot->legend->setVisible(true);
  top->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
}

void writePerTokenCsv(const std::vector<PerTokenSeries>& series, const PerTokenOptions& o, const QString& path) {
  check(series, o);
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) throw PlotError(QStringLiteral("%1: cannot write").arg(path));
  QTextStream out(&f);
  out << "position";
  std::vector<std::vector<double>> smooth, ppl;
  for (const auto& s : series) {
    out << ',' << s.label << " loss," << s.label << " smoothed," << s.label << " cumulative perplexity";
    smooth.push_back(centredMovingAverage(s.loss, o.window));
    ppl.push_back(cumulativePerplexity(s.loss));
  }
  out << '\n';
  const int n = static_cast<int>(series.front().loss.size());
  for (int i = o.start; i < n; ++i) {
    out << i;
    for (size_t k = 0; k < series.size(); ++k)
      out << ',' << QString::number(series[k].loss[static_cast<size_t>(i)], 'g', 10) << ','
          << QString::number(smooth[k][static_cast<size_t>(i)], 'g', 10) << ','
          << QString::number(ppl[k][static_cast<size_t>(i)], 'g', 10);
    out << '\n';
  }
}

}  // namespace dm::plotting
