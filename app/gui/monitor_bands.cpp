// The Monitor's seed bands: runs of one configuration that differ only in their seed drawn as one mean curve
// with a band (± sd or min–max over the seeds), as the experiment trackers group runs.
#include <QComboBox>
#include <algorithm>
#include <QMap>
#include <qcustomplot.h>

#include "app/gui/monitor_view.h"
#include "plotting/curve_graph.h"
#include "plotting/curve_plot.h"
#include "plotting/seed_bands.h"

namespace dm {
namespace gui {

void MonitorView::setSeedBands(int mode) { seeds_->setCurrentIndex(std::clamp(mode, 0, 2)); }
int MonitorView::seedBands() const { return seeds_->currentIndex(); }

void MonitorView::applySeedBands(Panel& p) {
  bool changed = false;
  for (int i = p.plot->graphCount() - 1; i >= 0; --i) {
    const QString name = p.plot->graph(i)->objectName();
    if (name.startsWith(QStringLiteral("seedBand")) || name.startsWith(QStringLiteral("seedMean"))) {
      p.plot->removeGraph(i);
      changed = true;
    }
  }
  // Every run's own curves as CurvePlot shows them (bands hide the grouped ones below).
  const bool smoothed = p.curves->smoothing() > 0.0;
  for (auto it = p.curveOf.cbegin(); it != p.curveOf.cend(); ++it) {
    auto* s = p.curves->smoothedGraph(it.value());
    if (!s->visible()) {
      s->setVisible(true);
      s->addToLegend();
      p.curves->rawGraph(it.value())->setVisible(smoothed);
      changed = true;
    }
  }
  const int mode = seeds_->currentIndex();
  if (mode != 0 && p.curves->xAxis() == plotting::CurvePlot::XAxis::Step) {
    QMap<int, QList<int64_t>> groups;  // ordered by group index: stable colours and legend order
    for (auto it = p.curveOf.cbegin(); it != p.curveOf.cend(); ++it)
      if (seedGroup_.contains(it.key()) && p.curves->pointCount(it.value()) > 0) groups[seedGroup_.value(it.key()).first] << it.key();
    for (auto g = groups.cbegin(); g != groups.cend(); ++g) {
      if (g.value().size() < 2) continue;
      QList<int64_t> runs = g.value();
      std::sort(runs.begin(), runs.end());
      std::vector<plotting::Series> series;
      for (auto run : runs) series.push_back(p.curves->rawSeries(p.curveOf.value(run)));
      try {
        const auto band = plotting::aggregateSeeds(seedGroup_.value(runs.front()).second, series,
                                                   mode == 2 ? plotting::BandKind::MinMax : plotting::BandKind::StdDev,
                                                   p.curves->smoothing());
        const QColor color = p.curves->smoothedGraph(p.curveOf.value(runs.front()))->pen().color();
        for (auto run : runs) {
          auto* s = p.curves->smoothedGraph(p.curveOf.value(run));
          s->setVisible(false);
          s->removeFromLegend();
          p.curves->rawGraph(p.curveOf.value(run))->setVisible(false);
        }
        plotting::addSeedBand(p.plot, p.plot->xAxis, p.plot->yAxis, band, color, 1.8);
        changed = true;
      } catch (const std::exception&) {
        // No step every seed reached yet (a run just started): its curves stay as they are.
      }
    }
  }
  if (changed) p.plot->replot();
}

}  // namespace gui
}  // namespace dm
