#include "plotting/mad_chart.h"

#include <cmath>
#include <limits>

#include <QFile>
#include <QFileInfo>
#include <qcustomplot.h>

#include "plotting/csv.h"
#include "plotting/errors.h"
#include "plotting/figure.h"

namespace dm::plotting {
namespace {

constexpr qint64 kMaxCsvBytes = 16 << 20;  // a scores table is a few hundred bytes

QString fieldOf(double v) { return std::isnan(v) ? QString() : csvNumber(v); }

}  // namespace

void MadScores::validate() const {
  if (models.isEmpty()) throw PlotError(QStringLiteral("MAD scores: no models"));
  if (tasks.isEmpty()) throw PlotError(QStringLiteral("MAD scores: no tasks"));
  if (scores.size() != static_cast<size_t>(models.size()) || total.size() != static_cast<size_t>(models.size()))
    throw PlotError(QStringLiteral("MAD scores: %1 models but %2 score rows and %3 totals")
                        .arg(models.size())
                        .arg(scores.size())
                        .arg(total.size()));
  for (int m = 0; m < models.size(); ++m) {
    if (scores[static_cast<size_t>(m)].size() != static_cast<size_t>(tasks.size()))
      throw PlotError(QStringLiteral("MAD scores: %1 has %2 scores for %3 tasks")
                          .arg(models[m])
                          .arg(scores[static_cast<size_t>(m)].size())
                          .arg(tasks.size()));
    auto check = [&](double v, const QString& what) {
      if (!std::isnan(v) && !(v >= 0.0 && v <= 1.0))
        throw PlotError(QStringLiteral("MAD scores: %1 of %2 is %3; a score is an accuracy in [0, 1]").arg(what, models[m]).arg(v));
    };
    for (int t = 0; t < tasks.size(); ++t) check(scores[static_cast<size_t>(m)][static_cast<size_t>(t)], tasks[t]);
    check(total[static_cast<size_t>(m)], QStringLiteral("total"));
  }
}

double MadScores::at(int model, int task) const {
  if (model < 0 || model >= models.size() || task < 0 || task >= tasks.size())
    throw PlotError(QStringLiteral("MAD scores: no score for model %1, task %2").arg(model).arg(task));
  return scores[static_cast<size_t>(model)][static_cast<size_t>(task)];
}

void drawMadScores(QCustomPlot* plot, const MadScores& s, const MadChartOptions& o) {
  s.validate();
  resetPlot(plot);
  applyStyle(plot, o.style);
  const int groups = static_cast<int>(s.tasks.size()) + (o.showTotal ? 1 : 0);
  const int n = static_cast<int>(s.models.size());
  const double groupWidth = 0.8, width = groupWidth / n;
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  for (int g = 0; g < groups; ++g) {
    QString label = g < s.tasks.size() ? s.tasks[g] : QStringLiteral("MAD score");
    label.replace('-', '\n');  // "in-context-recall" reads in three short lines under its group
    ticker->addTick(g, label);
  }
  ticker->setSubTickCount(0);
  for (int m = 0; m < n; ++m) {
    QVector<double> x, y;
    for (int g = 0; g < groups; ++g) {
      const double v = g < s.tasks.size() ? s.at(m, g) : s.total[static_cast<size_t>(m)];
      if (std::isnan(v)) continue;  // not run: no bar (a zero would read as a measured failure)
      x.push_back(g - groupWidth / 2 + width * (m + 0.5));
      y.push_back(v);
    }
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setWidth(width * 0.92);
    bars->setPen(Qt::NoPen);
    bars->setBrush(seriesColor(m));
    bars->setName(s.models[m]);
    bars->setData(x, y, true);
    bars->setSelectable(QCP::stNone);
    if (o.annotate)
      for (int i = 0; i < x.size(); ++i) {
        auto* text = new QCPItemText(plot);
        text->position->setCoords(x[i], y[i]);
        text->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
        text->setText(QString::number(y[i], 'f', 2));
        text->setFont(styleFont(o.style, o.style.annotationPt * (n > 3 ? 0.7 : 0.85)));
        text->setColor(o.style.foreground);
        text->setClipToAxisRect(false);
        text->setObjectName(QStringLiteral("madScoreLabel"));
      }
  }
  if (o.showTotal) {  // a faint rule between the tasks and the overall score
    auto* sep = new QCPItemStraightLine(plot);
    sep->point1->setCoords(groups - 1.5, 0);
    sep->point2->setCoords(groups - 1.5, 1);
    sep->setPen(QPen(o.style.gridColor.darker(130), 1.0, Qt::DashLine));
  }
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setRange(-0.6, groups - 0.4);
  plot->xAxis->grid()->setVisible(false);
  plot->yAxis->setRange(0.0, 1.12);  // room for the labels above a perfect score
  QSharedPointer<QCPAxisTickerFixed> yt(new QCPAxisTickerFixed);
  yt->setTickStep(0.2);
  plot->yAxis->setTicker(yt);
  plot->yAxis->setLabel(QStringLiteral("Accuracy (best over the sweep)"));
  if (!o.title.isEmpty()) {
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, o.title, styleFont(o.style, o.style.axisLabelPt, true)));
  }
  plot->legend->setVisible(true);
  plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
}

