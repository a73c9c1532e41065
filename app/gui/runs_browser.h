// The Runs page: every run of the workspace database in a sortable table, filtered by the runs filter
// language (core/store/run_filter.h: key=value, !=, <, <=, >, >=, ~ over fields, config keys and metrics,
// plus free words), status, kind and sweep (a sweep column groups a grid's runs); the selected run's record and
// config, its differences from another run, archive, delete (optionally with its folder), open its folder.
#pragma once

#include <QList>
#include <QStringList>
#include <QWidget>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTableWidget;

#include "core/store/run_store.h"

namespace dm::store {
using RunFields = std::map<std::string, std::string>;
}

namespace dm {
namespace gui {

class StoreWorker;

class RunsBrowser : public QWidget {
  Q_OBJECT

 public:
  explicit RunsBrowser(QWidget* parent = nullptr);

  // Every read and write of the page goes through `worker` (the window's store worker): the table is
  // filled when its answer comes, archive and delete are done on the worker's thread.
  void setWorker(StoreWorker* worker);
  void refresh();
  bool busy() const { return reading_ || pendingActions_ > 0; }  // waiting for the worker

  void setFilterText(const QString& text);
  void setStatusFilter(const QString& status);  // "" = any
  // Only the runs of one sweep (0: any); false when the table knows no such sweep (yet).
  bool setSweepFilter(int64_t sweep);
  QList<int64_t> visibleRuns() const;           // in table order
  void selectRun(int64_t id);
  int64_t selectedRun() const;  // 0 when none
  // Keys whose resolved values differ between two runs: "key: a → b" lines (nested keys dotted).
  QStringList configDiff(int64_t a, int64_t b) const;
  // Archived runs stay in the database but are listed only with "show archived" on.
  // Returns what prevents it at once ("" when asked of the worker); a store error comes as actionFailed.
  QString setArchived(int64_t id, bool archived);
  void setShowArchived(bool on);
  // Deletes the run's record (and its folder when `files`): as setArchived.
  QString deleteRun(int64_t id, bool files);

  // Metric columns after the record's: "<metric>" or "<metric>:last", "<metric>:best" (the minimum; the
  // maximum for accuracies), ":min", ":max"; "babilong" (mean BABILong accuracy over the run's cells) and
  // "lens" (the lens probability at the last layer). Remembered; applied at once.
  void setMetricColumns(const QStringList& specs);
  QStringList metricColumns() const { return columns_; }
  static QStringList defaultMetricColumns();
  int columnOf(const QString& spec) const;  // the table column of a metric column spec, -1 if none

  QTableWidget* table() const { return table_; }
  // Under the filter: why nothing matches (unknown keys, the syntax) or the filter's syntax error; hidden
  // when rows match.
  QLabel* filterHint() const { return hint_; }
  QPlainTextEdit* details() const { return details_; }

 signals:
  void showInMonitor(int64_t runId);
  void resumeRequested(int64_t runId);
  void runsChanged();
  void refreshed();                        // the table shows what the worker read
  void actionFailed(const QString& why);   // archive or delete failed in the store
  // A run marked running whose process is gone was found and marked crashed.
  void runCrashed(int64_t runId, const QString& message);

 public slots:
  // Marks runs whose process died as crashed (refreshing the table when any did); every 5 s and on
  // refresh().
  void checkLiveness();

 private:
  struct Snapshot;
  void applyFilter();
  void showDetails();
  void fill(const Snapshot& snap);
  void setHeaders();
  void act(int64_t id, bool files, bool remove, bool archived);  // archive / delete on the worker

  StoreWorker* worker_ = nullptr;
  bool reading_ = false, again_ = false;
  int pendingActions_ = 0;
  std::map<int64_t, store::RunRecord> records_;
  QString problem_;  // what the last read could not read, shown under the filter  // what the table shows, for details and actions
  QLineEdit* filter_ = nullptr;
  QComboBox* status_ = nullptr;
  QComboBox* sweep_ = nullptr;
  QComboBox* diffWith_ = nullptr;
  QCheckBox* showArchived_ = nullptr;
  QTableWidget* table_ = nullptr;
  QPlainTextEdit* details_ = nullptr;
  QLabel* hint_ = nullptr;
  QLineEdit* columnsEdit_ = nullptr;
  QStringList columns_;
  // What the filter reads, per run id: built once per refresh, so typing never queries the database.
  std::map<int64_t, store::RunFields> fields_;
};

}  // namespace gui
}  // namespace dm
