#include "app/gui/experiment_form.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QMap>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSignalBlocker>
#include <QVBoxLayout>

#include "app/gui/job_specs.h"
#include "app/gui/language.h"
#include "core/common/error.h"
#include "core/config/experiment_config.h"
#include "core/config/schema.h"

namespace dm {
namespace gui {
namespace {

using config::KeyType;

QString jsonText(const nlohmann::json& v) {
  if (v.is_null()) return QStringLiteral("null");
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  return QString::fromStdString(v.dump());
}

QString toolTipOf(const config::KeySpec& k) {
  QString tip = QStringLiteral("<b>%1</b> (%2)<br>%3<br>").arg(QString::fromStdString(k.key),
                                                                 QString::fromStdString(config::type_name(k)),
                                                                 QString::fromStdString(k.doc).toHtmlEscaped());
  tip += QApplication::translate("dm::gui::ExperimentForm", "default: %1").arg(jsonText(k.default_value).toHtmlEscaped());
  if (k.type == KeyType::integer || k.type == KeyType::number) {
    QStringList range;
    if (k.min > -1e299) range << (k.exclusive_min ? "> " : "≥ ") + QString::number(k.min);
    if (k.max < 1e299) range << "≤ " + QString::number(k.max);
    if (!range.isEmpty()) tip += QStringLiteral("<br>") + QApplication::translate("dm::gui::ExperimentForm", "range: %1").arg(range.join(", "));
  }
  if (k.nullable) tip += QStringLiteral("<br>") + QApplication::translate("dm::gui::ExperimentForm", "null allowed");
  return tip;
}

}  // namespace

ExperimentForm::ExperimentForm(QWidget* parent) : QWidget(parent) {
  auto* top = new QVBoxLayout(this);
  auto* head = new QFormLayout;
  presetBox_ = new QComboBox(this);
  presetBox_->setObjectName("presetBox");
  familyBox_ = new QComboBox(this);
  familyBox_->setObjectName("familyBox");
  familyBox_->addItem(QStringLiteral("Mamba2"), "mamba2");  // names, the same in every language
  familyBox_->addItem(QStringLiteral("Diff-Mamba2"), "diffmamba2");
  familyBox_->addItem(QStringLiteral("Mamba-1"), "mamba");
  familyBox_->addItem(QStringLiteral("Diff-Mamba (Mamba-1)"), "diffmamba");
  familyBox_->addItem(QStringLiteral("Diff-Mamba2E"), "diffmamba2E");
  familyBox_->addItem(QStringLiteral("Diff-S6"), "diffs6");
  familyBox_->addItem(QStringLiteral("Diff-S6-Mamba2"), "diffs6mamba2");
  nameEdit_ = new QLineEdit(this);
  nameEdit_->setObjectName("runName");
  filterEdit_ = new QLineEdit(this);
  filterEdit_->setObjectName("keyFilter");
  filterEdit_->setClearButtonEnabled(true);
  QList<QLabel*> headLabels;
  for (QWidget* field : {static_cast<QWidget*>(presetBox_), static_cast<QWidget*>(familyBox_), static_cast<QWidget*>(nameEdit_),
                         static_cast<QWidget*>(filterEdit_)}) {
    headLabels << new QLabel(this);
    head->addRow(headLabels.back(), field);
  }
  top->addLayout(head);

  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  auto* inner = new QWidget(scroll);
  auto* innerLayout = new QVBoxLayout(inner);
  buildFields(innerLayout);
  innerLayout->addStretch(1);
  scroll->setWidget(inner);
  top->addWidget(scroll, 1);

  errorLabel_ = new QLabel(this);
  errorLabel_->setObjectName("validationError");
  errorLabel_->setWordWrap(true);
  errorLabel_->setStyleSheet("color: #b00020;");
  errorLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  top->addWidget(errorLabel_);

  auto* cmdRow = new QHBoxLayout;
  commandEdit_ = new QLineEdit(this);
  commandEdit_->setObjectName("commandLine");
  commandEdit_->setReadOnly(true);
  auto* copy = new QPushButton(this);
  connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(commandLine()); });
  auto* commandLabel = new QLabel(this);
  cmdRow->addWidget(commandLabel);
  cmdRow->addWidget(commandEdit_, 1);
  cmdRow->addWidget(copy);
  top->addLayout(cmdRow);

