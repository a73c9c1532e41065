#include "app/gui/results_view.h"

#include <QCheckBox>
#include <QComboBox>
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

QString groupName(const store::RunStore& db, const QList<int64_t>& runs) {
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
  figure_->addItem(tr("BABILong accuracy"));
  figure_->addItem(tr("Compare (model vs baseline)"));
  figure_->addItem(tr("Ratio (model vs baseline)"));
  figure_->addItem(tr("Tuned lens per layer"));
  modelRuns_ = new QListWidget(left);
  modelRuns_->setObjectName("modelRuns");
  modelRuns_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  modelRuns_->setToolTip(tr("Several runs (e.g. seeds) are averaged; the standard deviation shows on hover"));
  baselineRuns_ = new QListWidget(left);
  baselineRuns_->setObjectName("baselineRuns");
  baselineRuns_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  diffLens_ = new QComboBox(left);
  diffLens_->setObjectName("diffLens");
  mambaLens_ = new QComboBox(left);
  mambaLens_->setObjectName("mambaLens");
  showStd_ = new QCheckBox(tr("± sd in cells"), left);
  palette_ = new QComboBox(left);
  palette_->setObjectName("figurePalette");
  palette_->addItem(tr("Colour-blind safe (viridis, blue / orange)"), QStringLiteral("colorblind"));
  palette_->addItem(tr("Seed's red / green"), QStringLiteral("seed"));
  palette_->setCurrentIndex(std::max(0, palette_->findData(QSettings().value("figurePalette", "colorblind"))));
  logY_ = new QCheckBox(tr("log y"), left);
  lines_ = new QCheckBox(tr("lines instead of bars"), left);
  auto* drawButton = new QPushButton(tr("Draw"), left);
  auto* exportButton = new QPushButton(tr("Export figure…"), left);
  exportButton->setObjectName("exportFigure");
  auto* exportAllButton = new QPushButton(tr("Export all figures…"), left);
  form->addRow(tr("Figure"), figure_);
  form->addRow(tr("Model runs"), modelRuns_);
  form->addRow(tr("Baseline runs"), baselineRuns_);
  form->addRow(tr("Diff-Mamba lens"), diffLens_);
  form->addRow(tr("Mamba lens"), mambaLens_);
  form->addRow(tr("Colours"), palette_);
  form->addRow(showStd_);
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
    sb->setSuffix(tr(" in"));
    sb->setSpecialValueText(tr("default"));
  }
  dpi_ = new QSpinBox(left);
  dpi_->setObjectName("exportDpi");
  dpi_->setRange(50, 1200);
  dpi_->setValue(300);
  dpi_->setSuffix(tr(" dpi"));
  auto* sizeRow = new QHBoxLayout;
  sizeRow->addWidget(widthIn_);
  sizeRow->addWidget(new QLabel(QStringLiteral("×"), left));
  sizeRow->addWidget(heightIn_);
  sizeRow->addWidget(dpi_);
  form->addRow(tr("Export size"), sizeRow);
  form->addRow(exportButton);
  form->addRow(exportAllButton);

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

void ResultsView::setStore(std::shared_ptr<store::RunStore> store) {
  store_ = std::move(store);
  modelRuns_->clear();
  baselineRuns_->clear();
  refreshRuns();
}

