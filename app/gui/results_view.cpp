#include "app/gui/results_view.h"
#include "app/gui/figure_export.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QSignalBlocker>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QDoubleSpinBox>
#include <QListWidget>
#include <QMessageBox>
#include <QMouseEvent>
#include <QPushButton>
#include <QSplitter>
#include <QSettings>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "app/figures/figure_data.h"
#include "core/store/run_store.h"
#include "app/gui/language.h"
#include "app/gui/store_worker.h"
#include "plotting/csv.h"
#include "plotting/errors.h"
#include "plotting/export.h"
#include "plotting/figure.h"
#include "plotting/heatmap.h"
#include "plotting/lens_chart.h"

namespace dm {
namespace gui {
namespace {

QString runLabel(const store::RunRecord& r) {
  return QStringLiteral("#%1 %2 (%3)").arg(r.id).arg(QString::fromStdString(r.name), QString::fromStdString(r.family));
}

QString groupName(const store::RunStore& db, const QList<int64_t>& runs) {  // on the worker's thread
  if (runs.isEmpty()) return {};
  const auto r = db.run(runs.front());
  QString name = r ? QString::fromStdString(r->name) : QString::number(runs.front());
  if (runs.size() > 1) name += QStringLiteral(" ×%1").arg(runs.size());
  return name;
}

}  // namespace

ResultsView::ResultsView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QHBoxLayout(this);
  auto* split = new QSplitter(this);
  layout->addWidget(split);

  auto* left = new QWidget(split);
  auto* form = new QFormLayout(left);
  figure_ = new QComboBox(left);
  figure_->setObjectName("resultsFigure");
  for (int i = 0; i < 4; ++i) figure_->addItem(QString());
  modelRuns_ = new QListWidget(left);
  modelRuns_->setObjectName("modelRuns");
  modelRuns_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  baselineRuns_ = new QListWidget(left);
  baselineRuns_->setObjectName("baselineRuns");
  baselineRuns_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  diffLens_ = new QComboBox(left);
  diffLens_->setObjectName("diffLens");
  mambaLens_ = new QComboBox(left);
  mambaLens_->setObjectName("mambaLens");
  showStd_ = new QCheckBox(left);
  intervals_ = new QCheckBox(left);
  intervals_->setObjectName("compareIntervals");
  intervals_->setChecked(true);
  palette_ = new QComboBox(left);
  palette_->setObjectName("figurePalette");
  palette_->addItem(QString(), QStringLiteral("colorblind"));
  palette_->addItem(QString(), QStringLiteral("seed"));
  palette_->setCurrentIndex(std::max(0, palette_->findData(QSettings().value("figurePalette", "colorblind"))));
  logY_ = new QCheckBox(left);
  lines_ = new QCheckBox(left);
  auto* drawButton = new QPushButton(left);
  auto* exportButton = new QPushButton(left);
  exportButton->setObjectName("exportFigure");
  auto* exportAllButton = new QPushButton(left);
  QList<QLabel*> rowLabels;
  for (QWidget* field : {static_cast<QWidget*>(figure_), static_cast<QWidget*>(modelRuns_), static_cast<QWidget*>(baselineRuns_),
                         static_cast<QWidget*>(diffLens_), static_cast<QWidget*>(mambaLens_), static_cast<QWidget*>(palette_)}) {
    rowLabels << new QLabel(left);
    form->addRow(rowLabels.back(), field);
  }
  form->addRow(showStd_);
  form->addRow(intervals_);
  form->addRow(logY_);
  form->addRow(lines_);
  form->addRow(drawButton);
  // Export size: inches (0 = the figure's default) and PNG resolution.
  widthIn_ = new QDoubleSpinBox(left);
  widthIn_->setObjectName("exportWidth");
  heightIn_ = new QDoubleSpinBox(left);
  heightIn_->setObjectName("exportHeight");
  for (auto* sb : {widthIn_, heightIn_}) {
    sb->setRange(0.0, 40.0);
    sb->setSingleStep(0.5);
    sb->setDecimals(1);
  }
  dpi_ = new QSpinBox(left);
  dpi_->setObjectName("exportDpi");
  dpi_->setRange(50, 1200);
  dpi_->setValue(300);

