// The Results page: a run's BABILong heatmap, compare and ratio heatmaps of any two runs or run
// groups (several runs = mean ± sd over seeds), and the tuned-lens layer chart of two lens runs.
// Hover shows a cell's numbers and sample count; the figure exports as PNG / PDF / SVG with its CSV,
// and "export all" writes every figure of the comparison to a folder.
#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QWidget>
#include <functional>
#include <memory>
#include <optional>

#include "plotting/colors.h"
#include "plotting/data.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;
class QListWidget;
class QMouseEvent;


namespace dm {
namespace gui {

class StoreWorker;

class ResultsView : public QWidget {
  Q_OBJECT

 public:
  enum class Figure { Heatmap, Compare, Ratio, Lens };

  explicit ResultsView(QWidget* parent = nullptr);

  // Every read goes through `worker` (the window's store worker): the run lists, and the cells and lens
  // points of the selection, read once per selection and drawn when the answer comes.
  void setWorker(StoreWorker* worker, const QString& workspace);
  void refreshRuns();
  bool loading() const { return listing_ || reading_; }  // waiting for the worker

  void setFigure(Figure f);
  Figure figure() const;
  // Selections: model / baseline runs for the heatmaps (eval-babilong), lens runs for the chart.
  void setModelRuns(const QList<int64_t>& runs);
  void setBaselineRuns(const QList<int64_t>& runs);
  void setLensRuns(int64_t diffRun, int64_t mambaRun);
  void setShowStd(bool on);
  // Compare and ratio: mark cells by the bootstrap interval of the difference (remembered; on by default).
  void setShowIntervals(bool on);
  // Cell colours of the heatmaps (remembered): colour-blind safe (default) or the seed's red / green.
  void setPalette(plotting::Palette p);
  plotting::Palette palette() const;
  void setLogY(bool on);

  // Draws the current figure: at once when the selection's numbers were read, else when the worker has
  // read them (loading() meanwhile). Returns the error of a figure drawn at once, "" otherwise; the page
  // shows it either way, and lastError() keeps it.
  QString draw();
  QString lastError() const { return lastError_; }
  QString toolTipAt(const QPoint& widgetPos) const;  // what hovering there shows ("" outside cells)

  // Export the current figure (format from the suffix) and its numbers as <stem>.csv; error or "". On
  // success the page says what was written, with the paths. Needs the selection's numbers read (draw()).
  QString exportTo(const QString& path);
  // Every figure the selection allows (heatmaps of both sides, compare, ratio, lens) as PDF, PNG, SVG and
  // CSV into `folder`, once the selection's numbers are read (at once when they are); then allExported.
  void exportAll(const QString& folder);
  // Where an export of the drawn figure is suggested: <workspace>/figures/<name of the figure and its runs>.<ext>.
  QString suggestedPath(const QString& ext) const;
  // The export size: width and height in inches (0: the figure's default, 8 × 5, the lens chart 14 × 6)
  // and the resolution of PNGs.
  void setExportSize(double widthIn, double heightIn, double dpi);
  QLabel* status() const { return status_; }

  QCustomPlot* plot() const { return plot_; }

 signals:
  void drawn();  // a draw() asked while the numbers were read has happened (lastError() says how)
  void allExported(const QStringList& files, const QString& problems);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  // The numbers behind every figure of one selection, read on the worker's thread.
  struct Data {
    QList<int64_t> modelRuns, baselineRuns;
    int64_t diffLens = 0, mambaLens = 0;
    plotting::Matrix model, baseline, baselineOwn;  // baseline on the model's grid; on its own grid
    QString modelName, baselineName;
    QHash<QString, qint64> samples;  // "task|length" → samples of the model runs
    plotting::LensLayers lens;
    // Paired bootstrap intervals of model − baseline per cell (two-level with several seeds); empty with a
    // note when the runs cannot be paired (different counts, or different questions).
    std::optional<plotting::DifferenceIntervals> intervals;
    QString intervalsNote;
    QString modelError, baselineError, lensError;
    bool valid = false;
  };
  Data selection() const;              // what is selected now (the run ids only)
  bool current() const;                // data_ is the selection's
  void fetch(std::function<void()> then);  // reads the selection's numbers, then runs `then`
  QList<int64_t> selected(const QListWidget* list) const;
  void select(QListWidget* list, const QList<int64_t>& runs);
  QString drawFigure(Figure f, bool baselineHeatmap = false);
  void showError(const QString& err);
  QString stateKey() const;  // QSettings group of the workspace's last figure; "" = not remembered
  void saveState() const;
  void restoreState();
  QStringList writeAll(const QString& folder, QString* error);
  QString writeCsv(Figure f, const QString& path);
  void onExportClicked();
  void onExportAllClicked();

  StoreWorker* worker_ = nullptr;
  QString workspace_;
  bool listing_ = false, reading_ = false;
  int generation_ = 0;
  Data data_;
  QString lastError_;
  // Selections asked before the lists had the runs (set when the lists arrive).
  QList<int64_t> wantModel_, wantBaseline_;
  int64_t wantDiffLens_ = 0, wantMambaLens_ = 0;
  bool drawWhenListed_ = false;
  QComboBox* figure_ = nullptr;
  QListWidget* modelRuns_ = nullptr;
  QListWidget* baselineRuns_ = nullptr;
  QComboBox* palette_ = nullptr;
  QComboBox* diffLens_ = nullptr;
  QComboBox* mambaLens_ = nullptr;
  QCheckBox* showStd_ = nullptr;
  QCheckBox* intervals_ = nullptr;
  QCheckBox* logY_ = nullptr;
  QCheckBox* lines_ = nullptr;
  QLabel* status_ = nullptr;
  QDoubleSpinBox* widthIn_ = nullptr;
  QDoubleSpinBox* heightIn_ = nullptr;
  QSpinBox* dpi_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  Figure drawn_ = Figure::Heatmap;
  bool haveFigure_ = false;
  bool drawnBaseline_ = false;  // the drawn heatmap is the baseline's own
};

}  // namespace gui
}  // namespace dm
