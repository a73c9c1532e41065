// The Monitor page: live training curves of the selected runs (any recorded metric) against step or
// wall time, TensorBoard smoothing, log y, zoom / pan; stored points are loaded once and live points
// from the queue are appended without redrawing everything.
#pragma once

#include <QHash>
#include <QList>
#include <QColor>
#include <QWidget>
#include <memory>

#include "app/gui/job_queue.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QListWidget;
class QListWidgetItem;
class QSlider;

namespace dm::store {
class RunStore;
}
namespace dm::plotting {
class CurvePlot;
}

namespace dm {
namespace gui {

class MonitorView : public QWidget {
  Q_OBJECT

 public:
  explicit MonitorView(QWidget* parent = nullptr);
  ~MonitorView() override;

  void setStore(std::shared_ptr<store::RunStore> store);
  void refreshRuns();  // the runs list from the store (keeps the selection)

  void setRunShown(int64_t runId, bool shown);
  QList<int64_t> shownRuns() const;
  void setMetric(const QString& name);
  QString metric() const;
  QStringList metrics() const;  // the names offered (recorded by the shown runs)
  void setSmoothing(double weight);
  void setWallTime(bool on);
  void setLogY(bool on);

  QCustomPlot* plot() const { return plot_; }
  plotting::CurvePlot* curves() const { return curves_.get(); }
  int pointCount(int64_t runId) const;  // of the current metric, -1 when the run is not shown
  QColor curveColor(int64_t runId) const;  // its curve's colour (from the run id), invalid when not shown

 public slots:
  // Live points from the queue; those of shown runs and the current metric are appended.
  void appendPoints(int jobId, const QList<dm::gui::MetricPoint>& points);

 private:
  void rebuild();  // reloads every shown run's points of the current metric
  void refreshMetrics();
  void onItemChanged(QListWidgetItem* item);

  std::shared_ptr<store::RunStore> store_;
  QListWidget* runs_ = nullptr;
  QComboBox* metric_ = nullptr;
  QComboBox* xAxis_ = nullptr;
  QSlider* smoothing_ = nullptr;
  QCheckBox* logY_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  std::unique_ptr<plotting::CurvePlot> curves_;
  QHash<int64_t, int> curveOf_;         // run → curve index
  QHash<int64_t, double> lastStep_;     // run → last step drawn
  QHash<int64_t, double> lastWall_;     // run → last wall time drawn
  QHash<int64_t, double> wallBase_;     // run → offset of its live wall times
  bool updating_ = false;
};

}  // namespace gui
}  // namespace dm
