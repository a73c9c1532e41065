// dm::plotting: every figure is drawn into a real QCustomPlot and rendered offscreen, then checked where
// it can go wrong — cell colours sampled at cell centres against the seed's rules (and hand-computed
// colours), annotation texts, axis ranges / labels / log scale, legend contents, the exported files
// (valid PNG / PDF / SVG of the requested size, same pixels as the widget), CSV numbers read back
// bit-exactly, TensorBoard smoothing against hand-computed values, and clear errors for bad input.
#include <QtTest>

#include <QImageReader>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numbers>
#include <random>

#include "plotting/plotting.h"

using namespace dm::plotting;

namespace {

// Without a display, run on Qt's offscreen platform (CTest sets it too); must happen before QApplication.
const bool kOffscreenDefault = [] {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
      qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
    qputenv("QT_QPA_PLATFORM", "offscreen");
  return true;
}();

const QStringList kTasks = {"qa1", "qa2", "qa3", "qa4", "qa5"};
const QStringList kLengths = {"0k", "1k", "2k", "4k", "8k", "16k", "32k", "64k"};

Matrix matrix(int rows, int cols, std::vector<double> values, QStringList rowLabels = {}, QStringList colLabels = {}) {
  Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.values = std::move(values);
  m.rowLabels = std::move(rowLabels);
  m.colLabels = std::move(colLabels);
  return m;
}

// upstream.md §7.7: the committed acc_*.npy files (PG19 Diff-Mamba; needle seed means of both models).
Matrix pg19Diff() {
  return matrix(5, 8, {34.00, 25.40, 16.90, 11.30, 8.10, 5.10, 4.80, 4.10,  //
                       24.00, 16.82, 12.11, 9.31,  5.11, 2.80, 2.40, 2.00,  //
                       8.00,  10.90, 11.22, 10.21, 8.71, 5.91, 6.31, 6.01,  //
                       51.00, 18.32, 8.81,  4.30,  1.40, 0.70, 0.70, 0.50,  //
                       51.00, 36.01, 18.52, 6.21,  2.40, 0.70, 0.60, 0.20},
                kTasks, kLengths);
}
Matrix needleDiff() {
  return matrix(5, 8, {32.33, 26.57, 20.47, 15.90, 13.17, 10.80, 11.10, 10.20,  //
                       12.00, 11.71, 11.95, 12.45, 11.58, 11.24, 11.24, 10.94,  //
                       12.33, 15.35, 15.46, 15.08, 14.31, 14.51, 13.85, 14.31,  //
                       32.67, 22.62, 18.42, 17.65, 15.38, 15.65, 14.58, 14.91,  //
                       31.00, 36.48, 36.27, 34.37, 32.63, 29.73, 29.10, 27.23},
                kTasks, kLengths);
}
Matrix needleMamba() {
  return matrix(5, 8, {21.67, 25.03, 22.97, 19.47, 15.20, 10.93, 9.43,  8.90,   //
                       17.33, 11.44, 11.08, 10.71, 10.08, 9.11,  8.58,  8.07,   //
                       10.33, 8.78,  8.55,  8.14,  7.94,  7.97,  6.57,  6.77,   //
                       23.67, 19.82, 16.72, 13.18, 12.28, 11.34, 9.68,  10.31,  //
                       25.67, 36.51, 35.14, 33.40, 30.00, 27.66, 24.29, 21.65},
                kTasks, kLengths);
}

QString rgbText(const QColor& c) { return QStringLiteral("(%1,%2,%3)").arg(c.red()).arg(c.green()).arg(c.blue()); }

bool sameColor(const QColor& a, const QColor& b, int tolerance = 1) {
  return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
         std::abs(a.blue() - b.blue()) <= tolerance;
}

#define CHECK_COLOR(actual, expected, what) \
  QVERIFY2(sameColor((actual), (expected)), \
           qPrintable(QStringLiteral("%1: got %2, expected %3").arg(what, rgbText(actual), rgbText(expected))))

// Pixel of the rendered image at the centre of heatmap cell (r, c); the plot's layout is the one of
// the last render (renderImage lays the figure out at the image size, scale 1 at 96 dpi).
QColor centrePixel(QCustomPlot& plot, const QImage& image, int r, int c) {
  const int x = qRound(plot.xAxis->coordToPixel(c));
  const int y = qRound(plot.yAxis->coordToPixel(r));
  return QColor(image.pixel(x, y));
}

double darkness(const QColor& c) { return 765.0 - (c.red() + c.green() + c.blue()); }

QCPItemText* textItem(QCustomPlot& plot, int r, int c) { return plot.findChild<QCPItemText*>(textItemName(r, c)); }

QString errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const PlotError& e) {
    return e.message();
  }
  return QString();
}

QByteArray readAll(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.readAll();
}

QList<QStringList> readCsv(const QString& path) {
  QList<QStringList> rows;
  const QStringList lines = QString::fromUtf8(readAll(path)).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
  for (const QString& line : lines) rows << parseCsvLine(line);
  return rows;
}

LensLayers syntheticLens() {
  LensLayers lens;
  for (int k = 1; k <= 48; ++k) {
    lens.layers.push_back(k);
    lens.diff.push_back(0.0004 * k * k / 48.0 + 0.001 * (k % 4));
    lens.mamba.push_back(0.0003 * k + 0.0005 * (k % 3));
  }
  return lens;
}

}  // namespace

class TestPlotting : public QObject {
  Q_OBJECT

 private slots:
  void smoothingMatchesHandComputedEma();
  void incrementalSmoothingEqualsBatch();
  void scoreColorScale();
  void compareAndRatioColorRules();
  void scoreHeatmapCellsAndAxes();
  void scoreHeatmapAnnotations();
  void compareHeatmap();
  void ratioHeatmap();
  void compareWithDifferenceIntervals();
  void figuresExplainThemselves();
  void multiSeedMeansAndStd();
  void lensChart();
  void curvePlotLiveAppend();
  void curvePlotAxesAndInteraction();
  void curveSamplingKeepsExtremes();
  void exportsAreValidFiles();
  void screenAndFileLookAlike();
  void csvHoldsTheExactNumbers();
  void badInputIsReported();
  void plotIsReusableForAnotherFigure();
};

void TestPlotting::smoothingMatchesHandComputedEma() {
  // w = 0.6 on 1, 2, 3 by hand: last = 0.4 → 0.4 / (1 − 0.6) = 1; last = 0.24 + 0.8 = 1.04 →
  // 1.04 / (1 − 0.36) = 1.625; last = 0.624 + 1.2 = 1.824 → 1.824 / (1 − 0.216) = 2.3265306122448979.
  const std::vector<double> s = tensorboardSmooth({1, 2, 3}, 0.6);
  QCOMPARE(s.size(), size_t(3));
  QVERIFY(std::abs(s[0] - 1.0) < 1e-12);
  QVERIFY(std::abs(s[1] - 1.625) < 1e-12);
  QVERIFY(std::abs(s[2] - 2.3265306122448979) < 1e-12);

  // Non-finite values pass through and do not count: 10 → 10; NaN; then last = 2.5 + 2 = 4.5, n = 2 →
  // 4.5 / 0.75 = 6.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> g = tensorboardSmooth({10, nan, 4}, 0.5);
  QVERIFY(std::abs(g[0] - 10.0) < 1e-12);
  QVERIFY(std::isnan(g[1]));
  QVERIFY(std::abs(g[2] - 6.0) < 1e-12);

  // A constant series comes back untouched (TensorBoard #786), weight 0 is the identity, weight 1 keeps
  // TensorBoard's result (the average never leaves 0 and the debias weight is 1).
  QCOMPARE(tensorboardSmooth({0.1, 0.1, 0.1}, 0.99), (std::vector<double>{0.1, 0.1, 0.1}));
  QCOMPARE(tensorboardSmooth({3, 1, 2}, 0.0), (std::vector<double>{3, 1, 2}));
  QCOMPARE(tensorboardSmooth({3, 1, 2}, 1.0), (std::vector<double>{0, 0, 0}));
  QVERIFY(tensorboardSmooth({}, 0.5).empty());

  for (double bad : {-0.1, 1.5, nan})
    QVERIFY(errorOf([&] { tensorboardSmooth({1, 2}, bad); }).contains(QStringLiteral("outside [0, 1]")));
}