  auto* sizeRow = new QHBoxLayout;
  sizeRow->addWidget(widthIn_);
  sizeRow->addWidget(new QLabel(QStringLiteral("×"), left));
  sizeRow->addWidget(heightIn_);
  sizeRow->addWidget(dpi_);
  auto* sizeLabel = new QLabel(left);
  form->addRow(sizeLabel, sizeRow);
  form->addRow(exportButton);
  form->addRow(exportAllButton);
  onLanguageChange(this, [=, this] {
    const QStringList figures = {tr("BABILong accuracy"), tr("Compare (model vs baseline)"), tr("Ratio (model vs baseline)"),
                                 tr("Tuned lens per layer")};
    for (int i = 0; i < figures.size(); ++i) figure_->setItemText(i, figures[i]);
    modelRuns_->setToolTip(tr("Several runs (e.g. seeds) are averaged; the standard deviation shows on hover"));
    showStd_->setText(tr("± sd in cells"));
    intervals_->setText(tr("95 % intervals of the difference (bootstrap)"));
    intervals_->setToolTip(tr("Compare and ratio: a paired bootstrap over the samples both sides answered (seeds, then "
                              "samples, with several runs each, paired in list order); cells whose interval excludes 0 "
                              "are marked"));
    palette_->setItemText(0, tr("Colour-blind safe (viridis, blue / orange)"));
    palette_->setItemText(1, tr("Seed's red / green"));
    logY_->setText(tr("log y"));
    lines_->setText(tr("lines instead of bars"));
    drawButton->setText(tr("Draw"));
    exportButton->setText(tr("Export figure…"));
    exportAllButton->setText(tr("Export all figures…"));
    const QStringList rows = {tr("Figure"), tr("Model runs"), tr("Baseline runs"), tr("Diff-Mamba lens"), tr("Mamba lens"), tr("Colours")};
    for (int i = 0; i < rows.size(); ++i) rowLabels[i]->setText(rows[i]);
    for (auto* sb : {widthIn_, heightIn_}) {
      sb->setSuffix(tr(" in"));
      sb->setSpecialValueText(tr("default"));
    }
    dpi_->setSuffix(tr(" dpi"));
    sizeLabel->setText(tr("Export size"));
    if (haveFigure_) draw();  // the figure's titles and legends in the new language
  });

  auto* right = new QWidget(split);
  auto* rl = new QVBoxLayout(right);
  rl->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(right);
  plot_->setObjectName("resultsPlot");
  plot_->setMinimumSize(480, 300);
  plot_->setMouseTracking(true);
  plot_->installEventFilter(this);
  status_ = new QLabel(right);
  status_->setObjectName("resultsStatus");
  status_->setWordWrap(true);
  rl->addWidget(plot_, 1);
  rl->addWidget(status_);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(1, 3);