void ResultsView::refreshRuns() {
  if (!store_) return;
  const auto keepModel = selected(modelRuns_), keepBase = selected(baselineRuns_);
  const auto keepDiff = diffLens_->currentData(), keepMamba = mambaLens_->currentData();
  modelRuns_->clear();
  baselineRuns_->clear();
  diffLens_->clear();
  mambaLens_->clear();
  for (const auto& r : store_->runs()) {
    if (r.archived) continue;
    if (r.kind == "eval-babilong") {
      for (auto* list : {modelRuns_, baselineRuns_}) {
        auto* item = new QListWidgetItem(runLabel(r), list);
        item->setData(Qt::UserRole, static_cast<qlonglong>(r.id));
      }
    }
    if (r.kind == "lens-eval" || r.kind == "lens-import") {
      diffLens_->addItem(runLabel(r), static_cast<qlonglong>(r.id));
      mambaLens_->addItem(runLabel(r), static_cast<qlonglong>(r.id));
    }
  }
  select(modelRuns_, keepModel);
  select(baselineRuns_, keepBase);
  if (int i = diffLens_->findData(keepDiff); i >= 0) diffLens_->setCurrentIndex(i);
  if (int i = mambaLens_->findData(keepMamba); i >= 0) mambaLens_->setCurrentIndex(i);
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
void ResultsView::setModelRuns(const QList<int64_t>& runs) { select(modelRuns_, runs); }
void ResultsView::setBaselineRuns(const QList<int64_t>& runs) { select(baselineRuns_, runs); }
void ResultsView::setShowStd(bool on) { showStd_->setChecked(on); }
void ResultsView::setLogY(bool on) { logY_->setChecked(on); }

void ResultsView::setLensRuns(int64_t diffRun, int64_t mambaRun) {
  if (int i = diffLens_->findData(static_cast<qlonglong>(diffRun)); i >= 0) diffLens_->setCurrentIndex(i);
  if (int i = mambaLens_->findData(static_cast<qlonglong>(mambaRun)); i >= 0) mambaLens_->setCurrentIndex(i);
}

QString ResultsView::draw() {
  const QString err = drawFigure(figure());
  status_->setText(err);
  status_->setStyleSheet(err.isEmpty() ? QString() : QStringLiteral("color: #b00020;"));
  return err;
}

QString ResultsView::drawFigure(Figure f) {
  haveFigure_ = false;
  plotting::resetPlot(plot_);
  if (!store_) return tr("No workspace is open.");
  try {
    if (f == Figure::Lens) {
      if (diffLens_->currentIndex() < 0 || mambaLens_->currentIndex() < 0)
        return tr("Pick a Diff-Mamba and a Mamba lens evaluation run.");
      lens_ = figures::lensFromRuns(*store_, diffLens_->currentData().toLongLong(), mambaLens_->currentData().toLongLong());
      plotting::LensOptions o;
      o.logY = logY_->isChecked();
      o.kind = lines_->isChecked() ? plotting::LensChartKind::Lines : plotting::LensChartKind::Bars;
      plotting::drawLensLayers(plot_, lens_, o);
    } else {
      const auto modelRuns = selected(modelRuns_);
      if (modelRuns.isEmpty()) return tr("Select the model's BABILong evaluation run(s).");
      auto mean = [&](const QList<int64_t>& runs, const std::vector<std::string>& tasks,
                      const std::vector<std::string>& lengths) {
        std::vector<plotting::Matrix> ms;
        for (auto id : runs) ms.push_back(figures::runAccuracy(*store_, id, tasks, lengths));
        return plotting::meanOverSeeds(ms);
      };
      // Rows and columns: those of the first model run, so every run lines up on the same grid.
      const auto first = figures::runAccuracy(*store_, modelRuns.front());
      std::vector<std::string> tasks, lengths;
      for (const auto& t : first.rowLabels) tasks.push_back(t.toStdString());
      for (const auto& l : first.colLabels) lengths.push_back(l.toStdString());
      model_ = mean(modelRuns, tasks, lengths);
      modelName_ = groupName(*store_, modelRuns);
      samples_.clear();
      for (auto id : modelRuns)
        for (const auto& c : store_->eval_cells(id))
          if (c.metric == "accuracy") samples_[QString::fromStdString(c.task + "|" + c.length)] += c.samples;
      const bool sd = showStd_->isChecked() && model_.hasStddev();
      if (f == Figure::Heatmap) {
        plotting::HeatmapOptions o;
        o.showStd = sd;
        o.palette = palette();
        o.title = tr("BABILong accuracy: %1").arg(modelName_);
        plotting::drawHeatmap(plot_, model_, o);
      } else {
        const auto baseRuns = selected(baselineRuns_);
        if (baseRuns.isEmpty()) return tr("Select the baseline's BABILong evaluation run(s).");
        baseline_ = mean(baseRuns, tasks, lengths);
        baselineName_ = groupName(*store_, baseRuns);
        plotting::CompareOptions o;
        o.modelName = modelName_;
        o.baselineName = baselineName_;
        o.showStd = sd && baseline_.hasStddev();
        o.palette = palette();
        o.title = (f == Figure::Compare ? tr("%1 vs %2: BABILong accuracy") : tr("%1 vs %2: BABILong accuracy ratio"))
                      .arg(modelName_, baselineName_);
        if (f == Figure::Compare)
          plotting::drawCompare(plot_, model_, baseline_, o);
        else
          plotting::drawRatio(plot_, model_, baseline_, o);
      }
    }
  } catch (const std::exception& e) {
    plotting::resetPlot(plot_);
    plot_->replot();
    return QString::fromUtf8(e.what());
  }
  plot_->replot();
  drawn_ = f;
  haveFigure_ = true;
  return {};
}

QString ResultsView::toolTipAt(const QPoint& pos) const {
  if (!haveFigure_ || drawn_ == Figure::Lens) return {};
  const auto cell = plotting::heatmapCellAt(plot_, QPointF(pos), model_.rows, model_.cols);
  if (!cell) return {};
  QString tip;
  if (drawn_ == Figure::Heatmap) {
    tip = plotting::heatmapToolTip(model_, cell->row, cell->col);
  } else {
    plotting::CompareOptions o;
    o.modelName = modelName_;
    o.baselineName = baselineName_;
    tip = plotting::compareToolTip(model_, baseline_, cell->row, cell->col, o);
  }
  const auto key = model_.rowLabel(cell->row) + "|" + model_.colLabel(cell->col);
  return tip + "\n" + tr("%n sample(s) evaluated", nullptr, static_cast<int>(samples_.value(key)));
}

bool ResultsView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_ && event->type() == QEvent::MouseMove) {
    const auto pos = static_cast<QMouseEvent*>(event)->position().toPoint();
    const QString tip = toolTipAt(pos);
    if (tip.isEmpty())
      QToolTip::hideText();
    else
      QToolTip::showText(plot_->mapToGlobal(pos), tip, plot_);
  }
  return QWidget::eventFilter(watched, event);
}

