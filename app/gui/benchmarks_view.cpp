#include "app/gui/benchmarks_view.h"
#include "app/gui/figure_export.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>

#include "app/figures/figure_data.h"
#include "app/gui/language.h"
#include "app/gui/store_worker.h"
#include "core/store/run_store.h"
#include "plotting/export.h"
#include "plotting/figure.h"

namespace dm {
namespace gui {
namespace {

QString runLabel(const store::RunRecord& r) {
  QString label = QStringLiteral("#%1 %2").arg(r.id).arg(QString::fromStdString(r.name));
  if (r.sweep_id) label += QStringLiteral(" [sweep %1]").arg(r.sweep_id);
  return label;
}

// The context lengths of the seed's val/perplexity_len_L: 512, 1024, … up to the sequence (and it).
std::vector<int> perplexityLengths(int n) {
  std::vector<int> out;
  for (int l = 512; l <= n; l *= 2) out.push_back(l);
  if (out.empty() || out.back() != n) out.push_back(n);
  return out;
}

}  // namespace

BenchmarksView::BenchmarksView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QHBoxLayout(this);
  auto* split = new QSplitter(this);
  layout->addWidget(split);
  auto* left = new QWidget(split);
  auto* form = new QFormLayout(left);
  figure_ = new QComboBox(left);
  figure_->setObjectName("benchmarkFigure");
  figure_->addItem(QString());
  figure_->addItem(QString());
  sweep_ = new QComboBox(left);
  sweep_->setObjectName("madSweep");
  runs_ = new QListWidget(left);
  runs_->setObjectName("benchmarkRuns");
  runs_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  trainingLength_ = new QSpinBox(left);
  trainingLength_->setObjectName("trainingLength");
  trainingLength_->setRange(0, 1 << 24);
  trainingLength_->setValue(2048);
  window_ = new QSpinBox(left);
  window_->setObjectName("smoothingWindow");
  window_->setRange(1, 100001);
  window_->setSingleStep(2);
  window_->setValue(101);
  showTotal_ = new QCheckBox(left);
  showTotal_->setChecked(true);
  auto* drawButton = new QPushButton(left);
  auto* exportButton = new QPushButton(left);
  exportButton->setObjectName("exportBenchmark");
  profile_ = new QComboBox(left);
  profile_->setObjectName("madProfile");
  profile_->addItem(QString(), static_cast<int>(MadProfile::Quick));
  profile_->addItem(QString(), static_cast<int>(MadProfile::Seed));
  auto* runMad = new QPushButton(left);
  runMad->setObjectName("runMad");
  QList<QLabel*> labels;
  for (QWidget* w : {static_cast<QWidget*>(figure_), static_cast<QWidget*>(sweep_), static_cast<QWidget*>(runs_),
                     static_cast<QWidget*>(trainingLength_), static_cast<QWidget*>(window_)}) {
    labels << new QLabel(left);
    form->addRow(labels.back(), w);
  }
  form->addRow(showTotal_);
  form->addRow(drawButton);
  form->addRow(exportButton);
  auto* madBox = new QLabel(left);
  madBox->setWordWrap(true);
  form->addRow(madBox);
  labels << new QLabel(left);
  form->addRow(labels.back(), profile_);
  form->addRow(runMad);

  auto* right = new QWidget(split);
  auto* rl = new QVBoxLayout(right);
  rl->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(right);
  plot_->setObjectName("benchmarkPlot");
  plot_->setMinimumSize(480, 300);
  table_ = new QTableWidget(right);
  table_->setObjectName("benchmarkTable");
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setMaximumHeight(230);
  status_ = new QLabel(right);
  status_->setObjectName("benchmarkStatus");
  status_->setWordWrap(true);
  rl->addWidget(plot_, 1);
  rl->addWidget(table_);
  rl->addWidget(status_);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(1, 3);