  processesLabel_ = new QLabel(this);
  processesLabel_->setObjectName("processesLabel");
  top->addWidget(processesLabel_);

  // Run this set: the ticked families, each with these settings.
  auto* setRow = new QHBoxLayout;
  auto* setLabel = new QLabel(this);
  setRow->addWidget(setLabel);
  for (int i = 0; i < familyBox_->count(); ++i) {
    auto* box = new QCheckBox(familyBox_->itemText(i), this);
    box->setObjectName("setFamily_" + familyBox_->itemData(i).toString());
    box->setProperty("family", familyBox_->itemData(i));
    connect(box, &QCheckBox::toggled, this, [this] {
      QSettings().setValue("experiments/familySet", familySet());
      updateRunSet();
    });
    setBoxes_ << box;
    setRow->addWidget(box);
  }
  setRow->addStretch(1);
  top->addLayout(setRow);

  auto* buttons = new QHBoxLayout;
  run_ = new QPushButton(this);
  run_->setObjectName("runButton");
  runSet_ = new QPushButton(this);
  runSet_->setObjectName("runSetButton");
  sweep_ = new QPushButton(this);
  sweep_->setObjectName("sweepButton");
  save_ = new QPushButton(this);
  auto* reset = new QPushButton(this);
  buttons->addWidget(reset);
  buttons->addWidget(save_);
  buttons->addStretch(1);
  buttons->addWidget(sweep_);
  buttons->addWidget(runSet_);
  buttons->addWidget(run_);
  top->addLayout(buttons);
  onLanguageChange(this, [=, this] {
    nameEdit_->setPlaceholderText(tr("default: the preset's name"));
    filterEdit_->setPlaceholderText(tr("filter keys, e.g. lr or loader"));
    const QStringList heads = {tr("Preset"), tr("Model family"), tr("Run name"), tr("Find a key")};
    for (int i = 0; i < heads.size(); ++i) headLabels[i]->setText(heads[i]);
    copy->setText(tr("Copy"));
    commandLabel->setText(tr("Command line"));
    processesLabel_->setToolTip(tr("trainer.devices and trainer.accelerator decide it: several devices train as several "
                                   "data-parallel processes (PyTorch c10d), which the window starts as child processes"));
    run_->setText(tr("Run"));
    sweep_->setText(tr("Sweep…"));
    sweep_->setToolTip(tr("Queue a grid of runs of these settings (e.g. learning rate × weight decay) as one sweep"));
    setLabel->setText(tr("Set to compare:"));
    runSet_->setToolTip(tr("Queue this experiment once for each ticked family, with the same other settings and seed"));
    updateRunSet();
    save_->setText(tr("Save as preset…"));
    reset->setText(tr("Reset to preset"));
    for (auto it = sectionBoxes_.cbegin(); it != sectionBoxes_.cend(); ++it) it.value()->setTitle(sectionTitle(it.key()));
    revalidate();  // the processes line in the new language
  });

