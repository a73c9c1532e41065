// LibTorch (through core) before Qt: Qt's `slots` macro breaks its headers.
#include "core/babilong/babilong.h"
#include "core/common/error.h"
#include "core/jobs/attention_job.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/model_source.h"
#include "core/model/implicit_attention.h"
#include "core/store/run_store.h"

#include "app/gui/attention_view.h"
#include "app/gui/figure_export.h"
#include "app/gui/settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMouseEvent>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTableWidget>
#include <QThread>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <qcustomplot.h>

#include "app/figures/attention_data.h"
#include "app/gui/language.h"
#include "app/gui/store_worker.h"
#include "plotting/export.h"
#include "plotting/figure.h"

namespace dm {
namespace gui {

struct AttentionView::Side {
  QString label;
  model::ImplicitAttention maps;
  jobs::AttentionSample sample;
  std::vector<jobs::AttentionLayerReport> report;
};

struct AttentionView::Result {
  std::vector<Side> sides;
  QString error, sampleLabel;
  double seconds = 0;
};

namespace {

// Everything the worker needs, copied from the widgets on the UI thread.
struct Request {
  std::vector<std::pair<QString, std::string>> models;  // label, path
  AttentionView::Source source = AttentionView::Source::File;
  std::string file, task, length, text, needle, question;
  std::string device = "auto";  // Settings → Device: where the forward passes run (the maps: on the CPU)
  int index = 0, seed = 0;
};

constexpr int64_t kMaxTokens = 16384;  // one head's [L, L] window is 1 GiB of floats there

std::shared_ptr<AttentionView::Result> trace(const Request& q) {
  auto r = std::make_shared<AttentionView::Result>();
  const auto t0 = std::chrono::steady_clock::now();
  try {
    std::vector<babilong::Record> records;
    if (q.source == AttentionView::Source::File) {
      if (q.file.empty()) throw ConfigError("sample", "(none)", "choose a BABILong file (.jsonl / .json)");
      records = babilong::read_records(q.file);
      if (q.index >= static_cast<int>(records.size()))
        throw ConfigError("index", std::to_string(q.index), "the file holds " + std::to_string(records.size()) + " records");
      r->sampleLabel = QStringLiteral("%1 #%2").arg(QFileInfo(QString::fromStdString(q.file)).fileName()).arg(q.index);
    }
    for (const auto& [label, path] : q.models) {
      AttentionView::Side side;
      side.label = label;
      auto tm = jobs::open_text_model(path);
      tm.model->to(jobs::device_from_option(q.device));
      switch (q.source) {
        case AttentionView::Source::File:
          side.sample = jobs::attention_sample_from_record(*tm.codec, records[static_cast<size_t>(q.index)]);
          break;
        case AttentionView::Source::Generated: {
          // Generated in this model's own tokens (the length is counted in them).
          const auto recs = jobs::babilong_cell(q.task, q.length, 1, static_cast<uint64_t>(q.seed), *tm.codec, nullptr, "");
          side.sample = jobs::attention_sample_from_record(*tm.codec, recs.front());
          r->sampleLabel = QStringLiteral("%1 · %2 · seed %3").arg(QString::fromStdString(q.task), QString::fromStdString(q.length)).arg(q.seed);
          break;
        }
        case AttentionView::Source::Text:
          side.sample = jobs::attention_sample_from_text(*tm.codec, q.text,
                                                         q.needle.empty() ? std::vector<std::string>{} : std::vector<std::string>{q.needle},
                                                         q.question);
          r->sampleLabel = QStringLiteral("text");
          break;
      }
      const auto L = static_cast<int64_t>(side.sample.ids.size());
      if (L > kMaxTokens)
        throw ConfigError("sample", std::to_string(L) + " tokens",
                          "the viewer maps at most 16,384 tokens; `diffmamba attention --layers … --heads …` writes "
                          "longer samples' maps to a file");
      side.maps = model::ImplicitAttention::trace(tm.model, torch::tensor(side.sample.ids, torch::kLong));
      side.report = jobs::attention_report(side.maps, side.sample);
      r->sides.push_back(std::move(side));
    }
  } catch (const std::exception& e) {
    r->error = QString::fromUtf8(e.what());
    r->sides.clear();
  }
  r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

QString number(double v, int decimals = 4) { return std::isnan(v) ? QStringLiteral("–") : QString::number(v, 'g', decimals); }

}  // namespace

AttentionView::AttentionView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QHBoxLayout(this);
  auto* split = new QSplitter(this);
  layout->addWidget(split);
  auto* left = new QWidget(split);
  auto* form = new QFormLayout(left);
  auto modelBox = [&](const char* name) {
    auto* box = new QComboBox(left);
    box->setObjectName(name);
    box->setEditable(true);
    box->setInsertPolicy(QComboBox::NoInsert);
    box->setMinimumContentsLength(24);
    return box;
  };
  modelA_ = modelBox("attentionModelA");
  modelB_ = modelBox("attentionModelB");
  auto* browseA = new QPushButton(left);
  auto* browseB = new QPushButton(left);
  auto rowOf = [&](QWidget* a, QWidget* b) {
    auto* row = new QHBoxLayout;
    row->addWidget(a, 1);
    row->addWidget(b);
    return row;
  };
  source_ = new QComboBox(left);
  source_->setObjectName("attentionSource");
  for (int i = 0; i < 3; ++i) source_->addItem(QString());
  sourcePages_ = new QStackedWidget(left);
  // File page
  auto* filePage = new QWidget(sourcePages_);
  auto* fileForm = new QFormLayout(filePage);
  fileForm->setContentsMargins(0, 0, 0, 0);
  sampleFile_ = new QLineEdit(filePage);
  sampleFile_->setObjectName("attentionSampleFile");
  auto* browseSample = new QPushButton(filePage);
  index_ = new QSpinBox(filePage);
  index_->setObjectName("attentionIndex");
  index_->setRange(0, 1000000);
  auto* fileLabel = new QLabel(filePage);
  auto* indexLabel = new QLabel(filePage);
  fileForm->addRow(fileLabel, rowOf(sampleFile_, browseSample));
  fileForm->addRow(indexLabel, index_);
  // Generated page
  auto* genPage = new QWidget(sourcePages_);
  auto* genForm = new QFormLayout(genPage);
  genForm->setContentsMargins(0, 0, 0, 0);
  task_ = new QComboBox(genPage);
  task_->setObjectName("attentionTask");
  for (const auto& t : babilong::generated_tasks()) task_->addItem(QString(), QString::fromStdString(t));
  length_ = new QComboBox(genPage);
  length_->setObjectName("attentionLength");
  for (const char* l : {"0k", "1k", "2k", "4k", "8k", "16k"}) length_->addItem(QString::fromLatin1(l));
  length_->setCurrentText(QStringLiteral("1k"));
  seed_ = new QSpinBox(genPage);
  seed_->setObjectName("attentionSeed");
  seed_->setRange(0, 1000000);
  auto* taskLabel = new QLabel(genPage);
  auto* lengthLabel = new QLabel(genPage);
  auto* seedLabel = new QLabel(genPage);
  genForm->addRow(taskLabel, task_);
  genForm->addRow(lengthLabel, length_);
  genForm->addRow(seedLabel, seed_);
  // Text page
  auto* textPage = new QWidget(sourcePages_);
  auto* textForm = new QFormLayout(textPage);
  textForm->setContentsMargins(0, 0, 0, 0);
  text_ = new QPlainTextEdit(textPage);
  text_->setObjectName("attentionText");
  text_->setMaximumHeight(90);
  needle_ = new QLineEdit(textPage);
  needle_->setObjectName("attentionNeedle");
  question_ = new QLineEdit(textPage);
  question_->setObjectName("attentionQuestion");
  auto* textLabel = new QLabel(textPage);
  auto* needleLabel = new QLabel(textPage);
  auto* questionLabel = new QLabel(textPage);
  textForm->addRow(textLabel, text_);
  textForm->addRow(needleLabel, needle_);
  textForm->addRow(questionLabel, question_);
  for (QWidget* page : {filePage, genPage, textPage}) sourcePages_->addWidget(page);
  connect(source_, &QComboBox::currentIndexChanged, sourcePages_, &QStackedWidget::setCurrentIndex);
  computeButton_ = new QPushButton(left);
  computeButton_->setObjectName("attentionCompute");
  // View
  block_ = new QComboBox(left);
  block_->setObjectName("attentionBlock");
  head_ = new QSpinBox(left);
  head_->setObjectName("attentionHead");
  head_->setRange(0, 0);
  map_ = new QComboBox(left);
  map_->setObjectName("attentionMap");
  for (int i = 0; i < 3; ++i) map_->addItem(QString());
  scale_ = new QComboBox(left);
  scale_->setObjectName("attentionScale");
  scale_->addItem(QString());
  scale_->addItem(QString());
  from_ = new QSpinBox(left);
  from_->setObjectName("attentionFrom");
  to_ = new QSpinBox(left);
  to_->setObjectName("attentionTo");
  for (auto* sb : {from_, to_}) sb->setRange(0, static_cast<int>(kMaxTokens));
  auto* zoomNeedle = new QPushButton(left);
  zoomNeedle->setObjectName("attentionZoomNeedle");
  auto* whole = new QPushButton(left);
  auto* exportButton = new QPushButton(left);
  exportButton->setObjectName("attentionExport");
  auto* rangeRow = new QHBoxLayout;
  rangeRow->addWidget(from_);
  rangeRow->addWidget(new QLabel(QStringLiteral("–"), left));
  rangeRow->addWidget(to_);
  auto* zoomRow = new QHBoxLayout;
  zoomRow->addWidget(zoomNeedle);
  zoomRow->addWidget(whole);

