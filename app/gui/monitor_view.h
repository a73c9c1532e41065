// The Monitor page: live training curves of the selected runs (any recorded metric) against step or
// wall time, TensorBoard smoothing, log y, zoom / pan; stored points are loaded once and live points
// from the queue are appended without redrawing everything.
#pragma once

#include <QHash>
#include <QPair>
#include <QSet>
#include <QList>
#include <QColor>
#include <QWidget>
#include <memory>
#include <vector>

#include "app/figures/figure_data.h"
#include "app/gui/job_queue.h"

class QCheckBox;
class QCPItemText;
class QLabel;
class QComboBox;
class QCustomPlot;
class QListWidget;
class QListWidgetItem;
class QSlider;

namespace dm::plotting {
class CurvePlot;
}


namespace dm {
namespace gui {

class StoreWorker;

class MonitorView : public QWidget {
  Q_OBJECT

 public:
  explicit MonitorView(QWidget* parent = nullptr);
  ~MonitorView() override;

  // `workspace` names where the view state (shown runs, metric, x axis, smoothing, log y) is remembered.
  // Everything the view reads from the run database (the runs list, metric names, curves) is read by
  // `worker` (the window's store worker) off the UI thread; the view never opens the database itself.
  void setWorker(StoreWorker* worker, const QString& workspace = QString());
  bool loading() const { return loading_ || listing_; }  // the worker is reading for the view
  void refreshRuns();  // re-reads the runs list (keeps the selection)

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
  double smoothing() const;
  QString smoothingText() const;  // what the label beside the slider shows
  // The hover readout at plot x (step or seconds): one line per visible curve, as shown under the plot.
  QString readoutAt(double x) const;
  QString readoutText() const;  // the readout shown now ("" when the mouse is not over the plot)
  QString emptyText() const;    // the empty-state message drawn in the plot, "" when curves are shown
  // The figure as shown: CSV of every point (raw and smoothed) or PNG / PDF / SVG. "" or the error.
  QString exportCsv(const QString& path) const;
  QString exportImage(const QString& path) const;
  QColor curveColor(int64_t runId) const;  // its curve's colour (from the run id), invalid when not shown

 signals:
  void curvesLoaded();  // the stored points of the shown runs are drawn

 public slots:
  // Live points from the queue; those of shown runs and the current metric are appended.
  void appendPoints(int jobId, const QList<dm::gui::MetricPoint>& points);

 private:
  // Asks the worker for the shown runs' metric names and the points of the runs not drawn yet (all of them
  // when the metric changes); unticked runs' curves go at once.
  void reload();
  void applyRunsList(const QList<QPair<int64_t, QString>>& runs);
  void onItemChanged(QListWidgetItem* item);
  void clearCurves();
  void exportWithDialog(const QString& title, const QString& ext, const QString& filter,
                        QString (MonitorView::*write)(const QString&) const);
  void appendNextLoaded();  // one run's points per event-loop turn, then the replot
  bool updateEmptyState();  // true when the message changed (the plot needs a full replot)
  struct Answer {
    QStringList names;  // metric names recorded by the shown runs
    QString metric;     // the one chosen: the wanted one if recorded (or nothing is), else train/loss, loss, the first
    bool full = false;  // the points of every shown run (the metric changed), else of the runs not drawn
    QList<int64_t> runs;
    std::vector<figures::RunCurve> curves;
  };
  void applyAnswer(const Answer& a, const QString& error);
  void saveState() const;
  void restoreState();
  bool eventFilter(QObject* watched, QEvent* event) override;

  QListWidget* runs_ = nullptr;
  QComboBox* metric_ = nullptr;
  QComboBox* xAxis_ = nullptr;
  QSlider* smoothing_ = nullptr;
  QCheckBox* logY_ = nullptr;
  QLabel* smoothingValue_ = nullptr;
  QLabel* readout_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QCPItemText* empty_ = nullptr;
  QString workspace_;
  QString stateKey_;  // QSettings group of this workspace's view state; "" = not remembered
  std::unique_ptr<plotting::CurvePlot> curves_;
  QHash<int64_t, int> curveOf_;         // run → curve index
  QHash<int64_t, double> lastStep_;     // run → last step drawn
  QHash<int64_t, double> lastWall_;     // run → last wall time drawn
  QHash<int64_t, double> wallBase_;     // run → offset of its live wall times
  bool updating_ = false;
  bool loading_ = false;
  bool listing_ = false;            // the runs list is being read
  bool relist_ = false;             // read it again when this read is done
  QSet<int64_t> wantShown_;         // asked to be shown before the list had them
  QString drawnMetric_;             // the metric of the curves drawn
  int generation_ = 0;              // of the last load asked; older answers are dropped
  QList<MetricPoint> pendingLive_;  // live points that arrived while a load was on its way
  // What the worker read, appended one run per event-loop turn (a 100k-point run takes about 3 ms, so
  // ticking ten of them never blocks the window for all of them at once).
  struct Load {
    int generation = -1, next = 0;
    QList<int64_t> runs;
    QList<int> curves, index;  // the curve of each run, and its entry in data
    std::vector<figures::RunCurve> data;
    QString error;
  };
  Load load_;
  StoreWorker* worker_ = nullptr;
};

}  // namespace gui
}  // namespace dm
