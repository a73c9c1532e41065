// Several seeds of one configuration as the trackers show them: the mean curve and a band (± one standard
// deviation over seeds, or min–max) at every step all the seeds reached, each seed smoothed first like its
// own curve. Drawn as figures (`diffmamba plot curves --band`) or as overlays on a live CurvePlot's plot
// (the window's Monitor).
#pragma once

#include <vector>

#include <QColor>
#include <QString>

#include "plotting/data.h"
#include "plotting/style.h"

class QCustomPlot;
class QCPAxis;

namespace dm::plotting {

enum class BandKind { StdDev, MinMax };

struct SeedBand {
  QString label;  // the group's label
  int seeds = 0;
  std::vector<double> x, mean, low, high;
};

// The runs' curves (x ascending in each) on the x values every one of them has; `smoothing` is the
// TensorBoard weight applied to each run first. Standard deviation with n − 1 (one run: low = high = mean).
// Throws PlotError for no runs or runs that share no x value.
SeedBand aggregateSeeds(const QString& label, const std::vector<Series>& runs, BandKind kind, double smoothing = 0);

// Adds a band's graphs to `plot` on the given axes: the filled band (named "seedBand:<label>") and the
// mean line ("seedMean:<label>", in the legend as "<label> (n seeds)"). Returns nothing; the caller replots.
void addSeedBand(QCustomPlot* plot, QCPAxis* x, QCPAxis* y, const SeedBand& band, const QColor& color, double lineWidth);

struct SeedBandOptions {
  QString xLabel = QStringLiteral("Step"), yLabel;
  bool logY = false;
  QString title;
  Style style = paperStyle();
};
// A figure of the bands: one colour per group (seriesColor), legend, fitted axes. Throws PlotError for none.
void drawSeedBands(QCustomPlot* plot, const std::vector<SeedBand>& bands, const SeedBandOptions& options = {});

// "group,seeds,x,mean,low,high" per point.
void writeSeedBandsCsv(const std::vector<SeedBand>& bands, BandKind kind, const QString& path);

}  // namespace dm::plotting