  connect(presetBox_, &QComboBox::currentIndexChanged, this, [this] {
    if (!loading_) setPreset(presetBox_->currentText());
  });
  connect(familyBox_, &QComboBox::currentIndexChanged, this, &ExperimentForm::onFamilyChanged);
  connect(filterEdit_, &QLineEdit::textChanged, this, [this](const QString& text) {
    for (auto it = rows_.begin(); it != rows_.end(); ++it)
      it.value().first->setRowVisible(it.value().second, text.isEmpty() || it.key().contains(text, Qt::CaseInsensitive));
  });
  connect(nameEdit_, &QLineEdit::textChanged, this, &ExperimentForm::revalidate);
  connect(reset, &QPushButton::clicked, this, [this] { setPreset(preset()); });
  connect(save_, &QPushButton::clicked, this, &ExperimentForm::onSaveClicked);
  connect(run_, &QPushButton::clicked, this, [this] {
    if (error_.isEmpty()) emit runRequested(arguments(), runName());
  });
  connect(sweep_, &QPushButton::clicked, this, [this] {
    if (error_.isEmpty()) emit sweepRequested(arguments(), runName());
  });
  connect(runSet_, &QPushButton::clicked, this, [this] {
    const QStringList families = familySet();
    if (!error_.isEmpty() || families.isEmpty()) return;
    QList<QStringList> args;
    for (const auto& f : families) args << argumentsFor(f);
    emit runSetRequested(args, families, runName());
  });

  setFamilySet(QSettings().value("experiments/familySet", QStringList{"mamba2", "diffmamba2"}).toStringList());
  reloadPresets();
}

QStringList ExperimentForm::argumentsFor(const QString& family) const {
  const QString self = preset();
  const QString base = family == value("model.family") ? self : presetFor(family);
  QStringList a;
  a << "experiment=" + (base.isEmpty() ? self : base) << overrides(false);
  if (base.isEmpty()) a << "model.family=" + family;
  return a;
}

QStringList ExperimentForm::familySet() const {
  QStringList out;
  for (auto* b : setBoxes_)
    if (b->isChecked()) out << b->property("family").toString();
  return out;
}

void ExperimentForm::setFamilySet(const QStringList& families) {
  for (auto* b : setBoxes_) {
    const QSignalBlocker quiet(b);
    b->setChecked(families.contains(b->property("family").toString()));
  }
  QSettings().setValue("experiments/familySet", familySet());
  updateRunSet();
}

void ExperimentForm::updateRunSet() {
  const int n = static_cast<int>(familySet().size());
  runSet_->setText(tr("Run this set (%1)").arg(n));
  runSet_->setEnabled(error_.isEmpty() && n > 0);
}

// A group of keys' title: the config section (dataset, model, …) in the current language.
QString ExperimentForm::sectionTitle(const QString& section) {
  static const char* const kSections[] = {QT_TR_NOOP("general"), QT_TR_NOOP("dataset"),   QT_TR_NOOP("loader"),
                                          QT_TR_NOOP("model"),   QT_TR_NOOP("optimizer"), QT_TR_NOOP("scheduler"),
                                          QT_TR_NOOP("task"),    QT_TR_NOOP("train"),     QT_TR_NOOP("trainer")};
  for (const char* s : kSections)
    if (section == QLatin1String(s)) return tr(s);
  return section;
}

void ExperimentForm::buildFields(QVBoxLayout* into) {
  QHash<QString, QFormLayout*> groups;
  for (const auto& k : config::schema()) {
    const QString key = QString::fromStdString(k.key);
    if (key == "experiment") continue;  // the preset box
    const QString section = key.contains('.') ? key.section('.', 0, 0) : QStringLiteral("general");
    if (!groups.contains(section)) {
      auto* box = new QGroupBox(sectionTitle(section), this);
      sectionBoxes_.insert(section, box);
      auto* form = new QFormLayout(box);
      form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
      into->addWidget(box);
      groups.insert(section, form);
    }
    Field f;
    f.key = key;
    f.type = static_cast<int>(k.type);
    if (k.type == KeyType::boolean) {
      auto* c = new QCheckBox(this);
      connect(c, &QCheckBox::toggled, this, &ExperimentForm::revalidate);
      f.editor = c;
    } else if (k.type == KeyType::choice) {
      auto* c = new QComboBox(this);
      for (const auto& ch : k.choices) c->addItem(QString::fromStdString(ch));
      if (k.nullable) c->addItem("null");
      connect(c, &QComboBox::currentIndexChanged, this, &ExperimentForm::revalidate);
      f.editor = c;
    } else {
      auto* e = new QLineEdit(this);
      connect(e, &QLineEdit::textChanged, this, &ExperimentForm::revalidate);
      f.editor = e;
    }
    f.editor->setObjectName("field:" + key);
    f.editor->setToolTip(toolTipOf(k));
    auto* label = new QLabel(key.contains('.') ? key.section('.', 1) : key, this);
    label->setObjectName("fieldLabel:" + key);  // a key's name: the same in every language
    label->setToolTip(f.editor->toolTip());
    groups[section]->addRow(label, f.editor);
    rows_.insert(key, {groups[section], f.editor});
    fields_.append(f);
  }
}

