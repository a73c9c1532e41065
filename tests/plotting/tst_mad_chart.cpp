// dm::plotting's MAD score chart and table file: the bars drawn (one series per model, none where a task was
// not run, the overall score as its own group, each bar labelled), the seed's mad_scores CSV written and read
// back exactly (NaN as an empty field, pandas' unnamed index column skipped, no total column: the mean), and
// clear errors for bad scores and hostile files.
#include <QtTest>

#include <QTemporaryDir>
#include <cmath>
#include <limits>
#include <qcustomplot.h>

#include "plotting/errors.h"
#include "plotting/mad_chart.h"

using namespace dm::plotting;

namespace {

const bool kOffscreenDefault = [] {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  return true;
}();

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

MadScores twoModels() {
  MadScores s;
  s.tasks = {"in-context-recall", "selective-copying", "memorization"};
  s.models = {"Mamba2", "Diff-Mamba2"};
  s.scores = {{0.25, 0.5, 1.0}, {0.75, kNaN, 0.125}};
  s.total = {0.5833333333333334, 0.4375};
  return s;
}

void writeText(const QString& path, const QByteArray& text) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(text);
}

QString errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const PlotError& e) {
    return e.message();
  }
  return {};
}

}  // namespace

class TestMadChart : public QObject {
  Q_OBJECT

 private slots:
  void bars_labels_and_groups();
  void csv_round_trip_and_seed_layout();
  void bad_scores_and_hostile_files();
};

void TestMadChart::bars_labels_and_groups() {
  QCustomPlot plot;
  plot.resize(800, 500);
  drawMadScores(&plot, twoModels());
  QList<QCPBars*> bars;
  for (int i = 0; i < plot.plottableCount(); ++i)
    if (auto* b = qobject_cast<QCPBars*>(plot.plottable(i))) bars << b;
  QCOMPARE(bars.size(), 2);
  QCOMPARE(bars[0]->name(), QString("Mamba2"));
  QCOMPARE(bars[0]->data()->size(), 4);  // three tasks and the MAD score
  QCOMPARE(bars[1]->data()->size(), 3);  // selective copying was not run: no bar, not a zero
  // Each model's bar sits in its own half of the group, the groups at 0, 1, 2 and 3 (the overall score).
  QVERIFY(bars[0]->data()->at(0)->key < 0 && bars[1]->data()->at(0)->key > 0);
  QCOMPARE(bars[1]->data()->at(2)->key, 3.2);
  QCOMPARE(bars[1]->data()->at(2)->value, 0.4375);
  int labels = 0;
  for (int i = 0; i < plot.itemCount(); ++i)
    if (auto* t = qobject_cast<QCPItemText*>(plot.item(i)); t && t->objectName() == "madScoreLabel") ++labels;
  QCOMPARE(labels, 7);
  auto ticker = plot.xAxis->ticker().dynamicCast<QCPAxisTickerText>();
  QVERIFY(ticker);
  QCOMPARE(ticker->ticks().size(), 4);
  QCOMPARE(ticker->ticks().value(3), QString("MAD score"));
  QCOMPARE(ticker->ticks().value(0), QString("in\ncontext\nrecall"));
  QCOMPARE(plot.yAxis->range().lower, 0.0);
  QVERIFY(plot.legend->visible());
  // Without the overall score and the labels.
  MadChartOptions o;
  o.showTotal = false;
  o.annotate = false;
  o.title = "MAD";
  drawMadScores(&plot, twoModels(), o);
  int points = 0, texts = 0;
  for (int i = 0; i < plot.plottableCount(); ++i)
    if (auto* b = qobject_cast<QCPBars*>(plot.plottable(i))) points += b->data()->size();
  for (int i = 0; i < plot.itemCount(); ++i) texts += qobject_cast<QCPItemText*>(plot.item(i)) != nullptr;
  QCOMPARE(points, 5);
  QCOMPARE(texts, 0);
  const QImage img = plot.toPixmap(800, 500).toImage();
  QVERIFY(!img.isNull());
}