  connect(drawButton, &QPushButton::clicked, this, [this] { draw(); });
  connect(figure_, &QComboBox::currentIndexChanged, this, [this] { draw(); });
  connect(exportButton, &QPushButton::clicked, this, &ResultsView::onExportClicked);
  connect(exportAllButton, &QPushButton::clicked, this, &ResultsView::onExportAllClicked);
  for (auto* c : {showStd_, logY_, lines_}) connect(c, &QCheckBox::toggled, this, [this] { draw(); });
  connect(palette_, &QComboBox::currentIndexChanged, this, [this] {
    QSettings().setValue("figurePalette", palette_->currentData());
    draw();
  });
}

void ResultsView::setPalette(plotting::Palette p) {
  palette_->setCurrentIndex(std::max(0, palette_->findData(plotting::paletteName(p))));
}

plotting::Palette ResultsView::palette() const {
  plotting::Palette p = plotting::Palette::ColorBlind;
  plotting::paletteFromName(palette_->currentData().toString(), &p);
  return p;
}

void ResultsView::setWorker(StoreWorker* worker, const QString& workspace) {
  worker_ = worker;
  workspace_ = workspace;
  ++generation_;
  listing_ = reading_ = false;
  data_ = Data{};
  haveFigure_ = false;
  modelRuns_->clear();
  baselineRuns_->clear();
  diffLens_->clear();
  mambaLens_->clear();
  plotting::resetPlot(plot_);
  plot_->replot();
  restoreState();
  refreshRuns();
}

// The last figure drawn in a workspace (figure, runs, options) is drawn again when it is opened.
QString ResultsView::stateKey() const {
  return workspace_.isEmpty() ? QString()
                              : QStringLiteral("results/") + QString::fromLatin1(QCryptographicHash::hash(
                                    QDir(workspace_).absolutePath().toUtf8(), QCryptographicHash::Sha1).toHex().left(16));
}

void ResultsView::saveState() const {
  const QString key = stateKey();
  if (key.isEmpty()) return;
  QSettings s;
  s.beginGroup(key);
  auto ids = [](const QList<int64_t>& runs) {
    QStringList out;
    for (auto id : runs) out << QString::number(id);
    return out;
  };
  s.setValue("figure", figure_->currentIndex());
  s.setValue("modelRuns", ids(data_.modelRuns));
  s.setValue("baselineRuns", ids(data_.baselineRuns));
  s.setValue("diffLens", static_cast<qlonglong>(data_.diffLens));
  s.setValue("mambaLens", static_cast<qlonglong>(data_.mambaLens));
  s.setValue("showStd", showStd_->isChecked());
  s.setValue("intervals", intervals_->isChecked());
  s.setValue("logY", logY_->isChecked());
  s.setValue("lines", lines_->isChecked());
}

void ResultsView::restoreState() {
  drawWhenListed_ = false;
  wantModel_.clear();
  wantBaseline_.clear();
  wantDiffLens_ = wantMambaLens_ = 0;
  const QString key = stateKey();
  if (key.isEmpty()) return;
  QSettings s;
  s.beginGroup(key);
  if (!s.contains("figure")) return;
  for (const auto& id : s.value("modelRuns").toStringList()) wantModel_ << id.toLongLong();
  for (const auto& id : s.value("baselineRuns").toStringList()) wantBaseline_ << id.toLongLong();
  wantDiffLens_ = s.value("diffLens").toLongLong();
  wantMambaLens_ = s.value("mambaLens").toLongLong();
  const QSignalBlocker a(figure_), b(showStd_), c(logY_), d(lines_);
  figure_->setCurrentIndex(std::clamp(s.value("figure").toInt(), 0, figure_->count() - 1));
  showStd_->setChecked(s.value("showStd").toBool());
  intervals_->setChecked(s.value("intervals", true).toBool());
  logY_->setChecked(s.value("logY").toBool());
  lines_->setChecked(s.value("lines").toBool());
  drawWhenListed_ = !wantModel_.isEmpty() || (wantDiffLens_ && wantMambaLens_);
}

void ResultsView::refreshRuns() {
  if (!worker_) return;
  listing_ = true;
  struct Item {
    int64_t id;
    bool eval;
    QString label;
  };
  worker_->query<std::vector<Item>>(
      this,
      [](store::RunStore& db) {
        std::vector<Item> out;
        for (const auto& r : db.runs()) {
          if (r.archived) continue;
          if (r.kind == "eval-babilong") out.push_back({r.id, true, runLabel(r)});
          if (r.kind == "lens-eval" || r.kind == "lens-import") out.push_back({r.id, false, runLabel(r)});
        }
        return out;
      },
      [this, worker = worker_](std::vector<Item> items, QString) {
        if (worker != worker_) return;
        listing_ = false;
        // The selection stays (what was asked before the list came is kept too).
        const auto keepModel = selected(modelRuns_), keepBase = selected(baselineRuns_);
        const auto keepDiff = diffLens_->currentData(), keepMamba = mambaLens_->currentData();
        modelRuns_->clear();
        baselineRuns_->clear();
        diffLens_->clear();
        mambaLens_->clear();
        for (const auto& it : items) {
          if (it.eval) {
            for (auto* list : {modelRuns_, baselineRuns_}) {
              auto* item = new QListWidgetItem(it.label, list);
              item->setData(Qt::UserRole, static_cast<qlonglong>(it.id));
            }
          } else {
            diffLens_->addItem(it.label, static_cast<qlonglong>(it.id));
            mambaLens_->addItem(it.label, static_cast<qlonglong>(it.id));
          }
        }
        select(modelRuns_, keepModel.isEmpty() ? wantModel_ : keepModel);
        select(baselineRuns_, keepBase.isEmpty() ? wantBaseline_ : keepBase);
        if (int i = diffLens_->findData(keepDiff.isValid() ? keepDiff : QVariant(static_cast<qlonglong>(wantDiffLens_))); i >= 0)
          diffLens_->setCurrentIndex(i);
        if (int i = mambaLens_->findData(keepMamba.isValid() ? keepMamba : QVariant(static_cast<qlonglong>(wantMambaLens_))); i >= 0)
          mambaLens_->setCurrentIndex(i);
        if (drawWhenListed_) {
          drawWhenListed_ = false;
          draw();
        }
      });
}

QList<int64_t> ResultsView::selected(const QListWidget* list) const {
  QList<int64_t> out;
  for (int i = 0; i < list->count(); ++i)
    if (list->item(i)->isSelected()) out << list->item(i)->data(Qt::UserRole).toLongLong();
  return out;
}

void ResultsView::select(QListWidget* list, const QList<int64_t>& runs) {
  for (int i = 0; i < list->count(); ++i)
    list->item(i)->setSelected(runs.contains(list->item(i)->data(Qt::UserRole).toLongLong()));
}

void ResultsView::setFigure(Figure f) { figure_->setCurrentIndex(static_cast<int>(f)); }
ResultsView::Figure ResultsView::figure() const { return static_cast<Figure>(figure_->currentIndex()); }
void ResultsView::setModelRuns(const QList<int64_t>& runs) {
  wantModel_ = runs;
  select(modelRuns_, runs);
}
void ResultsView::setBaselineRuns(const QList<int64_t>& runs) {
  wantBaseline_ = runs;
  select(baselineRuns_, runs);
}
void ResultsView::setShowStd(bool on) { showStd_->setChecked(on); }
void ResultsView::setShowIntervals(bool on) { intervals_->setChecked(on); }
void ResultsView::setLogY(bool on) { logY_->setChecked(on); }

void ResultsView::setLensRuns(int64_t diffRun, int64_t mambaRun) {
  wantDiffLens_ = diffRun;
  wantMambaLens_ = mambaRun;
  if (int i = diffLens_->findData(static_cast<qlonglong>(diffRun)); i >= 0) diffLens_->setCurrentIndex(i);
  if (int i = mambaLens_->findData(static_cast<qlonglong>(mambaRun)); i >= 0) mambaLens_->setCurrentIndex(i);
}

ResultsView::Data ResultsView::selection() const {
  Data d;
  d.modelRuns = selected(modelRuns_);
  d.baselineRuns = selected(baselineRuns_);
  d.diffLens = diffLens_->currentIndex() < 0 ? 0 : diffLens_->currentData().toLongLong();
  d.mambaLens = mambaLens_->currentIndex() < 0 ? 0 : mambaLens_->currentData().toLongLong();
  return d;
}

bool ResultsView::current() const {
  const Data d = selection();
  return data_.valid && d.modelRuns == data_.modelRuns && d.baselineRuns == data_.baselineRuns &&
         d.diffLens == data_.diffLens && d.mambaLens == data_.mambaLens;
}

// On the worker's thread: every number the figures of the selection need, each part with its own error.
void ResultsView::fetch(std::function<void()> then) {
  reading_ = true;
  const int generation = ++generation_;
  worker_->query<Data>(
      this,
      [sel = selection()](store::RunStore& db) {
        Data d = sel;
        auto mean = [&db](const QList<int64_t>& runs, const std::vector<std::string>& tasks, const std::vector<std::string>& lengths) {
          std::vector<plotting::Matrix> ms;
          for (auto id : runs) ms.push_back(figures::runAccuracy(db, id, tasks, lengths));
          return plotting::meanOverSeeds(ms);
        };
        auto grid = [&db](int64_t run, std::vector<std::string>& tasks, std::vector<std::string>& lengths) {
          const auto first = figures::runAccuracy(db, run);
          for (const auto& t : first.rowLabels) tasks.push_back(t.toStdString());
          for (const auto& l : first.colLabels) lengths.push_back(l.toStdString());
        };
        if (!d.modelRuns.isEmpty()) {
          // Rows and columns: those of the first model run, so every run lines up on the same grid.
          std::vector<std::string> tasks, lengths;
          try {
            grid(d.modelRuns.front(), tasks, lengths);
            d.model = mean(d.modelRuns, tasks, lengths);
            d.modelName = groupName(db, d.modelRuns);
            for (auto id : d.modelRuns)
              for (const auto& c : db.eval_cells(id))
                if (c.metric == "accuracy") d.samples[QString::fromStdString(c.task + "|" + c.length)] += c.samples;
          } catch (const std::exception& e) {
            d.modelError = QString::fromUtf8(e.what());
          }
          if (!d.baselineRuns.isEmpty() && d.modelError.isEmpty()) {
            try {
              d.baseline = mean(d.baselineRuns, tasks, lengths);
              d.baselineName = groupName(db, d.baselineRuns);
              std::vector<std::string> bt, bl;
              grid(d.baselineRuns.front(), bt, bl);
              d.baselineOwn = mean(d.baselineRuns, bt, bl);
            } catch (const std::exception& e) {
              d.baselineError = QString::fromUtf8(e.what());
            }
            if (d.baselineError.isEmpty()) {
              try {
                d.intervals = figures::bootstrapFromRuns(db, {d.modelRuns.begin(), d.modelRuns.end()},
                                                         {d.baselineRuns.begin(), d.baselineRuns.end()}, d.model);
              } catch (const std::exception& e) {
                d.intervalsNote = QString::fromUtf8(e.what());
              }
            }
          }
        }
        if (d.diffLens && d.mambaLens) {
          try {
            d.lens = figures::lensFromRuns(db, d.diffLens, d.mambaLens);
          } catch (const std::exception& e) {
            d.lensError = QString::fromUtf8(e.what());
          }
        }
        d.valid = true;
        return d;
      },
      [this, generation, then = std::move(then)](Data d, QString error) {
        if (generation != generation_) return;  // a newer selection was asked for
        reading_ = false;
        if (!error.isEmpty()) d.modelError = d.baselineError = d.lensError = error;
        data_ = std::move(d);
        then();
      });
}

QString ResultsView::draw() {
  if (!worker_) {
    showError(tr("No workspace is open."));
    return lastError_;
  }
  if (listing_) {  // the lists are being read: draw what they select once they are there
    drawWhenListed_ = true;
    return {};
  }
  if (!current()) {
    status_->setText(tr("Reading the numbers…"));
    status_->setStyleSheet(QString());
    fetch([this] {
      showError(drawFigure(figure()));
      if (lastError_.isEmpty()) saveState();
      emit drawn();
    });
    return {};
  }
  showError(drawFigure(figure()));
  if (lastError_.isEmpty()) saveState();
  return lastError_;
}

void ResultsView::showError(const QString& err) {
  lastError_ = err;
  status_->setText(err);
  status_->setStyleSheet(err.isEmpty() ? QString() : QStringLiteral("color: #b00020;"));
  // A drawn comparison without intervals says why (e.g. the runs answered different questions).
  if (err.isEmpty() && haveFigure_ && (drawn_ == Figure::Compare || drawn_ == Figure::Ratio) && intervals_->isChecked() &&
      !data_.intervals && !data_.intervalsNote.isEmpty())
    status_->setText(tr("No intervals: %1").arg(data_.intervalsNote));
}

// Draws from data_ (the selection's numbers); `baselineHeatmap`: the baseline's own heatmap.
QString ResultsView::drawFigure(Figure f, bool baselineHeatmap) {
  haveFigure_ = false;
  plotting::resetPlot(plot_);
  if (!worker_) return tr("No workspace is open.");
  try {
    if (f == Figure::Lens) {
      if (!data_.diffLens || !data_.mambaLens) return tr("Pick a Diff-Mamba and a Mamba lens evaluation run.");
      if (!data_.lensError.isEmpty()) throw std::runtime_error(data_.lensError.toStdString());
      plotting::LensOptions o;
      o.logY = logY_->isChecked();
      o.kind = lines_->isChecked() ? plotting::LensChartKind::Lines : plotting::LensChartKind::Bars;
      plotting::drawLensLayers(plot_, data_.lens, o);
    } else {
      if (data_.modelRuns.isEmpty()) return tr("Select the model's BABILong evaluation run(s).");
      if (!data_.modelError.isEmpty()) throw std::runtime_error(data_.modelError.toStdString());
      const bool sd = showStd_->isChecked() && data_.model.hasStddev();
      if (f == Figure::Heatmap) {
        plotting::HeatmapOptions o;
        o.showStd = sd;
        o.palette = palette();
        if (baselineHeatmap) {
          if (!data_.baselineError.isEmpty()) throw std::runtime_error(data_.baselineError.toStdString());
          o.showStd = showStd_->isChecked() && data_.baselineOwn.hasStddev();
          o.title = tr("BABILong accuracy: %1").arg(data_.baselineName);
          plotting::drawHeatmap(plot_, data_.baselineOwn, o);
        } else {
          o.title = tr("BABILong accuracy: %1").arg(data_.modelName);
          plotting::drawHeatmap(plot_, data_.model, o);
        }
      } else {
        if (data_.baselineRuns.isEmpty()) return tr("Select the baseline's BABILong evaluation run(s).");
        if (!data_.baselineError.isEmpty()) throw std::runtime_error(data_.baselineError.toStdString());
        plotting::CompareOptions o;
        o.modelName = data_.modelName;
        o.baselineName = data_.baselineName;
        o.showStd = sd && data_.baseline.hasStddev();
        o.palette = palette();
        o.title = (f == Figure::Compare ? tr("%1 vs %2: BABILong accuracy") : tr("%1 vs %2: BABILong accuracy ratio"))
                      .arg(data_.modelName, data_.baselineName);
        if (intervals_->isChecked()) o.differences = data_.intervals;
        if (f == Figure::Compare)
          plotting::drawCompare(plot_, data_.model, data_.baseline, o);
        else
          plotting::drawRatio(plot_, data_.model, data_.baseline, o);
      }
    }
  } catch (const std::exception& e) {
    plotting::resetPlot(plot_);
    plot_->replot();
    return QString::fromUtf8(e.what());
  }
  plot_->replot();
  drawn_ = f;
  drawnBaseline_ = baselineHeatmap;
  haveFigure_ = true;
  return {};
}

QString ResultsView::toolTipAt(const QPoint& pos) const {
  if (!haveFigure_ || drawn_ == Figure::Lens) return {};
  const plotting::Matrix& shown = drawnBaseline_ ? data_.baselineOwn : data_.model;
  const auto cell = plotting::heatmapCellAt(plot_, QPointF(pos), shown.rows, shown.cols);
  if (!cell) return {};
  QString tip;
  if (drawn_ == Figure::Heatmap) {
    tip = plotting::heatmapToolTip(shown, cell->row, cell->col);
    if (drawnBaseline_) return tip;
  } else {
    plotting::CompareOptions o;
    o.modelName = data_.modelName;
    o.baselineName = data_.baselineName;
    if (intervals_->isChecked()) o.differences = data_.intervals;
    tip = plotting::compareToolTip(data_.model, data_.baseline, cell->row, cell->col, o);
  }
  const auto key = data_.model.rowLabel(cell->row) + "|" + data_.model.colLabel(cell->col);
  return tip + "\n" + tr("%n sample(s) evaluated", nullptr, static_cast<int>(data_.samples.value(key)));
}

bool ResultsView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_) FigureExport::hoverTip(plot_, event, [this](const QPoint& pos) { return toolTipAt(pos); });
  return QWidget::eventFilter(watched, event);
}