  QList<QLabel*> labels;
  auto addRow = [&](QWidget* field) {
    labels << new QLabel(left);
    form->addRow(labels.back(), field);
  };
  auto addLayoutRow = [&](QLayout* field) {
    labels << new QLabel(left);
    form->addRow(labels.back(), field);
  };
  addLayoutRow(rowOf(modelA_, browseA));
  addLayoutRow(rowOf(modelB_, browseB));
  addRow(source_);
  form->addRow(sourcePages_);
  form->addRow(computeButton_);
  addRow(block_);
  addRow(head_);
  addRow(map_);
  addRow(scale_);
  addLayoutRow(rangeRow);
  form->addRow(zoomRow);
  form->addRow(exportButton);
  status_ = new QLabel(left);
  status_->setObjectName("attentionStatus");
  status_->setWordWrap(true);
  form->addRow(status_);

  auto* right = new QSplitter(Qt::Vertical, split);
  plot_ = new QCustomPlot(right);
  plot_->setObjectName("attentionPlot");
  plot_->setMinimumSize(520, 420);
  plot_->setMouseTracking(true);
  plot_->installEventFilter(this);
  table_ = new QTableWidget(right);
  table_->setObjectName("attentionTable");
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->setVisible(false);
  right->setStretchFactor(0, 3);
  right->setStretchFactor(1, 1);
  split->setStretchFactor(1, 1);

