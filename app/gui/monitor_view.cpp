#include "app/gui/monitor_view.h"

#include <QCheckBox>
#include <QTimer>
#include <QCryptographicHash>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QMouseEvent>
#include <QPushButton>
#include <QSettings>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QSlider>
#include <QSplitter>
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
#include "plotting/export.h"
#include "plotting/style.h"

namespace dm {
namespace gui {

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

  auto* right = new QWidget(split);
  auto* rightLayout = new QVBoxLayout(right);
  rightLayout->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QHBoxLayout;
  metric_ = new QComboBox(right);
  metric_->setObjectName("monitorMetric");
  metric_->setMinimumContentsLength(14);
  xAxis_ = new QComboBox(right);
  xAxis_->addItem(QString());
  xAxis_->addItem(QString());
  smoothing_ = new QSlider(Qt::Horizontal, right);
  smoothing_->setObjectName("monitorSmoothing");
  smoothing_->setRange(0, 99);
  smoothing_->setValue(60);
  logY_ = new QCheckBox(right);
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
  bar->addWidget(xLabel);
  bar->addWidget(xAxis_);
  bar->addWidget(smoothingLabel);
  bar->addWidget(smoothing_, 1);
  bar->addWidget(smoothingValue_);
  bar->addWidget(logY_);
  bar->addWidget(exportCsv);
  bar->addWidget(exportImage);
  rightLayout->addLayout(bar);
  plot_ = new QCustomPlot(right);
  plot_->setObjectName("monitorPlot");
  plot_->setMinimumSize(400, 250);
  rightLayout->addWidget(plot_, 1);
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

  curves_ = std::make_unique<plotting::CurvePlot>(plot_);
  curves_->setSmoothing(0.6);
  smoothingValue_->setText(smoothingText());
  plot_->setMouseTracking(true);
  plot_->installEventFilter(this);
  // The empty state: what to do, in the middle of the plot instead of a bare 0–5 axis.
  empty_ = new QCPItemText(plot_);
  empty_->setObjectName("monitorEmpty");
  empty_->position->setType(QCPItemPosition::ptAxisRectRatio);
  empty_->position->setCoords(0.5, 0.5);
  empty_->setPositionAlignment(Qt::AlignCenter);
  empty_->setTextAlignment(Qt::AlignCenter);
  empty_->setColor(QColor(110, 110, 110));
  empty_->setClipToAxisRect(false);
  onLanguageChange(this, [=] {
    runsLabel->setText(tr("Runs (tick to show)"));
    xAxis_->setItemText(0, tr("step"));
    xAxis_->setItemText(1, tr("wall time"));
    smoothing_->setToolTip(tr("TensorBoard smoothing (the raw curve stays faint behind)"));
    logY_->setText(tr("log y"));
    exportCsv->setText(tr("CSV…"));
    exportCsv->setToolTip(tr("Save every point of the shown curves (raw and smoothed) as CSV"));
    exportImage->setText(tr("Image…"));
    exportImage->setToolTip(tr("Save the plot as shown (PNG, PDF or SVG)"));
    metricLabel->setText(tr("Metric"));
    xLabel->setText(tr("x"));
    smoothingLabel->setText(tr("Smoothing"));
    hint->setText(tr("Hover for the values at a step; drag to pan, wheel to zoom, double-click to fit."));
    curves_->setAxisNames(tr("Step"), tr("Wall time [s]"), tr("Wall time [h:mm:ss]"));
    updateEmptyState();
    plot_->replot();
  });

  connect(runs_, &QListWidget::itemChanged, this, &MonitorView::onItemChanged);
  connect(metric_, &QComboBox::currentTextChanged, this, [this] {
    if (updating_) return;
    reload();
    saveState();
  });
  connect(xAxis_, &QComboBox::currentIndexChanged, this, [this](int i) {
    curves_->setXAxis(i == 1 ? plotting::CurvePlot::XAxis::WallTime : plotting::CurvePlot::XAxis::Step);
    curves_->replot();
    saveState();
  });
  connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
    curves_->setSmoothing(v / 100.0);
    smoothingValue_->setText(smoothingText());
    curves_->replot();
    saveState();
  });
  connect(logY_, &QCheckBox::toggled, this, [this](bool on) {
    curves_->setLogY(on);
    curves_->replot();
    saveState();
  });
  connect(exportCsv, &QPushButton::clicked, this, [this] {
    exportWithDialog(tr("Save curves as CSV"), QStringLiteral("csv"), tr("CSV (*.csv)"), &MonitorView::exportCsv);
  });
  connect(exportImage, &QPushButton::clicked, this, [this] {
    exportWithDialog(tr("Save the plot"), QStringLiteral("png"), tr("Images (*.png *.pdf *.svg)"), &MonitorView::exportImage);
  });
}

