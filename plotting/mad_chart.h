// The MAD benchmark's scores (the seed's mad_scores CSV: a row per model, a column per task, then total):
// a task × model table and a grouped bar chart, one group per task and the overall score last, one bar per
// model in its series colour, each bar labelled with its score.
#pragma once

#include <vector>

#include <QString>
#include <QStringList>

#include "plotting/style.h"

class QCustomPlot;

namespace dm::plotting {

struct MadScores {
  QStringList tasks;                        // in the order drawn ("total" is not one of them)
  QStringList models;                       // e.g. "Mamba2", "Diff-Mamba2"
  std::vector<std::vector<double>> scores;  // [model][task] in [0, 1]; NaN: the task was not run
  std::vector<double> total;                // per model, mean over its tasks; NaN: none

  // Throws PlotError on no models or tasks, sizes that disagree, or a score outside [0, 1] (NaN allowed).
  void validate() const;
  double at(int model, int task) const;  // throws PlotError outside the table
};

struct MadChartOptions {
  bool showTotal = true;  // the "MAD score" group (mean over the tasks) after the tasks
  bool annotate = true;   // the score above each bar
  QString title;
  Style style = paperStyle();
};

void drawMadScores(QCustomPlot* plot, const MadScores& scores, const MadChartOptions& options = {});

// The seed's layout: "<task>,…,total,model" then one row per model (empty field: not run).
void writeMadCsv(const MadScores& scores, const QString& path);
// A mad_scores CSV of the seed or of writeMadCsv (a "model" column, a "total" column optional, every other
// column a task). Throws PlotError naming the file and line on anything else.
MadScores readMadCsv(const QString& path);

}  // namespace dm::plotting