  onLanguageChange(this, [=, this] {
    const QStringList rows = {tr("Model A"), tr("Model B"), tr("Sample"), tr("Block"), tr("Head"), tr("Map"), tr("Colours"),
                              tr("Positions")};
    for (int i = 0; i < rows.size(); ++i) labels[i]->setText(rows[i]);
    for (auto* b : {browseA, browseB, browseSample}) b->setText(tr("Browse…"));
    modelA_->setToolTip(tr("A workspace run with a model file, a demo model, or any model path (file, run folder, HF directory)"));
    modelB_->setToolTip(modelA_->toolTip() + tr(" — leave empty to map one model"));
    const QStringList tasks = {tr("qa1: one supporting fact"), tr("qa2: two supporting facts"), tr("qa3: three supporting facts"),
                               tr("qa4: two-argument relations"), tr("qa5: three-argument relations")};
    for (int i = 0; i < task_->count() && i < tasks.size(); ++i) task_->setItemText(i, tasks[i]);
    source_->setItemText(0, tr("BABILong file"));
    source_->setItemText(1, tr("Generated bAbI sample"));
    source_->setItemText(2, tr("Text"));
    fileLabel->setText(tr("File"));
    indexLabel->setText(tr("Record"));
    taskLabel->setText(tr("Task"));
    lengthLabel->setText(tr("Length"));
    seedLabel->setText(tr("Seed"));
    textLabel->setText(tr("Text"));
    needleLabel->setText(tr("Needle"));
    questionLabel->setText(tr("Question"));
    computeButton_->setText(tr("Compute the maps"));
    map_->setItemText(0, tr("What the block applies (M₁ − λ·M₂)"));
    map_->setItemText(1, tr("Branch 1"));
    map_->setItemText(2, tr("Branch 2"));
    scale_->setItemText(0, tr("Signed (blue – white – red)"));
    scale_->setItemText(1, tr("log10 |M|"));
    zoomNeedle->setText(tr("Zoom to the needle"));
    whole->setText(tr("Whole sample"));
    exportButton->setText(tr("Export figure…"));
    fillTable();
  });