void writeMadCsv(const MadScores& s, const QString& path) {
  s.validate();
  CsvWriter w(path);
  QStringList header = s.tasks;
  header << QStringLiteral("total") << QStringLiteral("model");
  w.row(header);
  for (int m = 0; m < s.models.size(); ++m) {
    QStringList row;
    for (int t = 0; t < s.tasks.size(); ++t) row << fieldOf(s.at(m, t));
    row << fieldOf(s.total[static_cast<size_t>(m)]) << s.models[m];
    w.row(row);
  }
  w.commit();
}

MadScores readMadCsv(const QString& path) {
  const QFileInfo fi(path);
  if (!fi.exists()) throw PlotError(QStringLiteral("MAD scores \"%1\": no such file").arg(path));
  if (!fi.isFile()) throw PlotError(QStringLiteral("MAD scores \"%1\": not a regular file").arg(path));
  if (fi.size() > kMaxCsvBytes)
    throw PlotError(QStringLiteral("MAD scores \"%1\": %2 bytes; a scores table is under %3").arg(path).arg(fi.size()).arg(kMaxCsvBytes));
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
    throw PlotError(QStringLiteral("MAD scores \"%1\": cannot read: %2").arg(path, f.errorString()));
  const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
  QStringList rows;
  for (const auto& l : lines)
    if (!l.trimmed().isEmpty()) rows << l.trimmed();
  if (rows.size() < 2) throw PlotError(QStringLiteral("MAD scores \"%1\": needs a header line and a row per model").arg(path));
  const QStringList header = parseCsvLine(rows[0]);
  const int modelCol = static_cast<int>(header.indexOf(QStringLiteral("model")));
  if (modelCol < 0) throw PlotError(QStringLiteral("MAD scores \"%1\": the header has no \"model\" column").arg(path));
  const int totalCol = static_cast<int>(header.indexOf(QStringLiteral("total")));
  MadScores s;
  QList<int> taskCols;
  for (int c = 0; c < header.size(); ++c)
    if (c != modelCol && c != totalCol && !header[c].isEmpty()) {  // pandas' unnamed index column is skipped
      s.tasks << header[c];
      taskCols << c;
    }
  for (int r = 1; r < rows.size(); ++r) {
    const QStringList fields = parseCsvLine(rows[r]);
    if (fields.size() != header.size())
      throw PlotError(QStringLiteral("MAD scores \"%1\", line %2: %3 fields, expected %4").arg(path).arg(r + 1).arg(fields.size()).arg(header.size()));
    auto number = [&](int c) {
      const QString t = fields[c].trimmed();
      return t.isEmpty() ? std::numeric_limits<double>::quiet_NaN()
                         : parseCsvNumber(t, QStringLiteral("MAD scores \"%1\", line %2, column %3").arg(path).arg(r + 1).arg(header[c]));
    };
    s.models << fields[modelCol];
    std::vector<double> row;
    double sum = 0;
    int n = 0;
    for (int c : taskCols) {
      row.push_back(number(c));
      if (!std::isnan(row.back())) sum += row.back(), ++n;
    }
    s.scores.push_back(row);
    s.total.push_back(totalCol >= 0 ? number(totalCol) : n ? sum / n : std::numeric_limits<double>::quiet_NaN());
  }
  s.validate();
  return s;
}

}  // namespace dm::plotting
