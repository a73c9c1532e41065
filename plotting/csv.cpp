#include "plotting/csv.h"

#include <charconv>
#include <cmath>

#include <QFile>
#include <QSaveFile>
#include <QTextStream>

#include "plotting/colors.h"
#include "plotting/errors.h"

namespace dm::plotting {

QString csvNumber(double value) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return QString::fromLatin1(buf, static_cast<qsizetype>(result.ptr - buf));
}

double parseCsvNumber(const QString& text, const QString& where) {
  const QByteArray bytes = text.trimmed().toLatin1();
  double value = 0.0;
  const auto result = std::from_chars(bytes.constData(), bytes.constData() + bytes.size(), value);
  if (bytes.isEmpty() || result.ec != std::errc() || result.ptr != bytes.constData() + bytes.size())
    throw PlotError(QStringLiteral("%1: \"%2\" is not a number").arg(where, text));
  return value;
}

QString csvField(const QString& text) {
  if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) && !text.contains(QLatin1Char('\n')) &&
      !text.contains(QLatin1Char('\r')))
    return text;
  QString quoted = text;
  quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
  return QLatin1Char('"') + quoted + QLatin1Char('"');
}

QStringList parseCsvLine(const QString& line) {
  QStringList fields;
  QString field;
  bool quoted = false;
  for (qsizetype i = 0; i < line.size(); ++i) {
    const QChar ch = line[i];
    if (quoted) {
      if (ch == QLatin1Char('"')) {
        if (i + 1 < line.size() && line[i + 1] == QLatin1Char('"')) {
          field += QLatin1Char('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch == QLatin1Char('"')) {
      quoted = true;
    } else if (ch == QLatin1Char(',')) {
      fields << field;
      field.clear();
    } else {
      field += ch;
    }
  }
  fields << field;
  return fields;
}

CsvWriter::CsvWriter(const QString& path) : path_(path), file_(std::make_unique<QSaveFile>(path)) {
  if (!file_->open(QIODevice::WriteOnly))
    throw PlotError(QStringLiteral("cannot write CSV file \"%1\": %2").arg(path, file_->errorString()));
  out_ = std::make_unique<QTextStream>(file_.get());
}

CsvWriter::~CsvWriter() = default;  // without commit() the QSaveFile is discarded: the old file stays

void CsvWriter::row(const QStringList& fields) {
  QStringList quoted;
  quoted.reserve(fields.size());
  for (const QString& f : fields) quoted << csvField(f);
  *out_ << quoted.join(QLatin1Char(',')) << '\n';
}

void CsvWriter::commit() {
  out_->flush();
  if (out_->status() != QTextStream::Ok || !file_->commit())
    throw PlotError(QStringLiteral("cannot write CSV file \"%1\": %2").arg(path_, file_->errorString()));
}

void writeCsv(const Matrix& m, const QString& path, const QString& corner) {
  m.validate(QStringLiteral("CSV of a matrix"));
  CsvWriter out(path);
  QStringList header{corner};
  for (int c = 0; c < m.cols; ++c) header << m.colLabel(c);
  if (m.hasStddev())
    for (int c = 0; c < m.cols; ++c) header << m.colLabel(c) + QStringLiteral(" sd");
  out.row(header);
  for (int r = 0; r < m.rows; ++r) {
    QStringList fields{m.rowLabel(r)};
    for (int c = 0; c < m.cols; ++c) fields << csvNumber(m.at(r, c));
    if (m.hasStddev())
      for (int c = 0; c < m.cols; ++c) fields << csvNumber(m.sdAt(r, c));
    out.row(fields);
  }
  out.commit();
}

Matrix readMatrixCsv(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
    throw PlotError(QStringLiteral("cannot read CSV file \"%1\": %2").arg(path, file.errorString()));
  QTextStream in(&file);
  QStringList lines;
  while (!in.atEnd()) {
    const QString line = in.readLine();
    if (!line.trimmed().isEmpty()) lines << line;
  }
  if (lines.size() < 2)
    throw PlotError(QStringLiteral("CSV file \"%1\": needs a header line and at least one row").arg(path));
  const QStringList header = parseCsvLine(lines[0]);
  int cols = static_cast<int>(header.size()) - 1;
  bool withSd = false;
  if (cols >= 2 && cols % 2 == 0) {
    withSd = true;
    for (int c = 0; c < cols / 2; ++c)
      if (header[1 + cols / 2 + c] != header[1 + c] + QStringLiteral(" sd")) withSd = false;
    if (withSd) cols /= 2;
  }
  if (cols < 1) throw PlotError(QStringLiteral("CSV file \"%1\": the header has no value columns").arg(path));
  Matrix m;
  m.cols = cols;
  m.rows = static_cast<int>(lines.size()) - 1;
  for (int c = 0; c < cols; ++c) m.colLabels << header[1 + c];
  for (int r = 0; r < m.rows; ++r) {
    const QStringList fields = parseCsvLine(lines[r + 1]);
    const int expected = 1 + cols * (withSd ? 2 : 1);
    if (fields.size() != expected)
      throw PlotError(QStringLiteral("CSV file \"%1\", line %2: %3 fields, expected %4")
                          .arg(path)
                          .arg(r + 2)
                          .arg(fields.size())
                          .arg(expected));
    m.rowLabels << fields[0];
    for (int c = 0; c < cols; ++c)
      m.values.push_back(parseCsvNumber(
          fields[1 + c], QStringLiteral("CSV file \"%1\", line %2, column %3").arg(path).arg(r + 2).arg(c + 2)));
    if (withSd)
      for (int c = 0; c < cols; ++c)
        m.stddev.push_back(parseCsvNumber(
            fields[1 + cols + c],
            QStringLiteral("CSV file \"%1\", line %2, column %3").arg(path).arg(r + 2).arg(cols + c + 2)));
  }
  return m;
}

void writeCompareCsv(const Matrix& model, const Matrix& baseline, const QString& path, const QString& modelName,
                     const QString& baselineName, const QString& rowTitle, const QString& colTitle,
                     const DifferenceIntervals* differences) {
  model.validate(QStringLiteral("compare CSV, %1").arg(modelName));
  baseline.validate(QStringLiteral("compare CSV, %1").arg(baselineName));
  if (model.rows != baseline.rows || model.cols != baseline.cols)
    throw PlotError(QStringLiteral("compare CSV: %1 is %2 × %3 but %4 is %5 × %6")
                        .arg(modelName)
                        .arg(model.rows)
                        .arg(model.cols)
                        .arg(baselineName)
                        .arg(baseline.rows)
                        .arg(baseline.cols));
  const Matrix& labels = model.rowLabels.isEmpty() && model.colLabels.isEmpty() ? baseline : model;
  const bool withSd = model.hasStddev() || baseline.hasStddev();
  CsvWriter out(path);
  QStringList header{rowTitle, colTitle, modelName, baselineName, QStringLiteral("ratio"), QStringLiteral("outcome")};
  if (withSd) header << modelName + QStringLiteral(" sd") << baselineName + QStringLiteral(" sd");
  if (differences) {
    differences->validate(model);
    header << QStringLiteral("delta") << QStringLiteral("ci_low") << QStringLiteral("ci_high") << QStringLiteral("samples")
           << QStringLiteral("seeds") << QStringLiteral("ci_excludes_0") << QStringLiteral("ci_method");
  }
  out.row(header);
  for (int r = 0; r < model.rows; ++r)
    for (int c = 0; c < model.cols; ++c) {
      const double m = model.at(r, c), b = baseline.at(r, c);
      const QString outcome = m > b ? QStringLiteral("win") : m < b ? QStringLiteral("lose") : QStringLiteral("tie");
      QStringList fields{labels.rowLabel(r), labels.colLabel(c),          csvNumber(m),
                         csvNumber(b),       csvNumber(ratioValue(m, b)), outcome};
      if (withSd)
        fields << (model.hasStddev() ? csvNumber(model.sdAt(r, c)) : QString())
               << (baseline.hasStddev() ? csvNumber(baseline.sdAt(r, c)) : QString());
      if (differences) {
        const auto k = differences->index(r, c);
        const bool has = differences->has(r, c);
        fields << csvNumber(m - b) << (has ? csvNumber(differences->low[k]) : QString())
               << (has ? csvNumber(differences->high[k]) : QString()) << QString::number(differences->samples[k])
               << QString::number(differences->seeds[k])
               << (has ? (differences->excludesZero(r, c) ? QStringLiteral("yes") : QStringLiteral("no")) : QString())
               << differences->method;
      }
      out.row(fields);
    }
  out.commit();
}

void writeCsv(const std::vector<Series>& series, const QString& path) {
  for (const Series& s : series)
    if (s.x.size() != s.y.size())
      throw PlotError(QStringLiteral("CSV of series \"%1\": %2 x values but %3 y values")
                          .arg(s.label)
                          .arg(s.x.size())
                          .arg(s.y.size()));
  CsvWriter out(path);
  out.row({QStringLiteral("series"), QStringLiteral("x"), QStringLiteral("y")});
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) out.row({s.label, csvNumber(s.x[i]), csvNumber(s.y[i])});
  out.commit();
}

void writeCsv(const LensLayers& lens, const QString& path) {
  lens.validate();
  CsvWriter out(path);
  out.row({QStringLiteral("layer"), lens.diffLabel, lens.mambaLabel});
  for (size_t i = 0; i < lens.layers.size(); ++i)
    out.row({QString::number(lens.layers[i]), csvNumber(lens.diff[i]), csvNumber(lens.mamba[i])});
  out.commit();
}

}  // namespace dm::plotting
