// How CurvePlot draws one curve of up to millions of points: a QCPGraph that reads the curve's own
// vectors (no copy into QCustomPlot's container) and samples them to the pixel grid itself, in one
// linear pass over the visible points. Raw curves keep each pixel column's min and max (so no spike
// is lost); smoothed curves keep one vertex per column.
#pragma once

#include <vector>

#include <qcustomplot.h>

namespace dm::plotting {

class CurveGraph : public QCPGraph {
 public:
  enum class Kind { Raw, Smoothed };

  CurveGraph(QCPAxis* keyAxis, QCPAxis* valueAxis, Kind kind);
  Kind kind() const { return kind_; }

  // The points to draw; keys non-decreasing. The vectors are not copied: they must stay alive (and
  // may grow) while the graph draws them. Null pointers draw nothing.
  void setSource(const std::vector<double>* keys, const std::vector<double>* values);
  int pointCount() const { return keys_ ? static_cast<int>(keys_->size()) : 0; }

  // The vertices, in pixels of the current layout, that the next draw will connect: every visible
  // point when there are fewer than ~2 per pixel column; otherwise per column the min and max in the
  // order they occur (raw) or the middle of the column's range (smoothed). NaN y marks a gap (a
  // non-finite value, or ≤ 0 on a log axis).
  QVector<QPointF> sampledPixels() const;

  double selectTest(const QPointF& pos, bool onlySelectable, QVariant* details = nullptr) const override;
  QCPRange getKeyRange(bool& foundRange, QCP::SignDomain inSignDomain = QCP::sdBoth) const override;
  QCPRange getValueRange(bool& foundRange, QCP::SignDomain inSignDomain = QCP::sdBoth,
                         const QCPRange& inKeyRange = QCPRange()) const override;

 protected:
  void draw(QCPPainter* painter) override;
  void drawLinePlot(QCPPainter* painter, const QVector<QPointF>& lines) const override;

 private:
  Kind kind_;
  const std::vector<double>* keys_ = nullptr;
  const std::vector<double>* values_ = nullptr;
  mutable bool dense_ = false;  // the last sampling merged points (more than ~2 per pixel column)
};

}  // namespace dm::plotting
