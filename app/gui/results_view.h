// The Results page: a run's BABILong heatmap, compare and ratio heatmaps of any two runs or run
// groups (several runs = mean ± sd over seeds), and the tuned-lens layer chart of two lens runs.
// Hover shows a cell's numbers and sample count; the figure exports as PNG / PDF / SVG with its CSV,
// and "export all" writes every figure of the comparison to a folder.
#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QWidget>
#include <memory>

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

namespace dm::store {
class RunStore;
}

namespace dm {
namespace gui {

class ResultsView : public QWidget {
  Q_OBJECT

 public:
  enum class Figure { Heatmap, Compare, Ratio, Lens };

  explicit ResultsView(QWidget* parent = nullptr);

  void setStore(std::shared_ptr<store::RunStore> store);
  void refreshRuns();

  void setFigure(Figure f);
  Figure figure() const;
  // Selections: model / baseline runs for the heatmaps (eval-babilong), lens runs for the chart.
  void setModelRuns(const QList<int64_t>& runs);
  void setBaselineRuns(const QList<int64_t>& runs);
  void setLensRuns(int64_t diffRun, int64_t mambaRun);
  void setShowStd(bool on);
  // Cell colours of the heatmaps (remembered): colour-blind safe (default) or the seed's red / green.
  void setPalette(plotting::Palette p);
  plotting::Palette palette() const;
  void setLogY(bool on);

  // Draws the current figure; returns the error text ("" when drawn). Shown in the page too.
  QString draw();
  QString toolTipAt(const QPoint& widgetPos) const;  // what hovering there shows ("" outside cells)

  // Export the current figure (format from the suffix) and its numbers as <stem>.csv; error or "". On
  // success the page says what was written, with the paths.
  QString exportTo(const QString& path);
  // Every figure the selection allows (heatmaps of both sides, compare, ratio, lens) as PDF, PNG, SVG and
  // CSV into `folder`; returns the files written, or throws nothing and reports errors in `error`.
  QStringList exportAll(const QString& folder, QString* error = nullptr);
  // Where an export of the drawn figure is suggested: <workspace>/figures/<name of the figure and its runs>.<ext>.
  QString suggestedPath(const QString& ext) const;
  // The export size: width and height in inches (0: the figure's default, 8 × 5, the lens chart 14 × 6)
  // and the resolution of PNGs.
  void setExportSize(double widthIn, double heightIn, double dpi);
  QLabel* status() const { return status_; }

  QCustomPlot* plot() const { return plot_; }

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  QList<int64_t> selected(const QListWidget* list) const;
  void select(QListWidget* list, const QList<int64_t>& runs);
  QString drawFigure(Figure f);
  QString writeCsv(Figure f, const QString& path);
  void onExportClicked();
  void onExportAllClicked();

  std::shared_ptr<store::RunStore> store_;
  QComboBox* figure_ = nullptr;
  QListWidget* modelRuns_ = nullptr;
  QListWidget* baselineRuns_ = nullptr;
  QComboBox* palette_ = nullptr;
  QComboBox* diffLens_ = nullptr;
  QComboBox* mambaLens_ = nullptr;
  QCheckBox* showStd_ = nullptr;
  QCheckBox* logY_ = nullptr;
  QCheckBox* lines_ = nullptr;
  QLabel* status_ = nullptr;
  QDoubleSpinBox* widthIn_ = nullptr;
  QDoubleSpinBox* heightIn_ = nullptr;
  QSpinBox* dpi_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  Figure drawn_ = Figure::Heatmap;
  bool haveFigure_ = false;
  plotting::Matrix model_, baseline_;     // what the drawn heatmap shows
  plotting::LensLayers lens_;             // what the drawn lens chart shows
  QString modelName_, baselineName_;
  QHash<QString, qint64> samples_;         // "task|length" → samples of the model runs
};

}  // namespace gui
}  // namespace dm
