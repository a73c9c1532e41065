#include "app/gui/queue_view.h"

#include "app/gui/language.h"

#include <QApplication>
#include <QClipboard>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

namespace dm {
namespace gui {
namespace {

enum Column { ColId, ColTitle, ColState, ColProgress, ColStep, ColSpeed, ColEta, ColRun, ColMessage, ColCount };

}  // namespace

QString QueueView::formatDuration(double s) {
  if (s < 0 || !std::isfinite(s)) return QStringLiteral("–");
  const auto total = static_cast<qint64>(std::llround(s));
  const qint64 h = total / 3600, m = (total % 3600) / 60, sec = total % 60;
  if (h > 0) return tr("%1 h %2 min").arg(h).arg(m, 2, 10, QLatin1Char('0'));
  if (m > 0) return tr("%1 min %2 s").arg(m).arg(sec, 2, 10, QLatin1Char('0'));
  return tr("%1 s").arg(sec);
}

QueueView::QueueView(JobQueue* queue, QWidget* parent) : QWidget(parent), queue_(queue) {
  auto* layout = new QVBoxLayout(this);
  table_ = new QTableWidget(0, ColCount, this);
  table_->setObjectName("queueTable");
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->hide();
  layout->addWidget(table_, 1);

  auto* bar = new QHBoxLayout;
  auto* cancel = new QPushButton(this);
  cancel->setObjectName("cancelJob");
  auto* rerun = new QPushButton(this);
  auto* copy = new QPushButton(this);
  auto* clear = new QPushButton(this);
  concurrency_ = new QSpinBox(this);
  concurrency_->setObjectName("concurrency");
  concurrency_->setRange(1, 16);
  concurrency_->setValue(queue_->concurrency());
  bar->addWidget(cancel);
  bar->addWidget(rerun);
  bar->addWidget(copy);
  bar->addWidget(clear);
  bar->addStretch(1);
  auto* concurrencyLabel = new QLabel(this);
  bar->addWidget(concurrencyLabel);
  bar->addWidget(concurrency_);
  layout->addLayout(bar);
  onLanguageChange(this, [=, this] {
    table_->setHorizontalHeaderLabels({tr("job"), tr("title"), tr("state"), tr("progress"), tr("step"), tr("tokens/s"),
                                       tr("ETA"), tr("run"), tr("message")});
    cancel->setText(tr("Cancel"));
    rerun->setText(tr("Re-run"));
    copy->setText(tr("Copy command line"));
    clear->setText(tr("Clear finished"));
    concurrency_->setToolTip(tr("How many jobs run at the same time (1 on a CPU: jobs share its cores)"));
    concurrencyLabel->setText(tr("Jobs at a time"));
    for (int id : queue_->jobIds()) updateRow(id);  // states and durations in the new language
  });

  connect(queue_, &JobQueue::jobAdded, this, &QueueView::addRow);
  connect(queue_, &JobQueue::jobChanged, this, &QueueView::updateRow);
  connect(cancel, &QPushButton::clicked, this, [this] {
    if (selectedJob()) queue_->cancel(selectedJob());
  });
  connect(rerun, &QPushButton::clicked, this, [this] {
    if (selectedJob()) queue_->rerun(selectedJob());
  });
  connect(copy, &QPushButton::clicked, this, [this] {
    if (const auto* j = queue_->job(selectedJob())) QApplication::clipboard()->setText(j->spec.commandLine);
  });
  connect(clear, &QPushButton::clicked, this, [this] {
    for (int row = table_->rowCount() - 1; row >= 0; --row) {
      const auto* j = queue_->job(table_->item(row, ColId)->data(Qt::UserRole).toInt());
      if (j && j->state != JobState::Queued && j->state != JobState::Running) table_->removeRow(row);
    }
  });
  connect(concurrency_, &QSpinBox::valueChanged, queue_, &JobQueue::setConcurrency);
  connect(table_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
    emit jobActivated(table_->item(row, ColId)->data(Qt::UserRole).toInt());
  });
  for (int id : queue_->jobIds()) addRow(id);
}

int QueueView::rowOf(int jobId) const {
  for (int row = 0; row < table_->rowCount(); ++row)
    if (table_->item(row, ColId)->data(Qt::UserRole).toInt() == jobId) return row;
  return -1;
}

int QueueView::selectedJob() const {
  const auto rows = table_->selectionModel()->selectedRows();
  return rows.isEmpty() ? 0 : table_->item(rows.front().row(), ColId)->data(Qt::UserRole).toInt();
}

void QueueView::selectJob(int jobId) {
  if (int row = rowOf(jobId); row >= 0) table_->selectRow(row);
}

void QueueView::addRow(int jobId) {
  const int row = table_->rowCount();
  table_->insertRow(row);
  auto* id = new QTableWidgetItem(QString::number(jobId));
  id->setData(Qt::UserRole, jobId);
  table_->setItem(row, ColId, id);
  for (int c = ColTitle; c < ColCount; ++c)
    if (c != ColProgress) table_->setItem(row, c, new QTableWidgetItem);
  auto* bar = new QProgressBar(table_);
  bar->setRange(0, 1000);
  bar->setTextVisible(true);
  table_->setCellWidget(row, ColProgress, bar);
  updateRow(jobId);
}

void QueueView::updateRow(int jobId) {
  const int row = rowOf(jobId);
  const auto* j = queue_->job(jobId);
  if (row < 0 || !j) return;
  table_->item(row, ColTitle)->setText(j->spec.title);
  table_->item(row, ColTitle)->setToolTip(j->spec.commandLine);
  table_->item(row, ColState)->setText(jobStateName(j->state));
  auto* bar = static_cast<QProgressBar*>(table_->cellWidget(row, ColProgress));
  bar->setValue(static_cast<int>(std::lround(std::clamp(j->progress, 0.0, 1.0) * 1000)));
  bar->setFormat(QStringLiteral("%1 %").arg(j->progress * 100, 0, 'f', 1));
  table_->item(row, ColStep)->setText(j->step > 0 ? QString::number(j->step) : QString());
  table_->item(row, ColSpeed)->setText(j->tokensPerSec > 0 ? QString::number(j->tokensPerSec, 'f', 0) : QString());
  table_->item(row, ColEta)->setText(j->state == JobState::Running ? formatDuration(j->etaSeconds) : QString());
  table_->item(row, ColRun)->setText(j->runId ? QStringLiteral("#%1").arg(j->runId) : QString());
  table_->item(row, ColMessage)->setText(j->message);
  table_->item(row, ColMessage)->setToolTip(j->message);
}

}  // namespace gui
}  // namespace dm
