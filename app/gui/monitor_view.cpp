#include "app/gui/monitor_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMouseEvent>
#include <QPushButton>
#include <QSet>
#include <QSettings>
#include <QSignalBlocker>
#include <QSlider>
#include <QSplitter>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <qcustomplot.h>
#include <set>

#include "app/figures/figure_data.h"
#include "app/gui/language.h"
#include "app/gui/store_worker.h"
#include "core/store/run_store.h"
#include "plotting/curve_graph.h"
#include "plotting/curve_plot.h"
#include "plotting/errors.h"
#include "plotting/style.h"

namespace dm {
namespace gui {

MonitorView::Panel::~Panel() {
  curves.reset();  // before its plot
  delete plot;
}

MonitorView::MonitorView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QHBoxLayout(this);
  auto* split = new QSplitter(this);
  layout->addWidget(split);

  auto* left = new QWidget(split);
  auto* leftLayout = new QVBoxLayout(left);
  leftLayout->setContentsMargins(0, 0, 0, 0);
  auto* runsLabel = new QLabel(left);
  leftLayout->addWidget(runsLabel);
  runs_ = new QListWidget(left);
  runs_->setObjectName("monitorRuns");
  leftLayout->addWidget(runs_);
  sweep_ = new QComboBox(left);
  sweep_->setObjectName("monitorSweep");
  sweep_->addItem(QString(), static_cast<qlonglong>(0));
  leftLayout->addWidget(sweep_);

  auto* right = new QWidget(split);
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  metric_ = new QComboBox(right);
  metric_->setObjectName("monitorMetric");
  metric_->setMinimumContentsLength(14);
  gridButton_ = new QToolButton(right);
  gridButton_->setObjectName("monitorGrid");
  gridButton_->setPopupMode(QToolButton::InstantPopup);
  gridButton_->setMenu(new QMenu(gridButton_));
  xAxis_ = new QComboBox(right);
  xAxis_->addItem(QString());
  xAxis_->addItem(QString());
  smoothing_ = new QSlider(Qt::Horizontal, right);
  smoothing_->setObjectName("monitorSmoothing");
  smoothing_->setRange(0, 99);
  smoothing_->setValue(60);
  logY_ = new QCheckBox(right);
  seeds_ = new QComboBox(right);
  seeds_->setObjectName("monitorSeeds");
  for (int i = 0; i < 3; ++i) seeds_->addItem(QString());
  smoothingValue_ = new QLabel(right);
  smoothingValue_->setObjectName("monitorSmoothingValue");
  smoothingValue_->setMinimumWidth(smoothingValue_->fontMetrics().horizontalAdvance(QStringLiteral("0.000")));
  auto* exportCsv = new QPushButton(right);
  exportCsv->setObjectName("monitorExportCsv");
  auto* exportImage = new QPushButton(right);
  exportImage->setObjectName("monitorExportImage");
  auto* metricLabel = new QLabel(right);
  auto* xLabel = new QLabel(right);
  auto* smoothingLabel = new QLabel(right);
  bar->addWidget(metricLabel);
  bar->addWidget(metric_);
  bar->addWidget(gridButton_);
  bar->addWidget(xLabel);
  bar->addWidget(xAxis_);
  bar->addWidget(smoothingLabel);
  bar->addWidget(smoothing_, 1);
  bar->addWidget(smoothingValue_);
  bar->addWidget(logY_);
  bar->addWidget(seeds_);
  bar->addWidget(exportCsv);
  bar->addWidget(exportImage);
  rightLayout->addLayout(bar);
  grid_ = new QWidget(right);
  grid_->setObjectName("monitorPlots");
  new QGridLayout(grid_);
  grid_->layout()->setContentsMargins(0, 0, 0, 0);
  rightLayout->addWidget(grid_, 1);
  readout_ = new QLabel(right);
  readout_->setObjectName("monitorReadout");
  readout_->setTextFormat(Qt::RichText);
  readout_->setWordWrap(true);
  rightLayout->addWidget(readout_);
  auto* hint = new QLabel(right);
  hint->setEnabled(false);
  rightLayout->addWidget(hint);
  split->addWidget(left);
  split->addWidget(right);
  split->setStretchFactor(1, 3);

