// The seed's per-token loss figure (plot_per_token_loss.py, spec upstream.md §11): for each model the
// per-position loss smoothed by a centred moving average (window 101) over positions [128, L), and below
// it the cumulative perplexity exp(cumsum(loss)/i); a dashed line marks the training length, x ticks
// every 8k. Two or more models are overlaid.
#pragma once

#include <vector>

#include <QString>

#include "plotting/style.h"

class QCustomPlot;

namespace dm::plotting {

struct PerTokenSeries {
  QString label;
  std::vector<double> loss;  // per position, nats
};

struct PerTokenOptions {
  int window = 101;            // centred moving average
  int start = 128;             // first position drawn
  int trainingLength = 2048;   // dashed vertical line (0: none)
  int tickEvery = 8192;        // x tick spacing (shrinks for short sequences)
  QString title;
  Style style = paperStyle();
};

// Centred moving average: each point the mean of the window around it, shrunk at the ends to the points
// that exist (so the ends are not pulled toward zero as with zero padding).
std::vector<double> centredMovingAverage(const std::vector<double>& v, int window);
// exp(Σ_{j ≤ i} loss_j / (i + 1)) for every i.
std::vector<double> cumulativePerplexity(const std::vector<double>& loss);

// Draws both panels; throws PlotError for no series, series of different lengths, or non-finite losses.
void drawPerTokenLoss(QCustomPlot* plot, const std::vector<PerTokenSeries>& series, const PerTokenOptions& options = {});

// position, then per series: loss, smoothed loss, cumulative perplexity (positions [start, L)).
void writePerTokenCsv(const std::vector<PerTokenSeries>& series, const PerTokenOptions& options, const QString& path);

}  // namespace dm::plotting