void TestPlotting::incrementalSmoothingEqualsBatch() {
  std::mt19937 rng(1234);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_int_distribution<int> chunk(1, 97);
  for (double w : {0.0, 0.3, 0.6, 0.95, 0.999}) {
    std::vector<double> y(40, 2.5);  // constant start: the smoother must restart when it ends
    for (int i = 0; i < 2000; ++i) y.push_back(5.0 * std::exp(-i / 500.0) + 0.3 * noise(rng));
    y[700] = std::numeric_limits<double>::infinity();
    IncrementalSmoother inc(w);
    std::vector<double> sofar, smoothed;
    size_t pos = 0;
    bool restarted = false;
    while (pos < y.size()) {
      const size_t n = pos == 0 ? 10 : std::min(y.size() - pos, static_cast<size_t>(chunk(rng)));
      sofar.insert(sofar.end(), y.begin() + static_cast<long>(pos), y.begin() + static_cast<long>(pos + n));
      const size_t from = inc.update(sofar, smoothed);
      if (from == 0 && pos > 0) restarted = true;
      pos += n;
      const std::vector<double> batch = tensorboardSmooth(sofar, w);
      QCOMPARE(smoothed.size(), batch.size());
      for (size_t i = 0; i < batch.size(); ++i)
        QVERIFY2(smoothed[i] == batch[i] || (std::isnan(smoothed[i]) && std::isnan(batch[i])),
                 qPrintable(QStringLiteral("w=%1 point %2: %3 vs %4").arg(w).arg(i).arg(smoothed[i]).arg(batch[i])));
    }
    QVERIFY(restarted);  // the constant start ended after the first update
  }
}

void TestPlotting::scoreColorScale() {
  // By hand from matplotlib's rule: index ⌊v/100·256⌋ (255 at 100), colour at index/255 on
  // red (255,0,0) → yellow (255,255,0) → green (0,128,0).
  CHECK_COLOR(scoreColor(0), QColor(255, 0, 0), "0");
  CHECK_COLOR(scoreColor(100), QColor(0, 128, 0), "100");
  CHECK_COLOR(scoreColor(25), QColor(255, 128, 0), "25 (index 64: t 0.251, green 0.502)");
  CHECK_COLOR(scoreColor(75), QColor(126, 191, 0), "75 (index 192: t 0.753)");
  CHECK_COLOR(scoreColor(49.9), QColor(255, 254, 0), "49.9 (index 127)");
  CHECK_COLOR(scoreColor(0.39), QColor(255, 0, 0), "0.39 (index 0)");
  CHECK_COLOR(scoreColor(0.40), QColor(255, 2, 0), "0.40 (index 1: green 2/255)");
  CHECK_COLOR(scoreColor(-5), scoreColor(0), "below the scale");
  CHECK_COLOR(scoreColor(150), scoreColor(100), "above the scale");
  CHECK_COLOR(scoreColor(std::numeric_limits<double>::quiet_NaN()), missingColor(), "NaN");
  // Quantised to 256 levels: values inside one level share a colour.
  CHECK_COLOR(scoreColor(10.0), scoreColor(10.1), "same level");
  // Red → yellow → green: green rises to 50, red falls after it, blue stays 0.
  for (int v = 1; v <= 100; ++v) {
    const QColor a = scoreColor(v - 1), b = scoreColor(v);
    QCOMPARE(b.blue(), 0);
    if (v <= 49) QVERIFY(b.green() >= a.green() && b.red() == 255);  // 50 is level 128, just past yellow
    if (v > 51) QVERIFY(b.red() <= a.red() && b.green() <= a.green());
  }
}

void TestPlotting::compareAndRatioColorRules() {
  CHECK_COLOR(compareCellColor(20, 10), QColor(217, 255, 217), "model wins (0.85, 1, 0.85)");
  CHECK_COLOR(compareCellColor(10, 20), QColor(255, 217, 217), "model loses (1, 0.85, 0.85)");
  CHECK_COLOR(compareCellColor(10, 10), QColor(255, 255, 255), "tie");

  QCOMPARE(ratioValue(30, 10), 3.0);
  QCOMPARE(ratioValue(10, 30), 3.0);
  QCOMPARE(ratioValue(0, 5), 0.0);
  QCOMPARE(ratioValue(5, 0), 0.0);
  QCOMPARE(ratioIntensity(1.0), 0.0);
  QCOMPARE(ratioIntensity(1.5), 0.5);  // √(0.5 / 2)
  QCOMPARE(ratioIntensity(3.0), 1.0);
  QCOMPARE(ratioIntensity(9.0), 1.0);

  CHECK_COLOR(ratioCellColor(30, 10), QColor(0, 100, 0), "win, ratio 3: dark green");
  CHECK_COLOR(ratioCellColor(10, 30), QColor(139, 0, 0), "lose, ratio 3: dark red");
  CHECK_COLOR(ratioCellColor(10, 10), QColor(255, 182, 193), "tie: light pink (the seed's else branch)");
  CHECK_COLOR(ratioCellColor(15, 10), QColor(72, 169, 72), "win, ratio 1.5: halfway (144,238,144)→(0,100,0)");
  CHECK_COLOR(ratioCellColor(10, 15), QColor(197, 91, 97), "lose, ratio 1.5: halfway (255,182,193)→(139,0,0)");
  CHECK_COLOR(ratioCellColor(0, 10), QColor(255, 255, 255), "model 0");
  CHECK_COLOR(ratioCellColor(10, 0), QColor(255, 255, 255), "baseline 0");

  // Bigger ratios are darker on both sides until the intensity saturates at ratio 3.
  const double ratios[] = {1.05, 1.2, 1.5, 2.0, 2.5, 3.0};
  for (size_t i = 1; i < std::size(ratios); ++i) {
    QVERIFY(darkness(ratioCellColor(10 * ratios[i], 10)) > darkness(ratioCellColor(10 * ratios[i - 1], 10)));
    QVERIFY(darkness(ratioCellColor(10, 10 * ratios[i])) > darkness(ratioCellColor(10, 10 * ratios[i - 1])));
  }
  CHECK_COLOR(ratioCellColor(50, 10), ratioCellColor(30, 10), "saturated");

  QCOMPARE(annotationTextColor(QColor(0, 100, 0)), QColor(Qt::white));
  QCOMPARE(annotationTextColor(compareWinColor()), QColor(38, 38, 38));
}

void TestPlotting::scoreHeatmapCellsAndAxes() {
  QCustomPlot plot;
  const Matrix m = pg19Diff();
  HeatmapOptions options;
  options.annotate = false;
  options.palette = Palette::Seed;  // the seed's scale, checked to the pixel (the default is checked in figuresExplainThemselves)
  drawHeatmap(&plot, m, options);
  const QImage image = renderImage(&plot, 1200, 750);
  QCOMPARE(image.size(), QSize(1200, 750));
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c)
      CHECK_COLOR(centrePixel(plot, image, r, c), scoreColor(m.at(r, c)),
                  QStringLiteral("cell %1 %2 = %3").arg(m.rowLabel(r), m.colLabel(c)).arg(m.at(r, c)));
  // Ordering the eye relies on: qa4 0k (51.00) is greener than qa4 64k (0.50), which is pure red.
  QVERIFY(centrePixel(plot, image, 3, 0).green() > centrePixel(plot, image, 3, 7).green() + 100);
  CHECK_COLOR(centrePixel(plot, image, 4, 7), QColor(255, 0, 0), "0.20 → index 0 of the scale");

  QCOMPARE(plot.xAxis->label(), QStringLiteral("Context Length"));
  QCOMPARE(plot.yAxis->label(), QStringLiteral("Tasks"));
  QCOMPARE(plot.xAxis->range().lower, -0.5);
  QCOMPARE(plot.xAxis->range().upper, 7.5);
  QCOMPARE(plot.yAxis->range().lower, -0.5);
  QCOMPARE(plot.yAxis->range().upper, 4.5);
  QVERIFY(plot.yAxis->rangeReversed());  // qa1 on top, as seaborn draws it
  QVERIFY(plot.yAxis->coordToPixel(0) < plot.yAxis->coordToPixel(4));
  auto xt = plot.xAxis->ticker().dynamicCast<QCPAxisTickerText>();
  auto yt = plot.yAxis->ticker().dynamicCast<QCPAxisTickerText>();
  QVERIFY(xt && yt);
  QCOMPARE(QStringList(xt->ticks().values()), kLengths);
  QCOMPARE(QStringList(yt->ticks().values()), kTasks);
  QCOMPARE(xt->ticks().firstKey(), 0.0);
  QCOMPARE(xt->ticks().lastKey(), 7.0);

  const QList<QCPColorScale*> bars = plot.findChildren<QCPColorScale*>();
  QCOMPARE(bars.size(), 1);
  QCOMPARE(bars[0]->dataRange(), QCPRange(0, 100));
  // The colour bar shows the same scale: its bottom is red, its top green.
  const QRect bar = bars[0]->axis()->axisRect()->rect();
  CHECK_COLOR(QColor(image.pixel(bar.center().x(), bar.bottom() - 1)), QColor(255, 0, 0), "colour bar bottom");
  CHECK_COLOR(QColor(image.pixel(bar.center().x(), bar.top() + 1)), QColor(0, 128, 0), "colour bar top");
  QCOMPARE(plot.itemCount(), 40);  // one cell each, no annotations
}

