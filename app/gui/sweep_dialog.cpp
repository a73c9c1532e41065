// LibTorch first (core's config headers reach it): Qt's `slots` macro must not precede it.
#include <torch/torch.h>

#include "app/gui/sweep_dialog.h"

#include <QCompleter>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStyledItemDelegate>
#include <QTableWidget>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>

#include "app/gui/language.h"
#include "core/config/experiment_config.h"
#include "core/config/schema.h"
#include "core/jobs/sweep.h"

namespace dm {
namespace gui {
namespace {

QString keyOf(const QString& arg) { return arg.section(QLatin1Char('='), 0, 0).trimmed(); }

// The key column completes configuration keys as they are typed.
class KeyDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    auto* w = QStyledItemDelegate::createEditor(parent, option, index);
    if (auto* edit = qobject_cast<QLineEdit*>(w); edit && index.column() == 0) {
      QStringList keys;
      for (const auto& k : config::schema()) keys << QString::fromStdString(k.key);
      auto* c = new QCompleter(keys, edit);
      c->setCaseSensitivity(Qt::CaseInsensitive);
      c->setFilterMode(Qt::MatchContains);
      edit->setCompleter(c);
    }
    return w;
  }
};

}  // namespace

SweepDialog::SweepDialog(const QStringList& baseArgs, const QString& name, QWidget* parent) : QDialog(parent), base_(baseArgs) {
  setObjectName("sweepDialog");
  for (const auto& a : base_)
    if (a.startsWith(QLatin1String("experiment="))) preset_ = a.mid(11);
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(this);
  intro->setWordWrap(true);
  layout->addWidget(intro);
  auto* baseLine = new QLineEdit(base_.join(' '), this);
  baseLine->setReadOnly(true);
  baseLine->setObjectName("sweepBase");
  auto* form = new QFormLayout;
  auto* baseLabel = new QLabel(this);
  form->addRow(baseLabel, baseLine);
  name_ = new QLineEdit(name, this);
  name_->setObjectName("sweepName");
  auto* nameLabel = new QLabel(this);
  form->addRow(nameLabel, name_);
  layout->addLayout(form);
  axes_ = new QTableWidget(0, 2, this);
  axes_->setObjectName("sweepAxes");
  axes_->setItemDelegate(new KeyDelegate(axes_));
  axes_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  layout->addWidget(axes_);
  auto* buttons = new QHBoxLayout;
  auto* add = new QPushButton(this);
  add->setObjectName("addAxis");
  auto* remove = new QPushButton(this);
  remove->setObjectName("removeAxis");
  buttons->addWidget(add);
  buttons->addWidget(remove);
  buttons->addStretch(1);
  layout->addLayout(buttons);
  count_ = new QLabel(this);
  count_->setObjectName("sweepCount");
  count_->setWordWrap(true);
  layout->addWidget(count_);
  preview_ = new QPlainTextEdit(this);
  preview_->setObjectName("sweepPreview");
  preview_->setReadOnly(true);
  layout->addWidget(preview_, 1);
  auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  ok_ = box->button(QDialogButtonBox::Ok);
  layout->addWidget(box);
  onLanguageChange(this, [=, this] {
    setWindowTitle(tr("Sweep"));
    intro->setText(tr("Queue one run per combination of the values below, all grouped under one sweep record. "
                      "Each row is an axis: a configuration key and its values, separated by commas."));
    baseLabel->setText(tr("Base job"));
    nameLabel->setText(tr("Sweep name"));
    name_->setPlaceholderText(tr("default: the preset and the axes"));
    axes_->setHorizontalHeaderLabels({tr("Key"), tr("Values")});
    add->setText(tr("Add axis"));
    remove->setText(tr("Remove axis"));
    revalidate();
  });
  connect(add, &QPushButton::clicked, this, [this] { addAxis(QString(), QString()); });
  connect(remove, &QPushButton::clicked, this, [this] {
    removeAxis(axes_->currentRow() >= 0 ? axes_->currentRow() : axes_->rowCount() - 1);
  });
  connect(axes_, &QTableWidget::cellChanged, this, [this] {
    if (!loading_) revalidate();
  });
  connect(name_, &QLineEdit::textChanged, this, [this] { revalidate(); });
  connect(box, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);
  // The seed's MAD grid, a sensible first sweep of any preset.
  loading_ = true;
  addAxis(QStringLiteral("optimizer.lr"), QStringLiteral("1e-4, 5e-4, 1e-3"));
  addAxis(QStringLiteral("optimizer.weight_decay"), QStringLiteral("0, 0.1"));
  loading_ = false;
  revalidate();
  resize(720, 560);
}

int SweepDialog::addAxis(const QString& key, const QString& values) {
  const int row = axes_->rowCount();
  axes_->insertRow(row);
  setAxis(row, key, values);
  return row;
}

