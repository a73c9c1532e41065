// Implicit attention figures (core/model/implicit_attention.h): one or more maps side by side (e.g. Mamba2
// and Diff-Mamba2 on the same BABILong sample, same block and head) on one colour scale with the needle
// facts' tokens and the question's tokens marked on both axes, and below them per-layer metric curves
// (signal-to-noise of the needle by block, one line per model).
#pragma once

#include <vector>

#include <QString>
#include <QStringList>

#include "plotting/style.h"

class QCustomPlot;

namespace dm::plotting {

// A window [r0, r1) × [c0, c1) of one [L, L] map (query rows i, key columns j), row-major.
struct AttentionPanel {
  QString label;  // e.g. "Diff-Mamba2 · block 3 · head 0"
  int r0 = 0, r1 = 0, c0 = 0, c1 = 0;
  std::vector<float> values;          // (r1 − r0) × (c1 − c0)
  std::vector<int> needle, question;  // token positions in [0, L)
  QStringList tokens;                 // optional: the L token strings (tool tips)

  int rows() const { return r1 - r0; }
  int cols() const { return c1 - c0; }
  float at(int i, int j) const;  // absolute position; throws PlotError outside the window
  void validate() const;         // throws PlotError on sizes, empty windows or non-finite values
};

enum class AttentionScale {
  Signed,  // diverging blue–white–red, symmetric around 0, clipped at the 99.5th percentile of |M|
  LogAbs   // log10 |M| (viridis), floor six decades below the largest entry
};

struct AttentionCurve {
  QString label;
  std::vector<int> blocks;
  std::vector<double> values;  // NaN: no point
};

struct AttentionFigureOptions {
  AttentionScale scale = AttentionScale::Signed;
  int maxCells = 1024;  // larger windows are pooled (the entry of largest |M| per block) to at most this per side
  QString curveLabel = QStringLiteral("Needle signal-to-noise");
  bool logCurve = true;  // the curve's y axis in log scale (SNR spans decades)
  QString title;
  Style style = paperStyle();
};

// The colour-scale range the panels share: Signed → (−c, c); LogAbs → (log10 floor, log10 max).
std::pair<double, double> attentionRange(const std::vector<AttentionPanel>& panels, AttentionScale scale);

// Draws the maps in a row (one shared colour bar) and, when curves are given, the curves below. Throws
// PlotError for no panels or an invalid panel. Maps are named "attentionMap<k>", marks "needleX<k>",
// "needleY<k>", "questionY<k>" (one rect per run of consecutive positions), the curve rect "attentionCurves".
void drawAttentionFigure(QCustomPlot* plot, const std::vector<AttentionPanel>& panels,
                         const std::vector<AttentionCurve>& curves, const AttentionFigureOptions& options = {});

// "query 12 'Mary' → key 3 'went': M = 1.2e-3 (needle)" for a panel cell, or empty outside it.
QString attentionToolTip(const AttentionPanel& panel, int row, int col);

// The numbers drawn: per panel, the window as "panel,row,col,value" lines (every entry, not pooled), and
// the curves as "curve,block,value".
void writeAttentionCsv(const std::vector<AttentionPanel>& panels, const std::vector<AttentionCurve>& curves,
                       const QString& path);

}  // namespace dm::plotting