  auto updateVisibility = [=, this] {
    const bool mad = figure() == Figure::Mad;
    for (QWidget* w : {static_cast<QWidget*>(sweep_), static_cast<QWidget*>(showTotal_)}) w->setVisible(mad);
    for (QWidget* w : {static_cast<QWidget*>(trainingLength_), static_cast<QWidget*>(window_)}) w->setVisible(!mad);
    labels[1]->setVisible(mad);
    labels[3]->setVisible(!mad);
    labels[4]->setVisible(!mad);
  };
  onLanguageChange(this, [=, this] {
    figure_->setItemText(0, tr("MAD scores (task × family)"));
    figure_->setItemText(1, tr("Per-token loss over long contexts"));
    const QStringList rows = {tr("Figure"), tr("MAD sweep"), tr("Runs"), tr("Training length"), tr("Moving average"),
                              tr("Benchmark profile")};
    for (int i = 0; i < rows.size(); ++i) labels[i]->setText(rows[i]);
    runs_->setToolTip(tr("MAD: the score runs drawn (one per family and sweep); per-token loss: the runs overlaid"));
    trainingLength_->setSuffix(tr(" tokens"));
    trainingLength_->setSpecialValueText(tr("no line"));
    window_->setSuffix(tr(" positions"));
    showTotal_->setText(tr("overall MAD score"));
    drawButton->setText(tr("Draw"));
    exportButton->setText(tr("Export figure…"));
    madBox->setText(tr("The MAD benchmark trains every family on the six synthetic tasks over the lr × weight-decay "
                       "grid as one sweep; its scores appear here when it finishes."));
    profile_->setItemText(0, tr("Quick: width 32, baselines, minutes on a CPU"));
    profile_->setItemText(1, tr("The seed's: width 1024, every setting, 200 epochs (a GPU)"));
    runMad->setText(tr("Run the MAD benchmark"));
    if (sweep_->count() > 0) sweep_->setItemText(0, tr("(runs selected below)"));
    if (haveFigure_) draw();
  });
  updateVisibility();