void ExperimentForm::reloadPresets() {
  const QString current = presetBox_->currentText();
  loading_ = true;
  presetBox_->clear();
  for (const auto& p : config::list_presets()) presetBox_->addItem(QString::fromStdString(p));
  loading_ = false;
  const int i = presetBox_->findText(current);
  const int demo = presetBox_->findText("demo/diffmamba2-fortunes");
  setPreset(presetBox_->itemText(i >= 0 ? i : (demo >= 0 ? demo : 0)));
}

QStringList ExperimentForm::presets() const {
  QStringList out;
  for (int i = 0; i < presetBox_->count(); ++i) out << presetBox_->itemText(i);
  return out;
}

QString ExperimentForm::preset() const { return presetBox_->currentText(); }

void ExperimentForm::setPreset(const QString& p) {
  loading_ = true;
  const int i = presetBox_->findText(p);
  if (i >= 0) presetBox_->setCurrentIndex(i);
  config::ExperimentConfig cfg;
  try {
    cfg = config::resolve({"experiment=" + p.toStdString()});
  } catch (const std::exception& e) {
    loading_ = false;
    error_ = QString::fromUtf8(e.what());
    errorLabel_->setText(error_);
    return;
  }
  for (auto& f : fields_) {
    f.baseline = jsonText(cfg.at(f.key.toStdString()));
    setFieldText(f, f.baseline);
  }
  const int fam = familyBox_->findData(value("model.family"));
  if (fam >= 0) familyBox_->setCurrentIndex(fam);
  loading_ = false;
  revalidate();
}

QString ExperimentForm::fieldText(const Field& f) const {
  if (auto* c = qobject_cast<QCheckBox*>(f.editor)) return c->isChecked() ? "true" : "false";
  if (auto* c = qobject_cast<QComboBox*>(f.editor)) return c->currentText();
  if (auto* e = qobject_cast<QLineEdit*>(f.editor)) return e->text();
  return {};
}

void ExperimentForm::setFieldText(Field& f, const QString& text) {
  if (auto* c = qobject_cast<QCheckBox*>(f.editor)) c->setChecked(text == "true");
  if (auto* c = qobject_cast<QComboBox*>(f.editor)) {
    int i = c->findText(text);
    if (i < 0) {
      c->addItem(text);  // a preset's value outside the choices: shown, and validation says so
      i = c->count() - 1;
    }
    c->setCurrentIndex(i);
  }
  if (auto* e = qobject_cast<QLineEdit*>(f.editor)) e->setText(text);
}

bool ExperimentForm::setValue(const QString& key, const QString& text) {
  for (auto& f : fields_)
    if (f.key == key) {
      setFieldText(f, text);
      revalidate();
      return true;
    }
  return false;
}

QString ExperimentForm::value(const QString& key) const {
  for (const auto& f : fields_)
    if (f.key == key) return fieldText(f);
  return {};
}

QWidget* ExperimentForm::editor(const QString& key) const {
  for (const auto& f : fields_)
    if (f.key == key) return f.editor;
  return nullptr;
}

QStringList ExperimentForm::overrides(bool withFamily) const {
  QStringList out;
  for (const auto& f : fields_) {
    if (!withFamily && f.key == "model.family") continue;
    const QString t = fieldText(f);
    if (t != f.baseline) out << f.key + "=" + t;
  }
  return out;
}