  auto browseModel = [this](QComboBox* box) {
    const QString path = QFileDialog::getOpenFileName(this, tr("Model file"), QString(), tr("Models (*.safetensors *.bin config.json);;All files (*)"));
    if (path.isEmpty()) return;
    // An HF directory is named by its config.json.
    box->setEditText(QFileInfo(path).fileName() == QStringLiteral("config.json") ? QFileInfo(path).path() : path);
  };
  connect(browseA, &QPushButton::clicked, this, [=, this] { browseModel(modelA_); });
  connect(browseB, &QPushButton::clicked, this, [=, this] { browseModel(modelB_); });
  connect(browseSample, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("BABILong file"), QString(), tr("BABILong (*.jsonl *.json)"));
    if (!path.isEmpty()) sampleFile_->setText(path);
  });
  connect(computeButton_, &QPushButton::clicked, this, [this] { compute(); });
  connect(block_, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
  connect(head_, &QSpinBox::valueChanged, this, [this] { redraw(); });
  connect(map_, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
  connect(scale_, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
  connect(from_, &QSpinBox::editingFinished, this, [this] { redraw(); });
  connect(to_, &QSpinBox::editingFinished, this, [this] { redraw(); });
  connect(zoomNeedle, &QPushButton::clicked, this, [this] { zoomToNeedle(); });
  connect(whole, &QPushButton::clicked, this, [this] { setRange(0, 0); });
  connect(exportButton, &QPushButton::clicked, this, [this] { onExportClicked(); });

  // The demo models, when the demo has been run.
  const QString demo = QDir(QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation))
                           .filePath(QStringLiteral("diffmamba-studio/demo"));
  for (const char* m : {"mamba2-demo.safetensors", "diffmamba2-demo.safetensors"}) {
    const QString path = QDir(demo).filePath(QString::fromLatin1(m));
    if (QFileInfo(path).isFile())
      for (auto* box : {modelA_, modelB_}) box->addItem(tr("demo: %1").arg(QFileInfo(path).baseName()), path);
  }
  if (modelA_->count() >= 2) {
    modelA_->setCurrentIndex(0);
    modelB_->setCurrentIndex(1);
  }
  showError(QString());
}

AttentionView::~AttentionView() = default;

void AttentionView::setWorker(StoreWorker* worker, const QString& workspace) {
  worker_ = worker;
  workspace_ = workspace;
  refreshRuns();
}

void AttentionView::refreshRuns() {
  if (!worker_) return;
  struct Item {
    QString label, path;
  };
  worker_->query<std::vector<Item>>(
      this,
      [](store::RunStore& db) {
        std::vector<Item> items;
        for (const auto& r : db.runs()) {
          if (r.archived || r.status != "finished" || r.run_dir.empty()) continue;
          const QString dir = QString::fromStdString(r.run_dir);
          if (!QFileInfo(QDir(dir).filePath(QStringLiteral("model.safetensors"))).isFile()) continue;
          items.push_back({QStringLiteral("#%1 %2 (%3)").arg(r.id).arg(QString::fromStdString(r.name), QString::fromStdString(r.family)), dir});
        }
        return items;
      },
      [this](std::vector<Item> items, QString error) {
        if (!error.isEmpty()) return showError(error);
        for (auto* box : {modelA_, modelB_}) {
          const QString keep = box->currentText();
          const QSignalBlocker b(box);
          for (int i = box->count() - 1; i >= 0; --i)
            if (box->itemText(i).startsWith('#')) box->removeItem(i);
          for (const auto& it : items) box->addItem(it.label, it.path);
          box->setEditText(keep);
        }
      });
}

QString AttentionView::modelPath(const QComboBox* box) const {
  const QString text = box->currentText().trimmed();
  const int i = box->findText(text);
  return i >= 0 && !box->itemData(i).toString().isEmpty() ? box->itemData(i).toString() : text;
}

void AttentionView::setModels(const QString& a, const QString& b) {
  modelA_->setEditText(a);
  modelB_->setEditText(b);
}

void AttentionView::setSource(Source s) { source_->setCurrentIndex(static_cast<int>(s)); }

void AttentionView::setSampleFile(const QString& path, int index) {
  setSource(Source::File);
  sampleFile_->setText(path);
  index_->setValue(index);
}

void AttentionView::setGenerated(const QString& task, const QString& length, int seed) {
  setSource(Source::Generated);
  task_->setCurrentIndex(std::max(0, task_->findData(task)));
  length_->setCurrentText(length);
  seed_->setValue(seed);
}

void AttentionView::setText(const QString& text, const QString& needle, const QString& question) {
  setSource(Source::Text);
  text_->setPlainText(text);
  needle_->setText(needle);
  question_->setText(question);
}

void AttentionView::compute() {
  Request q;
  for (auto* box : {modelA_, modelB_}) {
    const QString path = modelPath(box);
    if (path.isEmpty()) continue;
    QString label = box->currentText().trimmed();
    if (label.startsWith(tr("demo: "))) label = label.mid(tr("demo: ").size());
    if (QFileInfo(label).exists()) label = QFileInfo(label).isDir() ? QFileInfo(label).fileName() : QFileInfo(label).baseName();
    q.models.push_back({label, path.toStdString()});
  }
  if (q.models.empty()) return showError(tr("Choose a model (A, and B to compare)."));
  q.source = static_cast<Source>(source_->currentIndex());
  q.file = sampleFile_->text().trimmed().toStdString();
  q.index = index_->value();
  q.task = task_->currentData().toString().toStdString();
  q.length = length_->currentText().toStdString();
  q.seed = seed_->value();
  q.text = text_->toPlainText().toStdString();
  q.needle = needle_->text().toStdString();
  q.question = question_->text().toStdString();
  q.device = settings::device().toStdString();
  busy_ = true;
  computeButton_->setEnabled(false);
  status_->setStyleSheet(QString());
  status_->setText(tr("Tracing the maps…"));
  const int generation = ++generation_;
  QPointer<AttentionView> self(this);
  QThread* thread = QThread::create([self, q, generation] {
    auto r = trace(q);
    QMetaObject::invokeMethod(
        QCoreApplication::instance(), [self, r, generation] {
          if (self) self->onComputed(r, generation);
        },
        Qt::QueuedConnection);
  });
  connect(thread, &QThread::finished, thread, &QObject::deleteLater);
  thread->start();
}

void AttentionView::onComputed(std::shared_ptr<Result> r, int generation) {
  if (generation != generation_) return;  // a newer computation was asked for
  busy_ = false;
  computeButton_->setEnabled(true);
  seconds_ = r->seconds;
  if (!r->error.isEmpty()) {
    showError(r->error);
    emit computed();
    return;
  }
  result_ = std::move(r);
  {
    const QSignalBlocker b(block_);
    const int64_t keep = block_->currentData().toLongLong();
    block_->clear();
    std::vector<int64_t> all;
    for (const auto& s : result_->sides)
      for (const auto& l : s.maps.layers())
        if (std::find(all.begin(), all.end(), l.block) == all.end()) all.push_back(l.block);
    std::sort(all.begin(), all.end());
    for (auto b2 : all) block_->addItem(QString::number(b2), static_cast<qlonglong>(b2));
    const int at = block_->findData(static_cast<qlonglong>(keep));
    block_->setCurrentIndex(at >= 0 ? at : block_->count() - 1);
  }
  const int L = static_cast<int>(result_->sides.front().sample.ids.size());
  {
    const QSignalBlocker b1(from_), b2(to_);
    from_->setMaximum(L - 1);
    to_->setMaximum(L);
    from_->setValue(0);
    to_->setValue(L);
  }
  fillTable();
  redraw();
  if (lastError_.isEmpty()) {
    const auto& s = result_->sides.front().sample;
    status_->setText(tr("%1: %2 tokens, needle %3 tokens (%4), question %5 tokens; traced in %6 s")
                         .arg(result_->sampleLabel)
                         .arg(s.ids.size())
                         .arg(s.needle.size())
                         .arg(QString::fromStdString(s.needle_origin))
                         .arg(s.question.size())
                         .arg(result_->seconds, 0, 'f', 2));
  }
  emit computed();
}

QList<int64_t> AttentionView::blocks() const {
  QList<int64_t> out;
  for (int i = 0; i < block_->count(); ++i) out << block_->itemData(i).toLongLong();
  return out;
}

void AttentionView::setBlock(int64_t block) {
  const int at = block_->findData(static_cast<qlonglong>(block));
  if (at >= 0) block_->setCurrentIndex(at);
}
void AttentionView::setHead(int head) { head_->setValue(head); }
void AttentionView::setMap(int map) { map_->setCurrentIndex(map); }
void AttentionView::setScale(plotting::AttentionScale s) { scale_->setCurrentIndex(s == plotting::AttentionScale::Signed ? 0 : 1); }

void AttentionView::setRange(int first, int end) {
  {
    const QSignalBlocker b1(from_), b2(to_);
    from_->setValue(first);
    to_->setValue(end <= 0 ? to_->maximum() : end);
  }
  redraw();
}

void AttentionView::zoomToNeedle() {
  if (!result_) return;
  const auto& s = result_->sides.front().sample;
  if (s.needle.empty()) return showError(tr("This sample has no needle tokens to zoom to."));
  const int first = static_cast<int>(std::max<int64_t>(0, s.needle.front() - 8));
  const int end = static_cast<int>(s.question.empty() ? s.needle.back() + 9 : s.question.back() + 1);
  setRange(first, end);
}

void AttentionView::redraw() {
  panels_.clear();
  curves_.clear();
  if (!result_) return;
  const int64_t block = block_->currentData().toLongLong();
  const int head = head_->value();
  const auto which = static_cast<model::AttentionMap>(map_->currentIndex());
  QStringList notes;
  int maxHeads = 1;
  for (const auto& side : result_->sides) {
    const auto& layers = side.maps.layers();
    plotting::AttentionCurve c;
    c.label = side.label;
    for (const auto& r : side.report) c.blocks.push_back(static_cast<int>(r.block)), c.values.push_back(r.combined.snr);
    curves_.push_back(std::move(c));
    const auto it = std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.block == block; });
    if (it == layers.end()) {
      notes << tr("%1 has no map at block %2").arg(side.label).arg(block);
      continue;
    }
    maxHeads = std::max(maxHeads, static_cast<int>(it->heads));
    if (head >= it->heads) {
      notes << tr("%1's block %2 has %3 heads").arg(side.label).arg(block).arg(it->heads);
      continue;
    }
    if (which != model::AttentionMap::combined && !it->differential()) {
      notes << tr("%1's block %2 is not differential: no branch maps").arg(side.label).arg(block);
      continue;
    }
    const int L = static_cast<int>(side.sample.ids.size());
    const int r0 = std::min(from_->value(), L - 1), r1 = std::min(to_->value(), L);
    auto p = figures::attentionPanel(side.maps, static_cast<size_t>(it - layers.begin()), head, which, side.sample.tokens,
                                     side.sample.needle, side.sample.question, r0, r1 > r0 ? r1 : 0, r0, r1 > r0 ? r1 : 0);
    p.label = tr("%1 · block %2 · head %3").arg(side.label).arg(block).arg(head);
    if (which != model::AttentionMap::combined) p.label += QStringLiteral(" · ") + map_->currentText();
    panels_.push_back(std::move(p));
  }
  {
    const QSignalBlocker b(head_);
    head_->setMaximum(maxHeads - 1);
  }
  if (panels_.empty()) {
    plotting::resetPlot(plot_);
    plot_->replot();
    return showError(notes.join(QStringLiteral("; ")));
  }
  try {
    plotting::AttentionFigureOptions o;
    o.scale = scale_->currentIndex() == 0 ? plotting::AttentionScale::Signed : plotting::AttentionScale::LogAbs;
    o.curveLabel = tr("Needle SNR");
    plotting::drawAttentionFigure(plot_, panels_, curves_, o);
    plot_->replot();
  } catch (const std::exception& e) {
    return showError(QString::fromUtf8(e.what()));
  }
  showError(QString());
  if (!notes.isEmpty()) status_->setText(notes.join(QStringLiteral("; ")));
}

