#include "plotting/data.h"

#include <algorithm>
#include <cmath>

#include "plotting/errors.h"

namespace dm::plotting {

namespace {

QString shapeText(int rows, int cols) { return QStringLiteral("%1 × %2").arg(rows).arg(cols); }

}  // namespace

double Matrix::at(int r, int c) const {
  if (r < 0 || r >= rows || c < 0 || c >= cols)
    throw PlotError(QStringLiteral("cell (%1, %2) is outside the %3 matrix").arg(r).arg(c).arg(shapeText(rows, cols)));
  return values[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
}

double Matrix::sdAt(int r, int c) const {
  if (!hasStddev())
    throw PlotError(QStringLiteral("the matrix has no per-cell standard deviation (it is not a mean over seeds)"));
  at(r, c);  // bounds check
  return stddev[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
}

QString Matrix::rowLabel(int r) const { return r < rowLabels.size() ? rowLabels[r] : QString::number(r + 1); }

QString Matrix::colLabel(int c) const { return c < colLabels.size() ? colLabels[c] : QString::number(c + 1); }

int64_t Matrix::samplesAt(int r, int c) const {
  at(r, c);  // bounds
  if (samples.empty()) return 0;
  const double n = samples[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
  return n > 0 ? static_cast<int64_t>(n) : 0;
}

void Matrix::validate(const QString& what) const {
  if (rows < 1 || cols < 1)
    throw PlotError(QStringLiteral("%1: the matrix is %2; it needs at least one row and one column")
                        .arg(what, shapeText(rows, cols)));
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  if (values.size() != n)
    throw PlotError(QStringLiteral("%1: %2 values for a %3 matrix (expected %4, row-major)")
                        .arg(what)
                        .arg(values.size())
                        .arg(shapeText(rows, cols))
                        .arg(n));
  if (!stddev.empty() && stddev.size() != n)
    throw PlotError(QStringLiteral("%1: %2 standard deviations for a %3 matrix (expected 0 or %4)")
                        .arg(what)
                        .arg(stddev.size())
                        .arg(shapeText(rows, cols))
                        .arg(n));
  if (!samples.empty() && samples.size() != n)
    throw PlotError(QStringLiteral("%1: %2 sample counts for a %3 matrix (expected 0 or %4)")
                        .arg(what)
                        .arg(samples.size())
                        .arg(shapeText(rows, cols))
                        .arg(n));
  if (!rowLabels.isEmpty() && rowLabels.size() != rows)
    throw PlotError(QStringLiteral("%1: %2 row labels for %3 rows (give none or one per row)")
                        .arg(what)
                        .arg(rowLabels.size())
                        .arg(rows));
  if (!colLabels.isEmpty() && colLabels.size() != cols)
    throw PlotError(QStringLiteral("%1: %2 column labels for %3 columns (give none or one per column)")
                        .arg(what)
                        .arg(colLabels.size())
                        .arg(cols));
}

Matrix meanOverSeeds(const std::vector<Matrix>& seeds) {
  if (seeds.empty()) throw PlotError(QStringLiteral("mean over seeds: no matrices given"));
  const Matrix& first = seeds.front();
  for (size_t s = 0; s < seeds.size(); ++s) {
    const Matrix& m = seeds[s];
    m.validate(QStringLiteral("mean over seeds, matrix %1").arg(s));
    if (m.rows != first.rows || m.cols != first.cols)
      throw PlotError(QStringLiteral("mean over seeds: matrix %1 is %2 but matrix 0 is %3")
                          .arg(s)
                          .arg(shapeText(m.rows, m.cols), shapeText(first.rows, first.cols)));
    if (m.rowLabels != first.rowLabels || m.colLabels != first.colLabels)
      throw PlotError(
          QStringLiteral("mean over seeds: matrix %1 has labels (%2 | %3) but matrix 0 has (%4 | %5)")
              .arg(s)
              .arg(m.rowLabels.join(','), m.colLabels.join(','), first.rowLabels.join(','), first.colLabels.join(',')));
  }
  Matrix out;
  out.rows = first.rows;
  out.cols = first.cols;
  out.rowLabels = first.rowLabels;
  out.colLabels = first.colLabels;
  const size_t n = first.values.size();
  const double k = static_cast<double>(seeds.size());
  out.values.assign(n, 0.0);
  for (const Matrix& m : seeds)
    for (size_t i = 0; i < n; ++i) out.values[i] += m.values[i];
  for (double& v : out.values) v /= k;
  if (seeds.size() == 1) out.samples = first.samples;  // one run: its own sample counts
  if (seeds.size() > 1) {
    out.stddev.assign(n, 0.0);
    for (const Matrix& m : seeds)
      for (size_t i = 0; i < n; ++i) {
        const double d = m.values[i] - out.values[i];
        out.stddev[i] += d * d;
      }
    for (double& v : out.stddev) v = std::sqrt(v / (k - 1.0));
  }
  return out;
}

void LensLayers::validate() const {
  if (layers.empty()) throw PlotError(QStringLiteral("lens layers: no layers given"));
  if (diff.size() != layers.size() || mamba.size() != layers.size())
    throw PlotError(QStringLiteral("lens layers: %1 layers but %2 %3 values and %4 %5 values (need one per layer)")
                        .arg(layers.size())
                        .arg(diff.size())
                        .arg(diffLabel)
                        .arg(mamba.size())
                        .arg(mambaLabel));
  for (size_t i = 1; i < layers.size(); ++i)
    if (layers[i] <= layers[i - 1])
      throw PlotError(QStringLiteral("lens layers: layer numbers must be strictly increasing, but %1 follows %2")
                          .arg(layers[i])
                          .arg(layers[i - 1]));
}

LensLayers LensLayers::select(std::optional<int> start, std::optional<int> end) const {
  validate();
  const int lo = start.value_or(layers.front());
  const int hi = end.value_or(layers.back());
  const QString present = QStringLiteral("%1–%2").arg(layers.front()).arg(layers.back());
  if (lo > hi) throw PlotError(QStringLiteral("lens layers: start layer %1 is after end layer %2").arg(lo).arg(hi));
  auto has = [&](int layer) { return std::find(layers.begin(), layers.end(), layer) != layers.end(); };
  if (start && !has(*start))
    throw PlotError(
        QStringLiteral("lens layers: start layer %1 is not in the data (layers %2)").arg(*start).arg(present));
  if (end && !has(*end))
    throw PlotError(QStringLiteral("lens layers: end layer %1 is not in the data (layers %2)").arg(*end).arg(present));
  LensLayers out;
  out.diffLabel = diffLabel;
  out.mambaLabel = mambaLabel;
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i] >= lo && layers[i] <= hi) {
      out.layers.push_back(layers[i]);
      out.diff.push_back(diff[i]);
      out.mamba.push_back(mamba[i]);
    }
  return out;
}

size_t DifferenceIntervals::index(int r, int c) const {
  if (r < 0 || r >= rows || c < 0 || c >= cols)
    throw PlotError(QStringLiteral("interval cell (%1, %2) is outside the %3 × %4 grid").arg(r).arg(c).arg(rows).arg(cols));
  return static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c);
}

bool DifferenceIntervals::has(int r, int c) const {
  const auto i = index(r, c);
  return std::isfinite(low[i]) && std::isfinite(high[i]);
}

bool DifferenceIntervals::excludesZero(int r, int c) const {
  const auto i = index(r, c);
  return has(r, c) && (low[i] > 0.0 || high[i] < 0.0);
}

void DifferenceIntervals::validate(const Matrix& like) const {
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  if (rows != like.rows || cols != like.cols)
    throw PlotError(QStringLiteral("difference intervals are %1 × %2 but the matrices %3 × %4").arg(rows).arg(cols).arg(like.rows).arg(like.cols));
  if (delta.size() != n || low.size() != n || high.size() != n || samples.size() != n || seeds.size() != n)
    throw PlotError(QStringLiteral("difference intervals: every vector needs %1 entries").arg(n));
}

}  // namespace dm::plotting