QStringList ExperimentForm::arguments() const { return QStringList{"experiment=" + preset()} + overrides(true); }

QString ExperimentForm::runName() const { return nameEdit_->text().trimmed(); }

QString ExperimentForm::commandLine() const {
  QStringList words = {"diffmamba", "train"};
  if (!runName().isEmpty()) words << "--name" << runName();
  words << arguments();
  QStringList q;
  for (const auto& w : words) q << shellQuote(w);
  return q.join(' ');
}

QString ExperimentForm::presetFor(const QString& family) const {
  // The family is the part of the preset's name that names one (longest first: diffmamba2 holds mamba2).
  const QString p = preset();
  for (const char* name : {"diffs6mamba2", "diffmamba2E", "diffmamba2", "mamba2", "diffmamba", "diffs6", "mamba"})
    if (p.contains(QLatin1String(name))) {
      const QString other = QString(p).replace(QLatin1String(name), family);
      return other != p && presets().contains(other) ? other : QString();
    }
  return {};
}

void ExperimentForm::onFamilyChanged(int) {
  if (loading_) return;
  const QString family = familyBox_->currentData().toString();
  if (value("model.family") == family) return;
  const QString other = presetFor(family);
  if (!other.isEmpty()) {
    // Keep the user's edits (except the family) across the switch of preset.
    const QStringList kept = overrides(false);
    setPreset(other);
    for (const auto& o : kept) setValue(o.section('=', 0, 0), o.section('=', 1));
  } else {
    setValue("model.family", family);
  }
}

void ExperimentForm::revalidate() {
  if (loading_) return;
  for (const auto& f : fields_) f.editor->setStyleSheet(QString());
  QString err;
  std::vector<std::string> args;
  for (const auto& a : arguments()) args.push_back(a.toStdString());
  try {
    config::resolve(args);
    const int n = processesFor(arguments());
    processesLabel_->setText(n > 1 ? tr("Runs as %1 data-parallel processes (one per device), started by the window as "
                                        "child processes").arg(n)
                                   : tr("Runs as 1 process, inside the window"));
  } catch (const ConfigError& e) {
    err = QString::fromUtf8(e.what());
    if (auto* w = editor(QString::fromStdString(e.parameter()))) w->setStyleSheet("background: #fde7ea;");
  } catch (const std::exception& e) {
    err = QString::fromUtf8(e.what());
  }
  const bool changed = err != error_;
  error_ = err;
  errorLabel_->setText(err);
  errorLabel_->setVisible(!err.isEmpty());
  commandEdit_->setText(commandLine());
  run_->setEnabled(err.isEmpty());
  sweep_->setEnabled(err.isEmpty());
  updateRunSet();
  save_->setEnabled(err.isEmpty());
  if (changed) emit validityChanged(err.isEmpty());
}

QString ExperimentForm::savePreset(const QString& name, const QString& description) {
  if (!error_.isEmpty()) return error_;
  try {
    std::vector<std::string> args;
    for (const auto& a : arguments()) args.push_back(a.toStdString());
    const auto cfg = config::resolve(args);
    const auto saved = QString::fromStdString(config::save_user_preset(name.toStdString(), cfg, description.toStdString()));
    reloadPresets();
    setPreset(saved);
    emit presetSaved(saved);
    return {};
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
}

void ExperimentForm::onSaveClicked() {
  bool ok = false;
  const QString name = QInputDialog::getText(this, tr("Save as preset"), tr("Preset name (saved as user/<name>):"),
                                             QLineEdit::Normal, QString(), &ok);
  if (!ok || name.isEmpty()) return;
  const QString err = savePreset(name, value("description"));
  if (!err.isEmpty()) QMessageBox::warning(this, tr("Preset not saved"), err);
}

}  // namespace gui
}  // namespace dm