void AttentionView::fillTable() {
  table_->clear();
  if (!result_) {
    table_->setRowCount(0);
    table_->setColumnCount(0);
    return;
  }
  const QStringList metrics = {tr("kind"), tr("λ"), tr("needle mass"), tr("signal-to-noise"), tr("entropy"), tr("removed")};
  QStringList header{tr("Block")};
  for (const auto& s : result_->sides)
    for (const auto& m : metrics) header << s.label + QStringLiteral(": ") + m;
  std::vector<int64_t> blocks;
  for (const auto& s : result_->sides)
    for (const auto& r : s.report)
      if (std::find(blocks.begin(), blocks.end(), r.block) == blocks.end()) blocks.push_back(r.block);
  std::sort(blocks.begin(), blocks.end());
  table_->setColumnCount(static_cast<int>(header.size()));
  table_->setHorizontalHeaderLabels(header);
  table_->setRowCount(static_cast<int>(blocks.size()));
  for (int row = 0; row < static_cast<int>(blocks.size()); ++row) {
    table_->setItem(row, 0, new QTableWidgetItem(QString::number(blocks[static_cast<size_t>(row)])));
    int col = 1;
    for (const auto& s : result_->sides) {
      const auto it = std::find_if(s.report.begin(), s.report.end(), [&](const auto& r) { return r.block == blocks[static_cast<size_t>(row)]; });
      const QStringList cells = it == s.report.end()
                                    ? QStringList{QStringLiteral("–"), QStringLiteral("–"), QStringLiteral("–"), QStringLiteral("–"),
                                                  QStringLiteral("–"), QStringLiteral("–")}
                                    : QStringList{QString::fromStdString(it->kind), number(it->lambda), number(it->combined.needle_mass),
                                                  number(it->combined.snr), number(it->combined.entropy), number(it->combined.removed)};
      for (const auto& c : cells) table_->setItem(row, col++, new QTableWidgetItem(c));
    }
  }
  table_->resizeColumnsToContents();
}