// Asks where (suggesting <workspace>/figures/curves-<metric>.<ext>), writes, and says what happened.
void MonitorView::exportWithDialog(const QString& title, const QString& ext, const QString& filter,
                                   QString (MonitorView::*write)(const QString&) const) {
  const QString dir = workspace_.isEmpty() ? QString() : QDir(workspace_).filePath(QStringLiteral("figures"));
  const QString name = QStringLiteral("curves-%1.%2").arg(QString(metric()).replace('/', '-'), ext);
  const QString path = QFileDialog::getSaveFileName(this, title, QDir(dir).filePath(name), filter);
  if (path.isEmpty()) return;
  const QString err = (this->*write)(path);
  if (err.isEmpty())
    QMessageBox::information(this, tr("Export"), tr("Wrote %1").arg(path));
  else
    QMessageBox::warning(this, tr("Export"), err);
}

double MonitorView::smoothing() const { return smoothing_->value() / 100.0; }
QString MonitorView::smoothingText() const { return QString::number(smoothing(), 'f', 2); }

QString MonitorView::readoutAt(double x) const {
  const auto rows = curves_->readoutAt(x);
  QStringList lines;
  const bool wall = curves_->xAxis() == plotting::CurvePlot::XAxis::WallTime;
  for (const auto& r : rows) {
    QString line = QStringLiteral("<span style=\"color:%1\">■</span> %2: step %3")
                       .arg(r.color.name(), r.label.toHtmlEscaped())
                       .arg(static_cast<qlonglong>(r.step));
    if (wall && r.hasWall) line += tr(", %1 s").arg(r.wallSeconds, 0, 'f', 1);
    line += QStringLiteral(", %1 %2").arg(metric().toHtmlEscaped(), QString::number(r.y, 'g', 6));
    if (smoothing() > 0) line += tr(" (smoothed %1)").arg(QString::number(r.smoothed, 'g', 6));
    lines << line;
  }
  return lines.join(QStringLiteral("<br>"));
}

QString MonitorView::readoutText() const { return readout_->text(); }
QString MonitorView::emptyText() const { return empty_->visible() ? empty_->text() : QString(); }

bool MonitorView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_) {
    if (event->type() == QEvent::MouseMove) {
      const auto pos = static_cast<QMouseEvent*>(event)->position();
      const bool inside = plot_->axisRect()->rect().contains(pos.toPoint());
      readout_->setText(inside ? readoutAt(plot_->xAxis->pixelToCoord(pos.x())) : QString());
    } else if (event->type() == QEvent::Leave) {
      readout_->clear();
    }
  }
  return QWidget::eventFilter(watched, event);
}

