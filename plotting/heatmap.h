// The BABILong heatmaps (tasks × context lengths): the score heatmap of plot.py, the compare and ratio
// heatmaps of plot_compare.py, and their multi-seed variants (a Matrix with per-cell stddev, e.g. from
// meanOverSeeds, shows "±sd" on request and in tool tips). They draw into a caller's QCustomPlot.
#pragma once

#include <optional>

#include <QString>

#include "plotting/colors.h"
#include "plotting/data.h"
#include "plotting/style.h"

class QCustomPlot;

namespace dm::plotting {

struct HeatmapOptions {
  QString xLabel = QStringLiteral("Context Length");
  QString yLabel = QStringLiteral("Tasks");
  int decimals = 2;      // annotation precision (the seed: 2)
  bool annotate = true;  // write each cell's value in it
  bool showStd = false;  // second annotation line "±sd"; needs Matrix::stddev (throws PlotError otherwise)
  bool colorBar = true;  // score heatmap only
  // With Matrix::samples (and no showStd): a second line "[lo–hi]", the 95 % Wilson interval of the cell.
  bool showIntervals = true;
  QString title;                                        // above the figure (e.g. naming the run); empty: none
  QString colorBarLabel = QStringLiteral("Accuracy (%)");
  Palette palette = Palette::ColorBlind;
  Style style = paperStyle();
};

struct CompareOptions {
  QString xLabel = QStringLiteral("Context Length");
  QString yLabel = QStringLiteral("Tasks");
  QString modelName = QStringLiteral("Diff-Mamba");  // used in tool tips and CSV headers
  QString baselineName = QStringLiteral("Mamba");
  int decimals = 2;
  bool annotate = true;
  bool showStd = false;  // compare: "±sd" of the model; ratio: "±sd model / ±sd baseline"
  // compare with both matrices' samples: a difference whose 95 % Newcombe interval excludes 0 gets the
  // strong tint, one within sampling noise the pale tint, and the cell's second line is "Δ +x.x".
  bool intervals = true;
  // Given (e.g. `plot compare --ci`): these intervals decide "clear" instead of Newcombe's; compare cells
  // read "Δ +x.x [lo, hi]", ratio cells with an interval excluding 0 get a thick border; the legend says how
  // they were made.
  std::optional<DifferenceIntervals> differences;
  bool legend = true;  // what each colour means, below the grid
  QString title;       // above the figure; empty: none
  Palette palette = Palette::ColorBlind;
  Style style = paperStyle();
};

// How a compare cell is classified (and coloured).
enum class CompareVerdict { Equal, Better, Worse, ClearlyBetter, ClearlyWorse };
CompareVerdict compareVerdict(const Matrix& model, const Matrix& baseline, int row, int col, bool intervals = true);
// The verdict with given difference intervals (a cell without one: Better / Worse / Equal by the values).
CompareVerdict compareVerdict(const Matrix& model, const Matrix& baseline, int row, int col, const DifferenceIntervals& d);
QColor compareVerdictColor(CompareVerdict v, Palette p);

// Score heatmap: cells coloured by scoreColor (fixed 0…100 scale), white cell lines, colour bar.
// Throws PlotError on an invalid matrix.
void drawHeatmap(QCustomPlot* plot, const Matrix& scores, const HeatmapOptions& options = {});

// Compare heatmap: the model's values, cells tinted by compareCellColor; tinted cells get a black
// border, every cell a light grey grid line. Throws PlotError when the shapes or labels differ.
void drawCompare(QCustomPlot* plot, const Matrix& model, const Matrix& baseline, const CompareOptions& options = {});

// Ratio heatmap: ratioValue per cell, coloured by ratioCellColor, black borders. Values must be finite
// and ≥ 0 (accuracies); throws PlotError otherwise.
void drawRatio(QCustomPlot* plot, const Matrix& model, const Matrix& baseline, const CompareOptions& options = {});

// The numbers the ratio heatmap shows (labels of the model, no stddev).
Matrix ratioMatrix(const Matrix& model, const Matrix& baseline);

// Cell text: the value with `decimals` places, and "±sd" on a second line when sd is given.
QString annotationText(double value, int decimals, const double* sd = nullptr);

// Tool tips for the app: "qa1 · 4k: 12.34 ± 1.20 (sd over seeds)" / with both models and the ratio; with
// sample counts, the 95 % intervals of the scores and of their difference.
QString heatmapToolTip(const Matrix& scores, int row, int col, int decimals = 2);
QString compareToolTip(const Matrix& model, const Matrix& baseline, int row, int col,
                       const CompareOptions& options = {});

}  // namespace dm::plotting