void TestMadChart::csv_round_trip_and_seed_layout() {
  QTemporaryDir dir;
  const QString path = dir.filePath("mad_scores.csv");
  writeMadCsv(twoModels(), path);
  QFile f(path);
  QVERIFY(f.open(QIODevice::ReadOnly));
  QCOMPARE(f.readLine().trimmed(), QByteArray("in-context-recall,selective-copying,memorization,total,model"));
  QCOMPARE(f.readLine().trimmed(), QByteArray("0.25,0.5,1,0.5833333333333334,Mamba2"));
  QCOMPARE(f.readLine().trimmed(), QByteArray("0.75,,0.125,0.4375,Diff-Mamba2"));  // not run: an empty field
  f.close();
  const auto back = readMadCsv(path);
  const auto want = twoModels();
  QCOMPARE(back.tasks, want.tasks);
  QCOMPARE(back.models, want.models);
  for (int m = 0; m < 2; ++m) {
    for (int t = 0; t < 3; ++t) {
      const double a = back.at(m, t), b = want.at(m, t);
      QVERIFY((std::isnan(a) && std::isnan(b)) || a == b);
    }
    QCOMPARE(back.total[static_cast<size_t>(m)], want.total[static_cast<size_t>(m)]);
  }
  // pandas' to_csv with its index: an unnamed first column; no total column: the mean of the tasks run.
  const QString seed = dir.filePath("seed.csv");
  writeText(seed, ",compression,memorization,model\n0,0.5,1.0,hyena\n1,0.25,,mamba2\n");
  const auto s = readMadCsv(seed);
  QCOMPARE(s.tasks, (QStringList{"compression", "memorization"}));
  QCOMPARE(s.models, (QStringList{"hyena", "mamba2"}));
  QCOMPARE(s.total[0], 0.75);
  QCOMPARE(s.total[1], 0.25);
  QVERIFY(std::isnan(s.at(1, 1)));
}

void TestMadChart::bad_scores_and_hostile_files() {
  QCustomPlot plot;
  MadScores s = twoModels();
  s.scores[0][1] = 1.5;
  QVERIFY(errorOf([&] { drawMadScores(&plot, s); }).contains("[0, 1]"));
  s = twoModels();
  s.scores[1].pop_back();
  QVERIFY(errorOf([&] { drawMadScores(&plot, s); }).contains("2 scores for 3 tasks"));
  QVERIFY(errorOf([&] { drawMadScores(&plot, MadScores{}); }).contains("no models"));

  QTemporaryDir dir;
  QVERIFY(errorOf([&] { readMadCsv(dir.path()); }).contains("not a regular file"));
  QVERIFY(errorOf([&] { readMadCsv(dir.filePath("none.csv")); }).contains("no such file"));
  const QString big = dir.filePath("big.csv");
  {
    QFile f(big);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QVERIFY(f.resize(qint64{17} << 20));  // sparse: nothing is read before the size is refused
  }
  QVERIFY(errorOf([&] { readMadCsv(big); }).contains("bytes"));
  const QString p = dir.filePath("bad.csv");
  writeText(p, "a,b,total\n0.5,0.5,0.5\n");
  QVERIFY(errorOf([&] { readMadCsv(p); }).contains("\"model\" column"));
  writeText(p, "a,b,model\n0.5,x,m\n");
  QVERIFY(errorOf([&] { readMadCsv(p); }).contains("line 2"));
  writeText(p, "a,b,model\n0.5,m\n");
  QVERIFY(errorOf([&] { readMadCsv(p); }).contains("2 fields, expected 3"));
  writeText(p, "a,model\n");
  QVERIFY(errorOf([&] { readMadCsv(p); }).contains("a row per model"));
  writeText(p, "a,model\n7,m\n");
  QVERIFY(errorOf([&] { readMadCsv(p); }).contains("[0, 1]"));
}

QTEST_MAIN(TestMadChart)
#include "tst_mad_chart.moc"