void TestPlotting::scoreHeatmapAnnotations() {
  QCustomPlot plot;
  const Matrix m = pg19Diff();
  HeatmapOptions seed;
  seed.palette = Palette::Seed;
  drawHeatmap(&plot, m, seed);
  const QImage image = renderImage(&plot, 1200, 750);
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      QCPItemText* t = textItem(plot, r, c);
      QVERIFY2(t, qPrintable(textItemName(r, c)));
      QCOMPARE(t->text(), QString::asprintf("%.2f", m.at(r, c)));
      QCOMPARE(t->position->coords(), QPointF(c, r));
      QCOMPARE(t->color(), annotationTextColor(scoreColor(m.at(r, c))));
    }
  QCOMPARE(textItem(plot, 1, 1)->text(), QStringLiteral("16.82"));
  // The text is really drawn: pixels around the centre of qa4/64k (red, white text) differ from the fill.
  const int cx = qRound(plot.xAxis->coordToPixel(7)), cy = qRound(plot.yAxis->coordToPixel(3));
  int ink = 0;
  for (int dx = -30; dx <= 30; ++dx)
    for (int dy = -8; dy <= 8; ++dy)
      if (!sameColor(QColor(image.pixel(cx + dx, cy + dy)), scoreColor(m.at(3, 7)), 40)) ++ink;
  QVERIFY2(ink > 40, qPrintable(QStringLiteral("%1 text pixels").arg(ink)));
}

// Given difference intervals (e.g. bootstrap ones) decide the marking: the figure tints exactly the cells
// whose interval excludes 0 as clear, writes "Δ … [lo, hi]", names the method in the legend, and the CSV
// marks the same cells; the ratio figure gives them a thick border.
void TestPlotting::compareWithDifferenceIntervals() {
  const Matrix model = needleDiff(), baseline = needleMamba();
  DifferenceIntervals d;
  d.rows = model.rows, d.cols = model.cols;
  d.method = QStringLiteral("paired bootstrap over samples");
  for (int r = 0; r < model.rows; ++r)
    for (int c = 0; c < model.cols; ++c) {
      const double delta = model.at(r, c) - baseline.at(r, c);
      const bool clear = (r + c) % 3 == 0;  // by construction: these intervals exclude 0
      d.delta.push_back(delta);
      d.low.push_back(clear ? (delta > 0 ? 0.5 * delta : 1.5 * delta) : -std::abs(delta) - 1);
      d.high.push_back(clear ? (delta > 0 ? 1.5 * delta : 0.5 * delta) : std::abs(delta) + 1);
      d.samples.push_back(100), d.seeds.push_back(1);
    }
  d.low[1] = d.high[1] = std::nan("");  // one cell without an interval
  QCustomPlot plot;
  CompareOptions o;
  o.differences = d;
  drawCompare(&plot, model, baseline, o);
  QTemporaryDir dir;
  const QString csv = dir.filePath("c.csv");
  writeCompareCsv(model, baseline, csv, QStringLiteral("Diff"), QStringLiteral("Mamba"), QStringLiteral("task"),
                  QStringLiteral("length"), &d);
  QFile f(csv);
  QVERIFY(f.open(QIODevice::ReadOnly));
  const auto lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
  const auto header = parseCsvLine(lines[0]);
  const auto ex = header.indexOf(QStringLiteral("ci_excludes_0"));
  QVERIFY(ex > 0 && header.contains(QStringLiteral("ci_method")));
  int marked = 0;
  for (int r = 0; r < model.rows; ++r)
    for (int c = 0; c < model.cols; ++c) {
      const auto fields = parseCsvLine(lines[1 + r * model.cols + c]);
      const bool csvMarks = fields[ex] == QStringLiteral("yes");
      const auto v = compareVerdict(model, baseline, r, c, d);
      const bool clear = v == CompareVerdict::ClearlyBetter || v == CompareVerdict::ClearlyWorse;
      QCOMPARE(clear, csvMarks);
      QCOMPARE(plot.findChild<QCPItemRect*>(cellItemName(r, c))->brush().color(), compareVerdictColor(v, o.palette));
      if (r * model.cols + c == 1) QCOMPARE(fields[ex], QString());  // no interval: not marked either way
      marked += csvMarks;
      const auto* text = plot.findChild<QCPItemText*>(textItemName(r, c));
      if (d.has(r, c)) QVERIFY2(text->text().contains(QStringLiteral("Δ")) && text->text().contains('['), qPrintable(text->text()));
    }
  QVERIFY(marked > 5);
  auto* note = plot.findChild<QCPTextElement*>(QStringLiteral("legendNote"));
  QVERIFY(note && note->text().contains(QStringLiteral("paired bootstrap over samples")));
  QVERIFY(compareToolTip(model, baseline, 0, 0, o).contains(QStringLiteral("paired bootstrap over samples")));
  drawRatio(&plot, model, baseline, o);
  for (int r = 0; r < model.rows; ++r)
    for (int c = 0; c < model.cols; ++c)
      QCOMPARE(plot.findChild<QCPItemRect*>(borderItemName(r, c))->pen().widthF(), d.excludesZero(r, c) ? 3.0 : 1.0);
  // A shape that does not match is refused.
  d.rows = 1;
  o.differences = d;
  bool threw = false;
  try {
    drawCompare(&plot, model, baseline, o);
  } catch (const PlotError&) {
    threw = true;
  }
  QVERIFY(threw);
}

void TestPlotting::compareHeatmap() {
  QCustomPlot plot;
  const Matrix model = needleDiff();
  Matrix baseline = needleMamba();
  baseline.values[0] = model.values[0];  // a tie at qa1 / 0k
  CompareOptions options;
  options.annotate = false;
  options.palette = Palette::Seed;
  drawCompare(&plot, model, baseline, options);
  QImage image = renderImage(&plot, 1200, 750);
  int wins = 0, losses = 0;
  for (int r = 0; r < model.rows; ++r)
    for (int c = 0; c < model.cols; ++c) {
      const double a = model.at(r, c), b = baseline.at(r, c);
      const QColor expected = a > b ? QColor(217, 255, 217) : a < b ? QColor(255, 217, 217) : QColor(Qt::white);
      CHECK_COLOR(centrePixel(plot, image, r, c), expected, QStringLiteral("cell %1 %2").arg(r).arg(c));
      wins += a > b;
      losses += a < b;
      // Tinted cells are framed in black, equal ones are not.
      QCOMPARE(plot.findChild<QCPItemRect*>(borderItemName(r, c)) != nullptr, a != b);
    }
  QCOMPARE(wins, 33);  // §7.7 seed means: Diff-Mamba wins 33 cells and loses 6, besides the tie made here
  QCOMPARE(losses, 6);
  // The black frame is drawn: scanning across the left edge of qa3 / 1k (a win) meets a dark pixel.
  const int edge = qRound((plot.xAxis->coordToPixel(0) + plot.xAxis->coordToPixel(1)) / 2.0);
  const int y = qRound(plot.yAxis->coordToPixel(2));
  int darkest = 255;
  for (int x = edge - 3; x <= edge + 3; ++x) darkest = std::min(darkest, qGray(image.pixel(x, y)));
  QVERIFY2(darkest < 60, qPrintable(QStringLiteral("darkest pixel %1").arg(darkest)));

  options.annotate = true;
  drawCompare(&plot, model, baseline, options);
  for (int r = 0; r < model.rows; ++r)
    for (int c = 0; c < model.cols; ++c)
      QCOMPARE(textItem(plot, r, c)->text(), QString::asprintf("%.2f", model.at(r, c)));
  QCOMPARE(plot.xAxis->label(), QStringLiteral("Context Length"));
  QCOMPARE(plot.yAxis->label(), QStringLiteral("Tasks"));
  QVERIFY(plot.findChildren<QCPColorScale*>().isEmpty());
}

