// The exact numbers behind every figure as CSV: matrices (wide, as the heatmap shows them), compare
// tables (long: both models, ratio, verdict), series and lens layers. Numbers are written in the
// shortest form that reads back to the same double; files are replaced atomically (QSaveFile).
#pragma once

#include <initializer_list>
#include <memory>
#include <vector>

#include <QString>
#include <QStringList>

#include "plotting/data.h"

class QSaveFile;
class QTextStream;

namespace dm::plotting {

// Shortest round-trip decimal text of a double ("12.34", "1e-07", "nan", "inf").
QString csvNumber(double value);
// The text of a double written by csvNumber; throws PlotError naming `where` when it is not a number.
double parseCsvNumber(const QString& text, const QString& where);
// RFC 4180 quoting when the field holds a comma, quote or line break.
QString csvField(const QString& text);
// Splits one CSV record (RFC 4180 quotes, no embedded line breaks).
QStringList parseCsvLine(const QString& line);

// Writes rows to `path` through a QSaveFile: nothing replaces the file unless commit() succeeds.
// Throws PlotError when the file cannot be opened or committed.
class CsvWriter {
 public:
  explicit CsvWriter(const QString& path);
  ~CsvWriter();
  void row(const QStringList& fields);  // fields are quoted as needed
  void commit();

 private:
  QString path_;
  std::unique_ptr<QSaveFile> file_;
  std::unique_ptr<QTextStream> out_;
};

// "<corner>,<col labels…>[,<col> sd…]" then one row per matrix row, "<row label>,values…[,sds…]".
void writeCsv(const Matrix& matrix, const QString& path, const QString& corner = QStringLiteral("task"));
// Reads a file written by writeCsv(Matrix) back (labels, values, stddev); throws PlotError on bad input.
Matrix readMatrixCsv(const QString& path);

// "<row>,<col>,<model>,<baseline>,ratio,outcome[,<model> sd,<baseline> sd]", one line per cell; outcome
// is win / lose / tie for the model; ratio as the ratio heatmap shows it. With difference intervals, also
// "delta,ci_low,ci_high,samples,seeds,ci_excludes_0,ci_method" (percentage points; empty where a cell has none).
void writeCompareCsv(const Matrix& model, const Matrix& baseline, const QString& path,
                     const QString& modelName = QStringLiteral("Diff-Mamba"),
                     const QString& baselineName = QStringLiteral("Mamba"),
                     const QString& rowTitle = QStringLiteral("task"),
                     const QString& colTitle = QStringLiteral("length"),
                     const DifferenceIntervals* differences = nullptr);

// "series,x,y", one line per point.
void writeCsv(const std::vector<Series>& series, const QString& path);

// "layer,<diff label>,<mamba label>" with the raw probabilities (the chart shows them × 100).
void writeCsv(const LensLayers& lens, const QString& path);

}  // namespace dm::plotting