QString ResultsView::writeCsv(Figure f, const QString& path) {
  if (f == Figure::Lens)
    plotting::writeCsv(data_.lens, path);
  else if (f == Figure::Heatmap)
    plotting::writeCsv(drawnBaseline_ ? data_.baselineOwn : data_.model, path);
  else
    plotting::writeCompareCsv(data_.model, data_.baseline, path, data_.modelName, data_.baselineName, QStringLiteral("task"),
                              QStringLiteral("length"),
                              intervals_->isChecked() && data_.intervals ? &*data_.intervals : nullptr);
  return path;
}

QString ResultsView::exportTo(const QString& path) {
  if (!haveFigure_ || !current()) {
    if (!current()) return tr("The figure's numbers are not read yet: draw it first.");
    const QString err = drawFigure(figure());
    if (!err.isEmpty()) return err;
  }
  try {
    plotting::FigureSize size = drawn_ == Figure::Lens ? plotting::FigureSize{14, 6, 300} : plotting::FigureSize{};
    if (widthIn_->value() > 0) size.widthIn = widthIn_->value();
    if (heightIn_->value() > 0) size.heightIn = heightIn_->value();
    size.dpi = dpi_->value();
    status_->setText(FigureExport::write(plot_, path, size, [this](const QString& csv) { writeCsv(drawn_, csv); }));
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

void ResultsView::setExportSize(double widthIn, double heightIn, double dpi) {
  widthIn_->setValue(widthIn);
  heightIn_->setValue(heightIn);
  dpi_->setValue(static_cast<int>(dpi));
}

QString ResultsView::suggestedPath(const QString& ext) const {
  const QString folder = FigureExport::folder(workspace_);
  auto clean = [](QString s) {
    s = s.toLower();
    for (auto& ch : s)
      if (!ch.isLetterOrNumber() && ch != '-' && ch != '.') ch = '-';
    while (s.contains("--")) s.replace("--", "-");
    return s.left(60);
  };
  QString stem;
  switch (drawn_) {
    case Figure::Heatmap: stem = "babilong-" + clean(drawnBaseline_ ? data_.baselineName : data_.modelName); break;
    case Figure::Compare: stem = "compare-" + clean(data_.modelName) + "-vs-" + clean(data_.baselineName); break;
    case Figure::Ratio: stem = "compare-" + clean(data_.modelName) + "-vs-" + clean(data_.baselineName) + "-ratio"; break;
    case Figure::Lens: stem = QStringLiteral("compared-lens"); break;
  }
  if (stem.endsWith('-')) stem.chop(1);
  return QDir(folder).filePath(stem + "." + ext);
}

void ResultsView::exportAll(const QString& folder) {
  auto run = [this, folder] {
    QString problems;
    const QStringList written = writeAll(folder, &problems);
    emit allExported(written, problems);
  };
  if (worker_ && !current())
    fetch(run);
  else
    run();
}

QStringList ResultsView::writeAll(const QString& folder, QString* error) {
  QStringList written;
  if (!QDir().mkpath(folder)) {
    *error = tr("Cannot create the folder %1").arg(folder);
    showError(*error);
    return written;
  }
  struct Item {
    Figure f;
    bool baseline;
    QString stem;
  };
  QList<Item> items = {{Figure::Heatmap, false, "babilong-model"},
                       {Figure::Compare, false, "compare"},
                       {Figure::Ratio, false, "compare-ratio"},
                       {Figure::Lens, false, "compared-lens"}};
  if (!data_.baselineRuns.isEmpty()) items.append({Figure::Heatmap, true, "babilong-baseline"});  // its own heatmap too
  QStringList problems;
  for (const auto& it : items) {
    const QString err = drawFigure(it.f, it.baseline);
    if (!err.isEmpty()) {
      problems << QStringLiteral("%1: %2").arg(it.stem, err);
      continue;
    }
    for (const char* ext : {"pdf", "png", "svg"}) {
      const QString path = QDir(folder).filePath(it.stem + "." + ext);
      const QString e = exportTo(path);
      if (e.isEmpty())
        written << path;
      else
        problems << e;
    }
    written << QDir(folder).filePath(it.stem + ".csv");
  }
  *error = problems.join('\n');
  showError(drawFigure(figure()));
  status_->setText(tr("%n file(s) written to %1", nullptr, static_cast<int>(written.size())).arg(QDir::toNativeSeparators(folder)) +
                   (problems.isEmpty() ? QString() : "\n" + problems.join('\n')));
  return written;
}

void ResultsView::onExportClicked() {
  if (worker_ && !current()) {  // read the numbers, draw, then ask where to export
    reading_ = true;
    fetch([this] {
      showError(drawFigure(figure()));
      emit drawn();
      if (haveFigure_) onExportClicked();
    });
    return;
  }
  if (!haveFigure_ && !draw().isEmpty()) return;
  const QString path = FigureExport::ask(this, suggestedPath(QStringLiteral("pdf")));
  if (path.isEmpty()) return;
  const QString err = exportTo(path);
  if (!err.isEmpty()) QMessageBox::warning(this, tr("Export failed"), err);
}

void ResultsView::onExportAllClicked() {
  const QString suggested = QFileInfo(suggestedPath(QStringLiteral("pdf"))).path();
  QDir().mkpath(suggested);
  const QString folder = QFileDialog::getExistingDirectory(this, tr("Export all figures to"), suggested);
  if (folder.isEmpty()) return;
  exportAll(folder);  // says what it wrote (and what failed) in the page
}

}  // namespace gui
}  // namespace dm