void TestPlotting::ratioHeatmap() {
  QCustomPlot plot;
  // Row 0: model wins by 1 (tie), 2, 3, 4, then a zero cell; row 1: model loses by 1.1, 1.5, 4.
  const Matrix model = matrix(2, 5, {10, 20, 30, 40, 0, 10, 10, 10, 10, 5}, {"qa1", "qa2"});
  const Matrix baseline = matrix(2, 5, {10, 10, 10, 10, 5, 11, 15, 40, 10, 0}, {"qa1", "qa2"});
  CompareOptions options;
  options.annotate = false;
  options.palette = Palette::Seed;
  drawRatio(&plot, model, baseline, options);
  QImage image = renderImage(&plot, 1000, 500);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 5; ++c)
      CHECK_COLOR(centrePixel(plot, image, r, c), ratioCellColor(model.at(r, c), baseline.at(r, c)),
                  QStringLiteral("cell %1 %2").arg(r).arg(c));
  CHECK_COLOR(centrePixel(plot, image, 0, 0), QColor(255, 182, 193), "tie → light pink");
  CHECK_COLOR(centrePixel(plot, image, 0, 4), QColor(Qt::white), "zero → white");
  CHECK_COLOR(centrePixel(plot, image, 1, 4), QColor(Qt::white), "zero baseline → white");
  CHECK_COLOR(centrePixel(plot, image, 0, 2), QColor(0, 100, 0), "ratio 3 → dark green");
  QVERIFY(centrePixel(plot, image, 0, 1).green() > centrePixel(plot, image, 0, 2).green());      // 2 lighter than 3
  QVERIFY(darkness(centrePixel(plot, image, 1, 1)) > darkness(centrePixel(plot, image, 1, 0)));  // 1.5 darker than 1.1
  CHECK_COLOR(centrePixel(plot, image, 1, 2), QColor(139, 0, 0), "lose by 4 → dark red");
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 5; ++c) QVERIFY(plot.findChild<QCPItemRect*>(borderItemName(r, c)));

  options.annotate = true;
  drawRatio(&plot, model, baseline, options);
  // A ratio with a zero score is undefined, and says so (the seed wrote 0.00).
  const QStringList expected = {"1.00", "2.00", "3.00", "4.00", "n/a", "1.10", "1.50", "4.00", "1.00", "n/a"};
  for (int i = 0; i < 10; ++i) QCOMPARE(textItem(plot, i / 5, i % 5)->text(), expected[i]);
  QCOMPARE(textItem(plot, 0, 2)->color(), QColor(Qt::white));  // white on dark green
  QCOMPARE(textItem(plot, 0, 0)->color(), QColor(38, 38, 38));
  const Matrix ratio = ratioMatrix(model, baseline);
  QCOMPARE(ratio.values, (std::vector<double>{1, 2, 3, 4, 0, 1.1, 1.5, 4, 1, 0}));
}

// Issue 20's figures: colour-blind palette by default (viridis; blue = the model higher, orange = lower),
// a labelled colour bar, a title, a legend of what each colour means, 95 % intervals from the sample counts
// (a difference inside sampling noise keeps the pale tint) and undefined ratios said as such.
// Entries of the heatmap legend (its grid counts empty cells too).
int legendEntries(const QCustomPlot& plot) {
  auto* legend = plot.findChild<QCPLegend*>(QStringLiteral("heatmapLegend"));
  if (!legend) return -1;
  int n = 0;
  for (int i = 0; i < legend->itemCount(); ++i) n += legend->item(i) != nullptr;
  return n;
}

void TestPlotting::figuresExplainThemselves() {
  QCustomPlot plot;
  Matrix model = matrix(1, 4, {62.5, 55, 12.5, 0}, {"qa1"}, {"0k", "1k", "2k", "4k"});
  Matrix baseline = matrix(1, 4, {25, 50, 25, 0}, {"qa1"}, {"0k", "1k", "2k", "4k"});
  model.samples = baseline.samples = {40, 40, 40, 40};
  HeatmapOptions h;
  h.title = QStringLiteral("BABILong accuracy: quick diffmamba2");
  drawHeatmap(&plot, model, h);
  QImage image = renderImage(&plot, 1000, 500);
  CHECK_COLOR(scoreColor(0, Palette::ColorBlind), QColor(68, 1, 84), "viridis 0");
  CHECK_COLOR(scoreColor(100, Palette::ColorBlind), QColor(253, 231, 37), "viridis 1");
  CHECK_COLOR(centrePixel(plot, image, 0, 3), QColor(68, 1, 84), "0 % cell, viridis");
  const auto bars = plot.findChildren<QCPColorScale*>();
  QCOMPARE(bars.size(), 1);
  QCOMPARE(bars[0]->axis()->label(), QStringLiteral("Accuracy (%)"));
  auto* title = plot.findChild<QCPTextElement*>(QStringLiteral("title"));
  QVERIFY(title);
  QCOMPARE(title->text(), h.title);
  // 62.5 % of 40: Wilson 47.0–75.8 %.
  QCOMPARE(textItem(plot, 0, 0)->text(), QStringLiteral("62.50\n[47–76]"));
  auto* note = plot.findChild<QCPTextElement*>(QStringLiteral("legendNote"));
  QVERIFY(note && note->text().contains("95 % interval") && note->text().contains("40 samples per cell"));

  CompareOptions c;
  c.modelName = QStringLiteral("Diff-Mamba2");
  c.baselineName = QStringLiteral("Mamba2");
  drawCompare(&plot, model, baseline, c);
  image = renderImage(&plot, 1000, 500);
  // +37.5 points on 40 + 40 samples excludes 0; +5 and −12.5 do not (Newcombe 95 %); 0 = 0 is a tie.
  QCOMPARE(compareVerdict(model, baseline, 0, 0), CompareVerdict::ClearlyBetter);
  QCOMPARE(compareVerdict(model, baseline, 0, 1), CompareVerdict::Better);
  QCOMPARE(compareVerdict(model, baseline, 0, 2), CompareVerdict::Worse);
  QCOMPARE(compareVerdict(model, baseline, 0, 3), CompareVerdict::Equal);
  CHECK_COLOR(centrePixel(plot, image, 0, 0), QColor(86, 180, 233), "clearly better: Okabe–Ito sky blue");
  CHECK_COLOR(centrePixel(plot, image, 0, 1), compareWinColor(Palette::ColorBlind), "better within noise: pale blue");
  CHECK_COLOR(centrePixel(plot, image, 0, 2), compareLoseColor(Palette::ColorBlind), "worse within noise: pale orange");
  QVERIFY(compareWinColor(Palette::ColorBlind).blue() > compareWinColor(Palette::ColorBlind).red());
  QVERIFY(compareLoseColor(Palette::ColorBlind).red() > compareLoseColor(Palette::ColorBlind).blue());
  QCOMPARE(textItem(plot, 0, 0)->text(), QStringLiteral("62.50\nΔ +37.5"));
  QCOMPARE(textItem(plot, 0, 2)->text(), QStringLiteral("12.50\nΔ -12.5"));
  QCOMPARE(legendEntries(plot), 5);
  QVERIFY2(heatmapToolTip(model, 0, 0).contains("95 % interval 47.0–75.8 (Wilson, 40 samples)"), qPrintable(heatmapToolTip(model, 0, 0)));
  QString tip = compareToolTip(model, baseline, 0, 1, c);
  QVERIFY2(tip.contains("difference +5.0") && tip.contains("within sampling noise"), qPrintable(tip));
  QVERIFY(compareToolTip(model, baseline, 0, 0, c).contains(": clear"));
  QVERIFY(plot.findChild<QCPTextElement*>(QStringLiteral("title")) == nullptr);  // no title asked: none left over
  // Without sample counts: the plain win / lose / equal legend.
  model.samples.clear();
  drawCompare(&plot, model, baseline, c);
  QCOMPARE(compareVerdict(model, baseline, 0, 0), CompareVerdict::Better);
  QCOMPARE(legendEntries(plot), 3);

  drawRatio(&plot, model, baseline, c);
  QCOMPARE(textItem(plot, 0, 3)->text(), QStringLiteral("0 / 0"));
  CHECK_COLOR(plot.findChild<QCPItemRect*>(cellItemName(0, 3))->brush().color(), missingColor(),
              "undefined ratio: grey, not a colour of the scale");
  const QColor better = plot.findChild<QCPItemRect*>(cellItemName(0, 0))->brush().color();
  QVERIFY(better.blue() > better.red());  // 2.5× better: blue
  QCOMPARE(legendEntries(plot), 3);
  Palette p;
  QVERIFY(paletteFromName("seed", &p) && p == Palette::Seed);
  QVERIFY(paletteFromName("colorblind", &p) && p == Palette::ColorBlind);
  QVERIFY(!paletteFromName("rainbow", &p));
}

