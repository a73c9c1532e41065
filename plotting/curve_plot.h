// Live training curves (loss, bpc/ppl, learning rate, tokens/s) of many runs overlaid on one QCustomPlot:
// points are appended as they arrive, smoothed like TensorBoard with the raw curve faint behind, against
// step or wall time, linear or log axes, with zoom/pan. Handles 100k+ points per curve: appends touch
// only the new points, and each graph (CurveGraph) samples its curve to the pixel grid in one pass.
#pragma once

#include <memory>
#include <vector>

#include <QColor>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <qcustomplot.h>

#include "plotting/data.h"
#include "plotting/smoothing.h"
#include "plotting/style.h"

namespace dm::plotting {

class CsvWriter;
class CurveGraph;

class CurvePlot : public QObject {
  Q_OBJECT

 public:
  enum class XAxis { Step, WallTime };

  // Takes over `plot` (resets it) for as long as this object lives; draw no other figure into it.
  explicit CurvePlot(QCustomPlot* plot, const Style& style = paperStyle(), QObject* parent = nullptr);
  ~CurvePlot() override;

  QCustomPlot* plot() const { return plot_; }

  // A new, empty curve; returns its index. Colours follow seriesColor(index) unless given.
  int addCurve(const QString& label);
  int addCurve(const QString& label, const QColor& color);
  int curveCount() const { return static_cast<int>(curves_.size()); }
  void removeAllCurves();
  // Removes one curve; the curves after it move down one index. Throws PlotError on a bad index.
  void removeCurve(int curve);

  // Appends points to a curve. Steps must be non-decreasing and not before the curve's last step; wall
  // times (seconds since the run started, non-decreasing too) are given with every append of a curve
  // or never. Nothing is copied into QCustomPlot: the graphs draw the curve's own vectors.
  // Throws PlotError on a bad curve index, mismatched lengths or out-of-order steps.
  void appendPoints(int curve, const std::vector<double>& steps, const std::vector<double>& y);
  void appendPoints(int curve, const std::vector<double>& steps, const std::vector<double>& y,
                    const std::vector<double>& wallSeconds);

  // TensorBoard smoothing weight in [0, 1] (0 = off); throws PlotError outside.
  void setSmoothing(double weight);
  double smoothing() const { return weight_; }

  // Step or wall time on x. WallTime throws PlotError when a curve has points but no wall times.
  void setXAxis(XAxis axis);
  XAxis xAxis() const { return xAxis_; }
  void setLogX(bool on);
  void setLogY(bool on);
  bool logX() const { return logX_; }
  bool logY() const { return logY_; }
  void setYLabel(const QString& label);
  // The x axis' titles (English by default): steps, wall time in seconds (log x) and as h:mm:ss.
  void setAxisNames(const QString& step, const QString& wallSeconds, const QString& wallClock);

  // With auto range on (the default), every replot fits the axes to the data; a mouse drag or wheel
  // turns it off (the user is looking at something), a double click turns it back on.
  void setAutoRange(bool on);
  bool autoRange() const { return autoRange_; }

  // Redraws. When the axes did not move (auto range off, nothing but new points), only the curves'
  // own buffered layer is redrawn; otherwise the whole plot.
  void replot();

  // The numbers behind the figure, against the current x axis.
  Series rawSeries(int curve) const;
  Series smoothedSeries(int curve) const;
  // TensorBoard's hover readout: for every curve with points, the point nearest to x on the current x
  // axis (its step, wall time, raw and smoothed value). Curves without points are left out.
  struct Readout {
    int curve = 0;
    QString label;
    QColor color;
    double step = 0, wallSeconds = 0, y = 0, smoothed = 0;
    bool hasWall = false;
  };
  std::vector<Readout> readoutAt(double x) const;

  // "curve,step,wall_s,y,y_smoothed" rows for every point of every curve (wall_s empty when unknown).
  void writeCsv(const QString& path) const;
  // The same rows, after the fields `before` (e.g. the metric of a grid's plot), into an open writer.
  void writeCsvRows(CsvWriter& out, const QStringList& before) const;

  int pointCount(int curve) const;
  QString curveLabel(int curve) const;
  CurveGraph* rawGraph(int curve) const;       // the faint raw curve (hidden when smoothing is 0)
  CurveGraph* smoothedGraph(int curve) const;  // the curve in the legend

 private:
  struct Curve {
    QString label;
    QColor color;
    std::vector<double> steps, walls, y, smoothed;
    bool hasWall = false;
    double yMin = 0, yMax = 0, yMinPositive = 0;  // over the finite raw values
    bool hasY = false, hasPositiveY = false;
    IncrementalSmoother smoother;
    CurveGraph* raw = nullptr;
    CurveGraph* smooth = nullptr;
  };

  QPointer<QCustomPlot> plot_;
  // A buffered layer of their own (raw curves first, smoothed on top), so new points can be drawn
  // without redrawing axes, grid and legend.
  QCPLayer* layer_ = nullptr;
  Style style_;
  std::vector<std::unique_ptr<Curve>> curves_;  // heap-held: the graphs point at their vectors
  double weight_ = 0.0;
  XAxis xAxis_ = XAxis::Step;
  bool logX_ = false, logY_ = false;
  bool autoRange_ = true;
  bool needFullReplot_ = true;
  bool settingRange_ = false;  // our own range changes must not switch auto range off
  QString stepName_ = QStringLiteral("Step"), wallSecondsName_ = QStringLiteral("Wall time [s]"),
          wallClockName_ = QStringLiteral("Wall time [h:mm:ss]");

  Curve& curveAt(int curve, const char* what);
  const Curve& curveAt(int curve, const char* what) const;
  const std::vector<double>& keysOf(const Curve& c) const;
  void connectSources(Curve& c);  // points the graphs at the vectors of the current x axis
  void applyCurveLook(Curve& c);  // pens for the current smoothing
  void setupXAxis();
  void setupYAxis();
  void rescale();
};

}  // namespace dm::plotting