void AttentionView::showError(const QString& err) {
  lastError_ = err;
  status_->setText(err);
  status_->setStyleSheet(err.isEmpty() ? QString() : QStringLiteral("color: #b00020;"));
}

QString AttentionView::toolTipAt(const QPoint& pos) const {
  for (size_t k = 0; k < panels_.size(); ++k) {
    const auto* map = plot_->findChild<QCPColorMap*>(QStringLiteral("attentionMap%1").arg(k));
    if (!map || !map->keyAxis()->axisRect()->rect().contains(pos)) continue;
    const int col = static_cast<int>(std::floor(map->keyAxis()->pixelToCoord(pos.x()) + 0.5));
    const int row = static_cast<int>(std::floor(map->valueAxis()->pixelToCoord(pos.y()) + 0.5));
    return plotting::attentionToolTip(panels_[k], row, col);
  }
  return {};
}

bool AttentionView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_) FigureExport::hoverTip(plot_, event, [this](const QPoint& pos) { return toolTipAt(pos); });
  return QWidget::eventFilter(watched, event);
}

QString AttentionView::suggestedPath(const QString& ext) const {
  const QString folder = FigureExport::folder(workspace_);
  return QDir(folder).filePath(QStringLiteral("attention-block%1-head%2.%3").arg(block_->currentText()).arg(head_->value()).arg(ext));
}

QString AttentionView::exportTo(const QString& path) {
  if (panels_.empty()) return tr("Compute the maps first.");
  try {
    const QString said = FigureExport::write(plot_, path, plotting::FigureSize{6.0 * static_cast<double>(panels_.size()) + 1.5, 8, 200},
                                             [this](const QString& csv) { plotting::writeAttentionCsv(panels_, curves_, csv); });
    status_->setStyleSheet(QString());
    status_->setText(said);
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

void AttentionView::onExportClicked() {
  if (panels_.empty()) return showError(tr("Compute the maps first."));
  const QString path = FigureExport::ask(this, suggestedPath(QStringLiteral("pdf")));
  if (path.isEmpty()) return;
  if (const QString err = exportTo(path); !err.isEmpty()) QMessageBox::warning(this, tr("Export failed"), err);
}

}  // namespace gui
}  // namespace dm