void TestPlotting::multiSeedMeansAndStd() {
  const QStringList rows = {"qa1", "qa2"}, cols = {"0k", "1k"};
  const std::vector<Matrix> seeds = {matrix(2, 2, {1, 2, 3, 4}, rows, cols), matrix(2, 2, {3, 2, 5, 4}, rows, cols),
                                     matrix(2, 2, {2, 2, 4, 10}, rows, cols)};
  const Matrix mean = meanOverSeeds(seeds);
  QCOMPARE(mean.values, (std::vector<double>{2, 2, 4, 6}));
  // Sample sd by hand: (1,3,2) → 1; (2,2,2) → 0; (3,5,4) → 1; (4,4,10) → √(24/2) = √12.
  QCOMPARE(mean.stddev.size(), size_t(4));
  QVERIFY(std::abs(mean.stddev[0] - 1.0) < 1e-12);
  QCOMPARE(mean.stddev[1], 0.0);
  QVERIFY(std::abs(mean.stddev[2] - 1.0) < 1e-12);
  QVERIFY(std::abs(mean.stddev[3] - std::sqrt(12.0)) < 1e-12);
  QCOMPARE(mean.rowLabels, rows);
  QVERIFY(!meanOverSeeds({seeds[0]}).hasStddev());

  QVERIFY(errorOf([&] { meanOverSeeds({seeds[0], matrix(1, 2, {1, 2}, {"qa1"}, cols)}); }).contains("is 1 × 2"));
  QVERIFY(errorOf([&] {
            meanOverSeeds({seeds[0], matrix(2, 2, {1, 2, 3, 4}, {"qa1", "qa3"}, cols)});
          }).contains("labels"));
  QVERIFY(errorOf([&] { meanOverSeeds({}); }).contains("no matrices"));

  QCustomPlot plot;
  HeatmapOptions h;
  h.showStd = true;
  drawHeatmap(&plot, mean, h);
  QCOMPARE(textItem(plot, 0, 0)->text(), QStringLiteral("2.00\n±1.00"));
  QCOMPARE(textItem(plot, 1, 1)->text(), QStringLiteral("6.00\n±3.46"));
  h.showStd = false;
  drawHeatmap(&plot, mean, h);
  QCOMPARE(textItem(plot, 1, 1)->text(), QStringLiteral("6.00"));
  QCOMPARE(heatmapToolTip(mean, 1, 1), QStringLiteral("qa2 · 1k: 6.00 ± 3.46 (sd over seeds)"));
  QCOMPARE(heatmapToolTip(seeds[0], 1, 1), QStringLiteral("qa2 · 1k: 4.00"));

  const Matrix base = meanOverSeeds({matrix(2, 2, {2, 1, 4, 6}, rows, cols), matrix(2, 2, {2, 3, 4, 6}, rows, cols)});
  CompareOptions c;
  c.showStd = true;
  drawCompare(&plot, mean, base, c);
  QCOMPARE(textItem(plot, 0, 0)->text(), QStringLiteral("2.00\n±1.00"));
  drawRatio(&plot, mean, base, c);
  QCOMPARE(textItem(plot, 0, 1)->text(), QStringLiteral("1.00\n±0.00 / ±1.41"));
  const QString tip = compareToolTip(mean, base, 1, 1, c);
  QVERIFY2(tip.contains("Diff-Mamba: 6.00 ± 3.46") && tip.contains("Mamba: 6.00 ± 0.00") &&
               tip.contains("ratio: 1.00 (equal)") && tip.startsWith("qa2 · 1k"),
           qPrintable(tip));
  // A ratio with a zero score is undefined, and the tool tip says so instead of "0.00 (equal)".
  const Matrix zeros = matrix(1, 2, {0, 0}, {"qa1"}, {"0k", "1k"}), some = matrix(1, 2, {0, 5}, {"qa1"}, {"0k", "1k"});
  const QString both = compareToolTip(zeros, zeros, 0, 0, c), one = compareToolTip(zeros, some, 0, 1, c);
  QVERIFY2(both.contains("ratio: undefined (0 / 0") && !both.contains("equal"), qPrintable(both));
  QVERIFY2(one.contains("ratio: undefined (Diff-Mamba scores 0") && one.contains("Diff-Mamba worse"), qPrintable(one));

  // "±sd" without a standard deviation is refused, not silently dropped.
  h.showStd = true;
  QVERIFY(errorOf([&] { drawHeatmap(&plot, seeds[0], h); }).contains("no per-cell standard deviation"));
  QVERIFY(errorOf([&] { drawCompare(&plot, seeds[0], base, c); }).contains("no per-cell standard deviation"));

  // The cell under the mouse, for the app's tool tip.
  plot.resize(800, 500);
  drawHeatmap(&plot, mean);
  plot.replot();
  const QPointF centre(plot.xAxis->coordToPixel(1), plot.yAxis->coordToPixel(0));
  const auto cell = heatmapCellAt(&plot, centre, 2, 2);
  QVERIFY(cell.has_value());
  QCOMPARE(cell->row, 0);
  QCOMPARE(cell->col, 1);
  QVERIFY(!heatmapCellAt(&plot, QPointF(2, 2), 2, 2).has_value());
}

void TestPlotting::lensChart() {
  const LensLayers lens = syntheticLens();
  QCustomPlot plot;
  LensOptions options;
  options.startLayer = 5;
  options.endLayer = 20;
  drawLensLayers(&plot, lens, options);
  QCOMPARE(plot.plottableCount(), 2);
  auto* diff = qobject_cast<QCPBars*>(plot.plottable(0));
  auto* mamba = qobject_cast<QCPBars*>(plot.plottable(1));
  QVERIFY(diff && mamba);
  QCOMPARE(diff->data()->size(), 16);
  for (int i = 0; i < 16; ++i) {
    const int layer = 5 + i;
    QCOMPARE(diff->data()->at(i)->key, double(layer));
    QCOMPARE(diff->data()->at(i)->value, lens.diff[size_t(layer - 1)] * 100.0);  // percent, as the title says
    QCOMPARE(mamba->data()->at(i)->value, lens.mamba[size_t(layer - 1)] * 100.0);
  }
  QCOMPARE(diff->name(), QStringLiteral("Diff-Mamba"));
  QCOMPARE(mamba->name(), QStringLiteral("Mamba"));
  QVERIFY(plot.legend->visible());
  QCOMPARE(plot.legend->itemCount(), 2);
  QCOMPARE(plot.yAxis->label(), QStringLiteral("Needle Probability [%]"));
  QCOMPARE(plot.xAxis->label(), QStringLiteral("Layer"));
  QVERIFY(plot.xAxis->range().lower < 5 && plot.xAxis->range().lower > 4);
  QVERIFY(plot.xAxis->range().upper > 20 && plot.xAxis->range().upper < 21);
  QCOMPARE(plot.xAxis->tickLabelRotation(), -90.0);
  QCOMPARE(plot.yAxis->scaleType(), QCPAxis::stLinear);
  QCOMPARE(plot.yAxis->range().lower, 0.0);

  // Rendered: Diff-Mamba's bar sits left of the layer, Mamba's right, in their colours.
  QImage image = renderImage(&plot, 1400, 600);
  const double v20 = lens.diff[19] * 100.0, m20 = lens.mamba[19] * 100.0;
  CHECK_COLOR(QColor(image.pixel(qRound(plot.xAxis->coordToPixel(19.8)), qRound(plot.yAxis->coordToPixel(v20 / 2)))),
              options.diffColor, "Diff-Mamba bar at layer 20");
  CHECK_COLOR(QColor(image.pixel(qRound(plot.xAxis->coordToPixel(20.2)), qRound(plot.yAxis->coordToPixel(m20 / 2)))),
              options.mambaColor, "Mamba bar at layer 20");

  // Log y.
  options.logY = true;
  drawLensLayers(&plot, lens, options);
  QCOMPARE(plot.yAxis->scaleType(), QCPAxis::stLogarithmic);
  QVERIFY(plot.yAxis->ticker().dynamicCast<QCPAxisTickerLog>());
  QVERIFY(plot.yAxis->range().lower > 0.0);
  double lo = 1e9, hi = 0;
  for (int k = 5; k <= 20; ++k)
    for (double v : {lens.diff[size_t(k - 1)], lens.mamba[size_t(k - 1)]}) {
      lo = std::min(lo, v * 100);
      hi = std::max(hi, v * 100);
    }
  QVERIFY(plot.yAxis->range().lower < lo && plot.yAxis->range().upper > hi);

  // Lines, all layers, raw probabilities.
  options = LensOptions();
  options.kind = LensChartKind::Lines;
  options.percent = false;
  drawLensLayers(&plot, lens, options);
  QCOMPARE(plot.graphCount(), 2);
  QCOMPARE(plot.graph(0)->data()->size(), 48);
  QCOMPARE(plot.graph(0)->data()->at(47)->value, lens.diff[47]);
  QCOMPARE(plot.yAxis->label(), QStringLiteral("Needle Probability"));

  // Ranges outside the data are refused with the layers that exist.
  options.endLayer = 60;
  QVERIFY(
      errorOf([&] { drawLensLayers(&plot, lens, options); }).contains("end layer 60 is not in the data (layers 1–48)"));
  options.endLayer = 3;
  options.startLayer = 10;
  QVERIFY(errorOf([&] { drawLensLayers(&plot, lens, options); }).contains("after end layer"));
}