  panels_.push_back(std::unique_ptr<Panel>(newPanel(QString())));
  panels_[0]->plot->setObjectName("monitorPlot");
  layoutPanels();
  smoothingValue_->setText(smoothingText());
  onLanguageChange(this, [=, this] {
    runsLabel->setText(tr("Runs (tick to show)"));
    sweep_->setItemText(0, tr("Show a sweep's runs…"));
    sweep_->setToolTip(tr("Tick exactly the runs of one sweep (a grid queued together), to compare them"));
    gridButton_->setText(tr("More plots"));
    gridButton_->setToolTip(tr("Show more metrics at once, one plot each"));
    xAxis_->setItemText(0, tr("step"));
    xAxis_->setItemText(1, tr("wall time"));
    smoothing_->setToolTip(tr("TensorBoard smoothing (the raw curve stays faint behind)"));
    logY_->setText(tr("log y"));
    seeds_->setItemText(0, tr("each run"));
    seeds_->setItemText(1, tr("seeds: mean ± sd"));
    seeds_->setItemText(2, tr("seeds: mean, min–max"));
    seeds_->setToolTip(tr("Runs whose settings differ only in the seed as one mean curve with a band (steps every seed reached)"));
    exportCsv->setText(tr("CSV…"));
    exportCsv->setToolTip(tr("Save every point of the shown curves (raw and smoothed) as CSV"));
    exportImage->setText(tr("Image…"));
    exportImage->setToolTip(tr("Save the plots as shown (PNG, PDF or SVG)"));
    metricLabel->setText(tr("Metric"));
    xLabel->setText(tr("x"));
    smoothingLabel->setText(tr("Smoothing"));
    hint->setText(tr("Hover for the values at a step; drag to pan, wheel to zoom, double-click to fit."));
    for (auto& p : panels_) p->curves->setAxisNames(tr("Step"), tr("Wall time [s]"), tr("Wall time [h:mm:ss]"));
    updateEmptyState();
    for (auto& p : panels_) p->plot->replot();
  });

  connect(runs_, &QListWidget::itemChanged, this, &MonitorView::onItemChanged);
  connect(sweep_, &QComboBox::currentIndexChanged, this, [this] {
    if (const int64_t id = sweep_->currentData().toLongLong(); id > 0) showSweep(id);
  });
  connect(metric_, &QComboBox::currentTextChanged, this, [this] {
    if (updating_) return;
    reload();
    saveState();
  });
  connect(gridButton_->menu(), &QMenu::aboutToShow, this, &MonitorView::showGridMenu);
  connect(xAxis_, &QComboBox::currentIndexChanged, this, [this](int i) {
    for (auto& p : panels_) p->curves->setXAxis(i == 1 ? plotting::CurvePlot::XAxis::WallTime : plotting::CurvePlot::XAxis::Step);
    replotAll();
    saveState();
  });
  connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
    for (auto& p : panels_) p->curves->setSmoothing(v / 100.0);
    smoothingValue_->setText(smoothingText());
    replotAll();
    saveState();
  });
  connect(seeds_, &QComboBox::currentIndexChanged, this, [this] {
    replotAll();
    saveState();
  });
  connect(logY_, &QCheckBox::toggled, this, [this](bool on) {
    for (auto& p : panels_) p->curves->setLogY(on);
    replotAll();
    saveState();
  });
  connect(exportCsv, &QPushButton::clicked, this, [this] {
    exportWithDialog(tr("Save curves as CSV"), QStringLiteral("csv"), tr("CSV (*.csv)"), &MonitorView::exportCsv);
  });
  connect(exportImage, &QPushButton::clicked, this, [this] {
    exportWithDialog(tr("Save the plots"), QStringLiteral("png"), tr("Images (*.png *.pdf *.svg)"), &MonitorView::exportImage);
  });
}

MonitorView::~MonitorView() = default;

