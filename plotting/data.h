// Plain data drawn by dm::plotting: labelled matrices (BABILong task × length accuracies, optionally
// the mean of several seeds with per-cell standard deviation), x/y series and per-layer lens results.
// Nothing here knows about tensors or databases; the app converts its query results into these.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <QString>
#include <QStringList>

namespace dm::plotting {

// rows × cols values in row-major order (rows = tasks, cols = context lengths for BABILong).
struct Matrix {
  int rows = 0, cols = 0;
  std::vector<double> values;        // row-major, rows * cols
  std::vector<double> stddev;        // empty, or rows * cols per-cell standard deviation (multi-seed means)
  // empty, or rows * cols: how many samples each value (a percent accuracy) was measured on, for its
  // binomial 95 % interval (0 = unknown). Means over seeds carry none.
  std::vector<double> samples;
  QStringList rowLabels, colLabels;  // empty (numbered 1…n) or exactly rows / cols entries

  double at(int r, int c) const;    // throws PlotError outside the matrix
  double sdAt(int r, int c) const;  // throws PlotError when there is no stddev
  bool hasStddev() const { return !stddev.empty(); }
  bool hasSamples() const { return !samples.empty(); }
  int64_t samplesAt(int r, int c) const;  // 0 when there are none
  QString rowLabel(int r) const;  // the label, or "r+1" when there are no labels
  QString colLabel(int c) const;

  // Throws PlotError naming `what` when the sizes disagree (values, stddev, labels) or rows/cols < 1.
  void validate(const QString& what) const;
};

// Per-cell mean and sample standard deviation (n − 1, as core's aggregate_seeds) of equally shaped
// matrices with equal labels; one matrix gives the matrix itself without stddev. Throws PlotError on an
// empty list, differing shapes or differing labels. One matrix keeps its sample counts; a mean has none.
Matrix meanOverSeeds(const std::vector<Matrix>& seeds);

// Per-cell intervals of the difference model − baseline in percentage points (e.g. from a paired bootstrap over
// the samples both models answered, and over seeds when there are several), for the compare and ratio
// figures and their CSVs. NaN bounds: no interval for that cell.
struct DifferenceIntervals {
  int rows = 0, cols = 0;
  std::vector<double> delta, low, high;  // row-major
  std::vector<int64_t> samples, seeds;   // per cell: samples per seed (0: seed-level only), seeds
  QString method;                        // how they were made, for the legend and the CSV

  bool has(int r, int c) const;           // finite bounds
  bool excludesZero(int r, int c) const;  // low > 0 or high < 0
  size_t index(int r, int c) const;       // throws PlotError outside
  // Throws PlotError unless the shape matches `like` and every vector has rows × cols entries.
  void validate(const Matrix& like) const;
};

// One curve: y against x (step or seconds), in order of x.
struct Series {
  std::vector<double> x, y;
  QString label;
};

// Tuned-lens needle probability per layer (the `avg` of test_babilong_0k.py's result dict) for the two
// models, as raw probabilities in [0, 1]; layers need not start at 1 but must be strictly increasing.
struct LensLayers {
  std::vector<int> layers;
  std::vector<double> diff, mamba;
  QString diffLabel = QStringLiteral("Diff-Mamba");
  QString mambaLabel = QStringLiteral("Mamba");

  void validate() const;  // throws PlotError on size mismatch, unsorted/duplicate layers or no layers
  // The layers in [start, end] (defaults: first / last present); throws PlotError when the range is
  // empty, reversed, or a layer inside it is missing from the data.
  LensLayers select(std::optional<int> start, std::optional<int> end) const;
};

}  // namespace dm::plotting