void TestPlotting::curvePlotLiveAppend() {
  QCustomPlot plot;
  plot.resize(900, 600);
  CurvePlot curves(&plot);
  curves.setSmoothing(0.6);
  curves.setYLabel(QStringLiteral("Loss"));
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 0.05);
  std::uniform_int_distribution<int> chunk(1, 300);
  std::vector<std::vector<double>> allY(4), allSteps(4), allWall(4);
  for (int k = 0; k < 4; ++k) QCOMPARE(curves.addCurve(QStringLiteral("run %1").arg(k)), k);
  for (int round = 0; round < 20; ++round)
    for (int k = 0; k < 4; ++k) {
      const int n = chunk(rng);
      std::vector<double> steps, y, wall;
      for (int i = 0; i < n; ++i) {
        const double step = static_cast<double>(allSteps[size_t(k)].size() + steps.size() + 1);
        steps.push_back(step);
        y.push_back(3.0 * std::exp(-step / (400.0 * (k + 1))) + 0.5 + noise(rng));
        wall.push_back(step * 0.25 * (k + 1));
      }
      curves.appendPoints(k, steps, y, wall);
      allSteps[size_t(k)].insert(allSteps[size_t(k)].end(), steps.begin(), steps.end());
      allY[size_t(k)].insert(allY[size_t(k)].end(), y.begin(), y.end());
      allWall[size_t(k)].insert(allWall[size_t(k)].end(), wall.begin(), wall.end());
      curves.replot();
    }
  for (int k = 0; k < 4; ++k) {
    const size_t n = allY[size_t(k)].size();
    QCOMPARE(size_t(curves.pointCount(k)), n);
    QCOMPARE(curves.rawGraph(k)->pointCount(), int(n));
    QCOMPARE(curves.smoothedSeries(k).y, tensorboardSmooth(allY[size_t(k)], 0.6));  // live == batch, exactly
    QCOMPARE(curves.rawSeries(k).x, allSteps[size_t(k)]);
    QCOMPARE(curves.rawSeries(k).y, allY[size_t(k)]);
    QVERIFY(curves.rawGraph(k)->visible());
    // Faint behind the smoothed curve: the series colour at 30 % over white (pre-blended).
    const QColor raw = curves.rawGraph(k)->pen().color(), full = seriesColor(k);
    QCOMPARE(raw.alpha(), 255);
    QVERIFY(raw.lightness() > full.lightness() + 40);
    QCOMPARE(raw.red(), int(std::lround(0.3 * full.red() + 0.7 * 255)));
    QCOMPARE(curves.smoothedGraph(k)->pen().color(), seriesColor(k));
    QVERIFY(curves.smoothedGraph(k)->pen().widthF() > curves.rawGraph(k)->pen().widthF());
    QVERIFY(!plot.legend->hasItemWithPlottable(curves.rawGraph(k)));
    QVERIFY(plot.legend->hasItemWithPlottable(curves.smoothedGraph(k)));
  }
  QCOMPARE(plot.legend->itemCount(), 4);
  // Every raw curve is drawn below every smoothed one.
  const QList<QCPLayerable*> order = curves.rawGraph(0)->layer()->children();
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) QVERIFY(order.indexOf(curves.rawGraph(a)) < order.indexOf(curves.smoothedGraph(b)));
  QVERIFY(curves.autoRange());
  double lastStep = 0;
  for (const auto& s : allSteps) lastStep = std::max(lastStep, s.back());
  QCOMPARE(plot.xAxis->range().lower, 1.0);
  QCOMPARE(plot.xAxis->range().upper, lastStep);
  QCOMPARE(plot.yAxis->label(), QStringLiteral("Loss"));
  QCOMPARE(plot.xAxis->label(), QStringLiteral("Step"));

  // Changing the smoothing resmooths everything; 0 hides the raw curve (it would be drawn twice).
  curves.setSmoothing(0.9);
  QCOMPARE(curves.smoothedSeries(2).y, tensorboardSmooth(allY[2], 0.9));
  curves.setSmoothing(0.0);
  QCOMPARE(curves.smoothedSeries(2).y, allY[2]);
  QVERIFY(!curves.rawGraph(2)->visible());
  curves.setSmoothing(0.6);

  // The drawn curve is there: pixels in the first curve's colour.
  const QImage image = renderImage(&plot, 900, 600);
  int colored = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) colored += sameColor(QColor(image.pixel(x, y)), seriesColor(0), 12);
  QVERIFY2(colored > 300, qPrintable(QString::number(colored)));

  // Wall time on x uses the wall seconds given with the points.
  curves.setXAxis(CurvePlot::XAxis::WallTime);
  QCOMPARE(curves.rawSeries(1).x, allWall[1]);
  QCOMPARE(plot.xAxis->range().upper,
           std::max({allWall[0].back(), allWall[1].back(), allWall[2].back(), allWall[3].back()}));
  QVERIFY(plot.xAxis->label().startsWith(QStringLiteral("Wall time")));
  QVERIFY(plot.xAxis->ticker().dynamicCast<QCPAxisTickerTime>());
  curves.setXAxis(CurvePlot::XAxis::Step);

  // CSV: every point of every curve, numbers exact.
  QTemporaryDir dir;
  const QString csv = dir.filePath(QStringLiteral("curves.csv"));
  curves.writeCsv(csv);
  const QList<QStringList> rows = readCsv(csv);
  QCOMPARE(rows[0], (QStringList{"curve", "step", "wall_s", "y", "y_smoothed"}));
  size_t total = 0;
  for (const auto& y : allY) total += y.size();
  QCOMPARE(size_t(rows.size() - 1), total);
  const std::vector<double> sm3 = tensorboardSmooth(allY[3], 0.6);
  int row = 1;
  for (int k = 0; k < 3; ++k) row += int(allY[size_t(k)].size());
  for (size_t i = 0; i < allY[3].size(); ++i, ++row) {
    QCOMPARE(rows[row][0], QStringLiteral("run 3"));
    QCOMPARE(rows[row][1].toDouble(), allSteps[3][i]);
    QCOMPARE(parseCsvNumber(rows[row][2], "wall"), allWall[3][i]);
    QCOMPARE(parseCsvNumber(rows[row][3], "y"), allY[3][i]);
    QCOMPARE(parseCsvNumber(rows[row][4], "smoothed"), sm3[i]);
  }

  // Bad appends are refused and change nothing.
  const int before = curves.pointCount(0);
  QVERIFY(errorOf([&] { curves.appendPoints(0, {1.0}, {1.0}, {1.0}); }).contains("non-decreasing"));
  QVERIFY(errorOf([&] { curves.appendPoints(0, {1e9, 2e9}, {1.0}, {}); }).contains("2 steps but 1 values"));
  QVERIFY(errorOf([&] { curves.appendPoints(0, {1e9}, {1.0}); }).contains("with wall times"));
  QVERIFY(errorOf([&] { curves.appendPoints(9, {1.0}, {1.0}); }).contains("curve 9 does not exist"));
  QVERIFY(errorOf([&] { curves.appendPoints(0, {1e9}, {1.0}, {0.5}); }).contains("wall time 0.5"));
  QCOMPARE(curves.pointCount(0), before);
  const int stepsOnly = curves.addCurve(QStringLiteral("no wall"));
  curves.appendPoints(stepsOnly, {1, 2, 3}, {1, 2, 3});
  QVERIFY(errorOf([&] { curves.setXAxis(CurvePlot::XAxis::WallTime); }).contains("\"no wall\" has no wall times"));
  QVERIFY(errorOf([&] { curves.setSmoothing(1.2); }).contains("outside [0, 1]"));

  // Removing one curve: its graphs and legend entry go, the later curves move down one index intact.
  const int graphs = plot.graphCount();
  curves.removeCurve(1);
  QCOMPARE(plot.graphCount(), graphs - 2);
  QCOMPARE(curves.curveCount(), 4);
  QCOMPARE(curves.curveLabel(1), QStringLiteral("run 2"));
  QCOMPARE(curves.rawSeries(1).y, allY[2]);
  QCOMPARE(curves.curveLabel(3), QStringLiteral("no wall"));
  QVERIFY(errorOf([&] { curves.removeCurve(4); }).contains("curve 4 does not exist"));
}

void TestPlotting::curvePlotAxesAndInteraction() {
  QCustomPlot plot;
  plot.resize(800, 500);
  CurvePlot curves(&plot);
  const int lr = curves.addCurve(QStringLiteral("lr"));
  std::vector<double> steps, y;
  for (int i = 1; i <= 1000; ++i) {
    steps.push_back(i);
    y.push_back(1e-3 * std::pow(0.995, i));
  }
  curves.appendPoints(lr, steps, y);
  curves.setLogY(true);
  curves.replot();
  QCOMPARE(plot.yAxis->scaleType(), QCPAxis::stLogarithmic);
  QVERIFY(plot.yAxis->ticker().dynamicCast<QCPAxisTickerLog>());
  QVERIFY(plot.yAxis->range().lower > 0 && plot.yAxis->range().lower < y.back());
  QVERIFY(plot.yAxis->range().upper > y.front());
  curves.setLogX(true);
  QCOMPARE(plot.xAxis->scaleType(), QCPAxis::stLogarithmic);
  curves.setLogX(false);
  curves.setLogY(false);
  QCOMPARE(plot.yAxis->scaleType(), QCPAxis::stLinear);

  // Zoom / pan are on; the user's view survives live appends until a double click.
  QVERIFY(plot.interactions().testFlag(QCP::iRangeDrag));
  QVERIFY(plot.interactions().testFlag(QCP::iRangeZoom));
  plot.show();
  QVERIFY(QTest::qWaitForWindowExposed(&plot));
  curves.replot();
  const QPoint centre = plot.axisRect()->rect().center();
  QWheelEvent wheel(centre, plot.mapToGlobal(centre), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                    Qt::NoScrollPhase, false);
  QApplication::sendEvent(&plot, &wheel);
  QVERIFY(!curves.autoRange());
  const QCPRange zoomed = plot.xAxis->range();
  QVERIFY(zoomed.size() < 999.0);  // the wheel zoomed in
  curves.appendPoints(lr, {1001, 1002, 5000}, {1e-6, 1e-6, 1e-6});
  curves.replot();
  QCOMPARE(plot.xAxis->range(), zoomed);
  QTest::mouseDClick(&plot, Qt::LeftButton, Qt::NoModifier, centre);
  QVERIFY(curves.autoRange());
  QCOMPARE(plot.xAxis->range().upper, 5000.0);
}