// A plot for `metric` with the view's current smoothing, axes and language; its empty-state text in the middle.
MonitorView::Panel* MonitorView::newPanel(const QString& metric) {
  auto* p = new Panel;
  p->metric = metric;
  p->plot = new QCustomPlot(grid_);
  p->plot->setMinimumSize(320, 220);
  p->plot->setMouseTracking(true);
  p->curves = std::make_unique<plotting::CurvePlot>(p->plot);
  p->curves->setSmoothing(smoothing_->value() / 100.0);
  if (xAxis_->currentIndex() == 1) p->curves->setXAxis(plotting::CurvePlot::XAxis::WallTime);
  p->curves->setLogY(logY_->isChecked());
  p->curves->setAxisNames(tr("Step"), tr("Wall time [s]"), tr("Wall time [h:mm:ss]"));
  p->curves->setYLabel(metric);
  p->empty = new QCPItemText(p->plot);
  p->empty->setObjectName("monitorEmpty");
  p->empty->position->setType(QCPItemPosition::ptAxisRectRatio);
  p->empty->position->setCoords(0.5, 0.5);
  p->empty->setPositionAlignment(Qt::AlignCenter);
  p->empty->setTextAlignment(Qt::AlignCenter);
  p->empty->setColor(QColor(110, 110, 110));
  p->empty->setClipToAxisRect(false);
  p->empty->setVisible(false);
  p->plot->installEventFilter(this);  // hover readout
  return p;
}

// One plot: the whole area; more: two columns, the main plot first.
void MonitorView::layoutPanels() {
  auto* g = static_cast<QGridLayout*>(grid_->layout());
  for (auto& p : panels_) g->removeWidget(p->plot);
  const int columns = panels_.size() > 1 ? 2 : 1;
  for (size_t i = 0; i < panels_.size(); ++i)
    g->addWidget(panels_[i]->plot, static_cast<int>(i) / columns, static_cast<int>(i) % columns);
}

QCustomPlot* MonitorView::plotAt(int i) const {
  return i >= 0 && i < plotCount() ? panels_[static_cast<size_t>(i)]->plot : nullptr;
}

plotting::CurvePlot* MonitorView::curves() const { return panels_[0]->curves.get(); }

void MonitorView::replotAll() {
  for (auto& p : panels_) {
    p->curves->replot();
    applySeedBands(*p);
  }
}

void MonitorView::showGridMenu() {
  QMenu* m = gridButton_->menu();
  m->clear();
  QStringList names = metrics();
  for (const auto& g : gridMetrics_)
    if (!names.contains(g)) names << g;
  if (names.isEmpty()) m->addAction(tr("Tick runs first: their metrics are offered here"))->setEnabled(false);
  for (const auto& n : names) {
    auto* a = m->addAction(n);
    a->setCheckable(true);
    a->setChecked(gridMetrics_.contains(n));
    connect(a, &QAction::toggled, this, [this, n](bool on) {
      QStringList g = gridMetrics_;
      if (on && !g.contains(n)) g << n;
      if (!on) g.removeAll(n);
      setGridMetrics(g);
    });
  }
}

void MonitorView::setGridMetrics(const QStringList& names) {
  QStringList wanted;
  for (const auto& n : names)
    if (!n.isEmpty() && !wanted.contains(n)) wanted << n;
  if (wanted == gridMetrics_) return;
  gridMetrics_ = wanted;
  ++generation_;  // a load on its way may point at panels that go
  load_ = Load{};
  std::vector<std::unique_ptr<Panel>> kept;
  kept.push_back(std::move(panels_[0]));
  for (const auto& n : wanted) {
    auto it = std::find_if(panels_.begin() + 1, panels_.end(), [&n](const auto& p) { return p && p->metric == n; });
    if (it != panels_.end())
      kept.push_back(std::move(*it));
    else
      kept.push_back(std::unique_ptr<Panel>(newPanel(n)));
  }
  panels_ = std::move(kept);  // the panels no longer wanted (and their plots) go here
  layoutPanels();
  reload();
  saveState();
}

double MonitorView::smoothing() const { return smoothing_->value() / 100.0; }
QString MonitorView::smoothingText() const { return QString::number(smoothing(), 'f', 2); }

QString MonitorView::readoutAt(double x, int plot) const {
  if (plot < 0 || plot >= plotCount()) return {};
  const Panel& p = *panels_[static_cast<size_t>(plot)];
  const auto rows = p.curves->readoutAt(x);
  QStringList lines;
  const bool wall = p.curves->xAxis() == plotting::CurvePlot::XAxis::WallTime;
  const QString name = plot == 0 ? metric() : p.metric;
  for (const auto& r : rows) {
    QString line = QStringLiteral("<span style=\"color:%1\">■</span> %2: step %3")
                       .arg(r.color.name(), r.label.toHtmlEscaped())
                       .arg(static_cast<qlonglong>(r.step));
    if (wall && r.hasWall) line += tr(", %1 s").arg(r.wallSeconds, 0, 'f', 1);
    line += QStringLiteral(", %1 %2").arg(name.toHtmlEscaped(), QString::number(r.y, 'g', 6));
    if (smoothing() > 0) line += tr(" (smoothed %1)").arg(QString::number(r.smoothed, 'g', 6));
    lines << line;
  }
  return lines.join(QStringLiteral("<br>"));
}