void SweepDialog::setAxis(int row, const QString& key, const QString& values) {
  while (axes_->rowCount() <= row) axes_->insertRow(axes_->rowCount());
  const bool was = loading_;
  loading_ = true;
  axes_->setItem(row, 0, new QTableWidgetItem(key));
  axes_->setItem(row, 1, new QTableWidgetItem(values));
  loading_ = was;
  if (!loading_) revalidate();
}

void SweepDialog::removeAxis(int row) {
  if (row < 0 || row >= axes_->rowCount()) return;
  axes_->removeRow(row);
  revalidate();
}

int SweepDialog::axisCount() const { return axes_->rowCount(); }

QString SweepDialog::sweepName() const {
  if (!name_->text().trimmed().isEmpty()) return name_->text().trimmed();
  return (preset_.isEmpty() ? QStringLiteral("train") : preset_) + (axesText_.isEmpty() ? QString() : ": " + axesText_);
}

QString SweepDialog::baseJson() const {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& a : fixed_) j.push_back(a.toStdString());
  return QString::fromStdString(j.dump());
}

QString SweepDialog::gridJson() const { return gridJson_; }

void SweepDialog::revalidate() {
  error_.clear();
  grid_.clear();
  labels_.clear();
  combos_.clear();
  fixed_.clear();
  gridJson_.clear();
  QStringList axisArgs, keys;
  for (int r = 0; r < axes_->rowCount() && error_.isEmpty(); ++r) {
    const QString key = axes_->item(r, 0) ? axes_->item(r, 0)->text().trimmed() : QString();
    const QString text = axes_->item(r, 1) ? axes_->item(r, 1)->text().trimmed() : QString();
    if (key.isEmpty() && text.isEmpty()) continue;  // a row being filled in
    if (key.isEmpty()) {
      error_ = tr("Axis %1 has values but no key.").arg(r + 1);
      break;
    }
    if (!config::find_key(key.toStdString())) {
      QStringList near;
      for (const auto& k : config::nearest_keys(key.toStdString())) near << QString::fromStdString(k);
      error_ = tr("Axis %1: \"%2\" is not a configuration key (nearest: %3).").arg(r + 1).arg(key, near.join(", "));
      break;
    }
    QStringList values;
    if (text.startsWith('[')) {
      axisArgs << key + "=" + text;
    } else {
      for (const auto& v : text.split(',', Qt::SkipEmptyParts))
        if (!v.trimmed().isEmpty()) values << v.trimmed();
      if (values.isEmpty()) {
        error_ = tr("Axis %1 (%2) has no values.").arg(r + 1).arg(key);
        break;
      }
      axisArgs << key + "=[" + values.join(',') + "]";
    }
    keys << key;
  }
  axesText_ = keys.join(QStringLiteral(" × "));
  if (error_.isEmpty()) {
    // The axes replace the form's own value of their keys.
    for (const auto& a : base_)
      if (!keys.contains(keyOf(a))) fixed_ << a;
    grid_ = fixed_ + axisArgs;
    try {
      std::vector<std::string> args;
      for (const auto& a : grid_) args.push_back(a.toStdString());
      const auto grid = jobs::parse_grid(args);
      gridJson_ = QString::fromStdString(jobs::grid_json(grid));
      const auto all = jobs::combinations(grid);
      for (size_t i = 0; i < all.size(); ++i) {
        try {
          config::resolve(all[i]);  // as `sweep train`: every combination resolves before anything runs
        } catch (const std::exception& e) {
          throw std::runtime_error(tr("Combination %1: %2").arg(i + 1).arg(QString::fromUtf8(e.what())).toStdString());
        }
        QStringList c, label;
        for (size_t k = 0; k < all[i].size(); ++k) {
          c << QString::fromStdString(all[i][k]);
          if (k >= grid.fixed.size()) label << c.back();
        }
        combos_ << c;
        labels_ << label.join(' ');
      }
    } catch (const std::exception& e) {
      error_ = QString::fromUtf8(e.what());
      combos_.clear();
      labels_.clear();
    }
  }
  if (!error_.isEmpty()) {
    count_->setText(error_);
    count_->setStyleSheet(QStringLiteral("color: #b00020;"));
    preview_->clear();
  } else {
    count_->setText(tr("%n run(s) in sweep \"%1\"", nullptr, static_cast<int>(combos_.size())).arg(sweepName()));
    count_->setStyleSheet(QString());
    QStringList lines;
    for (int i = 0; i < labels_.size(); ++i) lines << QStringLiteral("%1  %2").arg(i + 1, 3).arg(labels_[i]);
    preview_->setPlainText(lines.join('\n'));
  }
  ok_->setEnabled(error_.isEmpty() && !combos_.isEmpty());
  ok_->setText(combos_.isEmpty() ? tr("Queue") : tr("Queue %n run(s)", nullptr, static_cast<int>(combos_.size())));
}

}  // namespace gui
}  // namespace dm