QString ResultsView::writeCsv(Figure f, const QString& path) {
  if (f == Figure::Lens)
    plotting::writeCsv(lens_, path);
  else if (f == Figure::Heatmap)
    plotting::writeCsv(model_, path);
  else
    plotting::writeCompareCsv(model_, baseline_, path, modelName_, baselineName_);
  return path;
}

QString ResultsView::exportTo(const QString& path) {
  if (!haveFigure_) {
    const QString err = draw();
    if (!err.isEmpty()) return err;
  }
  try {
    const QFileInfo fi(path);
    if (fi.suffix().compare("csv", Qt::CaseInsensitive) == 0) {
      writeCsv(drawn_, path);
      return {};
    }
    plotting::FigureSize size = drawn_ == Figure::Lens ? plotting::FigureSize{14, 6, 300} : plotting::FigureSize{};
    if (widthIn_->value() > 0) size.widthIn = widthIn_->value();
    if (heightIn_->value() > 0) size.heightIn = heightIn_->value();
    size.dpi = dpi_->value();
    if (!fi.dir().exists() && !QDir().mkpath(fi.dir().path())) return tr("Cannot create the folder %1").arg(fi.dir().path());
    plotting::exportFigure(plot_, path, size);
    const QString csv = fi.dir().filePath(fi.completeBaseName() + ".csv");
    writeCsv(drawn_, csv);
    plot_->replot();  // back to the widget's own size
    status_->setText(tr("Wrote %1 and its numbers %2").arg(QDir::toNativeSeparators(path), QDir::toNativeSeparators(csv)));
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
  const QString folder = store_ ? QFileInfo(QString::fromStdString(store_->path())).dir().filePath(QStringLiteral("figures"))
                                : QDir::home().filePath(QStringLiteral("figures"));
  auto clean = [](QString s) {
    s = s.toLower();
    for (auto& ch : s)
      if (!ch.isLetterOrNumber() && ch != '-' && ch != '.') ch = '-';
    while (s.contains("--")) s.replace("--", "-");
    return s.left(60);
  };
  QString stem;
  switch (drawn_) {
    case Figure::Heatmap: stem = "babilong-" + clean(modelName_); break;
    case Figure::Compare: stem = "compare-" + clean(modelName_) + "-vs-" + clean(baselineName_); break;
    case Figure::Ratio: stem = "compare-" + clean(modelName_) + "-vs-" + clean(baselineName_) + "-ratio"; break;
    case Figure::Lens: stem = QStringLiteral("compared-lens"); break;
  }
  if (stem.endsWith('-')) stem.chop(1);
  return QDir(folder).filePath(stem + "." + ext);
}

QStringList ResultsView::exportAll(const QString& folder, QString* error) {
  QStringList written;
  if (!QDir().mkpath(folder)) {
    if (error) *error = tr("Cannot create the folder %1").arg(folder);
    return written;
  }
  const Figure keep = figure();
  struct Item {
    Figure f;
    QString stem;
  };
  QList<Item> items = {{Figure::Heatmap, "babilong-model"}, {Figure::Compare, "compare"}, {Figure::Ratio, "compare-ratio"},
                       {Figure::Lens, "compared-lens"}};
  QStringList problems;
  for (const auto& it : items) {
    const QString err = drawFigure(it.f);
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
  // The baseline's own heatmap too, when there is one.
  if (!selected(baselineRuns_).isEmpty()) {
    const auto keepModel = selected(modelRuns_);
    select(modelRuns_, selected(baselineRuns_));
    if (drawFigure(Figure::Heatmap).isEmpty()) {
      for (const char* ext : {"pdf", "png", "svg"}) {
        const QString path = QDir(folder).filePath(QStringLiteral("babilong-baseline.") + ext);
        if (exportTo(path).isEmpty()) written << path;
      }
      written << QDir(folder).filePath("babilong-baseline.csv");
    }
    select(modelRuns_, keepModel);
  }
  if (error) *error = problems.join('\n');
  setFigure(keep);
  draw();
  status_->setText(tr("%n file(s) written to %1", nullptr, static_cast<int>(written.size())).arg(QDir::toNativeSeparators(folder)) +
                   (problems.isEmpty() ? QString() : "\n" + problems.join('\n')));
  return written;
}

void ResultsView::onExportClicked() {
  if (!haveFigure_ && !draw().isEmpty()) return;
  const QString suggested = suggestedPath(QStringLiteral("pdf"));
  QDir().mkpath(QFileInfo(suggested).path());
  const QString path = QFileDialog::getSaveFileName(this, tr("Export figure"), suggested,
                                                    tr("PDF (*.pdf);;PNG (*.png);;SVG (*.svg);;CSV (*.csv)"));
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