QString MonitorView::readoutText() const { return readout_->text(); }
QString MonitorView::emptyText() const { return panels_[0]->empty->visible() ? panels_[0]->empty->text() : QString(); }

bool MonitorView::eventFilter(QObject* watched, QEvent* event) {
  for (int i = 0; i < plotCount(); ++i) {
    if (!panels_[static_cast<size_t>(i)]) continue;  // the grid is being rebuilt
    QCustomPlot* plot = panels_[static_cast<size_t>(i)]->plot;
    if (watched != plot) continue;
    if (event->type() == QEvent::MouseMove) {
      const auto pos = static_cast<QMouseEvent*>(event)->position();
      const bool inside = plot->axisRect()->rect().contains(pos.toPoint());
      readout_->setText(inside ? readoutAt(plot->xAxis->pixelToCoord(pos.x()), i) : QString());
    } else if (event->type() == QEvent::Leave) {
      readout_->clear();
    }
  }
  return QWidget::eventFilter(watched, event);
}

bool MonitorView::updateEmptyState() {
  Panel& main = *panels_[0];
  bool points = false;
  for (int i = 0; i < main.curves->curveCount(); ++i) points = points || main.curves->pointCount(i) > 0;
  QString text;
  if (!worker_)
    text = tr("No workspace is open.");
  else if (runs_->count() == 0)
    text = tr("No training runs yet.\nStart one on the Experiments page, or run the Quick comparison (File menu).");
  else if (shownRuns().isEmpty())
    text = tr("Tick runs on the left to see their curves.");
  else if (loading_ && main.curveOf.isEmpty())
    text = tr("Loading the curves…");
  else if (!points)
    text = tr("The ticked runs have recorded no %1 yet.").arg(metric().isEmpty() ? tr("metrics") : metric());
  const bool changed = main.empty->text() != text || main.empty->visible() != !text.isEmpty();
  main.empty->setText(text);
  main.empty->setVisible(!text.isEmpty());
  // The grid's plots: only whether their metric has points.
  for (size_t i = 1; i < panels_.size(); ++i) {
    Panel& p = *panels_[i];
    bool has = false;
    for (int c = 0; c < p.curves->curveCount(); ++c) has = has || p.curves->pointCount(c) > 0;
    const QString t = has || (loading_ && p.curveOf.isEmpty()) ? QString() : tr("The ticked runs have recorded no %1 yet.").arg(p.metric);
    if (p.empty->text() != t || p.empty->visible() != !t.isEmpty()) {
      p.empty->setText(t);
      p.empty->setVisible(!t.isEmpty());
      p.plot->replot();
    }
  }
  return changed;
}

// The view state of one workspace, under monitor/<hash of its path> in the app's settings.
void MonitorView::saveState() const {
  if (stateKey_.isEmpty() || updating_) return;
  QSettings s;
  s.beginGroup(stateKey_);
  QStringList shown;
  for (auto id : shownRuns()) shown << QString::number(id);
  s.setValue("shownRuns", shown);
  s.setValue("metric", metric());
  s.setValue("grid", gridMetrics_);
  s.setValue("wallTime", xAxis_->currentIndex() == 1);
  s.setValue("smoothing", smoothing());
  s.setValue("logY", logY_->isChecked());
  s.setValue("seedBands", seeds_->currentIndex());
}

// Before the runs list is read: the remembered runs are ticked as the list brings them, and the remembered
// metrics are the ones asked for.
void MonitorView::restoreState() {
  if (stateKey_.isEmpty()) return;
  QSettings s;
  s.beginGroup(stateKey_);
  if (!s.contains("smoothing")) return;
  const QString wantMetric = s.value("metric").toString();
  for (const auto& id : s.value("shownRuns").toStringList()) wantShown_.insert(id.toLongLong());
  updating_ = true;  // nothing is saved or loaded while restoring
  setSmoothing(s.value("smoothing", 0.6).toDouble());
  setWallTime(s.value("wallTime", false).toBool());
  setLogY(s.value("logY", false).toBool());
  setSeedBands(s.value("seedBands", 0).toInt());
  if (!wantMetric.isEmpty()) {
    metric_->addItem(wantMetric);
    metric_->setCurrentText(wantMetric);
  }
  setGridMetrics(s.value("grid").toStringList());
  updating_ = false;
}