void TestPlotting::curveSamplingKeepsExtremes() {
  QCustomPlot plot;
  plot.resize(1000, 500);
  CurvePlot curves(&plot);
  curves.setSmoothing(0.6);
  const int k = curves.addCurve(QStringLiteral("dense"));
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> jitter(-0.01, 0.01);
  std::vector<double> steps(200000), y(200000);
  for (size_t i = 0; i < steps.size(); ++i) {
    steps[i] = double(i);
    y[i] = 1.0 + jitter(rng);
  }
  y[123457] = 5.0;  // one spike and one dip among 200k points
  y[50000] = -3.0;
  curves.appendPoints(k, steps, y);
  curves.replot();
  const QImage image = renderImage(&plot, 1000, 500);  // lays the figure out at 1000 × 500
  const double width = plot.axisRect()->width();

  // Raw: at most two vertices per pixel column, and the extremes survive the sampling.
  const QVector<QPointF> raw = curves.rawGraph(k)->sampledPixels();
  QVERIFY2(raw.size() <= 2 * width + 8, qPrintable(QString::number(raw.size())));
  QVERIFY(raw.size() >= width);
  double top = 1e9, bottom = -1e9;
  for (const QPointF& p : raw) {
    top = std::min(top, p.y());
    bottom = std::max(bottom, p.y());
  }
  QVERIFY(std::abs(top - plot.yAxis->coordToPixel(5.0)) < 1e-6);
  QVERIFY(std::abs(bottom - plot.yAxis->coordToPixel(-3.0)) < 1e-6);
  // Smoothed: one vertex per column.
  const QVector<QPointF> smooth = curves.smoothedGraph(k)->sampledPixels();
  QVERIFY2(smooth.size() <= width + 3, qPrintable(QString::number(smooth.size())));

  // The spike is on the picture: raw-colour pixels at its column reach up to the spike's height.
  const int sx = qRound(plot.xAxis->coordToPixel(123457)), sy = qRound(plot.yAxis->coordToPixel(5.0));
  const QColor rawColor = curves.rawGraph(k)->pen().color();
  bool found = false;
  for (int x = sx - 2; x <= sx + 2 && !found; ++x)
    for (int yy = sy - 2; yy <= sy + 3 && !found; ++yy) found = sameColor(QColor(image.pixel(x, yy)), rawColor, 3);
  QVERIFY2(found, "the spike's top is drawn");

  // Few points: every point is a vertex.
  const int sparse = curves.addCurve(QStringLiteral("sparse"));
  std::vector<double> s50, y50;
  for (int i = 0; i < 50; ++i) {
    s50.push_back(i * 4000.0);
    y50.push_back(1.0 + 0.01 * i);
  }
  curves.appendPoints(sparse, s50, y50);
  curves.replot();
  QCOMPARE(curves.rawGraph(sparse)->sampledPixels().size(), 50);
  QCOMPARE(curves.smoothedGraph(sparse)->sampledPixels().size(), 50);

  // Log y: the dip below zero becomes a gap instead of a line to -infinity.
  curves.setLogY(true);
  curves.replot();
  int gaps = 0;
  for (const QPointF& p : curves.rawGraph(k)->sampledPixels()) gaps += std::isnan(p.y());
  QCOMPARE(gaps, 1);
}

void TestPlotting::exportsAreValidFiles() {
  QTemporaryDir dir;
  QCustomPlot plot;
  drawHeatmap(&plot, pg19Diff());

  const QString png = dir.filePath("heatmap.png");
  exportPng(&plot, png, 1600, 1000, 200);
  QVERIFY(readAll(png).startsWith(QByteArray("\x89PNG\r\n\x1a\n", 8)));
  QImageReader reader(png);
  QCOMPARE(QByteArray(reader.format()), QByteArray("png"));
  QCOMPARE(reader.size(), QSize(1600, 1000));
  const QImage read = reader.read();
  QCOMPARE(read.size(), QSize(1600, 1000));
  QCOMPARE(read.dotsPerMeterX(), int(std::lround(200 / 0.0254)));

  const QString pdf = dir.filePath("heatmap.pdf");
  exportPdf(&plot, pdf, 768, 480);
  const QByteArray pdfBytes = readAll(pdf);
  QVERIFY(pdfBytes.startsWith("%PDF-"));
  QVERIFY(pdfBytes.right(16).contains("%%EOF"));
  const QRegularExpressionMatch box = QRegularExpression(QStringLiteral("/MediaBox \\[0 0 ([0-9.]+) ([0-9.]+)\\]"))
                                          .match(QString::fromLatin1(pdfBytes));
  QVERIFY(box.hasMatch());
  QCOMPARE(box.captured(1).toDouble(), 576.0);  // 768 × 480 logical pixels = 8 × 5 in = 576 × 360 pt
  QCOMPARE(box.captured(2).toDouble(), 360.0);
  QVERIFY(pdfBytes.contains("/Count 1"));  // one page
  QVERIFY(pdfBytes.size() > 2000);

  const QString svg = dir.filePath("heatmap.svg");
  exportSvg(&plot, svg, 768, 480);
  QSvgRenderer renderer(svg);
  QVERIFY(renderer.isValid());
  QCOMPARE(renderer.viewBox(), QRect(0, 0, 768, 480));
  QXmlStreamReader xml(readAll(svg));
  QStringList texts;
  while (!xml.atEnd())
    if (xml.readNext() == QXmlStreamReader::StartElement && xml.name() == QLatin1String("text"))
      texts << xml.readElementText(QXmlStreamReader::IncludeChildElements).trimmed();
  QVERIFY(!xml.hasError());
  for (const char* expected : {"34.00", "16.82", "0.20", "Context Length", "Tasks", "qa5", "64k"})
    QVERIFY2(texts.contains(QString::fromUtf8(expected)), expected);

  // By suffix and size in inches.
  exportFigure(&plot, dir.filePath("small.png"), FigureSize{2.0, 1.5, 100.0});
  QCOMPARE(QImageReader(dir.filePath("small.png")).size(), QSize(200, 150));
  exportFigure(&plot, dir.filePath("fig.svg"), FigureSize{8.0, 5.0, 300.0});
  QCOMPARE(QSvgRenderer(dir.filePath("fig.svg")).viewBox(), QRect(0, 0, 768, 480));
  QVERIFY(errorOf([&] { exportFigure(&plot, dir.filePath("fig.tiff")); }).contains("unknown format \".tiff\""));

  // Failures are reported and leave an existing file alone.
  QVERIFY(errorOf([&] { exportPng(&plot, dir.filePath("no/such/dir/x.png"), 100, 100); }).contains("cannot write"));
  QVERIFY(errorOf([&] { exportPdf(&plot, dir.filePath("no/such/dir/x.pdf"), 100, 100); }).contains("cannot write"));
  QVERIFY(errorOf([&] { exportSvg(&plot, dir.filePath("no/such/dir/x.svg"), 100, 100); }).contains("cannot write"));
  QVERIFY(errorOf([&] { exportPng(&plot, png, 0, 100); }).contains("outside 16"));
  QVERIFY(errorOf([&] { exportPng(&plot, png, 100, 100, 0); }).contains("dpi"));
  QCOMPARE(QImageReader(png).size(), QSize(1600, 1000));
}

void TestPlotting::screenAndFileLookAlike() {
  // The widget on screen and the 96-dpi PNG of the same size are the same picture; a 2× PNG has the
  // same layout (its half-size version matches the 1× picture closely).
  QCustomPlot plot;
  plot.resize(800, 500);
  drawCompare(&plot, needleDiff(), needleMamba());
  plot.show();
  QVERIFY(QTest::qWaitForWindowExposed(&plot));
  plot.replot();
  const QImage screen = plot.grab().toImage().convertToFormat(QImage::Format_RGB32);
  const QImage file = renderImage(&plot, 800, 500, 96).convertToFormat(QImage::Format_RGB32);
  QCOMPARE(screen.size(), file.size());
  auto differing = [](const QImage& a, const QImage& b, int tolerance) {
    int n = 0;
    for (int y = 0; y < a.height(); ++y)
      for (int x = 0; x < a.width(); ++x)
        if (!sameColor(QColor(a.pixel(x, y)), QColor(b.pixel(x, y)), tolerance)) ++n;
    return n;
  };
  // Fills, lines and layout are identical; glyph anti-aliasing at fractional positions differs between the
  // widget's backing store and a QImage (measured: about 0.5 % of the pixels, all inside text).
  const int d1 = differing(screen, file, 2);
  QVERIFY2(d1 < 800 * 500 / 100, qPrintable(QStringLiteral("%1 pixels differ").arg(d1)));
  const QImage twice = renderImage(&plot, 1600, 1000, 192)
                           .scaled(800, 500, Qt::IgnoreAspectRatio, Qt::SmoothTransformation)
                           .convertToFormat(QImage::Format_RGB32);
  const int d2 = differing(twice, file, 60);
  QVERIFY2(d2 < 800 * 500 / 50, qPrintable(QStringLiteral("%1 pixels differ at 2×").arg(d2)));
  // The same cell centre is the same colour in both.
  const int x = qRound(plot.xAxis->coordToPixel(3)), y = qRound(plot.yAxis->coordToPixel(2));
  CHECK_COLOR(QColor(twice.pixel(x, y)), QColor(file.pixel(x, y)), "cell at 2×");
}

