// The Attention page: the implicit attention maps of two models (e.g. Mamba2 and Diff-Mamba2 fine-tuned on
// needles) on one BABILong sample, side by side: pick the models (workspace runs with a model file, the demo
// models, or any model path), the sample (a BABILong file and its index, a generated qa1–qa5 sample, or
// a text), then a block, head and map (combined, branch 1, branch 2); the needle facts and the question are
// marked on both axes, a range can be zoomed into, hovering names the tokens and the value, below the
// maps the per-block needle signal-to-noise of both models, and a table of every block's metrics.
// Exports as PNG / PDF / SVG with the numbers as CSV, as the other figures. The maps are traced on a
// worker thread (core/model/implicit_attention); a view change only cuts a head's window out of them.
#pragma once

#include <QList>
#include <QPointer>
#include <QString>
#include <QWidget>
#include <memory>
#include <vector>

#include "plotting/attention_chart.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QTableWidget;

namespace dm {
namespace gui {

class StoreWorker;

class AttentionView : public QWidget {
  Q_OBJECT

 public:
  enum class Source { File, Generated, Text };

  explicit AttentionView(QWidget* parent = nullptr);
  ~AttentionView() override;

  // The workspace's finished runs with a model file are offered as models (read through `worker`).
  void setWorker(StoreWorker* worker, const QString& workspace);
  void refreshRuns();

  // Inputs. A model is a path: a model file, a run folder, or an HF directory.
  void setModels(const QString& modelA, const QString& modelB);
  void setSource(Source s);
  void setSampleFile(const QString& path, int index);
  void setGenerated(const QString& task, const QString& length, int seed);
  void setText(const QString& text, const QString& needle, const QString& question);

  // Traces both models on the sample in the background; computed() when done (lastError() says how).
  void compute();
  bool busy() const { return busy_; }

  // The view of the traced maps (redrawn at once).
  void setBlock(int64_t block);
  void setHead(int head);
  void setMap(int map);                // 0 combined, 1 branch 1, 2 branch 2
  void setScale(plotting::AttentionScale s);
  void setRange(int first, int end);   // token positions [first, end); end ≤ 0: to the end
  void zoomToNeedle();                 // from the first needle token to the last question token
  QList<int64_t> blocks() const;       // blocks the block list offers

  QString lastError() const { return lastError_; }
  double lastSeconds() const { return seconds_; }  // trace + metrics of both models
  // The figure (format by suffix) and its numbers as <stem>.csv; a .csv path writes the numbers only.
  QString exportTo(const QString& path);
  QString suggestedPath(const QString& ext) const;
  QString toolTipAt(const QPoint& pos) const;

  QCustomPlot* plot() const { return plot_; }
  QTableWidget* table() const { return table_; }
  QLabel* status() const { return status_; }
  const std::vector<plotting::AttentionPanel>& panels() const { return panels_; }
  const std::vector<plotting::AttentionCurve>& curves() const { return curves_; }

 signals:
  void computed();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 public:
  struct Side;  // one model's traced maps (defined in the .cpp)
  struct Result;

 private:
  void onComputed(std::shared_ptr<Result> r, int generation);
  void redraw();
  void fillTable();
  void showError(const QString& err);
  void onExportClicked();
  QString modelPath(const QComboBox* box) const;

  QPointer<StoreWorker> worker_;
  QString workspace_;
  std::shared_ptr<Result> result_;
  std::vector<plotting::AttentionPanel> panels_;
  std::vector<plotting::AttentionCurve> curves_;
  bool busy_ = false;
  int generation_ = 0;
  double seconds_ = 0;
  QString lastError_;
  QComboBox* modelA_ = nullptr;
  QComboBox* modelB_ = nullptr;
  QComboBox* source_ = nullptr;
  QStackedWidget* sourcePages_ = nullptr;
  QLineEdit* sampleFile_ = nullptr;
  QSpinBox* index_ = nullptr;
  QComboBox* task_ = nullptr;
  QComboBox* length_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QPlainTextEdit* text_ = nullptr;
  QLineEdit* needle_ = nullptr;
  QLineEdit* question_ = nullptr;
  QPushButton* computeButton_ = nullptr;
  QComboBox* block_ = nullptr;
  QSpinBox* head_ = nullptr;
  QComboBox* map_ = nullptr;
  QComboBox* scale_ = nullptr;
  QSpinBox* from_ = nullptr;
  QSpinBox* to_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QTableWidget* table_ = nullptr;
  QLabel* status_ = nullptr;
};

}  // namespace gui
}  // namespace dm
