// dm::plotting's implicit attention figure: maps side by side on one colour scale (every entry where it fits,
// pooled by largest |M| where it does not), needle and question marks as runs of positions, the per-block
// curves below, tool tips naming tokens, the CSV of every entry drawn, clear errors, and a plot reused for
// another figure afterwards.
#include <QtTest>

#include <QTemporaryDir>
#include <cmath>
#include <qcustomplot.h>

#include "plotting/attention_chart.h"
#include "plotting/errors.h"
#include "plotting/mad_chart.h"

using namespace dm::plotting;

namespace {

const bool kOffscreenDefault = [] {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  return true;
}();

// A lower-triangular L × L panel with M[i, j] = sign · (i + 1) / (j + 1) / L.
AttentionPanel panel(int L, const QString& label, float sign = 1.0f) {
  AttentionPanel p;
  p.label = label;
  p.r1 = p.c1 = L;
  p.values.assign(static_cast<size_t>(L) * L, 0.0f);
  for (int i = 0; i < L; ++i)
    for (int j = 0; j <= i; ++j) p.values[static_cast<size_t>(i) * L + j] = sign * float(i + 1) / float(j + 1) / float(L);
  p.needle = {3, 4, 5, 9};
  p.question = {L - 2, L - 1};
  for (int i = 0; i < L; ++i) p.tokens << QStringLiteral("t%1").arg(i);
  return p;
}

QList<QCPAbstractItem*> itemsNamed(QCustomPlot& plot, const QString& name) {
  QList<QCPAbstractItem*> out;
  for (int i = 0; i < plot.itemCount(); ++i)
    if (plot.item(i)->objectName() == name) out << plot.item(i);
  return out;
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

class TestAttentionChart : public QObject {
  Q_OBJECT

 private slots:
  void maps_marks_and_curves() {
    QCustomPlot plot;
    std::vector<AttentionPanel> panels = {panel(16, "Mamba2 · block 1 · head 0"), panel(16, "Diff-Mamba2 · block 1 · head 0", -0.5f)};
    std::vector<AttentionCurve> curves = {{"Mamba2", {0, 1, 2}, {1.0, 2.0, 4.0}}, {"Diff-Mamba2", {0, 1, 2}, {1.5, NAN, 8.0}}};
    drawAttentionFigure(&plot, panels, curves);
    // The default axes stay on the first map (the rect the next figure reuses).
    QCOMPARE(plot.xAxis->axisRect(), plot.findChild<QCPColorMap*>(QStringLiteral("attentionMap0"))->keyAxis()->axisRect());
    // Both maps, every entry (16 × 16 fits), on one symmetric scale.
    for (int k = 0; k < 2; ++k) {
      auto* map = plot.findChild<QCPColorMap*>(QStringLiteral("attentionMap%1").arg(k));
      QVERIFY(map);
      QCOMPARE(map->data()->keySize(), 16);
      QCOMPARE(map->data()->valueSize(), 16);
      QCOMPARE(map->data()->cell(2, 7), double(panels[k].at(7, 2)));
      QCOMPARE(map->dataRange().lower, -map->dataRange().upper);
    }
    const auto [lo, hi] = attentionRange(panels, AttentionScale::Signed);
    QCOMPARE(lo, -hi);
    QVERIFY(hi > 0 && hi <= 1.0);
    // Needle positions 3–5 and 9 are two runs on each axis; the question one run on the y axis.
    QCOMPARE(itemsNamed(plot, "needleX0").size(), 2);
    QCOMPARE(itemsNamed(plot, "needleY1").size(), 2);
    QCOMPARE(itemsNamed(plot, "questionY0").size(), 1);
    auto* q = qobject_cast<QCPItemRect*>(itemsNamed(plot, "questionY0").front());
    QCOMPARE(q->topLeft->coords().y(), 13.5);
    QCOMPARE(q->bottomRight->coords().y(), 15.5);
    // Curves: one graph per model, the NaN left out.
    auto* curvesRect = plot.findChild<QCPAxisRect*>(QStringLiteral("attentionCurves"));
    QVERIFY(curvesRect);
    QCOMPARE(plot.graphCount(), 2);
    QCOMPARE(plot.graph(0)->data()->size(), 3);
    QCOMPARE(plot.graph(1)->data()->size(), 2);
    QCOMPARE(curvesRect->axis(QCPAxis::atLeft)->scaleType(), QCPAxis::stLogarithmic);
    // Renders, and the plot can draw another figure afterwards (the nested layout is undone).
    QVERIFY(!plot.toPixmap(900, 700).isNull());
    MadScores s;
    s.tasks = {"a"};
    s.models = {"m"};
    s.scores = {{0.5}};
    s.total = {0.5};
    drawMadScores(&plot, s);
    QVERIFY(plot.axisRect() != nullptr);
    QVERIFY(!plot.toPixmap(600, 400).isNull());
    drawAttentionFigure(&plot, panels, {});
    QVERIFY(!plot.findChild<QCPAxisRect*>(QStringLiteral("attentionCurves")));
    int rects = 0;  // in the layout (the colour scale's own inner rect has none)
    for (auto* r : plot.findChildren<QCPAxisRect*>()) rects += r->layout() != nullptr;
    QCOMPARE(rects, 2);  // the two maps: nothing left over from earlier figures
    QVERIFY(!plot.toPixmap(600, 400).isNull());
  }

  // Windows over 2 × maxCells per side are pooled to the entry of largest |M| per block, sign kept.
  void large_windows_are_pooled() {
    QCustomPlot plot;
    auto p = panel(50, "big");
    p.values[static_cast<size_t>(40) * 50 + 20] = -100.0f;  // one strong negative entry
    AttentionFigureOptions o;
    o.maxCells = 10;
    drawAttentionFigure(&plot, {p}, {}, o);
    auto* map = plot.findChild<QCPColorMap*>(QStringLiteral("attentionMap0"));
    QCOMPARE(map->data()->keySize(), 10);
    QCOMPARE(map->data()->valueSize(), 10);
    QCOMPARE(map->data()->cell(20 / 5, 40 / 5), -100.0);
    // Log scale: six decades below the largest entry.
    o.scale = AttentionScale::LogAbs;
    drawAttentionFigure(&plot, {p}, {}, o);
    map = plot.findChild<QCPColorMap*>(QStringLiteral("attentionMap0"));
    QCOMPARE(map->dataRange().upper, 2.0);
    QCOMPARE(map->dataRange().lower, -4.0);
    QVERIFY(std::isnan(map->data()->cell(9, 0)));  // above the diagonal: no value
  }

  void zoomed_window_tooltips_and_csv() {
    auto full = panel(20, "m");
    AttentionPanel w = full;
    w.r0 = 8, w.r1 = 12, w.c0 = 2, w.c1 = 10;
    w.values.clear();
    for (int i = 8; i < 12; ++i)
      for (int j = 2; j < 10; ++j) w.values.push_back(full.at(i, j));
    QCOMPARE(w.at(9, 4), full.at(9, 4));
    QVERIFY(errorOf([&] { w.at(12, 4); }).contains("outside"));
    QCustomPlot plot;
    drawAttentionFigure(&plot, {w}, {});
    auto* x = plot.findChild<QCPColorMap*>(QStringLiteral("attentionMap0"))->keyAxis();
    QCOMPARE(x->range().lower, 1.5);
    QCOMPARE(x->range().upper, 9.5);
    const auto tip = attentionToolTip(w, 9, 4);
    QVERIFY2(tip.contains("query 9 't9'") && tip.contains("key 4 't4' (needle)"), qPrintable(tip));
    QVERIFY(attentionToolTip(w, 9, 10).isEmpty());
    QVERIFY(attentionToolTip(w, 8, 9).isEmpty());  // above the diagonal
    QTemporaryDir d;
    const auto path = d.filePath("a.csv");
    writeAttentionCsv({w}, {{"m", {0, 1}, {2.0, 3.0}}}, path);
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    // Entries on or below the diagonal of the window: rows 8–11 × columns 2–9, j ≤ i → 7 + 8 + 8 + 8 = 31.
    QCOMPARE(lines.front(), QStringLiteral("panel,row,col,value"));
    QCOMPARE(lines.filter(QRegularExpression("^m,\\d+,\\d+,")).size(), 31);
    QVERIFY(lines.contains(QStringLiteral("m,9,4,%1").arg(double(full.at(9, 4)), 0, 'g', 8)));
    QVERIFY(lines.contains(QStringLiteral("m,1,3")));
  }

  void bad_panels_are_refused() {
    QCustomPlot plot;
    QVERIFY(errorOf([&] { drawAttentionFigure(&plot, {}, {}); }).contains("no map"));
    auto p = panel(4, "p");
    p.values.pop_back();
    QVERIFY(errorOf([&] { drawAttentionFigure(&plot, {p}, {}); }).contains("values for a 4 × 4 window"));
    p = panel(4, "p");
    p.values[0] = NAN;
    QVERIFY(errorOf([&] { drawAttentionFigure(&plot, {p}, {}); }).contains("non-finite"));
    p = panel(4, "p");
    p.r1 = 0;
    QVERIFY(errorOf([&] { drawAttentionFigure(&plot, {p}, {}); }).contains("empty window"));
    QVERIFY(errorOf([&] { drawAttentionFigure(&plot, {panel(4, "p")}, {{"c", {1, 2}, {1.0}}}); }).contains("2 blocks and 1 values"));
  }
};

QTEST_MAIN(TestAttentionChart)
#include "tst_attention_chart.moc"
