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
class QToolButton;

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

  // `workspace` names where the view state (shown runs, metric, grid, x axis, smoothing, log y) is
  // remembered. Everything the view reads from the run database (the runs list, metric names, curves) is
  // read by `worker` (the window's store worker) off the UI thread; the view never opens the database.
  void setWorker(StoreWorker* worker, const QString& workspace = QString());
  bool loading() const { return loading_ || listing_; }  // the worker is reading for the view
  void refreshRuns();  // re-reads the runs list (keeps the selection)

  void setRunShown(int64_t runId, bool shown);
  QList<int64_t> shownRuns() const;
  // Ticks exactly the runs of `sweep` (its grid side by side); the page's sweep list does the same.
  void showSweep(int64_t sweep);
  void setMetric(const QString& name);  // the main plot's metric
  QString metric() const;
  QStringList metrics() const;  // the names offered (recorded by the shown runs)
  // More metrics at once: one more plot per name, in a grid beside the main one (same runs, smoothing,
  // axes and colours). Remembered with the view state.
  void setGridMetrics(const QStringList& names);
  QStringList gridMetrics() const { return gridMetrics_; }
  int plotCount() const { return static_cast<int>(panels_.size()); }
  QCustomPlot* plotAt(int i) const;                     // 0: the main plot, then the grid's
  int pointCount(const QString& metric, int64_t runId) const;  // -1 when not drawn
  void setSmoothing(double weight);
  void setWallTime(bool on);
  void setLogY(bool on);
  // Seeds of one configuration (runs equal but for their seed): 0 each run, 1 mean ± sd, 2 mean with min–max.
  void setSeedBands(int mode);
  int seedBands() const;

  QCustomPlot* plot() const { return plotAt(0); }
  plotting::CurvePlot* curves() const;
  int pointCount(int64_t runId) const;  // of the main metric, -1 when the run is not shown
  double smoothing() const;
  QString smoothingText() const;  // what the label beside the slider shows
  // The hover readout at x (step or seconds) of plot `i`: one line per visible curve, as shown under the plots.
  QString readoutAt(double x, int plot = 0) const;
  QString readoutText() const;  // the readout shown now ("" when the mouse is not over a plot)
  QString emptyText() const;    // the main plot's empty-state message, "" when curves are shown
  // What is shown: CSV of every point (raw and smoothed) of every plot, or the plots as PNG / PDF / SVG
  // (the whole grid when there are several). "" or the error.
  QString exportCsv(const QString& path) const;
  QString exportImage(const QString& path) const;
  QColor curveColor(int64_t runId) const;  // its curve's colour (from the run id), invalid when not shown

 signals:
  void curvesLoaded();  // the stored points of the shown runs are drawn

 public slots:
  // Live points from the queue; those of shown runs and shown metrics are appended.
  void appendPoints(int jobId, const QList<dm::gui::MetricPoint>& points);

 private:
  // One plot of the grid: a metric's curves of the shown runs.
  struct Panel {
    QString metric;       // the grid's panels: fixed; the main one: the picker's
    QString drawnMetric;  // the metric of the curves drawn
    QCustomPlot* plot = nullptr;
    std::unique_ptr<plotting::CurvePlot> curves;
    QCPItemText* empty = nullptr;
    QHash<int64_t, int> curveOf;      // run → curve index
    QHash<int64_t, double> lastStep;  // run → last step drawn
    QHash<int64_t, double> lastWall;  // run → last wall time drawn
    QHash<int64_t, double> wallBase;  // run → offset of its live wall times
    ~Panel();
  };
  struct PanelAnswer {
    QString metric;
    bool full = false;  // every shown run's points (the metric changed), else those of the runs not drawn
    QList<int64_t> runs;
    std::vector<figures::RunCurve> curves;
  };
  struct Answer {
    QStringList names;  // metric names recorded by the shown runs
    std::vector<PanelAnswer> panels;
  };

  Panel* newPanel(const QString& metric);
  // Redraws `p`'s seed bands (monitor_bands.cpp): groups of ≥ 2 shown runs as mean and band, their own
  // curves hidden; nothing (every curve shown) in "each run" mode or against wall time.
  void applySeedBands(Panel& p);
  void layoutPanels();
  void reload();
  void applyRunsList(const QList<QPair<int64_t, QString>>& runs);
  void applyAnswer(const Answer& a, const QString& error);
  void onItemChanged(QListWidgetItem* item);
  void clearCurves(Panel& p);
  void removeCurveOf(Panel& p, int64_t run);
  void exportWithDialog(const QString& title, const QString& ext, const QString& filter,
                        QString (MonitorView::*write)(const QString&) const);
  void appendNextLoaded();  // one run's points per event-loop turn, then the replot
  bool updateEmptyState();  // true when the main message changed (the plot needs a full replot)
  void replotAll();
  void saveState() const;
  void restoreState();
  void showGridMenu();
  bool eventFilter(QObject* watched, QEvent* event) override;

  QListWidget* runs_ = nullptr;
  QComboBox* metric_ = nullptr;
  QComboBox* sweep_ = nullptr;
  QComboBox* xAxis_ = nullptr;
  QSlider* smoothing_ = nullptr;
  QCheckBox* logY_ = nullptr;
  QComboBox* seeds_ = nullptr;
  QHash<int64_t, QPair<int, QString>> seedGroup_;  // run → its configuration group (index, label)
  QLabel* smoothingValue_ = nullptr;
  QLabel* readout_ = nullptr;
  QWidget* grid_ = nullptr;  // holds the plots
  QToolButton* gridButton_ = nullptr;
  QString workspace_;
  QString stateKey_;  // QSettings group of this workspace's view state; "" = not remembered
  std::vector<std::unique_ptr<Panel>> panels_;  // [0]: the main plot
  QStringList gridMetrics_;
  bool updating_ = false;
  bool loading_ = false;
  bool listing_ = false;            // the runs list is being read
  bool relist_ = false;             // read it again when this read is done
  QSet<int64_t> wantShown_;         // asked to be shown before the list had them
  int generation_ = 0;              // of the last load asked; older answers are dropped
  QList<MetricPoint> pendingLive_;  // live points that arrived while a load was on its way
  // What the worker read, appended one run per event-loop turn (a 100k-point run takes about 3 ms, so
  // ticking ten of them never blocks the window for all of them at once).
  struct Pending {
    Panel* panel;
    int64_t run;
    int curve;
    const figures::RunCurve* data;
  };
  struct Load {
    int generation = -1;
    size_t next = 0;
    std::vector<Pending> items;
    std::vector<PanelAnswer> data;
    QString error;
  };
  Load load_;
  StoreWorker* worker_ = nullptr;
};

}  // namespace gui
}  // namespace dm
