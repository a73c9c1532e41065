// `diffmamba attention` and `diffmamba plot attention` as a user runs them: the .npz holds the maps the core
// computes for the same model and sample (compared in process), the needle from the sample's facts and the
// question's tokens, the metrics the command prints; --heads / --float16 / --no-maps; clear errors; and the
// figure of two models' files side by side with its CSV.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <fstream>

#include "core/babilong/babilong.h"
#include "core/data/codec.h"
#include "core/io/model_file.h"
#include "core/io/npz.h"
#include "core/jobs/attention_job.h"
#include "core/model/implicit_attention.h"
#include "core/model/language_model.h"
#include "core/ops/doctor.h"
#include "tests/app/cli_runner.h"
#include "tests/core/test_util.h"

namespace {

dm::test::CliResult run(const QStringList& args) { return dm::test::run_cli(args); }

}  // namespace

class TestAttentionCli : public QObject {
  Q_OBJECT

 private slots:
  void maps_file_and_figure() {
    QTemporaryDir d;
    dm::test::save_tiny_model(dm::model::Family::diffmamba2, d.filePath("diff.safetensors").toStdString(), 1, 4);
    dm::test::save_tiny_model(dm::model::Family::mamba2, d.filePath("mamba.safetensors").toStdString(), 2, 4);
    dm::babilong::Record r{"qa1", "0k",
                           "The ship sailed on. Mary moved to the office. The wind rose over the grey sea. John went to "
                           "the garden. Night came and the lamps were lit along the shore.",
                           "Where is Mary?", "office", 0, {"Mary moved to the office.", "John went to the garden."}};
    dm::babilong::write_records(d.filePath("s.jsonl").toStdString(), {r, r});
    auto a = run({"attention", "--ckpt_path", d.filePath("diff.safetensors"), "--babilong-sample", d.filePath("s.jsonl"),
                  "--index", "1", "--out", d.filePath("diff.npz")});
    QVERIFY2(a.code == 0, qPrintable(a.out + a.err));
    QVERIFY2(a.out.contains("s.jsonl #1") && a.out.contains("(facts)") && a.out.contains("Diff-Mamba2") &&
                 a.out.contains("wrote"),
             qPrintable(a.out));
    // The file against the core, in process, on the same model and sample.
    const auto codec = dm::data::text8_codec();
    const auto sample = dm::jobs::attention_sample_from_record(*codec, r);
    auto m = dm::io::load_model(d.filePath("diff.safetensors").toStdString());
    const auto maps = dm::model::ImplicitAttention::trace(m, torch::tensor(sample.ids, torch::kLong));
    const auto report = dm::jobs::attention_report(maps, sample);
    dm::io::NpzReader f(d.filePath("diff.npz").toStdString());
    QCOMPARE(f.strings("tokens"), sample.tokens);
    QVERIFY(torch::equal(f.tensor("needle"), torch::tensor(sample.needle, torch::kLong)));
    QVERIFY(torch::equal(f.tensor("question"), torch::tensor(sample.question, torch::kLong)));
    QCOMPARE(sample.needle.size(), std::string("mary moved to the office john went to the garden").size() - 1);
    for (size_t li = 0; li < maps.layers().size(); ++li) {
      const auto b = std::to_string(maps.layers()[li].block);
      const auto file_maps = f.tensor("block" + b + "/combined");
      for (int64_t h = 0; h < maps.layers()[li].heads; ++h) QVERIFY(torch::equal(file_maps[h], maps.matrix(li, h)));
      QCOMPARE(f.tensor("metrics/needle_mass")[static_cast<int64_t>(li)].item<double>(), report[li].combined.needle_mass);
      // The printed table carries the same number (4 decimals).
      QVERIFY2(a.out.contains(QString::number(report[li].combined.needle_mass, 'f', 4)), qPrintable(a.out));
    }
    // Options: one head as float16; no maps at all.
    auto h = run({"attention", "--ckpt_path", d.filePath("diff.safetensors"), "--text",
                  "mary went to the office and then where is mary", "--needle", "went to the office", "--question",
                  "where is mary", "--heads", "1", "--float16", "--layers", "0", "2", "--out", d.filePath("h.npz")});
    QVERIFY2(h.code == 0 && h.out.contains("float16"), qPrintable(h.out + h.err));
    dm::io::NpzReader hf(d.filePath("h.npz").toStdString());
    QCOMPARE(hf.tensor("block2/combined").size(0), int64_t(1));
    QCOMPARE(hf.tensor("block2/combined").scalar_type(), torch::kHalf);
    QVERIFY(!hf.contains("block1/combined") && !hf.contains("block3/combined"));
    auto n = run({"attention", "--ckpt_path", d.filePath("diff.safetensors"), "--text", "a short text", "--no-maps", "--out",
                  d.filePath("n.npz")});
    QVERIFY2(n.code == 0, qPrintable(n.out + n.err));
    dm::io::NpzReader nf(d.filePath("n.npz").toStdString());
    QVERIFY(nf.contains("metrics/entropy") && !nf.contains("block0/combined"));
    // Errors.
    auto none = run({"attention", "--ckpt_path", d.filePath("diff.safetensors")});
    QVERIFY2(none.code != 0 && none.err.contains("--babilong-sample"), qPrintable(none.err));
    auto idx = run({"attention", "--ckpt_path", d.filePath("diff.safetensors"), "--babilong-sample", d.filePath("s.jsonl"),
                    "--index", "5", "--out", d.filePath("x.npz")});
    QVERIFY2(idx.code != 0 && idx.err.contains("holds 2 records"), qPrintable(idx.err));
    auto lay = run({"attention", "--ckpt_path", d.filePath("diff.safetensors"), "--text", "abc", "--layers", "9", "--out",
                    d.filePath("x.npz")});
    QVERIFY2(lay.code != 0 && lay.err.contains("blocks with a map: 0, 1, 2, 3"), qPrintable(lay.err));
    QVERIFY(!QFileInfo::exists(d.filePath("x.npz")));
    // --device: the forward pass where asked (the maps on the CPU either way); a GPU that is not there is an error.
    auto cpu = run({"attention", "--ckpt_path", d.filePath("diff.safetensors"), "--text", "a short text", "--no-maps",
                    "--device", "cpu", "--out", d.filePath("c.npz")});
    QVERIFY2(cpu.code == 0 && !cpu.err.contains("warning"), qPrintable(cpu.out + cpu.err));
    QVERIFY(torch::equal(dm::io::NpzReader(d.filePath("c.npz").toStdString()).tensor("metrics/entropy"),
                         nf.tensor("metrics/entropy")));
    if (!dm::ops::cuda_unavailable_reason().empty())  // the default (auto) said once why it ran on the CPU
      QVERIFY2(n.err.count("no GPU can be used") == 1, qPrintable(n.err));
    auto gpu = run({"attention", "--ckpt_path", d.filePath("diff.safetensors"), "--text", "abc", "--device", "cuda:99",
                    "--out", d.filePath("x.npz")});
    QVERIFY2(gpu.code == 2 && gpu.err.contains("cuda:99"), qPrintable(gpu.err));
    QVERIFY(!QFileInfo::exists(d.filePath("x.npz")));

    // The figure: both models on the same sample, one block, zoomed; CSV of every entry of the window.
    auto b = run({"attention", "--ckpt_path", d.filePath("mamba.safetensors"), "--babilong-sample", d.filePath("s.jsonl"),
                  "--out", d.filePath("mamba.npz")});
    QVERIFY2(b.code == 0, qPrintable(b.out + b.err));
    auto p = run({"plot", "attention", "--maps", d.filePath("mamba.npz"), d.filePath("diff.npz"), "--block", "2", "--head",
                  "1", "--range", "10:74", "--output_file", d.filePath("att.png")});
    QVERIFY2(p.code == 0, qPrintable(p.out + p.err));
    QFile png(d.filePath("att.png"));
    QVERIFY(png.open(QIODevice::ReadOnly));
    QCOMPARE(png.read(8), QByteArray("\x89PNG\r\n\x1a\n", 8));
    QFile csv(d.filePath("att.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const auto lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
    // Two panels × rows 10–73 × columns 10..i: Σ_{i=10}^{73} (i − 9) = 64·65/2 = 2080 each; header; curves.
    QCOMPARE(lines.filter(QRegularExpression("^(mamba|diff) · block 2 · head 1,")).size(), 2 * 2080);
    QVERIFY2(p.out.contains("block 2, head 1, combined map; snr per block"), qPrintable(p.out));
    // The PDF with defaults (last block both hold) and the branch map of a differential block.
    auto q = run({"plot", "attention", "--maps", d.filePath("diff.npz"), "--map", "branch2", "--block", "0", "--log-abs",
                  "--output_file", d.filePath("att.pdf")});
    QVERIFY2(q.code == 0, qPrintable(q.out + q.err));
    auto bad = run({"plot", "attention", "--maps", d.filePath("mamba.npz"), "--map", "branch1", "--block", "1",
                    "--output_file", d.filePath("bad.png")});
    QVERIFY2(bad.code != 0 && bad.err.contains("only differential blocks"), qPrintable(bad.err));
    auto dir = run({"plot", "attention", "--maps", d.path(), "--output_file", d.filePath("bad.png")});
    QVERIFY2(dir.code != 0 && dir.err.contains("not a regular file"), qPrintable(dir.err));
    std::ofstream(d.filePath("junk.npz").toStdString()) << "not a zip file at all, just some bytes here";
    auto junk = run({"plot", "attention", "--maps", d.filePath("junk.npz"), "--output_file", d.filePath("bad.png")});
    QVERIFY2(junk.code != 0 && junk.err.contains("not a .npz archive"), qPrintable(junk.err));
  }
};

QTEST_GUILESS_MAIN(TestAttentionCli)
#include "tst_attention_cli.moc"