void TestPlotting::csvHoldsTheExactNumbers() {
  QTemporaryDir dir;
  Matrix m = matrix(2, 3, {0.1 + 0.2, 1e-300, 100.0 / 3.0, std::numbers::pi, -0.0, 12.34},
                    {"qa1, single", "say \"hi\""}, {"0k", "1k", "2k"});
  const QString path = dir.filePath("m.csv");
  writeCsv(m, path);
  const QList<QStringList> rows = readCsv(path);
  QCOMPARE(rows[0], (QStringList{"task", "0k", "1k", "2k"}));
  QCOMPARE(rows[1][0], QStringLiteral("qa1, single"));
  QCOMPARE(rows[2][3], QStringLiteral("12.34"));  // shortest form, not 12.339999999999999
  Matrix back = readMatrixCsv(path);
  QCOMPARE(back.rows, 2);
  QCOMPARE(back.cols, 3);
  QCOMPARE(back.rowLabels, m.rowLabels);
  QCOMPARE(back.colLabels, m.colLabels);
  QVERIFY(std::memcmp(back.values.data(), m.values.data(), sizeof(double) * 6) == 0);  // bit for bit
  QVERIFY(!back.hasStddev());

  const Matrix mean = meanOverSeeds({needleDiff(), pg19Diff(), needleMamba()});
  writeCsv(mean, path);
  back = readMatrixCsv(path);
  QCOMPARE(back.values, mean.values);
  QCOMPARE(back.stddev, mean.stddev);
  QCOMPARE(readCsv(path)[0].mid(9),
           (QStringList{"0k sd", "1k sd", "2k sd", "4k sd", "8k sd", "16k sd", "32k sd", "64k sd"}));

  const QString cmp = dir.filePath("compare.csv");
  writeCompareCsv(needleDiff(), needleMamba(), cmp);
  const QList<QStringList> c = readCsv(cmp);
  QCOMPARE(c[0], (QStringList{"task", "length", "Diff-Mamba", "Mamba", "ratio", "outcome"}));
  QCOMPARE(c.size(), 41);
  for (int i = 0; i < 40; ++i) {
    const double a = needleDiff().values[size_t(i)], b = needleMamba().values[size_t(i)];
    QCOMPARE(c[i + 1][0], kTasks[i / 8]);
    QCOMPARE(c[i + 1][1], kLengths[i % 8]);
    QCOMPARE(parseCsvNumber(c[i + 1][2], "model"), a);
    QCOMPARE(parseCsvNumber(c[i + 1][3], "baseline"), b);
    QCOMPARE(parseCsvNumber(c[i + 1][4], "ratio"), ratioValue(a, b));
    QCOMPARE(c[i + 1][5], a > b ? QStringLiteral("win") : a < b ? QStringLiteral("lose") : QStringLiteral("tie"));
  }

  const std::vector<Series> series = {{{1, 2, 3}, {0.5, 0.25, 1.0 / 3.0}, "run a"}, {{10}, {1e-9}, "run,b"}};
  const QString sp = dir.filePath("series.csv");
  writeCsv(series, sp);
  const QList<QStringList> s = readCsv(sp);
  QCOMPARE(s.size(), 5);
  QCOMPARE(s[3], (QStringList{"run a", "3", csvNumber(1.0 / 3.0)}));
  QCOMPARE(parseCsvNumber(s[3][2], "y"), 1.0 / 3.0);
  QCOMPARE(s[4], (QStringList{"run,b", "10", "1e-09"}));

  const LensLayers lens = syntheticLens();
  const QString lp = dir.filePath("lens.csv");
  writeCsv(lens, lp);
  const QList<QStringList> l = readCsv(lp);
  QCOMPARE(l[0], (QStringList{"layer", "Diff-Mamba", "Mamba"}));
  for (int i = 0; i < 48; ++i) {
    QCOMPARE(l[i + 1][0].toInt(), lens.layers[size_t(i)]);
    QCOMPARE(parseCsvNumber(l[i + 1][1], "diff"), lens.diff[size_t(i)]);
    QCOMPARE(parseCsvNumber(l[i + 1][2], "mamba"), lens.mamba[size_t(i)]);
  }

  // Broken files are reported with the place.
  QFile bad(dir.filePath("bad.csv"));
  QVERIFY(bad.open(QIODevice::WriteOnly));
  bad.write("task,0k,1k\nqa1,1.5,x7\n");
  bad.close();
  QVERIFY(errorOf([&] { readMatrixCsv(bad.fileName()); }).contains("line 2, column 3: \"x7\" is not a number"));
  QVERIFY(errorOf([&] { readMatrixCsv(dir.filePath("missing.csv")); }).contains("cannot read"));
  QVERIFY(errorOf([&] { writeCsv(m, dir.filePath("no/dir/m.csv")); }).contains("cannot write CSV"));
}

void TestPlotting::badInputIsReported() {
  QCustomPlot plot;
  Matrix wrong = matrix(2, 3, {1, 2, 3, 4, 5});
  QVERIFY(errorOf([&] { drawHeatmap(&plot, wrong); }).contains("5 values for a 2 × 3 matrix"));
  Matrix labels = matrix(1, 2, {1, 2}, {"a", "b"});
  QVERIFY(errorOf([&] { drawHeatmap(&plot, labels); }).contains("2 row labels for 1 rows"));
  QVERIFY(errorOf([&] { drawHeatmap(&plot, Matrix()); }).contains("at least one row"));
  QVERIFY(errorOf([&] { drawCompare(&plot, needleDiff(), matrix(1, 1, {1})); }).contains("baseline is 1 × 1"));
  Matrix otherTasks = needleMamba();
  otherTasks.rowLabels[0] = QStringLiteral("qa9");
  QVERIFY(errorOf([&] { drawCompare(&plot, needleDiff(), otherTasks); }).contains("row labels"));
  Matrix withNan = needleMamba();
  withNan.values[9] = std::numeric_limits<double>::quiet_NaN();
  QVERIFY(errorOf([&] { drawCompare(&plot, needleDiff(), withNan); }).contains("Mamba value at (qa2, 1k) is nan"));
  Matrix negative = needleMamba();
  negative.values[0] = -1;
  QVERIFY(errorOf([&] { drawRatio(&plot, needleDiff(), negative); }).contains("≥ 0"));
  QVERIFY(errorOf([&] { drawHeatmap(nullptr, needleDiff()); }).contains("null QCustomPlot"));
  QVERIFY(errorOf([&] { needleDiff().at(5, 0); }).contains("outside the 5 × 8 matrix"));
  LensLayers lens = syntheticLens();
  lens.mamba.pop_back();
  QVERIFY(errorOf([&] { drawLensLayers(&plot, lens); }).contains("48 layers but 48 Diff-Mamba values and 47 Mamba"));
  lens = syntheticLens();
  std::swap(lens.layers[3], lens.layers[4]);
  QVERIFY(errorOf([&] { drawLensLayers(&plot, lens); }).contains("strictly increasing"));
}

void TestPlotting::plotIsReusableForAnotherFigure() {
  QCustomPlot plot;
  drawHeatmap(&plot, pg19Diff());
  QCOMPARE(plot.findChildren<QCPColorScale*>().size(), 1);
  drawLensLayers(&plot, syntheticLens());
  QVERIFY(plot.findChildren<QCPColorScale*>().isEmpty());
  QCOMPARE(plot.itemCount(), 0);
  QCOMPARE(plot.plottableCount(), 2);
  QVERIFY(!plot.yAxis->rangeReversed());
  QCOMPARE(plot.plotLayout()->elementCount(), 1);
  drawRatio(&plot, needleDiff(), needleMamba());
  QCOMPARE(plot.plottableCount(), 0);
  QVERIFY(!plot.legend->visible());
  QCOMPARE(plot.itemCount(), 120);  // 40 cells, 40 borders, 40 texts
  renderImage(&plot, 600, 400);     // still renders after all that
}

QTEST_MAIN(TestPlotting)
#include "tst_plotting.moc"
