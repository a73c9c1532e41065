// The Attention page driven through its widgets (offscreen): two small models (Diff-Mamba2 and Mamba2 files)
// on a BABILong sample with facts; the maps drawn are the core's maps of that head; the needle and question
// marks, the per-block table (equal to the core's report), block / head / map / range changes, zoom to the
// needle, hover naming tokens, a generated sample and a text; export as PNG / PDF / SVG + CSV read back;
// clear errors for a missing model, a branch map of a Mamba2 block, a bad record index.
#include <torch/torch.h>

#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <qcustomplot.h>

#include "app/gui/attention_view.h"
#include "app/gui/main_window.h"
#include "core/babilong/babilong.h"
#include "core/data/codec.h"
#include "core/io/model_file.h"
#include "core/jobs/attention_job.h"
#include "core/model/implicit_attention.h"
#include "core/model/language_model.h"
#include "tests/core/test_util.h"

using namespace dm::gui;

namespace {

bool computeAndWait(AttentionView* v) {
  QSignalSpy done(v, &AttentionView::computed);
  v->findChild<QPushButton*>("attentionCompute")->click();
  return done.wait(60000) || done.count() > 0;
}

}  // namespace

class TestGuiAttention : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("DiffMambaStudioTest");
    QCoreApplication::setApplicationName("tst_gui_attention");
  }

  void two_models_on_a_needle_sample() {
    QTemporaryDir d, ws;
    dm::test::save_tiny_model(dm::model::Family::diffmamba2, d.filePath("diff.safetensors").toStdString(), 1, 3);
    dm::test::save_tiny_model(dm::model::Family::mamba2, d.filePath("mamba.safetensors").toStdString(), 2, 3);
    dm::babilong::Record r{"qa1", "0k",
                           "The ship sailed on. Mary moved to the office. The wind rose over the grey sea. John went "
                           "to the garden. Night came and the lamps were lit along the shore.",
                           "Where is Mary?", "office", 0, {"Mary moved to the office."}};
    dm::babilong::write_records(d.filePath("s.jsonl").toStdString(), {r});
    MainWindow w(ws.path());
    w.resize(1400, 900);
    w.show();
    auto* v = w.attention();
    w.tabs()->setCurrentWidget(v);
    v->setModels(d.filePath("diff.safetensors"), d.filePath("mamba.safetensors"));
    v->setSampleFile(d.filePath("s.jsonl"), 0);
    QVERIFY(computeAndWait(v));
    QCOMPARE(v->lastError(), QString());
    QVERIFY2(v->status()->text().contains("s.jsonl #0") && v->status()->text().contains("(facts)"), qPrintable(v->status()->text()));
    // The core's maps and report for the same model and sample.
    const auto codec = dm::data::text8_codec();
    const auto sample = dm::jobs::attention_sample_from_record(*codec, r);
    auto m = dm::io::load_model(d.filePath("diff.safetensors").toStdString());
    const auto maps = dm::model::ImplicitAttention::trace(m, torch::tensor(sample.ids, torch::kLong));
    const auto report = dm::jobs::attention_report(maps, sample);
    // Blocks 0, 1, 2 (both models map every block); the last is shown first.
    QCOMPARE(v->blocks(), (QList<int64_t>{0, 1, 2}));
    v->setBlock(0);
    v->setHead(1);
    QCOMPARE(v->panels().size(), size_t(2));
    const auto& p = v->panels()[0];
    QVERIFY2(p.label.contains("diff") && p.label.contains("block 0 · head 1"), qPrintable(p.label));
    const auto L = static_cast<int>(sample.ids.size());
    QCOMPARE(p.rows(), L);
    const auto want = maps.matrix(0, 1).contiguous();
    QVERIFY(std::equal(p.values.begin(), p.values.end(), want.data_ptr<float>()));
    QCOMPARE(p.needle.size(), sample.needle.size());
    QCOMPARE(v->plot()->findChildren<QCPColorMap*>().size(), 2);
    int needleMarks = 0;
    for (int i = 0; i < v->plot()->itemCount(); ++i) needleMarks += v->plot()->item(i)->objectName() == "needleX0";
    QCOMPARE(needleMarks, 1);  // one fact: one run of tokens
    // The table: a row per block, the model's numbers as the core reports them.
    auto* t = v->table();
    QCOMPARE(t->rowCount(), 3);
    QVERIFY(t->horizontalHeaderItem(3)->text().contains("needle mass"));
    QCOMPARE(t->item(0, 3)->text(), QString::number(report[0].combined.needle_mass, 'g', 4));
    QCOMPARE(t->item(0, 1)->text(), QString("Diff-Mamba2"));
    QCOMPARE(t->item(0, 7)->text(), QString("Mamba2"));
    // Curves: the signal-to-noise of both models per block.
    QCOMPARE(v->curves().size(), size_t(2));
    QCOMPARE(v->curves()[0].values[0], report[0].combined.snr);
    // Branch 2 of the differential block; of a Mamba2 block it is refused for that model only.
    v->setMap(2);
    QCOMPARE(v->panels().size(), size_t(1));
    QVERIFY(v->status()->text().contains("not differential"));
    const auto b2 = maps.matrix(0, 1, dm::model::AttentionMap::branch2).contiguous();
    QVERIFY(std::equal(v->panels()[0].values.begin(), v->panels()[0].values.end(), b2.data_ptr<float>()));
    v->setMap(0);
    // Zoom: a range, then to the needle (from 8 tokens before it to the question's end).
    v->setRange(10, 40);
    QCOMPARE(v->panels()[0].r0, 10);
    QCOMPARE(v->panels()[0].cols(), 30);
    QCOMPARE(static_cast<double>(v->panels()[0].at(20, 15)), static_cast<double>(want[20][15].item<float>()));
    v->zoomToNeedle();
    QCOMPARE(v->panels()[0].r0, static_cast<int>(std::max<int64_t>(0, sample.needle.front() - 8)));
    QCOMPARE(v->panels()[0].r1, static_cast<int>(sample.question.back() + 1));
    // Hover: the cell under the pointer names its tokens.
    v->setRange(0, 0);
    v->plot()->replot();
    auto* map0 = v->plot()->findChild<QCPColorMap*>("attentionMap0");
    const QPoint at(static_cast<int>(map0->keyAxis()->coordToPixel(sample.needle.front())),
                    static_cast<int>(map0->valueAxis()->coordToPixel(L - 1)));
    const QString tip = v->toolTipAt(at);
    QVERIFY2(tip.contains(QString("key %1").arg(sample.needle.front())) && tip.contains("(needle)") && tip.contains("(question)"),
             qPrintable(tip));
    // Export: figure files and the CSV of every entry of the window.
    QTemporaryDir out;
    for (const char* f : {"a.png", "a.pdf", "a.svg"}) QCOMPARE(v->exportTo(out.filePath(f)), QString());
    QVERIFY(!QImage(out.filePath("a.png")).isNull());
    QFile pdf(out.filePath("a.pdf"));
    QVERIFY(pdf.open(QIODevice::ReadOnly) && pdf.read(5) == "%PDF-");
    QFile csv(out.filePath("a.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.filter(QRegularExpression("^diff · block 0 · head 1,")).size(), L * (L + 1) / 2);
    QVERIFY(v->suggestedPath("pdf").startsWith(QDir(ws.path()).filePath("figures/attention-block0-head1")));
    // A bad record index, then a missing model: said on the page.
    v->setSampleFile(d.filePath("s.jsonl"), 3);
    QVERIFY(computeAndWait(v));
    QVERIFY2(v->lastError().contains("holds 1 records"), qPrintable(v->lastError()));
    v->setModels(d.filePath("nope.safetensors"), QString());
    v->setSampleFile(d.filePath("s.jsonl"), 0);
    QVERIFY(computeAndWait(v));
    QVERIFY2(v->lastError().contains("nope.safetensors"), qPrintable(v->lastError()));
    // One model on a generated bAbI sample and on a text.
    v->setModels(d.filePath("diff.safetensors"), QString());
    v->setGenerated("qa2", "0k", 3);
    QVERIFY(computeAndWait(v));
    QCOMPARE(v->lastError(), QString());
    QCOMPARE(v->panels().size(), size_t(1));
    QVERIFY2(v->status()->text().contains("qa2 · 0k · seed 3") && v->status()->text().contains("(facts)"),
             qPrintable(v->status()->text()));
    v->setText("mary went to the office then where is mary", "went to the office", "where is mary");
    QVERIFY(computeAndWait(v));
    QCOMPARE(v->lastError(), QString());
    QCOMPARE(v->panels()[0].question.size(), size_t(13));
  }
};

QTEST_MAIN(TestGuiAttention)
#include "tst_gui_attention.moc"
