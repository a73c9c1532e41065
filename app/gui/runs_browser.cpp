#include "app/gui/runs_browser.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDesktopServices>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QHash>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/common/error.h"
#include "core/io/atomic_file.h"
#include "core/jobs/run_session.h"
#include "core/store/run_filter.h"
#include "core/store/run_store.h"
#include "app/gui/language.h"
#include "app/gui/store_worker.h"

namespace dm {
namespace gui {
namespace {

enum Column { ColId, ColName, ColKind, ColFamily, ColPreset, ColStatus, ColCreated, ColHash, ColSweep, ColCount };

// Flattens a config tree into "a.b" → value text.
void flatten(const nlohmann::json& j, const std::string& prefix, QMap<QString, QString>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  out.insert(QString::fromStdString(prefix), j.is_string() ? QString::fromStdString(j.get<std::string>())
                                                           : QString::fromStdString(j.dump()));
}

QMap<QString, QString> flatConfig(const store::RunRecord& r) {
  QMap<QString, QString> out;
  try {
    flatten(nlohmann::json::parse(r.config_json.empty() ? "{}" : r.config_json), "", out);
  } catch (const std::exception&) {
  }
  return out;
}

// A table item that sorts numbers as numbers.
class NumberItem : public QTableWidgetItem {
 public:
  explicit NumberItem(qint64 v) : QTableWidgetItem(QString::number(v)) { setData(Qt::UserRole, v); }
  bool operator<(const QTableWidgetItem& other) const override {
    return data(Qt::UserRole).toLongLong() < other.data(Qt::UserRole).toLongLong();
  }
};

// A number that sorts as a number; empty cells (no value) sort first.
class ValueItem : public QTableWidgetItem {
 public:
  ValueItem() = default;
  explicit ValueItem(double v) : QTableWidgetItem(QString::number(v, 'g', 5)) {
    setData(Qt::UserRole, v);
    setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  }
  bool operator<(const QTableWidgetItem& other) const override {
    const QVariant a = data(Qt::UserRole), b = other.data(Qt::UserRole);
    if (!a.isValid() || !b.isValid()) return !a.isValid() && b.isValid();
    return a.toDouble() < b.toDouble();
  }
};

struct ColumnSpec {
  QString kind;    // last | best | min | max | babilong | lens
  QString metric;  // for the metric kinds
};

ColumnSpec parseColumn(const QString& spec) {
  const QString t = spec.trimmed();
  if (t.compare(QLatin1String("babilong"), Qt::CaseInsensitive) == 0) return {QStringLiteral("babilong"), {}};
  if (t.compare(QLatin1String("lens"), Qt::CaseInsensitive) == 0) return {QStringLiteral("lens"), {}};
  const int colon = t.lastIndexOf(QLatin1Char(':'));
  const QString how = colon > 0 ? t.mid(colon + 1).toLower() : QString();
  if (colon > 0 && (how == "last" || how == "best" || how == "min" || how == "max")) return {how, t.left(colon)};
  return {QStringLiteral("last"), t};
}

}  // namespace

QStringList RunsBrowser::defaultMetricColumns() {
  return {QStringLiteral("val/bpc:last"), QStringLiteral("val/bpc:best"), QStringLiteral("train/loss:last"),
          QStringLiteral("babilong"), QStringLiteral("lens")};
}

int RunsBrowser::columnOf(const QString& spec) const {
  const int i = columns_.indexOf(spec);
  return i < 0 ? -1 : ColCount + i;
}

void RunsBrowser::setMetricColumns(const QStringList& specs) {
  columns_.clear();
  for (const auto& s : specs)
    if (!s.trimmed().isEmpty() && !columns_.contains(s.trimmed())) columns_ << s.trimmed();
  QSettings().setValue("runsColumns", columns_);
  if (columnsEdit_->text() != columns_.join(QStringLiteral(", "))) columnsEdit_->setText(columns_.join(QStringLiteral(", ")));
  refresh();
}

RunsBrowser::RunsBrowser(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* bar = new QHBoxLayout;
  filter_ = new QLineEdit(this);
  filter_->setObjectName("runsFilter");
  filter_->setClearButtonEnabled(true);
  status_ = new QComboBox(this);
  status_->setObjectName("runsStatus");
  status_->addItem(QString(), QString());
  static const char* const kStatus[] = {QT_TR_NOOP("queued"),    QT_TR_NOOP("running"),   QT_TR_NOOP("finished"),
                                        QT_TR_NOOP("failed"),    QT_TR_NOOP("cancelled"), QT_TR_NOOP("crashed"),
                                        QT_TR_NOOP("diverged")};
  for (const char* s : kStatus) status_->addItem(QString(), QString::fromLatin1(s));
  sweep_ = new QComboBox(this);
  sweep_->setObjectName("runsSweep");
  sweep_->addItem(QString(), static_cast<qlonglong>(0));
  auto* refresh = new QPushButton(this);
  auto* watch = new QTimer(this);
  watch->setInterval(5000);
  connect(watch, &QTimer::timeout, this, &RunsBrowser::checkLiveness);
  watch->start();
  showArchived_ = new QCheckBox(this);
  showArchived_->setObjectName("showArchived");
  bar->addWidget(filter_, 1);
  bar->addWidget(status_);
  bar->addWidget(sweep_);
  bar->addWidget(showArchived_);
  bar->addWidget(refresh);
  layout->addLayout(bar);
  auto* colBar = new QHBoxLayout;
  columnsEdit_ = new QLineEdit(this);
  columnsEdit_->setObjectName("runsColumns");
  auto* columnsLabel = new QLabel(this);
  colBar->addWidget(columnsLabel);
  colBar->addWidget(columnsEdit_, 1);
  layout->addLayout(colBar);
  columns_ = QSettings().value("runsColumns", defaultMetricColumns()).toStringList();
  columnsEdit_->setText(columns_.join(QStringLiteral(", ")));
  connect(columnsEdit_, &QLineEdit::editingFinished, this, [this] {
    if (columnsEdit_->text() != columns_.join(QStringLiteral(", "))) setMetricColumns(columnsEdit_->text().split(QLatin1Char(',')));
  });
  hint_ = new QLabel(this);
  hint_->setObjectName("runsFilterHint");
  hint_->setWordWrap(true);
  hint_->hide();
  layout->addWidget(hint_);

  auto* split = new QSplitter(Qt::Vertical, this);
  table_ = new QTableWidget(0, ColCount, split);
  table_->setObjectName("runsTable");
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSortingEnabled(true);
  // Sizes: the name takes the room; the other columns are fitted to their contents once per refresh (not
  // live: ResizeToContents would measure every row at each filter keystroke).
  table_->horizontalHeader()->setStretchLastSection(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  table_->horizontalHeader()->setSectionResizeMode(ColName, QHeaderView::Stretch);
  table_->horizontalHeader()->setMinimumSectionSize(40);
  table_->verticalHeader()->hide();
  auto* bottom = new QWidget(split);
  auto* bl = new QVBoxLayout(bottom);
  bl->setContentsMargins(0, 0, 0, 0);
  auto* actions = new QHBoxLayout;
  diffWith_ = new QComboBox(bottom);
  diffWith_->setObjectName("diffWith");
  auto* monitor = new QPushButton(bottom);
  auto* resume = new QPushButton(bottom);
  auto* open = new QPushButton(bottom);
  auto* archive = new QPushButton(bottom);
  auto* del = new QPushButton(bottom);
  auto* compareLabel = new QLabel(bottom);
  actions->addWidget(compareLabel);
  actions->addWidget(diffWith_, 1);
  actions->addWidget(monitor);
  actions->addWidget(resume);
  actions->addWidget(open);
  actions->addWidget(archive);
  actions->addWidget(del);
  bl->addLayout(actions);
  details_ = new QPlainTextEdit(bottom);
  details_->setObjectName("runDetails");
  details_->setReadOnly(true);
  details_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  bl->addWidget(details_);
  split->addWidget(table_);
  split->addWidget(bottom);
  layout->addWidget(split, 1);
  onLanguageChange(this, [=, this] {
    filter_->setPlaceholderText(tr("filter: words, or key=value, key!=v, key<n, key>=n, key~text (e.g. "
                                   "model.family=diffmamba2 d_model>32 val/bpc<1.5)"));
    status_->setItemText(0, tr("any status"));
    sweep_->setItemText(0, tr("any sweep"));
    sweep_->setToolTip(tr("Only the runs of one sweep (a grid of runs queued together)"));
    for (int i = 1; i < status_->count(); ++i) status_->setItemText(i, tr(kStatus[i - 1]));
    refresh->setText(tr("Refresh"));
    showArchived_->setText(tr("show archived"));
    columnsEdit_->setToolTip(tr("Metric columns, comma-separated: a metric name with :last, :best, :min or :max (e.g. "
                                "val/bpc:best), babilong (mean BABILong accuracy) or lens (lens probability at the last "
                                "layer)"));
    columnsLabel->setText(tr("Columns"));
    monitor->setText(tr("Show in monitor"));
    resume->setText(tr("Resume"));
    open->setText(tr("Open folder"));
    archive->setText(tr("Archive / unarchive"));
    archive->setToolTip(tr("Archived runs keep everything but are hidden from the lists unless \"show archived\" is on"));
    del->setText(tr("Delete…"));
    compareLabel->setText(tr("Compare config with"));
    setHeaders();
    if (diffWith_->count() > 0) diffWith_->setItemText(0, tr("(none)"));
    applyFilter();   // the hint in the new language
    showDetails();
  });

  connect(filter_, &QLineEdit::textChanged, this, &RunsBrowser::applyFilter);
  connect(status_, &QComboBox::currentIndexChanged, this, &RunsBrowser::applyFilter);
  connect(sweep_, &QComboBox::currentIndexChanged, this, &RunsBrowser::applyFilter);
  connect(refresh, &QPushButton::clicked, this, &RunsBrowser::refresh);
  connect(showArchived_, &QCheckBox::toggled, this, &RunsBrowser::applyFilter);
  connect(archive, &QPushButton::clicked, this, [this] {
    const auto it = records_.find(selectedRun());
    if (it != records_.end()) {
      const QString err = setArchived(it->first, !it->second.archived);
      if (!err.isEmpty()) QMessageBox::warning(this, tr("Archive"), err);
    }
  });
  connect(table_, &QTableWidget::itemSelectionChanged, this, &RunsBrowser::showDetails);
  connect(diffWith_, &QComboBox::currentIndexChanged, this, &RunsBrowser::showDetails);
  connect(monitor, &QPushButton::clicked, this, [this] {
    if (selectedRun()) emit showInMonitor(selectedRun());
  });
  connect(resume, &QPushButton::clicked, this, [this] {
    if (selectedRun()) emit resumeRequested(selectedRun());
  });
  connect(open, &QPushButton::clicked, this, [this] {
    const auto it = records_.find(selectedRun());
    if (it != records_.end() && !it->second.run_dir.empty())
      QDesktopServices::openUrl(QUrl::fromLocalFile(QString::fromStdString(it->second.run_dir)));
  });
  connect(del, &QPushButton::clicked, this, [this] {
    const int64_t id = selectedRun();
    if (!id) return;
    QMessageBox box(QMessageBox::Question, tr("Delete run"), tr("Delete run #%1 from the workspace database?").arg(id),
                    QMessageBox::Yes | QMessageBox::No, this);
    auto* files = new QCheckBox(tr("also delete its folder (checkpoints, models)"), &box);
    box.setCheckBox(files);
    if (box.exec() != QMessageBox::Yes) return;
    const QString err = deleteRun(id, files->isChecked());
    if (!err.isEmpty()) QMessageBox::warning(this, tr("Delete failed"), err);
  });
  connect(this, &RunsBrowser::actionFailed, this, [this](const QString& why) {
    if (isVisible()) QMessageBox::warning(this, tr("Runs"), why);
  });
}

// What one refresh reads on the worker's thread: the runs found dead (marked crashed there), every record,
// their last metrics and what the metric columns need (one grouped query per column kind, not per run).
struct RunsBrowser::Snapshot {
  std::vector<std::pair<int64_t, QString>> crashed;  // id, why
  std::vector<store::RunRecord> runs;
  std::vector<store::SweepRecord> sweeps;  // newest first
  std::map<int64_t, std::vector<store::MetricRow>> last;
  std::map<std::string, std::map<int64_t, store::RunStore::Extremes>> extremes;
  std::map<int64_t, double> babilong, lens;
  QString problem;  // a part that could not be read (the rest is listed)
};

namespace {

// A run marked running whose process died (a CLI killed, a window that crashed) is marked crashed, never
// shown running. A busy or read-only database: the next look tries again.
std::vector<std::pair<int64_t, QString>> reap(store::RunStore& db) {
  std::vector<std::pair<int64_t, QString>> out;
  if (db.read_only()) return out;
  try {
    for (const auto id : jobs::reap_dead_runs(db)) {
      const auto r = db.run(id);
      out.emplace_back(id, r ? QString::fromStdString(r->message) : QString());
    }
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace

// The table's headers: the record's columns and the metric columns, in the current language.
void RunsBrowser::setHeaders() {
  const QStringList fixed = {tr("id"),     tr("name"),   tr("kind"),    tr("family"),     tr("preset"),
                             tr("status"), tr("created"), tr("config hash"), tr("sweep")};
  if (table_->columnCount() < ColCount + static_cast<int>(columns_.size()))
    table_->setColumnCount(ColCount + static_cast<int>(columns_.size()));
  for (int i = 0; i < fixed.size(); ++i) table_->setHorizontalHeaderItem(i, new QTableWidgetItem(fixed[i]));
  for (int i = 0; i < columns_.size(); ++i) {
    const ColumnSpec c = parseColumn(columns_[i]);
    const QString header =
        c.kind == "babilong" ? tr("BABILong mean %")
        : c.kind == "lens"   ? tr("lens p, last layer")
                             : QStringLiteral("%1 (%2)").arg(c.metric, c.kind == "last" ? tr("last") : c.kind == "best" ? tr("best") : c.kind);
    auto* h = new QTableWidgetItem(header);
    h->setToolTip(columns_[i]);
    table_->setHorizontalHeaderItem(ColCount + i, h);
  }
}

void RunsBrowser::setWorker(StoreWorker* worker) {
  worker_ = worker;
  reading_ = again_ = false;
  pendingActions_ = 0;
  records_.clear();
  fields_.clear();
  table_->setRowCount(0);
  details_->clear();
  refresh();
}

void RunsBrowser::checkLiveness() {
  if (!worker_ || worker_->readOnly()) return;
  worker_->query<std::vector<std::pair<int64_t, QString>>>(
      this, [](store::RunStore& db) { return reap(db); },
      [this, worker = worker_](std::vector<std::pair<int64_t, QString>> crashed, QString) {
        if (worker != worker_ || crashed.empty()) return;
        for (const auto& [id, why] : crashed) emit runCrashed(id, why);
        refresh();
      });
}

void RunsBrowser::refresh() {
  if (!worker_) return;
  if (reading_) {
    again_ = true;  // one more read when this one is back, not one per call
    return;
  }
  reading_ = true;
  again_ = false;
  worker_->query<Snapshot>(
      this,
      [columns = columns_](store::RunStore& db) {
        Snapshot snap;
        snap.crashed = reap(db);
        snap.runs = db.runs();
        snap.sweeps = db.sweeps();
        // A damaged part of the database (e.g. a read-only copy of a damaged one) leaves the rest listed.
        auto guarded = [&snap](const auto& read) {
          try {
            read();
          } catch (const std::exception& e) {
            if (snap.problem.isEmpty()) snap.problem = QString::fromUtf8(e.what());
          }
        };
        for (const auto& r : snap.runs) guarded([&] { snap.last[r.id] = db.last_metrics(r.id); });
        for (const auto& spec : columns) {
          const ColumnSpec c = parseColumn(spec);
          if (c.kind == "babilong")
            guarded([&] { snap.babilong = db.eval_means(); });
          else if (c.kind == "lens")
            guarded([&] { snap.lens = db.lens_last_layer(); });
          else if (c.kind != "last" && !snap.extremes.count(c.metric.toStdString()))
            guarded([&] { snap.extremes[c.metric.toStdString()] = db.metric_extremes(c.metric.toStdString()); });
        }
        return snap;
      },
      [this, worker = worker_](Snapshot snap, QString error) {
        if (worker != worker_) return;  // another workspace meanwhile
        reading_ = false;
        for (const auto& [id, why] : snap.crashed) emit runCrashed(id, why);
        problem_ = !error.isEmpty() ? tr("Could not read the runs: %1").arg(error)
                   : !snap.problem.isEmpty() ? tr("Some numbers could not be read: %1").arg(snap.problem)
                                             : QString();
        if (error.isEmpty())
          fill(snap);  // filters too
        else
          applyFilter();
        if (again_) refresh();
        emit refreshed();
      });
}

void RunsBrowser::fill(const Snapshot& snap) {
  const int64_t keep = selectedRun();
  table_->setSortingEnabled(false);
  table_->setRowCount(0);
  diffWith_->blockSignals(true);
  const auto keepDiff = diffWith_->currentData();
  diffWith_->clear();
  diffWith_->addItem(tr("(none)"), 0);
  fields_.clear();
  records_.clear();
  table_->setColumnCount(ColCount + static_cast<int>(columns_.size()));
  std::vector<ColumnSpec> specs;
  for (const auto& col : columns_) specs.push_back(parseColumn(col));
  setHeaders();
  // The sweep list: every sweep, newest first, the choice kept when it still exists.
  QHash<int64_t, QString> sweepNames;
  {
    const QSignalBlocker b(sweep_);
    const auto keepSweep = sweep_->currentData();
    while (sweep_->count() > 1) sweep_->removeItem(1);
    for (const auto& sw : snap.sweeps) {
      sweepNames.insert(sw.id, QString::fromStdString(sw.name));
      sweep_->addItem(QStringLiteral("#%1 %2").arg(sw.id).arg(QString::fromStdString(sw.name)), static_cast<qlonglong>(sw.id));
    }
    sweep_->setCurrentIndex(std::max(0, sweep_->findData(keepSweep)));
  }
  static const std::vector<store::MetricRow> kNone;
  for (const auto& r : snap.runs) {
    const auto lastIt = snap.last.find(r.id);
    const auto& last = lastIt == snap.last.end() ? kNone : lastIt->second;
    records_[r.id] = r;
    fields_[r.id] = store::run_fields(r, last);
    const int row = table_->rowCount();
    table_->insertRow(row);
    auto* idItem = new NumberItem(r.id);
    idItem->setData(Qt::UserRole + 1, r.archived);
    table_->setItem(row, ColId, idItem);
    const QStringList cells = {QString::fromStdString(r.name),    QString::fromStdString(r.kind),
                               QString::fromStdString(r.family),  QString::fromStdString(r.preset),
                               QString::fromStdString(r.status),  QString::fromStdString(r.created_at),
                               QString::fromStdString(r.config_hash)};
    for (int c = 0; c < cells.size(); ++c) table_->setItem(row, c + 1, new QTableWidgetItem(cells[c]));
    table_->item(row, ColStatus)->setToolTip(QString::fromStdString(r.message));
    auto* sweepItem = new NumberItem(r.sweep_id);
    sweepItem->setText(r.sweep_id ? QStringLiteral("#%1 %2").arg(r.sweep_id).arg(sweepNames.value(r.sweep_id)) : QString());
    table_->setItem(row, ColSweep, sweepItem);
    for (size_t i = 0; i < specs.size(); ++i) {
      const ColumnSpec& c = specs[i];
      std::optional<double> v;
      if (c.kind == "babilong") {
        if (auto it = snap.babilong.find(r.id); it != snap.babilong.end()) v = it->second;
      } else if (c.kind == "lens") {
        if (auto it = snap.lens.find(r.id); it != snap.lens.end()) v = it->second;
      } else if (c.kind == "last") {
        for (const auto& m : last)
          if (m.name == c.metric.toStdString()) v = m.value;
      } else if (auto e = snap.extremes.find(c.metric.toStdString()); e != snap.extremes.end()) {
        if (auto it = e->second.find(r.id); it != e->second.end()) {
          const bool higherIsBetter = c.metric.contains(QLatin1String("acc"), Qt::CaseInsensitive);
          v = c.kind == "min" || (c.kind == "best" && !higherIsBetter) ? it->second.min : it->second.max;
        }
      }
      table_->setItem(row, ColCount + static_cast<int>(i), v ? new ValueItem(*v) : new ValueItem());
    }
    if (r.archived)
      for (int c = 0; c < table_->columnCount(); ++c) {
        QFont f = table_->item(row, c)->font();
        f.setItalic(true);
        table_->item(row, c)->setFont(f);
        table_->item(row, c)->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
      }
    diffWith_->addItem(QStringLiteral("#%1 %2").arg(r.id).arg(QString::fromStdString(r.name)), static_cast<qlonglong>(r.id));
  }
  if (int i = diffWith_->findData(keepDiff); i >= 0) diffWith_->setCurrentIndex(i);
  diffWith_->blockSignals(false);
  table_->setSortingEnabled(true);
  for (int c = 0; c < table_->columnCount(); ++c)
    if (c != ColName) table_->resizeColumnToContents(c);
  applyFilter();
  if (keep) selectRun(keep);
  showDetails();
}

void RunsBrowser::applyFilter() {
  const QString text = filter_->text().trimmed(), status = status_->currentData().toString();
  const int64_t sweep = sweep_->currentData().toLongLong();
  store::RunFilter filter;
  QString error;
  try {
    filter = store::RunFilter::parse(text.toStdString());
  } catch (const Error& e) {
    error = QString::fromUtf8(e.what());  // shown below; every row stays listed until the filter reads
  }
  int shown = 0;
  for (int row = 0; row < table_->rowCount(); ++row) {
    const auto id = table_->item(row, ColId)->data(Qt::UserRole).toLongLong();
    const bool archived = table_->item(row, ColId)->data(Qt::UserRole + 1).toBool();
    const auto f = fields_.find(id);
    const bool ok = (f == fields_.end() || filter.matches(f->second)) &&
                    (status.isEmpty() || table_->item(row, ColStatus)->text() == status) &&
                    (sweep == 0 || table_->item(row, ColSweep)->data(Qt::UserRole).toLongLong() == sweep) &&
                    (!archived || showArchived_->isChecked());
    table_->setRowHidden(row, !ok);
    shown += ok;
  }
  if (!error.isEmpty()) {
    hint_->setText(error);
  } else if (shown == 0 && table_->rowCount() > 0 && !filter.empty()) {
    std::vector<store::RunFields> all;
    for (const auto& [id, f] : fields_) all.push_back(f);
    QStringList unknown;
    for (const auto& k : filter.unknown_keys(all)) unknown << QString::fromStdString(k);
    hint_->setText(unknown.isEmpty() ? tr("No run matches. Filter syntax: %1").arg(QString::fromUtf8(store::RunFilter::syntax()))
                                     : tr("No run matches: no run has %1. Filter syntax: %2")
                                           .arg(unknown.join(", "), QString::fromUtf8(store::RunFilter::syntax())));
  }
  const bool filterHint = !error.isEmpty() || (shown == 0 && table_->rowCount() > 0 && !filter.empty());
  if (!filterHint && !problem_.isEmpty()) hint_->setText(problem_);
  hint_->setVisible(filterHint || !problem_.isEmpty());
}

void RunsBrowser::setFilterText(const QString& text) { filter_->setText(text); }

bool RunsBrowser::setSweepFilter(int64_t sweep) {
  const int i = sweep_->findData(static_cast<qlonglong>(sweep));
  if (i < 0 && sweep != 0) return false;
  sweep_->setCurrentIndex(std::max(0, i));
  return true;
}

void RunsBrowser::setStatusFilter(const QString& status) {
  const int i = status_->findData(status);
  status_->setCurrentIndex(i < 0 ? 0 : i);
}

QList<int64_t> RunsBrowser::visibleRuns() const {
  QList<int64_t> out;
  for (int row = 0; row < table_->rowCount(); ++row)
    if (!table_->isRowHidden(row)) out << table_->item(row, ColId)->data(Qt::UserRole).toLongLong();
  return out;
}

void RunsBrowser::selectRun(int64_t id) {
  for (int row = 0; row < table_->rowCount(); ++row)
    if (table_->item(row, ColId)->data(Qt::UserRole).toLongLong() == id) {
      table_->selectRow(row);
      return;
    }
}

int64_t RunsBrowser::selectedRun() const {
  const auto rows = table_->selectionModel()->selectedRows();
  if (rows.isEmpty()) return 0;
  return table_->item(rows.front().row(), ColId)->data(Qt::UserRole).toLongLong();
}

QStringList RunsBrowser::configDiff(int64_t a, int64_t b) const {
  QStringList out;
  const auto ra = records_.find(a), rb = records_.find(b);
  if (ra == records_.end() || rb == records_.end()) return out;
  const auto ca = flatConfig(ra->second), cb = flatConfig(rb->second);
  QStringList keys = ca.keys();
  for (const auto& k : cb.keys())
    if (!ca.contains(k)) keys << k;
  keys.sort();
  for (const auto& k : keys) {
    const QString va = ca.value(k, tr("(absent)")), vb = cb.value(k, tr("(absent)"));
    if (va != vb) out << QStringLiteral("%1: %2 → %3").arg(k, va, vb);
  }
  return out;
}

void RunsBrowser::showDetails() {
  const int64_t id = selectedRun();
  const auto it = records_.find(id);
  if (!id || it == records_.end()) {
    details_->clear();
    return;
  }
  const store::RunRecord* r = &it->second;
  QString text = tr("run #%1 %2 — %3, %4, %5\n").arg(id).arg(QString::fromStdString(r->name), QString::fromStdString(r->kind),
                                                             QString::fromStdString(r->family), QString::fromStdString(r->status));
  if (!r->message.empty()) text += tr("message: %1\n").arg(QString::fromStdString(r->message));
  text += tr("created %1, started %2, ended %3; host %4, device %5\nfolder: %6\n")
              .arg(QString::fromStdString(r->created_at), QString::fromStdString(r->started_at),
                   QString::fromStdString(r->ended_at), QString::fromStdString(r->host), QString::fromStdString(r->device),
                   QString::fromStdString(r->run_dir));
  const int64_t other = diffWith_->currentData().toLongLong();
  if (other && other != id) {
    const auto diff = configDiff(other, id);
    text += "\n" + tr("config differences from #%1 (%n key(s)):", nullptr, static_cast<int>(diff.size())).arg(other) + "\n" +
            diff.join('\n') + "\n";
  }
  text += "\n" + tr("resolved config:") + "\n";
  try {
    text += QString::fromStdString(nlohmann::json::parse(r->config_json.empty() ? "{}" : r->config_json).dump(2));
  } catch (const std::exception&) {
    text += QString::fromStdString(r->config_json);
  }
  details_->setPlainText(text);
}

void RunsBrowser::setShowArchived(bool on) { showArchived_->setChecked(on); }

QString RunsBrowser::setArchived(int64_t id, bool archived) {
  if (!worker_) return tr("No workspace is open.");
  if (worker_->readOnly()) return tr("The workspace is read-only.");
  if (!records_.count(id)) return tr("Run #%1 does not exist.").arg(id);
  act(id, false, false, archived);
  return {};
}

QString RunsBrowser::deleteRun(int64_t id, bool files) {
  if (!worker_) return tr("No workspace is open.");
  if (worker_->readOnly()) return tr("The workspace is read-only.");
  const auto it = records_.find(id);
  if (it == records_.end()) return tr("Run #%1 does not exist.").arg(id);
  if (it->second.status == "running") return tr("Run #%1 is running; cancel it first.").arg(id);
  act(id, files, true, false);
  return {};
}

// On the worker's thread: the store reads the record again (it may have changed since the table was
// filled), then archives or deletes (the folder first, then the record).
void RunsBrowser::act(int64_t id, bool files, bool remove, bool archived) {
  ++pendingActions_;
  worker_->query<QString>(
      this,
      [id, files, remove, archived](store::RunStore& db) -> QString {
        const auto r = db.run(id);
        if (!r) return RunsBrowser::tr("Run #%1 does not exist.").arg(id);
        if (!remove) {
          db.set_archived(id, archived);
          return {};
        }
        if (r->status == "running") return RunsBrowser::tr("Run #%1 is running; cancel it first.").arg(id);
        if (files && !r->run_dir.empty()) io::remove_tree(r->run_dir);
        db.delete_run(id);
        return {};
      },
      [this, worker = worker_](QString why, QString error) {
        if (worker != worker_) return;
        --pendingActions_;
        if (!error.isEmpty()) why = error;
        if (!why.isEmpty()) emit actionFailed(why);
        refresh();
        emit runsChanged();
      });
}

}  // namespace gui
}  // namespace dm