  connect(figure_, &QComboBox::currentIndexChanged, this, [=, this] {
    updateVisibility();
    fillList();
    draw();
  });
  connect(sweep_, &QComboBox::currentIndexChanged, this, [this] {
    if (const int64_t id = sweep_->currentData().toLongLong(); id > 0) {
      const QSignalBlocker b(runs_);
      for (int i = 0; i < runs_->count(); ++i)
        runs_->item(i)->setSelected(runs_->item(i)->data(Qt::UserRole + 1).toLongLong() == id);
      draw();
    }
  });
  connect(runs_, &QListWidget::itemSelectionChanged, this, [this] {
    // A hand-made selection is no longer "the sweep".
    const QSignalBlocker b(sweep_);
    sweep_->setCurrentIndex(0);
  });
  connect(drawButton, &QPushButton::clicked, this, [this] { draw(); });
  connect(exportButton, &QPushButton::clicked, this, &BenchmarksView::onExportClicked);
  connect(showTotal_, &QCheckBox::toggled, this, [this] {
    if (haveFigure_) draw();
  });
  for (auto* sb : {trainingLength_, window_})
    connect(sb, &QSpinBox::editingFinished, this, [this] {
      if (haveFigure_) draw();
    });
  connect(runMad, &QPushButton::clicked, this,
          [this] { emit runMadRequested(static_cast<MadProfile>(profile_->currentData().toInt())); });
}

void BenchmarksView::setWorker(StoreWorker* worker, const QString& workspace) {
  worker_ = worker;
  workspace_ = workspace;
  ++generation_;
  listing_ = reading_ = false;
  data_ = Data{};
  haveFigure_ = false;
  items_.clear();
  sweeps_.clear();
  runs_->clear();
  sweep_->clear();
  table_->clear();
  table_->setRowCount(0);
  table_->setColumnCount(0);
  plotting::resetPlot(plot_);
  plot_->replot();
  refreshRuns();
}

void BenchmarksView::refreshRuns() {
  if (!worker_) return;
  listing_ = true;
  struct Lists {
    std::vector<Item> items;
    std::vector<SweepItem> sweeps;
  };
  worker_->query<Lists>(
      this,
      [](store::RunStore& db) {
        Lists l;
        for (const auto& r : db.runs()) {
          if (r.archived || r.status != "finished") continue;
          if (r.kind == "mad-score") l.items.push_back({r.id, r.sweep_id, true, runLabel(r) + " (" + QString::fromStdString(r.family) + ")"});
          if (r.kind == "per-token-loss") l.items.push_back({r.id, r.sweep_id, false, runLabel(r)});
        }
        for (const auto& s : db.sweeps())  // newest first
          if (s.kind == "mad")
            l.sweeps.push_back({s.id, QStringLiteral("#%1 %2 (%3)").arg(s.id).arg(QString::fromStdString(s.name),
                                                                           QString::fromStdString(s.created_at))});
        return l;
      },
      [this, worker = worker_](Lists l, QString error) {
        if (worker != worker_) return;
        listing_ = false;
        if (!error.isEmpty()) showError(error);
        const QList<int64_t> keep = selectedRuns();
        const int64_t keepSweep = sweep_->currentData().toLongLong();
        items_ = std::move(l.items);
        sweeps_ = std::move(l.sweeps);
        {
          const QSignalBlocker b(sweep_);
          sweep_->clear();
          sweep_->addItem(tr("(runs selected below)"), static_cast<qlonglong>(0));
          for (const auto& s : sweeps_) {
            // Only sweeps whose scores were recorded (the benchmark finished).
            bool scored = false;
            for (const auto& it : items_) scored = scored || (it.mad && it.sweep == s.id);
            if (scored) sweep_->addItem(s.label, static_cast<qlonglong>(s.id));
          }
        }
        fillList();
        if (wantSweep_) {  // asked for while the lists were read
          selectSweep(wantSweep_);
        } else if (!keep.isEmpty() || !wantRuns_.isEmpty()) {
          setRuns(keep.isEmpty() ? wantRuns_ : keep);
          if (keepSweep > 0) {
            const QSignalBlocker b(sweep_);
            sweep_->setCurrentIndex(std::max(0, sweep_->findData(static_cast<qlonglong>(keepSweep))));
          }
        } else if (sweep_->count() > 1 && figure() == Figure::Mad) {
          selectSweep(sweep_->itemData(1).toLongLong());  // nothing chosen yet: the newest MAD sweep
        }
        wantRuns_.clear();
        wantSweep_ = 0;
        emit listed();
        if (drawWhenListed_) {
          drawWhenListed_ = false;
          draw();
        }
      });
}

void BenchmarksView::fillList() {
  const QSignalBlocker b(runs_);
  runs_->clear();
  const bool mad = figure() == Figure::Mad;
  for (const auto& it : items_) {
    if (it.mad != mad) continue;
    auto* item = new QListWidgetItem(it.label, runs_);
    item->setData(Qt::UserRole, static_cast<qlonglong>(it.id));
    item->setData(Qt::UserRole + 1, static_cast<qlonglong>(it.sweep));
    // The chosen MAD sweep stays chosen across figure switches.
    if (mad && it.sweep > 0 && it.sweep == sweep_->currentData().toLongLong()) item->setSelected(true);
  }
}

void BenchmarksView::setFigure(Figure f) { figure_->setCurrentIndex(static_cast<int>(f)); }
BenchmarksView::Figure BenchmarksView::figure() const { return static_cast<Figure>(std::max(0, figure_->currentIndex())); }
void BenchmarksView::setTrainingLength(int tokens) { trainingLength_->setValue(tokens); }
void BenchmarksView::setMadProfile(MadProfile p) { profile_->setCurrentIndex(profile_->findData(static_cast<int>(p))); }

bool BenchmarksView::selectSweep(int64_t sweep) {
  if (listing_) {
    wantSweep_ = sweep;
    return true;
  }
  const int i = sweep_->findData(static_cast<qlonglong>(sweep));
  if (i < 0) return false;
  if (figure() != Figure::Mad) setFigure(Figure::Mad);
  if (sweep_->currentIndex() == i) {
    const QSignalBlocker b(runs_);
    for (int k = 0; k < runs_->count(); ++k) runs_->item(k)->setSelected(runs_->item(k)->data(Qt::UserRole + 1).toLongLong() == sweep);
  } else {
    sweep_->setCurrentIndex(i);  // selects its runs (and draws)
  }
  return true;
}

void BenchmarksView::setRuns(const QList<int64_t>& runs) {
  if (listing_) wantRuns_ = runs;
  const QSignalBlocker b(runs_);
  for (int i = 0; i < runs_->count(); ++i) runs_->item(i)->setSelected(runs.contains(runs_->item(i)->data(Qt::UserRole).toLongLong()));
  const QSignalBlocker c(sweep_);
  sweep_->setCurrentIndex(0);
}

QList<int64_t> BenchmarksView::selectedRuns() const {
  QList<int64_t> out;
  for (int i = 0; i < runs_->count(); ++i)
    if (runs_->item(i)->isSelected()) out << runs_->item(i)->data(Qt::UserRole).toLongLong();
  return out;
}

bool BenchmarksView::current() const { return data_.valid && data_.figure == figure() && data_.runs == selectedRuns(); }

void BenchmarksView::fetch(std::function<void()> then) {
  reading_ = true;
  const int generation = ++generation_;
  Data sel;
  sel.figure = figure();
  sel.runs = selectedRuns();
  worker_->query<Data>(
      this,
      [sel](store::RunStore& db) {
        Data d = sel;
        try {
          if (d.figure == Figure::Mad) {
            d.mad = figures::madScoresFromRuns(db, std::vector<int64_t>(d.runs.begin(), d.runs.end()));
          } else {
            for (auto id : d.runs) d.perToken.push_back(figures::perTokenFromRun(db, id));  // reads results.json here
          }
        } catch (const std::exception& e) {
          d.error = QString::fromUtf8(e.what());
        }
        d.valid = true;
        return d;
      },
      [this, generation, then = std::move(then)](Data d, QString error) {
        if (generation != generation_) return;
        reading_ = false;
        if (!error.isEmpty()) d.error = error;
        data_ = std::move(d);
        then();
      });
}

QString BenchmarksView::draw() {
  if (!worker_) {
    showError(tr("No workspace is open."));
    return lastError_;
  }
  if (listing_) {
    drawWhenListed_ = true;
    return {};
  }
  if (selectedRuns().isEmpty()) {
    haveFigure_ = false;
    plotting::resetPlot(plot_);
    plot_->replot();
    table_->setRowCount(0);
    table_->setColumnCount(0);
    showError(figure() == Figure::Mad ? tr("Pick a MAD sweep or its score runs (Run the MAD benchmark makes one).")
                                      : tr("Select one or more per-token-loss runs (diffmamba per-token-loss makes them)."));
    emit drawn();
    return lastError_;
  }
  if (!current()) {
    status_->setText(tr("Reading the numbers…"));
    status_->setStyleSheet(QString());
    fetch([this] {
      showError(drawFigure());
      emit drawn();
    });
    return {};
  }
  showError(drawFigure());
  emit drawn();
  return lastError_;
}

void BenchmarksView::showError(const QString& err) {
  lastError_ = err;
  status_->setText(err);
  status_->setStyleSheet(err.isEmpty() ? QString() : QStringLiteral("color: #b00020;"));
}

QString BenchmarksView::drawFigure() {
  haveFigure_ = false;
  plotting::resetPlot(plot_);
  table_->setRowCount(0);
  table_->setColumnCount(0);
  try {
    if (!data_.error.isEmpty()) throw std::runtime_error(data_.error.toStdString());
    if (data_.figure == Figure::Mad) {
      plotting::MadChartOptions o;
      o.showTotal = showTotal_->isChecked();
      plotting::drawMadScores(plot_, data_.mad, o);
    } else {
      plotting::PerTokenOptions o;
      o.trainingLength = trainingLength_->value();
      o.window = window_->value();
      plotting::drawPerTokenLoss(plot_, data_.perToken, o);
    }
  } catch (const std::exception& e) {
    plotting::resetPlot(plot_);
    plot_->replot();
    return QString::fromUtf8(e.what());
  }
  plot_->replot();
  fillTable();
  haveFigure_ = true;
  return {};
}

// MAD: a row per task and the overall score, a column per family, the best of each row in bold.
// Per-token: a row per context length L, the perplexity over the first L tokens (the seed's
// val/perplexity_len_L) per model, the mean loss in the tool tip.
void BenchmarksView::fillTable() {
  QStringList rows, cols;
  std::vector<std::vector<double>> v;  // [row][col]
  std::vector<std::vector<QString>> tips;
  if (data_.figure == Figure::Mad) {
    const auto& s = data_.mad;
    cols = s.models;
    rows = s.tasks;
    rows << tr("MAD score");
    for (int t = 0; t <= s.tasks.size(); ++t) {
      v.emplace_back();
      for (int m = 0; m < s.models.size(); ++m) v.back().push_back(t < s.tasks.size() ? s.at(m, t) : s.total[static_cast<size_t>(m)]);
    }
  } else {
    const int n = static_cast<int>(data_.perToken.front().loss.size());
    for (const auto& series : data_.perToken) cols << series.label;
    for (int len : perplexityLengths(n)) {
      rows << tr("ppl, first %1 tokens").arg(len);
      v.emplace_back();
      tips.emplace_back();
      for (const auto& series : data_.perToken) {
        double sum = 0;
        for (int i = 0; i < len; ++i) sum += series.loss[static_cast<size_t>(i)];
        v.back().push_back(std::exp(sum / len));
        tips.back().push_back(tr("mean loss %1 nats over %2 positions").arg(sum / len, 0, 'f', 4).arg(len));
      }
    }
  }
  table_->setRowCount(static_cast<int>(rows.size()));
  table_->setColumnCount(static_cast<int>(cols.size()));
  table_->setHorizontalHeaderLabels(cols);
  table_->setVerticalHeaderLabels(rows);
  const bool higherBetter = data_.figure == Figure::Mad;
  for (int r = 0; r < rows.size(); ++r) {
    double best = NAN;
    for (double x : v[static_cast<size_t>(r)])
      if (!std::isnan(x) && (std::isnan(best) || (higherBetter ? x > best : x < best))) best = x;
    for (int c = 0; c < cols.size(); ++c) {
      const double x = v[static_cast<size_t>(r)][static_cast<size_t>(c)];
      auto* item = new QTableWidgetItem(std::isnan(x) ? tr("not run") : QString::number(x, 'f', higherBetter ? 3 : 2));
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      if (!std::isnan(x) && x == best && cols.size() > 1) {
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
      }
      if (!tips.empty()) item->setToolTip(tips[static_cast<size_t>(r)][static_cast<size_t>(c)]);
      table_->setItem(r, c, item);
    }
  }
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
}

QString BenchmarksView::exportTo(const QString& path) {
  if (!haveFigure_ || !current()) return tr("The figure's numbers are not read yet: draw it first.");
  try {
    const plotting::FigureSize size = data_.figure == Figure::Mad ? plotting::FigureSize{10, 5, 300} : plotting::FigureSize{8, 7, 300};
    const QString said = FigureExport::write(plot_, path, size, [this](const QString& csv) {
      if (data_.figure == Figure::Mad) {
        plotting::writeMadCsv(data_.mad, csv);
      } else {
        plotting::PerTokenOptions o;
        o.trainingLength = trainingLength_->value();
        o.window = window_->value();
        plotting::writePerTokenCsv(data_.perToken, o, csv);
      }
    });
    status_->setStyleSheet(QString());
    status_->setText(said);
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

QString BenchmarksView::suggestedPath(const QString& ext) const {
  const QString folder = FigureExport::folder(workspace_);
  QStringList ids;
  for (auto id : data_.runs) ids << QString::number(id);
  QString stem = data_.figure == Figure::Mad ? QStringLiteral("mad-scores") : QStringLiteral("per-token-loss");
  const int64_t sweep = sweep_->currentData().toLongLong();
  if (data_.figure == Figure::Mad && sweep > 0)
    stem += QStringLiteral("-sweep%1").arg(sweep);
  else if (!ids.isEmpty())
    stem += QStringLiteral("-run") + ids.join('+');
  return QDir(folder).filePath(stem + "." + ext);
}

void BenchmarksView::onExportClicked() {
  if (!haveFigure_ || !current()) {
    if (!current()) {  // read, draw, then ask
      connect(this, &BenchmarksView::drawn, this, [this] { if (haveFigure_) onExportClicked(); }, Qt::SingleShotConnection);
      draw();
      return;
    }
    if (!draw().isEmpty()) return;
  }
  const QString path = FigureExport::ask(this, suggestedPath(QStringLiteral("pdf")));
  if (path.isEmpty()) return;
  if (const QString err = exportTo(path); !err.isEmpty()) QMessageBox::warning(this, tr("Export failed"), err);
}

}  // namespace gui
}  // namespace dm