void MonitorView::setWorker(StoreWorker* worker, const QString& workspace) {
  worker_ = worker;
  ++generation_;
  load_ = Load{};
  loading_ = listing_ = relist_ = false;
  wantShown_.clear();
  pendingLive_.clear();
  workspace_ = workspace;
  stateKey_ = workspace.isEmpty() ? QString()
                                  : QStringLiteral("monitor/") + QString::fromLatin1(QCryptographicHash::hash(
                                        QDir(workspace).absolutePath().toUtf8(), QCryptographicHash::Sha1).toHex().left(16));
  updating_ = true;
  runs_->clear();
  metric_->clear();
  setGridMetrics({});
  updating_ = false;
  for (auto& p : panels_) {
    clearCurves(*p);
    p->drawnMetric.clear();
    p->curves->replot();
  }
  restoreState();  // the remembered runs are ticked when the list arrives
  refreshRuns();
}

// The runs with metrics (training, fine-tuning, lens training), newest first as the store lists them.
void MonitorView::refreshRuns() {
  if (!worker_) return;
  if (listing_) {
    relist_ = true;  // one more read when this one is back, not one per call
    return;
  }
  listing_ = true;
  relist_ = false;
  using Labels = QList<QPair<int64_t, QString>>;
  struct Lists {
    Labels runs, sweeps;
    QHash<int64_t, QPair<int, QString>> groups;
  };
  worker_->query<Lists>(
      this,
      [](store::RunStore& db) {
        Lists l;
        std::vector<int64_t> ids;
        for (const auto& r : db.runs()) {
          if (r.archived || (r.kind != "train" && r.kind.rfind("finetune", 0) != 0 && r.kind != "lens-train")) continue;
          l.runs.append({r.id, QStringLiteral("#%1 %2 (%3)").arg(r.id).arg(QString::fromStdString(r.name),
                                                                          QString::fromStdString(r.family))});
          ids.push_back(r.id);
        }
        for (const auto& sw : db.sweeps())
          if (sw.kind == "train") l.sweeps.append({sw.id, QStringLiteral("#%1 %2").arg(sw.id).arg(QString::fromStdString(sw.name))});
        const auto groups = figures::seedGroups(db, ids);
        for (size_t g = 0; g < groups.size(); ++g)
          for (auto id : groups[g].runs) l.groups.insert(id, {static_cast<int>(g), groups[g].label});
        return l;
      },
      [this, worker = worker_](Lists l, QString) {
        if (worker != worker_) return;  // another workspace meanwhile
        listing_ = false;
        seedGroup_ = l.groups;
        const QPair<Labels, Labels> lists{l.runs, l.sweeps};
        {
          const QSignalBlocker b(sweep_);
          while (sweep_->count() > 1) sweep_->removeItem(1);
          for (const auto& [id, label] : lists.second) sweep_->addItem(label, static_cast<qlonglong>(id));
          sweep_->setCurrentIndex(0);
        }
        applyRunsList(lists.first);
        if (relist_) refreshRuns();
        if (!loading()) emit curvesLoaded();
      });
}

void MonitorView::applyRunsList(const QList<QPair<int64_t, QString>>& list) {
  updating_ = true;
  QSet<int64_t> present;
  for (int i = 0; i < runs_->count(); ++i) present.insert(runs_->item(i)->data(Qt::UserRole).toLongLong());
  bool ticked = false;
  int row = 0;
  for (const auto& [id, label] : list) {
    if (present.contains(id)) {
      ++row;
      continue;
    }
    auto* item = new QListWidgetItem(label);
    item->setData(Qt::UserRole, static_cast<qlonglong>(id));
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    const bool show = wantShown_.remove(id);
    item->setCheckState(show ? Qt::Checked : Qt::Unchecked);
    ticked = ticked || show;
    runs_->insertItem(row++, item);
  }
  updating_ = false;
  if (ticked) {
    reload();
    saveState();
  } else if (updateEmptyState()) {
    panels_[0]->plot->replot();
  }
}