QString MonitorView::exportCsv(const QString& path) const {
  if (curves_->curveCount() == 0) return tr("No curves are shown.");
  try {
    curves_->writeCsv(path);
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

QString MonitorView::exportImage(const QString& path) const {
  if (curves_->curveCount() == 0) return tr("No curves are shown.");
  try {
    plotting::exportFigure(plot_, path);
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

bool MonitorView::updateEmptyState() {
  bool points = false;
  for (int i = 0; i < curves_->curveCount(); ++i) points = points || curves_->pointCount(i) > 0;
  QString text;
  if (!worker_)
    text = tr("No workspace is open.");
  else if (runs_->count() == 0)
    text = tr("No training runs yet.\nStart one on the Experiments page, or run the Quick comparison (File menu).");
  else if (shownRuns().isEmpty())
    text = tr("Tick runs on the left to see their curves.");
  else if (loading_ && curveOf_.isEmpty())
    text = tr("Loading the curves…");
  else if (!points)
    text = tr("The ticked runs have recorded no %1 yet.").arg(metric().isEmpty() ? tr("metrics") : metric());
  const bool changed = empty_->text() != text || empty_->visible() != !text.isEmpty();
  empty_->setText(text);
  empty_->setVisible(!text.isEmpty());
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
  s.setValue("wallTime", xAxis_->currentIndex() == 1);
  s.setValue("smoothing", smoothing());
  s.setValue("logY", logY_->isChecked());
}

// Before the runs list is read: the remembered runs are ticked as the list brings them, and the remembered
// metric is the one asked for.
void MonitorView::restoreState() {
  if (stateKey_.isEmpty()) return;
  QSettings s;
  s.beginGroup(stateKey_);
  if (!s.contains("smoothing")) return;
  const QString wantMetric = s.value("metric").toString();
  for (const auto& id : s.value("shownRuns").toStringList()) wantShown_.insert(id.toLongLong());
  updating_ = true;  // nothing is saved while restoring
  setSmoothing(s.value("smoothing", 0.6).toDouble());
  setWallTime(s.value("wallTime", false).toBool());
  setLogY(s.value("logY", false).toBool());
  if (!wantMetric.isEmpty()) {
    metric_->addItem(wantMetric);
    metric_->setCurrentText(wantMetric);
  }
  updating_ = false;
}

MonitorView::~MonitorView() = default;

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
  updating_ = false;
  drawnMetric_.clear();
  clearCurves();
  curves_->replot();
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
  worker_->query<QList<QPair<int64_t, QString>>>(
      this,
      [](store::RunStore& db) {
        QList<QPair<int64_t, QString>> out;
        for (const auto& r : db.runs()) {
          if (r.archived || (r.kind != "train" && r.kind.rfind("finetune", 0) != 0 && r.kind != "lens-train")) continue;
          out.append({r.id, QStringLiteral("#%1 %2 (%3)").arg(r.id).arg(QString::fromStdString(r.name),
                                                                        QString::fromStdString(r.family))});
        }
        return out;
      },
      [this, worker = worker_](QList<QPair<int64_t, QString>> runs, QString) {
        if (worker != worker_) return;  // another workspace meanwhile
        listing_ = false;
        applyRunsList(runs);
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
    plot_->replot();
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
  auto it = curveOf_.constFind(runId);
  if (it == curveOf_.constEnd()) return {};
  return curves_->smoothedGraph(it.value())->pen().color();
}

int MonitorView::pointCount(int64_t runId) const {
  auto it = curveOf_.constFind(runId);
  return it == curveOf_.constEnd() ? -1 : curves_->pointCount(it.value());
}

// Unticked runs' curves go at once; the worker reads the shown runs' metric names and the points of those
// not drawn yet (every shown run's when the metric changes), drawn when the answer comes (applyAnswer). The
// curves shown stay until then (no blank plot meanwhile); live points arriving meanwhile wait in pendingLive_.
void MonitorView::reload() {
  ++generation_;
  const auto runs = shownRuns();
  bool removed = false;
  for (auto it = curveOf_.begin(); it != curveOf_.end();) {
    if (runs.contains(it.key())) {
      ++it;
      continue;
    }
    const int index = it.value();
    curves_->removeCurve(index);
    lastStep_.remove(it.key());
    lastWall_.remove(it.key());
    wallBase_.remove(it.key());
    it = curveOf_.erase(it);
    for (auto& c : curveOf_)
      if (c > index) --c;
    removed = true;
  }
  if (load_.generation >= 0) {  // a load being appended: what it has not appended yet is asked again
    for (int i = load_.next; i < load_.runs.size(); ++i)
      if (curveOf_.contains(load_.runs[i])) {
        const int index = curveOf_.take(load_.runs[i]);
        curves_->removeCurve(index);
        for (auto& c : curveOf_)
          if (c > index) --c;
      }
    load_ = Load{};
  }
  loading_ = worker_ && !runs.isEmpty();
  if (loading_) {
    QList<int64_t> missing;
    for (auto id : runs)
      if (!curveOf_.contains(id)) missing << id;
    const int generation = generation_;
    worker_->query<Answer>(
        this,
        [runs, missing, wanted = metric(), drawn = drawnMetric_](store::RunStore& db) {
          Answer a;
          std::set<std::string> names;
          for (auto id : runs)
            for (auto& n : db.metric_names(id)) names.insert(std::move(n));
          for (const auto& n : names) a.names << QString::fromStdString(n);
          a.metric = wanted;
          if (a.metric.isEmpty() || (!a.names.isEmpty() && !a.names.contains(a.metric))) {
            a.metric = a.names.contains("train/loss") ? QStringLiteral("train/loss")
                       : a.names.contains("loss")     ? QStringLiteral("loss")
                       : a.names.isEmpty()            ? QString()
                                                      : a.names.front();
          }
          a.full = a.metric != drawn;
          a.runs = a.full ? runs : missing;
          if (!a.metric.isEmpty() && !a.runs.isEmpty())
            a.curves = figures::runCurves(db, std::vector<int64_t>(a.runs.begin(), a.runs.end()), a.metric.toStdString(), false);
          return a;
        },
        [this, generation](Answer a, QString error) {
          if (generation == generation_) applyAnswer(a, error);
        });
  }
  const bool emptyChanged = updateEmptyState();
  if (removed || !loading_) curves_->replot();
  if (emptyChanged) plot_->replot();
  if (!loading()) emit curvesLoaded();
}

void MonitorView::clearCurves() {
  curves_->removeAllCurves();
  curveOf_.clear();
  lastStep_.clear();
  lastWall_.clear();
  wallBase_.clear();
  curves_->setYLabel(metric());
}

// Draws what the store worker read. The new curves appear at once; their points are appended one run per
// event-loop turn (a 100k-point run takes about 3 ms), so ticking ten such runs never blocks the window for
// the sum of them; then one replot.
void MonitorView::applyAnswer(const Answer& a, const QString& error) {
  updating_ = true;
  QStringList names = a.names;
  if (!a.metric.isEmpty() && !names.contains(a.metric)) names << a.metric;
  QStringList offered;
  for (int i = 0; i < metric_->count(); ++i) offered << metric_->itemText(i);
  if (offered != names) {
    metric_->clear();
    metric_->addItems(names);
  }
  metric_->setCurrentText(a.metric);
  updating_ = false;
  if (a.full || a.metric != drawnMetric_) clearCurves();
  drawnMetric_ = a.metric;
  curves_->setYLabel(a.metric);
  load_ = Load{};
  load_.generation = generation_;
  load_.data = a.curves;
  load_.error = error;
  for (int i = 0; i < a.runs.size() && static_cast<size_t>(i) < a.curves.size(); ++i) {
    if (curveOf_.contains(a.runs[i])) continue;
    // A run's colour comes from its id, so it keeps it when other runs are shown or hidden.
    const int c = curves_->addCurve(a.curves[static_cast<size_t>(i)].label,
                                    plotting::seriesColor(static_cast<int>(a.runs[i] % 1000003)));
    curveOf_.insert(a.runs[i], c);
    load_.runs << a.runs[i];
    load_.curves << c;
    load_.index << i;
  }
  appendNextLoaded();
}

void MonitorView::appendNextLoaded() {
  if (load_.generation != generation_) return;  // a newer load replaced this one
  const int i = load_.next++;
  if (i < load_.curves.size()) {
    const auto& rc = load_.data[static_cast<size_t>(load_.index[i])];
    if (!rc.steps.empty()) {
      curves_->appendPoints(load_.curves[i], rc.steps, rc.values, rc.wallSeconds);
      lastStep_.insert(load_.runs[i], rc.steps.back());
      lastWall_.insert(load_.runs[i], rc.wallSeconds.back());
    }
    QTimer::singleShot(0, this, &MonitorView::appendNextLoaded);
    return;
  }
  loading_ = false;
  bool emptyChanged = updateEmptyState();
  if (!load_.error.isEmpty()) {
    empty_->setText(tr("Could not read the curves: %1").arg(load_.error));
    empty_->setVisible(true);
    emptyChanged = true;
  }
  load_ = Load{};  // frees the points read (the curves hold their own copies)
  curves_->replot();
  if (emptyChanged) plot_->replot();  // the message is on the plot's own layer
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
    if (wasEmpty) reload();  // loads what the store has so far; the step filter below skips those points
  }
  const QString m = metric();
  QHash<int, std::vector<double>> steps, ys, walls;
  bool newRun = false;
  for (const auto& p : points) {
    if (p.runId && !curveOf_.contains(p.runId) && !worker_) continue;
    if (p.runId && !curveOf_.contains(p.runId)) newRun = true;
    if (p.name != m) continue;
    auto it = curveOf_.constFind(p.runId);
    if (it == curveOf_.constEnd()) continue;
    if (static_cast<double>(p.step) <= lastStep_.value(p.runId, -1)) continue;  // already loaded from the store
    lastStep_.insert(p.runId, static_cast<double>(p.step));
    // Live wall times count from the job's start; a resumed run's continue after its stored part.
    const double last = lastWall_.value(p.runId, 0);
    if (!wallBase_.contains(p.runId)) wallBase_.insert(p.runId, p.wallSeconds < last ? last : 0.0);
    const double wall = std::max(last, wallBase_.value(p.runId) + p.wallSeconds);
    lastWall_.insert(p.runId, wall);
    steps[it.value()].push_back(static_cast<double>(p.step));
    ys[it.value()].push_back(p.value);
    walls[it.value()].push_back(wall);
  }
  for (auto it = steps.begin(); it != steps.end(); ++it) curves_->appendPoints(it.key(), it.value(), ys[it.key()], walls[it.key()]);
  if (!steps.isEmpty()) curves_->replot();
  if (!steps.isEmpty() && empty_->visible() && updateEmptyState()) plot_->replot();
  if (newRun) refreshRuns();
}

}  // namespace gui
}  // namespace dm
