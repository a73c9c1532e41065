// The Benchmarks page: the seed's two cheap experiments as figures. MAD: the task × family score table and
// the grouped bar chart per task (pick a MAD sweep, which selects its families' score runs, or score runs of
// several sweeps), and a button that queues the benchmark (the quick profile, or the seed's). Per-token
// loss: per-token-loss runs overlaid in the seed's figure, with the perplexity over the first L tokens per
// model as a table. Both export as PNG / PDF / SVG with their CSV, as the Results page's figures.
#pragma once

#include <QList>
#include <QString>
#include <QWidget>
#include <functional>
#include <vector>

#include "plotting/mad_chart.h"
#include "plotting/per_token_chart.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;
class QListWidget;
class QSpinBox;
class QTableWidget;

namespace dm {
namespace gui {

class StoreWorker;

class BenchmarksView : public QWidget {
  Q_OBJECT

 public:
  enum class Figure { Mad, PerToken };
  enum class MadProfile { Quick, Seed };

  explicit BenchmarksView(QWidget* parent = nullptr);

  void setWorker(StoreWorker* worker, const QString& workspace);
  void refreshRuns();  // re-reads the run and sweep lists (keeps the selection)
  bool loading() const { return listing_ || reading_; }

  void setFigure(Figure f);
  Figure figure() const;
  // Selects the score runs of a MAD sweep (figure MAD); false when the list has no such sweep.
  bool selectSweep(int64_t sweep);
  void setRuns(const QList<int64_t>& runs);  // of the current figure's kind
  QList<int64_t> selectedRuns() const;
  void setTrainingLength(int tokens);
  void setMadProfile(MadProfile p);

  // Draws the selection: at once when its numbers were read, else once the worker read them (drawn()).
  // Returns the error of a figure drawn at once; lastError() keeps it.
  QString draw();
  QString lastError() const { return lastError_; }
  // The drawn figure (format by suffix) and its numbers as <stem>.csv; a .csv path writes the numbers only.
  QString exportTo(const QString& path);
  QString suggestedPath(const QString& ext) const;  // <workspace>/figures/<mad-scores-… | per-token-loss-…>.<ext>

  QCustomPlot* plot() const { return plot_; }
  QTableWidget* table() const { return table_; }
  QLabel* status() const { return status_; }
  QListWidget* runList() const { return runs_; }
  QComboBox* sweepBox() const { return sweep_; }

 signals:
  void drawn();
  void listed();  // the run and sweep lists show what the worker read
  // "Run the MAD benchmark" was pressed with this profile.
  void runMadRequested(dm::gui::BenchmarksView::MadProfile profile);

 private:
  struct Item {
    int64_t id = 0, sweep = 0;
    bool mad = false;
    QString label;
  };
  struct SweepItem {
    int64_t id = 0;
    QString label;
  };
  struct Data {
    Figure figure = Figure::Mad;
    QList<int64_t> runs;
    plotting::MadScores mad;
    std::vector<plotting::PerTokenSeries> perToken;
    QString error;
    bool valid = false;
  };
  void fillList();
  void fetch(std::function<void()> then);
  bool current() const;
  QString drawFigure();
  void fillTable();
  void showError(const QString& err);
  void onExportClicked();

  StoreWorker* worker_ = nullptr;
  QString workspace_;
  bool listing_ = false, reading_ = false, drawWhenListed_ = false;
  int generation_ = 0;
  std::vector<Item> items_;
  std::vector<SweepItem> sweeps_;
  QList<int64_t> wantRuns_;
  int64_t wantSweep_ = 0;
  Data data_;
  bool haveFigure_ = false;
  QString lastError_;
  QComboBox* figure_ = nullptr;
  QComboBox* sweep_ = nullptr;
  QListWidget* runs_ = nullptr;
  QSpinBox* trainingLength_ = nullptr;
  QSpinBox* window_ = nullptr;
  QCheckBox* showTotal_ = nullptr;
  QComboBox* profile_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QTableWidget* table_ = nullptr;
  QLabel* status_ = nullptr;
};

}  // namespace gui
}  // namespace dm

Q_DECLARE_METATYPE(dm::gui::BenchmarksView::MadProfile)