void MonitorView::setRunShown(int64_t runId, bool shown) {
  for (int i = 0; i < runs_->count(); ++i) {
    auto* item = runs_->item(i);
    if (item->data(Qt::UserRole).toLongLong() == runId) {
      item->setCheckState(shown ? Qt::Checked : Qt::Unchecked);
      return;
    }
  }
  // Not listed yet (a run that just started): ticked when the list has it.
  if (shown) {
    wantShown_.insert(runId);
    refreshRuns();
  } else {
    wantShown_.remove(runId);
  }
}

void MonitorView::showSweep(int64_t sweep) {
  if (!worker_ || sweep <= 0) return;
  worker_->query<QSet<int64_t>>(
      this,
      [sweep](store::RunStore& db) {
        QSet<int64_t> ids;
        for (const auto& r : db.runs_of_sweep(sweep)) ids.insert(r.id);
        return ids;
      },
      [this, worker = worker_](QSet<int64_t> ids, QString) {
        if (worker != worker_) return;
        updating_ = true;
        for (int i = 0; i < runs_->count(); ++i) {
          auto* item = runs_->item(i);
          item->setCheckState(ids.contains(item->data(Qt::UserRole).toLongLong()) ? Qt::Checked : Qt::Unchecked);
        }
        updating_ = false;
        reload();
        saveState();
      });
}

QList<int64_t> MonitorView::shownRuns() const {
  QList<int64_t> out;
  for (int i = 0; i < runs_->count(); ++i)
    if (runs_->item(i)->checkState() == Qt::Checked) out << runs_->item(i)->data(Qt::UserRole).toLongLong();
  return out;
}

void MonitorView::onItemChanged(QListWidgetItem*) {
  if (updating_) return;
  reload();
  saveState();
}

QStringList MonitorView::metrics() const {
  QStringList out;
  for (int i = 0; i < metric_->count(); ++i) out << metric_->itemText(i);
  return out;
}

void MonitorView::setMetric(const QString& name) {
  updating_ = true;
  if (metric_->findText(name) < 0) metric_->addItem(name);
  metric_->setCurrentText(name);
  updating_ = false;
  reload();
}

QString MonitorView::metric() const { return metric_->currentText(); }
void MonitorView::setSmoothing(double weight) { smoothing_->setValue(static_cast<int>(weight * 100 + 0.5)); }
void MonitorView::setWallTime(bool on) { xAxis_->setCurrentIndex(on ? 1 : 0); }
void MonitorView::setLogY(bool on) { logY_->setChecked(on); }

QColor MonitorView::curveColor(int64_t runId) const {
  const Panel& p = *panels_[0];
  auto it = p.curveOf.constFind(runId);
  if (it == p.curveOf.constEnd()) return {};
  return p.curves->smoothedGraph(it.value())->pen().color();
}

int MonitorView::pointCount(int64_t runId) const { return pointCount(metric(), runId); }

int MonitorView::pointCount(const QString& name, int64_t runId) const {
  for (size_t i = 0; i < panels_.size(); ++i) {
    const Panel& p = *panels_[i];
    if ((i == 0 ? p.drawnMetric : p.metric) != name) continue;
    auto it = p.curveOf.constFind(runId);
    return it == p.curveOf.constEnd() ? -1 : p.curves->pointCount(it.value());
  }
  return -1;
}

void MonitorView::removeCurveOf(Panel& p, int64_t run) {
  const int index = p.curveOf.take(run);
  p.curves->removeCurve(index);
  p.lastStep.remove(run);
  p.lastWall.remove(run);
  p.wallBase.remove(run);
  for (auto& c : p.curveOf)
    if (c > index) --c;
}

