#include "plotting/seed_bands.h"

#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "plotting/csv.h"
#include "plotting/errors.h"
#include "plotting/figure.h"
#include "plotting/smoothing.h"

namespace dm::plotting {

SeedBand aggregateSeeds(const QString& label, const std::vector<Series>& runs, BandKind kind, double smoothing) {
  if (runs.empty()) throw PlotError(QStringLiteral("seed band %1: no runs").arg(label));
  // x values present in every run (the runs' x are ascending; steps may repeat after a resume: last wins).
  std::vector<std::vector<std::pair<double, double>>> pts;
  for (const auto& r : runs) {
    if (r.x.size() != r.y.size()) throw PlotError(QStringLiteral("seed band %1: %2 has mismatched x and y").arg(label, r.label));
    const auto ys = smoothing > 0 ? tensorboardSmooth(r.y, smoothing) : r.y;
    std::vector<std::pair<double, double>> p;
    for (size_t i = 0; i < r.x.size(); ++i) {
      if (!p.empty() && p.back().first == r.x[i]) p.back().second = ys[i];
      else p.push_back({r.x[i], ys[i]});
    }
    std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    pts.push_back(std::move(p));
  }
  SeedBand b;
  b.label = label;
  b.seeds = static_cast<int>(runs.size());
  std::vector<size_t> at(pts.size(), 0);
  for (const auto& [x, _] : pts.front()) {
    std::vector<double> v;
    for (size_t k = 0; k < pts.size(); ++k) {
      auto& i = at[k];
      while (i < pts[k].size() && pts[k][i].first < x) ++i;
      if (i < pts[k].size() && pts[k][i].first == x && std::isfinite(pts[k][i].second)) v.push_back(pts[k][i].second);
    }
    if (v.size() != pts.size()) continue;  // a step not every seed reached (or a non-finite value)
    double mean = 0;
    for (double y : v) mean += y / static_cast<double>(v.size());
    double lo = mean, hi = mean;
    if (kind == BandKind::MinMax) {
      lo = *std::min_element(v.begin(), v.end());
      hi = *std::max_element(v.begin(), v.end());
    } else if (v.size() > 1) {
      double ss = 0;
      for (double y : v) ss += (y - mean) * (y - mean);
      const double sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
      lo = mean - sd, hi = mean + sd;
    }
    b.x.push_back(x), b.mean.push_back(mean), b.low.push_back(lo), b.high.push_back(hi);
  }
  if (b.x.empty()) throw PlotError(QStringLiteral("seed band %1: the runs share no step").arg(label));
  return b;
}

void addSeedBand(QCustomPlot* plot, QCPAxis* x, QCPAxis* y, const SeedBand& band, const QColor& color, double lineWidth) {
  auto vec = [](const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); };
  const auto xs = vec(band.x);
  auto* low = plot->addGraph(x, y);
  auto* high = plot->addGraph(x, y);
  for (auto* g : {low, high}) {
    g->setPen(Qt::NoPen);
    g->removeFromLegend();
  }
  low->setData(xs, vec(band.low), true);
  high->setData(xs, vec(band.high), true);
  QColor fill = color;
  fill.setAlphaF(0.22);
  high->setBrush(fill);
  high->setChannelFillGraph(low);
  high->setObjectName(QStringLiteral("seedBand:%1").arg(band.label));
  low->setObjectName(QStringLiteral("seedBandLow:%1").arg(band.label));
  auto* mean = plot->addGraph(x, y);
  mean->setPen(QPen(color, lineWidth));
  mean->setData(xs, vec(band.mean), true);
  mean->setName(QStringLiteral("%1 (%2 seed%3)").arg(band.label).arg(band.seeds).arg(band.seeds == 1 ? "" : "s"));
  mean->setObjectName(QStringLiteral("seedMean:%1").arg(band.label));
}

void drawSeedBands(QCustomPlot* plot, const std::vector<SeedBand>& bands, const SeedBandOptions& o) {
  if (bands.empty()) throw PlotError(QStringLiteral("seed bands: nothing to draw"));
  resetPlot(plot);
  applyStyle(plot, o.style);
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t k = 0; k < bands.size(); ++k) {
    const auto& b = bands[k];
    addSeedBand(plot, plot->xAxis, plot->yAxis, b, seriesColor(static_cast<int>(k)), o.style.lineWidth);
    for (size_t i = 0; i < b.x.size(); ++i) {
      xlo = std::min(xlo, b.x[i]), xhi = std::max(xhi, b.x[i]);
      for (double v : {b.low[i], b.high[i]})
        if (std::isfinite(v) && (!o.logY || v > 0)) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
    }
  }
  if (o.logY) {
    plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  }
  plot->xAxis->setRange(xlo, xhi > xlo ? xhi : xlo + 1);
  if (std::isfinite(ylo)) {
    const double pad = o.logY ? 0 : 0.05 * (yhi - ylo + 1e-12);
    plot->yAxis->setRange(o.logY ? ylo / 1.1 : ylo - pad, o.logY ? yhi * 1.1 : yhi + pad);
  }
  plot->xAxis->setLabel(o.xLabel);
  plot->yAxis->setLabel(o.yLabel);
  plot->legend->setVisible(true);
  if (!o.title.isEmpty()) {
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, o.title, styleFont(o.style, o.style.axisLabelPt)));
  }
}

void writeSeedBandsCsv(const std::vector<SeedBand>& bands, BandKind kind, const QString& path) {
  CsvWriter out(path);
  out.row({QStringLiteral("group"), QStringLiteral("seeds"), QStringLiteral("x"), QStringLiteral("mean"),
           kind == BandKind::StdDev ? QStringLiteral("mean_minus_sd") : QStringLiteral("min"),
           kind == BandKind::StdDev ? QStringLiteral("mean_plus_sd") : QStringLiteral("max")});
  for (const auto& b : bands)
    for (size_t i = 0; i < b.x.size(); ++i)
      out.row({b.label, QString::number(b.seeds), csvNumber(b.x[i]), csvNumber(b.mean[i]), csvNumber(b.low[i]), csvNumber(b.high[i])});
  out.commit();
}

}  // namespace dm::plotting