// Unticked runs' curves go at once; the worker reads the shown runs' metric names and, for every plot, the
// points of the runs not drawn yet (every shown run's when its metric changes), drawn when the answer comes
// (applyAnswer). The curves shown stay until then (no blank plot meanwhile); live points arriving meanwhile
// wait in pendingLive_.
void MonitorView::reload() {
  ++generation_;
  const auto runs = shownRuns();
  bool removed = false;
  for (auto& p : panels_) {
    for (const auto run : p->curveOf.keys())
      if (!runs.contains(run)) {
        removeCurveOf(*p, run);
        removed = true;
      }
  }
  // A load being appended: what it has not appended yet is asked again.
  for (size_t i = load_.next; i < load_.items.size(); ++i) {
    const Pending& pending = load_.items[i];
    if (pending.panel->curveOf.contains(pending.run)) removeCurveOf(*pending.panel, pending.run);
  }
  load_ = Load{};
  loading_ = worker_ && !runs.isEmpty();
  if (loading_) {
    struct Ask {
      QString wanted, drawn;
      QList<int64_t> missing;
    };
    std::vector<Ask> asks;
    for (size_t i = 0; i < panels_.size(); ++i) {
      const Panel& p = *panels_[i];
      Ask a{i == 0 ? metric() : p.metric, p.drawnMetric, {}};
      for (auto id : runs)
        if (!p.curveOf.contains(id)) a.missing << id;
      asks.push_back(a);
    }
    const int generation = generation_;
    worker_->query<Answer>(
        this,
        [runs, asks](store::RunStore& db) {
          Answer a;
          std::set<std::string> names;
          for (auto id : runs)
            for (auto& n : db.metric_names(id)) names.insert(std::move(n));
          for (const auto& n : names) a.names << QString::fromStdString(n);
          for (size_t i = 0; i < asks.size(); ++i) {
            PanelAnswer pa;
            pa.metric = asks[i].wanted;
            if (i == 0 && (pa.metric.isEmpty() || (!a.names.isEmpty() && !a.names.contains(pa.metric)))) {
              // The main plot falls back to the training loss, then the first name recorded.
              pa.metric = a.names.contains("train/loss") ? QStringLiteral("train/loss")
                          : a.names.contains("loss")     ? QStringLiteral("loss")
                          : a.names.isEmpty()            ? QString()
                                                         : a.names.front();
            }
            pa.full = pa.metric != asks[i].drawn;
            pa.runs = pa.full ? runs : asks[i].missing;
            if (!pa.metric.isEmpty() && !pa.runs.isEmpty())
              pa.curves = figures::runCurves(db, std::vector<int64_t>(pa.runs.begin(), pa.runs.end()), pa.metric.toStdString(), false);
            a.panels.push_back(std::move(pa));
          }
          return a;
        },
        [this, generation](Answer a, QString error) {
          if (generation == generation_) applyAnswer(a, error);
        });
  }
  const bool emptyChanged = updateEmptyState();
  if (removed || !loading_) replotAll();
  if (emptyChanged) panels_[0]->plot->replot();
  if (!loading()) emit curvesLoaded();
}

void MonitorView::clearCurves(Panel& p) {
  p.curves->removeAllCurves();
  p.curveOf.clear();
  p.lastStep.clear();
  p.lastWall.clear();
  p.wallBase.clear();
}

// Draws what the store worker read. The new curves appear at once; their points are appended one run per
// event-loop turn (a 100k-point run takes about 3 ms), so ticking ten such runs never blocks the window for
// the sum of them; then one replot.
void MonitorView::applyAnswer(const Answer& a, const QString& error) {
  if (!a.panels.empty()) {
    updating_ = true;
    const QString main = a.panels[0].metric;
    QStringList names = a.names;
    if (!main.isEmpty() && !names.contains(main)) names << main;
    if (metrics() != names) {
      metric_->clear();
      metric_->addItems(names);
    }
    metric_->setCurrentText(main);
    updating_ = false;
  }
  load_ = Load{};
  load_.generation = generation_;
  load_.data = a.panels;
  load_.error = error;
  for (size_t i = 0; i < load_.data.size() && i < panels_.size(); ++i) {
    Panel& p = *panels_[i];
    const PanelAnswer& pa = load_.data[i];
    if (pa.full || pa.metric != p.drawnMetric) clearCurves(p);
    p.drawnMetric = pa.metric;
    p.curves->setYLabel(pa.metric);
    for (int r = 0; r < pa.runs.size() && static_cast<size_t>(r) < pa.curves.size(); ++r) {
      if (p.curveOf.contains(pa.runs[r])) continue;
      // A run's colour comes from its id, so it keeps it when other runs are shown or hidden.
      const int c = p.curves->addCurve(pa.curves[static_cast<size_t>(r)].label,
                                       plotting::seriesColor(static_cast<int>(pa.runs[r] % 1000003)));
      p.curveOf.insert(pa.runs[r], c);
      load_.items.push_back({&p, pa.runs[r], c, &pa.curves[static_cast<size_t>(r)]});
    }
  }
  appendNextLoaded();
}

void MonitorView::appendNextLoaded() {
  if (load_.generation != generation_) return;  // a newer load replaced this one
  if (load_.next < load_.items.size()) {
    const Pending& item = load_.items[load_.next++];
    const auto& rc = *item.data;
    if (!rc.steps.empty()) {
      item.panel->curves->appendPoints(item.curve, rc.steps, rc.values, rc.wallSeconds);
      item.panel->lastStep.insert(item.run, rc.steps.back());
      item.panel->lastWall.insert(item.run, rc.wallSeconds.back());
    }
    QTimer::singleShot(0, this, &MonitorView::appendNextLoaded);
    return;
  }
  loading_ = false;
  bool emptyChanged = updateEmptyState();
  if (!load_.error.isEmpty()) {
    panels_[0]->empty->setText(tr("Could not read the curves: %1").arg(load_.error));
    panels_[0]->empty->setVisible(true);
    emptyChanged = true;
  }
  load_ = Load{};  // frees the points read (the curves hold their own copies)
  replotAll();
  if (emptyChanged) panels_[0]->plot->replot();  // the message is on the plot's own layer
  // Points that came live while loading; those the store already had are skipped by their step.
  const auto pending = std::move(pendingLive_);
  pendingLive_.clear();
  if (!pending.isEmpty()) appendPoints(0, pending);
  emit curvesLoaded();
}

void MonitorView::appendPoints(int, const QList<MetricPoint>& points) {
  if (loading_) {
    pendingLive_ += points;
    return;
  }
  // New metric names of shown runs join the picker; the first ones choose the metric when none is set.
  const auto shown = shownRuns();
  QStringList fresh;
  for (const auto& p : points)
    if (shown.contains(p.runId) && metric_->findText(p.name) < 0 && !fresh.contains(p.name)) fresh << p.name;
  if (!fresh.isEmpty()) {
    const bool wasEmpty = metric_->count() == 0;
    updating_ = true;
    metric_->addItems(fresh);
    if (wasEmpty) {
      int i = metric_->findText("train/loss");
      metric_->setCurrentIndex(i >= 0 ? i : 0);
    }
    updating_ = false;
    if (wasEmpty) {
      reload();  // loads what the store has so far; the step filter below skips those points
      pendingLive_ += points;
      return;
    }
  }
  bool newRun = false;
  for (size_t i = 0; i < panels_.size(); ++i) {
    Panel& panel = *panels_[i];
    const QString m = i == 0 ? metric() : panel.metric;
    QHash<int, std::vector<double>> steps, ys, walls;
    for (const auto& p : points) {
      if (p.runId && !panel.curveOf.contains(p.runId) && !worker_) continue;
      if (i == 0 && p.runId && !panel.curveOf.contains(p.runId)) newRun = true;
      if (p.name != m) continue;
      auto it = panel.curveOf.constFind(p.runId);
      if (it == panel.curveOf.constEnd()) continue;
      if (static_cast<double>(p.step) <= panel.lastStep.value(p.runId, -1)) continue;  // already loaded from the store
      panel.lastStep.insert(p.runId, static_cast<double>(p.step));
      // Live wall times count from the job's start; a resumed run's continue after its stored part.
      const double last = panel.lastWall.value(p.runId, 0);
      if (!panel.wallBase.contains(p.runId)) panel.wallBase.insert(p.runId, p.wallSeconds < last ? last : 0.0);
      const double wall = std::max(last, panel.wallBase.value(p.runId) + p.wallSeconds);
      panel.lastWall.insert(p.runId, wall);
      steps[it.value()].push_back(static_cast<double>(p.step));
      ys[it.value()].push_back(p.value);
      walls[it.value()].push_back(wall);
    }
    for (auto it = steps.begin(); it != steps.end(); ++it)
      panel.curves->appendPoints(it.key(), it.value(), ys[it.key()], walls[it.key()]);
    if (!steps.isEmpty()) {
      panel.curves->replot();
      if (seeds_->currentIndex() != 0) applySeedBands(panel);
    }
    if (!steps.isEmpty() && panel.empty->visible() && updateEmptyState()) panels_[0]->plot->replot();
  }
  if (newRun) refreshRuns();
}

}  // namespace gui
}  // namespace dm
