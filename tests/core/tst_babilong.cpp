// BABILong: length names, sample construction in the model's own tokens (±2 %), facts kept in order
// among distractors that name no bAbI person, the seed's prompt strings, BABILong's answer matcher,
// records and the seed's result files (JSON lines, CSV, npy) round trips, greedy decoding against a
// full re-run, and the evaluation Job end to end on a tiny model.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <random>
#include <cstring>
#include <fstream>

#include "core/babilong/babilong.h"
#include "core/common/error.h"
#include "core/common/stats.h"
#include "core/data/codec.h"
#include "core/io/model_file.h"
#include "core/io/npy.h"
#include "core/jobs/babilong_job.h"
#include "core/jobs/finetune_job.h"
#include "core/jobs/model_source.h"
#include "core/io/hf_checkpoint.h"
#include "core/store/run_store.h"
#include "tests/core/test_util.h"

using namespace dm;
using dm::test::error_of;

namespace {

std::string fixture(const std::string& rel) { return std::string(DM_TEST_DATA) + "/" + rel; }
void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

babilong::Sample sample_qa1() {
  babilong::Sample s;
  s.task = "qa1";
  s.facts = {"Mary moved to the bathroom.", "John went to the hallway.", "Mary travelled to the office."};
  s.question = "Where is Mary? ";
  s.answer = "office";
  s.supporting = {2};
  return s;
}

const char* kBook =
    "It was a bright cold day in April, and the clocks were striking thirteen. The hallway smelt of boiled "
    "cabbage and old rag mats. At one end of it a coloured poster, too large for indoor display, had been tacked "
    "to the wall. Mary said hello to everybody in the room at once. It depicted simply an enormous face, more "
    "than a metre wide: the face of a man of about forty-five, with a heavy black moustache and ruggedly "
    "handsome features. Winston made for the stairs! It was no use trying the lift? Even at the best of times "
    "it was seldom working, and at present the electric current was cut off during daylight hours.\n";

}  // namespace

class TestBabilong : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::set_num_threads(2); }
  void length_names();
  void sentences_and_distractor_filter();
  void zero_k_is_the_facts();
  void lengths_within_two_percent_data();
  void lengths_within_two_percent();
  void prompt_strings();
  void answer_matcher_data();
  void answer_matcher();
  void records_round_trip_and_errors();
  void seed_files_score_and_npy();
  void greedy_matches_full_rerun();
  void eval_job_end_to_end();
  void needle_answer_span();
  void needle_finetune_beats_majority();
  void binomial_intervals();
  void bootstrap_intervals();
};

void TestBabilong::length_names() {
  QCOMPARE(babilong::length_tokens("0k"), int64_t{0});
  QCOMPARE(babilong::length_tokens("4k"), int64_t{4096});
  QCOMPARE(babilong::length_tokens("128k"), int64_t{131072});
  const auto e = error_of<ConfigError>([] { babilong::length_tokens("3k"); });
  QVERIFY2(e.contains("3k") && e.contains("64k"), qPrintable(e));
}

void TestBabilong::sentences_and_distractor_filter() {
  const auto s = babilong::split_sentences(kBook);
  QVERIFY(s.size() >= 6);
  QCOMPARE(QString::fromStdString(s[0]), QString("It was a bright cold day in April, and the clocks were striking thirteen."));
  for (const auto& x : s) QVERIFY2(x.find("Mary") == std::string::npos, x.c_str());  // names a bAbI person: dropped
  QVERIFY(std::find(s.begin(), s.end(), "Winston made for the stairs!") != s.end());
  QVERIFY(std::find(s.begin(), s.end(), "It was no use trying the lift?") != s.end());
  QVERIFY(error_of<FileError>([] { babilong::NoiseSource::from_text("", "empty.txt"); }).contains("empty.txt"));
  QVERIFY(error_of<FileError>([] { babilong::NoiseSource::from_pg19("/nonexistent-pg19"); }).contains("PG19"));
}

void TestBabilong::zero_k_is_the_facts() {
  auto codec = data::text8_codec();
  std::mt19937_64 rng(1);
  const auto noise = babilong::NoiseSource::from_text(kBook, "book");
  const auto r = babilong::build_record(sample_qa1(), "0k", *codec, noise, rng);
  QCOMPARE(QString::fromStdString(r.input),
           QString("Mary moved to the bathroom. John went to the hallway. Mary travelled to the office."));
  QCOMPARE(QString::fromStdString(r.question), QString("Where is Mary? "));
  QCOMPARE(QString::fromStdString(r.target), QString("office"));
}

void TestBabilong::lengths_within_two_percent_data() {
  QTest::addColumn<QString>("codec");
  QTest::addColumn<QString>("length");
  for (const char* c : {"text8", "bpe"})
    for (const char* l : {"1k", "4k", "16k"}) QTest::newRow((std::string(c) + " " + l).c_str()) << c << l;
}

void TestBabilong::lengths_within_two_percent() {
  QFETCH(QString, codec);
  QFETCH(QString, length);
  auto c = codec == "text8" ? data::text8_codec() : data::bpe_codec(fixture("tokenizer/tokenizer.json"));
  const auto noise = babilong::NoiseSource::default_corpus();
  std::mt19937_64 rng(7);
  const auto target = babilong::length_tokens(length.toStdString()) - babilong::kPromptReserve;
  for (int rep = 0; rep < 3; ++rep) {
    const auto r = babilong::build_record(sample_qa1(), length.toStdString(), *c, noise, rng);
    const auto n = static_cast<double>(c->encode(r.input).size());
    QCOMPARE(static_cast<int64_t>(n), r.input_tokens);
    QVERIFY2(std::abs(n - target) <= 0.02 * target, qPrintable(QString("%1 tokens for a target of %2").arg(n).arg(target)));
    // Every fact is there, in order; the distractors name nobody from the story.
    size_t pos = 0;
    for (const auto& f : sample_qa1().facts) {
      const auto at = r.input.find(f, pos);
      QVERIFY2(at != std::string::npos, f.c_str());
      pos = at + f.size();
    }
    std::string rest = r.input;
    for (const auto& f : sample_qa1().facts) rest.erase(rest.find(f), f.size());
    for (const char* who : {"Mary", "John"}) {
      for (size_t at = rest.find(who); at != std::string::npos; at = rest.find(who, at + 1)) {
        const size_t e = at + std::strlen(who);
        const bool word = (at == 0 || !std::isalpha(static_cast<unsigned char>(rest[at - 1]))) &&
                          (e >= rest.size() || !std::isalpha(static_cast<unsigned char>(rest[e])));  // not "Johnson"
        if (word) QFAIL(rest.substr(at > 80 ? at - 80 : 0, 160).c_str());
      }
    }
  }
}

void TestBabilong::prompt_strings() {
  babilong::Record r{"qa1", "1k", "  Mary moved to the bathroom.  ", "Where is Mary? ", "bathroom", 0};
  QCOMPARE(QString::fromStdString(babilong::format_prompt(r)),
           QString("<context>\nMary moved to the bathroom.\n</context>\n\nQuestion: Where is Mary?"));
  QCOMPARE(QString::fromStdString(babilong::prompt_name()),
           QString("instruction_no_examples_no_post_prompt_no_chat_template_no_system_prompt_no"));
  const auto full = babilong::format_prompt(r, {true, true, true});
  QVERIFY(full.rfind("I will give you context with the facts about positions of different persons", 0) == 0);
  QVERIFY(full.find("</example>\n\nAlways return your answer") != std::string::npos);
  QVERIFY(full.find("that.\n\n<context>\nMary moved") != std::string::npos);
  QCOMPARE(QString::fromStdString(babilong::finetune_prompt(r)),
           QString("<context> \n  Mary moved to the bathroom.  \n</context>\n\nQuestion: Where is Mary?  Answer: "));
  // The answer cue ends the evaluation prompt as the fine-tuning text ends, and names its CSVs apart.
  babilong::PromptOptions cue;
  cue.answer_cue = true;
  QCOMPARE(QString::fromStdString(babilong::format_prompt(r, cue)),
           QString("<context>\nMary moved to the bathroom.\n</context>\n\nQuestion: Where is Mary? Answer:"));
  QCOMPARE(QString::fromStdString(babilong::prompt_name(cue)),
           QString("instruction_no_examples_no_post_prompt_no_chat_template_no_system_prompt_no_answer_cue_yes"));
  r.task = "qa7";
  QVERIFY(error_of<ConfigError>([&] { babilong::format_prompt(r, {true, false, false}); }).contains("qa1"));
}

void TestBabilong::answer_matcher_data() {
  QTest::addColumn<QString>("task");
  QTest::addColumn<QString>("target");
  QTest::addColumn<QString>("output");
  QTest::addColumn<QString>("question");
  QTest::addColumn<bool>("correct");
  QTest::newRow("exact") << "qa1" << "office" << "office" << "Where is Mary? " << true;
  QTest::newRow("case and sentence") << "qa1" << "office" << "The most recent location of Mary is Office." << "Where is Mary? " << true;
  QTest::newRow("two labels") << "qa1" << "office" << "office or kitchen" << "Where is Mary? " << false;
  QTest::newRow("cut at the first period") << "qa1" << "office" << "office. kitchen garden" << "Where is Mary? " << true;
  QTest::newRow("label after period ignored") << "qa1" << "office" << "I think. office" << "Where is Mary? " << false;
  QTest::newRow("label in question removed") << "qa3" << "bathroom" << "kitchen bathroom" << "Where was the milk before the kitchen? " << true;
  QTest::newRow("only the question's label") << "qa3" << "kitchen" << "kitchen" << "Where was the milk before the kitchen? " << false;
  QTest::newRow("cut at <context>") << "qa1" << "garden" << "garden <context> hallway" << "Where is John? " << true;
  QTest::newRow("qa5 name") << "qa5" << "Fred" << "fred" << "Who received the football? " << true;
  QTest::newRow("qa5 object vs name") << "qa5" << "apple" << "Fred gave the apple" << "What did Fred give to Bill? " << true;
  QTest::newRow("qa8 list") << "qa8" << "apple,milk" << "milk, apple" << "What is Mary carrying? " << true;
  QTest::newRow("qa8 list missing one") << "qa8" << "apple,milk" << "milk" << "What is Mary carrying? " << false;
  QTest::newRow("substring counts (bedroom has no 'room' label)") << "qa1" << "bedroom" << "thebedroomx" << "Where is Sandra? " << true;
  QTest::newRow("empty") << "qa1" << "office" << "" << "Where is Mary? " << false;
}

void TestBabilong::answer_matcher() {
  QFETCH(QString, task);
  QFETCH(QString, target);
  QFETCH(QString, output);
  QFETCH(QString, question);
  QFETCH(bool, correct);
  QCOMPARE(babilong::compare_answers(target.toStdString(), output.toStdString(), question.toStdString(), task.toStdString()),
           correct);
}

void TestBabilong::records_round_trip_and_errors() {
  QTemporaryDir d;
  std::vector<babilong::Record> rs = {{"qa2", "1k", "A \"quoted\"\nline.", "Where is the milk? ", "garden", 700},
                                      {"qa2", "1k", "ünïcödé 中文", "Where is the apple? ", "office", 690}};
  const auto p = d.filePath("r.jsonl").toStdString();
  babilong::write_records(p, rs);
  const auto back = babilong::read_records(p);
  QCOMPARE(back.size(), rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    QCOMPARE(back[i].input, rs[i].input);
    QCOMPARE(back[i].question, rs[i].question);
    QCOMPARE(back[i].target, rs[i].target);
    QCOMPARE(back[i].task, rs[i].task);
    QCOMPARE(back[i].input_tokens, rs[i].input_tokens);
  }
  // The published dataset's JSON array, in the <length>/<task>.json layout.
  QDir(d.path()).mkpath("bl/4k");
  write(d.filePath("bl/4k/qa3.json").toStdString(),
        R"([{"input": "x", "question": "Where was the milk before the office? ", "target": "garden"}])");
  const auto imp = babilong::import_babilong(d.filePath("bl").toStdString(), "qa3", "4k");
  QCOMPARE(imp.size(), size_t{1});
  QCOMPARE(QString::fromStdString(imp[0].task + " " + imp[0].length), QString("qa3 4k"));
  const auto miss = error_of<FileError>([&] { babilong::import_babilong(d.filePath("bl").toStdString(), "qa1", "4k"); });
  QVERIFY2(miss.contains("qa1") && miss.contains("4k/qa1.jsonl"), qPrintable(miss));
  write(p, "{\"input\": \"x\", \"question\": \"q\"}\n");
  const auto no_target = error_of<FileError>([&] { babilong::read_records(p); });
  QVERIFY2(no_target.contains("record 1") && no_target.contains("target"), qPrintable(no_target));
  write(p, "{\"input\": \"x\", \"question\": \"q\", \"target\": \"t\"}\n{broken\n");
  QVERIFY(error_of<FileError>([&] { babilong::read_records(p); }).contains("line 2"));
}

void TestBabilong::seed_files_score_and_npy() {
  QTemporaryDir d;
  const auto dir = d.filePath("res/m").toStdString();
  QDir().mkpath(QString::fromStdString(dir));
  const auto pname = babilong::prompt_name();
  // Our writer: 3 of 4 right.
  std::vector<babilong::Record> rs(4, babilong::Record{"qa1", "0k", "", "Where is Mary? ", "office", 0});
  jobs::write_seed_csv(dir + "/qa1_0k_" + pname + ".csv", rs, {"office", "Office.", "kitchen", "the office, yes"});
  // The seed's pandas output, quoted fields with a comma and a newline: 1 of 2 right.
  write(dir + "/qa2_0k_" + pname + ".csv",
        ",target,output,question\n0,garden,\"garden, I think\nmaybe\",Where is the milk? \n1,hallway,kitchen,Where is the apple? \n");
  std::vector<std::string> missing;
  const auto acc = jobs::score_seed_results(d.filePath("res").toStdString(), "m", {"qa1", "qa2"}, {"0k", "1k"}, pname, &missing);
  QCOMPARE(acc.sizes().vec(), (std::vector<int64_t>{2, 2}));
  QCOMPARE(acc[0][0].item<double>(), 75.0);
  QCOMPARE(acc[1][0].item<double>(), 50.0);
  QCOMPARE(acc[0][1].item<double>(), 0.0);  // missing file: 0, as plot.py does
  QCOMPARE(missing.size(), size_t{2});
  const auto npy = d.filePath("acc.npy").toStdString();
  io::write_npy(npy, acc);
  const auto back = io::read_npy(npy);
  QCOMPARE(back.scalar_type(), torch::kDouble);
  QVERIFY(torch::equal(back, acc));
  write(npy, "\x93NUMPY\x01\x00");
  QVERIFY(!error_of<FileError>([&] { io::read_npy(npy); }).isEmpty());
}

void TestBabilong::greedy_matches_full_rerun() {
  auto cfg = model::ModelConfig::hf_370m(model::Family::diffmamba2);
  cfg.vocab_size = 27;
  cfg.d_model = 32;
  cfg.n_layers = 2;
  cfg.head_dim = 16;
  cfg.d_state = 8;
  cfg.chunk_size = 8;
  torch::manual_seed(3);
  model::LanguageModel m(cfg);
  m->eval();
  const std::vector<int64_t> prompt = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4};
  const auto got = jobs::generate_greedy(m, prompt, 12, std::nullopt);
  QCOMPARE(got.size(), size_t{12});
  // Oracle: the whole sequence re-run from scratch for every new token.
  std::vector<int64_t> seq = prompt;
  torch::NoGradGuard ng;
  for (size_t i = 0; i < got.size(); ++i) {
    const auto logits = m->forward(torch::tensor(seq, torch::kLong).unsqueeze(0));
    const int64_t next = logits[0][static_cast<int64_t>(seq.size()) - 1].argmax().item<int64_t>();
    QCOMPARE(got[i], next);
    seq.push_back(next);
  }
  // Stops at eos.
  const auto eos_stop = jobs::generate_greedy(m, prompt, 12, got[3]);
  QVERIFY(eos_stop.size() <= 3);
}

void TestBabilong::eval_job_end_to_end() {
  auto cfg = model::ModelConfig::hf_370m(model::Family::mamba2);
  cfg.vocab_size = 27;  // text8 characters
  cfg.d_model = 32;
  cfg.n_layers = 2;
  cfg.head_dim = 16;
  cfg.d_state = 8;
  model::LanguageModel m(cfg);
  QTemporaryDir d;
  const auto model_path = d.filePath("model.safetensors").toStdString();
  io::save_model(m, model_path);
  jobs::BabilongEvalOptions o;
  o.ckpt_path = model_path;
  o.tasks = {"qa1", "qa4"};
  o.lengths = {"0k", "1k"};
  o.samples = 3;
  o.max_new_tokens = 8;
  o.results_folder = d.filePath("seed").toStdString();
  o.model_name = "tiny";
  jobs::Workspace ws{d.filePath("ws").toStdString()};
  std::atomic<bool> cancel{false};
  int events = 0, started = 0;
  int64_t stamped = -1;
  std::string bad_shape;
  const auto r = jobs::run_babilong_eval(ws, o, [&](const train::TrainEvent& ev) {
    if (bad_shape.empty()) bad_shape = train::check_shape(ev);
    if (ev.message.find(" started") != std::string::npos) ++started;  // the run is announced first
    else if (ev.kind == train::TrainEvent::Kind::eval) ++events;       // then one event per cell
    if (stamped != 0) stamped = ev.run_id;
  }, cancel);
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  QVERIFY2(bad_shape.empty(), bad_shape.c_str());
  QCOMPARE(started, 1);
  QCOMPARE(events, 4);
  QCOMPARE(stamped, r.run_id);  // every event carries the run id
  store::RunStore db(ws.db_path());
  QCOMPARE(QString::fromStdString(db.run(r.run_id)->status), QString("finished"));
  int acc_cells = 0;
  for (const auto& c : db.eval_cells(r.run_id)) {
    if (c.metric != "accuracy") continue;
    ++acc_cells;
    QCOMPARE(c.samples, int64_t{3});
    QVERIFY(c.value >= 0 && c.value <= 100);
  }
  QCOMPARE(acc_cells, 4);
  const auto samples = db.eval_samples(r.run_id);
  QCOMPARE(samples.size(), size_t{12});
  int correct = 0;
  for (const auto& s : samples) {
    QVERIFY(s.prompt_tokens > 0 && s.prompt_hash.size() == 16);
    QCOMPARE(s.correct, babilong::compare_answers(s.target, s.output, s.question, s.task));
    correct += s.correct;
  }
  // The matrix, the run's npy and the seed-format files agree with the stored samples.
  QVERIFY(std::abs(r.accuracy.sum().item<double>() - 100.0 * correct / 3.0) < 1e-9);
  const auto seed_acc = jobs::score_seed_results(o.results_folder, "tiny", o.tasks, o.lengths, babilong::prompt_name());
  QVERIFY(torch::allclose(seed_acc, r.accuracy));
  QVERIFY(torch::equal(io::read_npy(d.filePath("seed/tiny/acc_tiny.npy").toStdString()), r.accuracy));
  // 1k samples of the first run are the same when generated again (deterministic per seed and cell).
  auto codec = data::text8_codec();
  const auto a = jobs::babilong_cell("qa1", "1k", 3, 0, *codec, nullptr, "");
  const auto b = jobs::babilong_cell("qa1", "1k", 3, 0, *codec, nullptr, "");
  QCOMPARE(a[2].input, b[2].input);
  QVERIFY(jobs::babilong_cell("qa1", "1k", 3, 1, *codec, nullptr, "")[0].input != a[0].input);
  // Cancelled before the first sample: the run is recorded as cancelled, with the reason.
  std::atomic<bool> stop{true};
  const auto c = jobs::run_babilong_eval(ws, o, nullptr, stop);
  QCOMPARE(QString::fromStdString(c.status), QString("cancelled"));
  QCOMPARE(QString::fromStdString(store::RunStore(ws.db_path()).run(c.run_id)->status), QString("cancelled"));
  // Bad input: unknown task, a model file that is not one.
  o.tasks = {"qa99"};
  QVERIFY(error_of<ConfigError>([&] { jobs::run_babilong_eval(ws, o, nullptr, cancel); }).contains("qa1 … qa20"));
  o.tasks = {"qa1"};
  o.ckpt_path = d.filePath("nothing").toStdString();
  QVERIFY(error_of<FileError>([&] { jobs::run_babilong_eval(ws, o, nullptr, cancel); }).contains("not a model"));
}

void TestBabilong::needle_answer_span() {
  babilong::Record r{"qa1", "0k", "Mary moved to the office.", "Where is Mary? ", "office", 0};
  std::vector<std::unique_ptr<data::Codec>> codecs;
  codecs.push_back(data::text8_codec());
  codecs.push_back(data::bpe_codec(fixture("tokenizer/tokenizer.json")));
  for (const auto& codec : codecs) {
    const auto e = jobs::needle_example(r, *codec, 2048);
    QCOMPARE(e.ids.size(), e.labels.size());
    std::vector<int64_t> answer;
    size_t first = e.labels.size();
    for (size_t i = 0; i < e.labels.size(); ++i)
      if (e.labels[i] != -100) {
        first = std::min(first, i);
        answer.push_back(e.labels[i]);
        QCOMPARE(e.labels[i], e.ids[i]);
      }
    QVERIFY(!answer.empty());
    QCOMPARE(first + answer.size(), e.labels.size());  // the span runs to the end
    QCOMPARE(QString::fromStdString(codec->decode(answer)).trimmed(), QString("office"));
    // Truncation keeps the answer and drops context from the left.
    const auto cut = jobs::needle_example(r, *codec, 12);
    QCOMPARE(cut.ids.size(), size_t{12});
    QVERIFY(std::equal(answer.begin(), answer.end(), cut.labels.end() - static_cast<std::ptrdiff_t>(answer.size())));
  }
}

void TestBabilong::needle_finetune_beats_majority() {
  // A tiny character-level model fine-tuned on generated qa1 at 0k answers better than always
  // guessing the most frequent room of the evaluation samples.
  auto cfg = model::ModelConfig::hf_370m(model::Family::mamba2);
  cfg.vocab_size = 27;
  cfg.d_model = 64;
  cfg.n_layers = 2;
  cfg.head_dim = 16;
  cfg.d_state = 16;
  cfg.chunk_size = 64;
  torch::manual_seed(0);
  model::LanguageModel m(cfg);
  QTemporaryDir d;
  io::save_model(m, d.filePath("start.safetensors").toStdString());
  jobs::FinetuneOptions o;
  o.ckpt_path = d.filePath("start.safetensors").toStdString();
  o.output_dir = d.filePath("out").toStdString();
  o.tasks = {"qa1"};
  o.samples = 1000;
  o.batch_size = 16;
  o.max_steps = 300;
  o.warmup = 20;
  o.lr = 3e-3;
  o.eval_steps = 100;
  o.save_steps = 150;
  jobs::Workspace ws{d.filePath("ws").toStdString()};
  std::atomic<bool> cancel{false};
  std::string bad_shape;  // every event keeps its kind's promise
  const auto r = jobs::run_finetune_job(ws, o, [&](const train::TrainEvent& ev) {
    if (bad_shape.empty()) bad_shape = train::check_shape(ev);
  }, cancel);
  QVERIFY2(bad_shape.empty(), bad_shape.c_str());
  QCOMPARE(QString::fromStdString(r.status), QString("finished"));
  QVERIFY(QFileInfo::exists(d.filePath("out/checkpoint-150/model.safetensors")));
  store::RunStore db(ws.db_path());
  const auto losses = db.metrics(r.run_id, "eval/loss");
  QCOMPARE(losses.size(), size_t{3});
  QVERIFY2(losses.back().value < losses.front().value, "eval loss must fall");
  auto opened = jobs::open_text_model(d.filePath("out").toStdString());  // HF layout, text8 characters
  auto& tuned = opened.model;
  auto& codec = opened.codec;
  const auto test = jobs::babilong_cell("qa1", "0k", 120, 12345, *codec, nullptr, "");
  std::map<std::string, int> freq;
  int correct = 0;
  for (const auto& rec : test) {
    ++freq[rec.target];
    const auto ids = codec->encode(codec->normalize(babilong::finetune_prompt(rec)));
    auto out = codec->decode(jobs::generate_greedy(tuned, ids, 9, std::nullopt));
    out.erase(0, out.find_first_not_of(' '));
    out = out.substr(0, out.find(' '));  // a character model runs on after the answer word
    if (&rec == &test.front()) qInfo("first answer: '%s' (target %s)", out.c_str(), rec.target.c_str());
    correct += babilong::compare_answers(rec.target, out, rec.question, "qa1");
  }
  int majority = 0;
  for (const auto& [_, n] : freq) majority = std::max(majority, n);
  QVERIFY2(correct > majority, qPrintable(QString("fine-tuned %1/120 correct, majority answer %2/120").arg(correct).arg(majority)));
  qInfo("needle fine-tune: %d/120 correct, majority baseline %d/120", correct, majority);
}

QTEST_APPLESS_MAIN(TestBabilong)
// The intervals the Quick comparison prints and draws, against the worked examples of Newcombe (1998),
// "Interval estimation for the difference between independent proportions", Stat. Med. 17: Wilson's
// interval of 81/263 and method 10 (hybrid score) for examples (a), (b) and (d), to the paper's 4 decimals.
// The paired bootstrap on constructed data: identical models → interval [0, 0]; one model right wherever the
// other is wrong → excludes 0; fixed seed → identical intervals; its width matches the normal approximation
// 1.96·sd/√n on a large sample; seeds that disagree widen the two-level interval past the pooled one; the
// seed-only bootstrap needs two seeds.
void TestBabilong::bootstrap_intervals() {
  using dm::stats::paired_bootstrap;
  std::mt19937_64 g(5);
  std::vector<double> a(100), b(100);
  for (auto& v : a) v = static_cast<double>(g() % 2);
  auto same = paired_bootstrap({a}, {a});
  QCOMPARE(same.delta, 0.0);
  QVERIFY(same.ci.contains(0.0) && !same.excludes_zero());
  for (size_t i = 0; i < a.size(); ++i) b[i] = 1.0 - a[i];
  auto flip_right = a, flip_wrong = a;
  for (size_t i = 0; i < a.size(); ++i) flip_right[i] = 1.0, flip_wrong[i] = 0.0;
  const auto clear = paired_bootstrap({flip_right}, {flip_wrong});
  QCOMPARE(clear.delta, 1.0);
  QVERIFY(clear.excludes_zero());
  QCOMPARE(clear.samples, int64_t(100));
  const auto r1 = paired_bootstrap({a}, {b}, 2000, 9), r2 = paired_bootstrap({a}, {b}, 2000, 9);
  QCOMPARE(r1.ci.low, r2.ci.low);
  QCOMPARE(r1.ci.high, r2.ci.high);
  // Normal approximation on n = 2000 paired outcomes: half width 1.96·sd(d)/√n within 10 %.
  std::vector<double> x(2000), y(2000);
  std::bernoulli_distribution px(0.6), py(0.5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = px(g), y[i] = py(g);
  double mean = 0, var = 0;
  for (size_t i = 0; i < x.size(); ++i) mean += (x[i] - y[i]) / 2000.0;
  for (size_t i = 0; i < x.size(); ++i) var += (x[i] - y[i] - mean) * (x[i] - y[i] - mean) / 1999.0;
  const double half = 1.959964 * std::sqrt(var / 2000.0);
  const auto big = paired_bootstrap({x}, {y}, 4000, 1);
  QVERIFY(std::abs(big.delta - mean) < 1e-12);
  const double got = (big.ci.high - big.ci.low) / 2;
  QVERIFY2(std::abs(got - half) < 0.1 * half, qPrintable(QString("%1 vs %2").arg(got).arg(half)));
  // Two seeds where the model wins every question and one where it ties: pooled over samples the interval
  // is narrow and excludes 0; resampling seeds first shows that a seed can give no gain at all.
  std::vector<double> ones(100, 1.0), zeros(100, 0.0);
  const auto two = paired_bootstrap({ones, ones, zeros}, {zeros, zeros, zeros});
  QCOMPARE(two.seeds, int64_t(3));
  QVERIFY(std::abs(two.delta - 2.0 / 3.0) < 1e-12);
  QCOMPARE(two.ci.low, 0.0);
  QCOMPARE(two.ci.high, 1.0);
  std::vector<double> pooled_x, pooled_y(300, 0.0);
  for (int k = 0; k < 300; ++k) pooled_x.push_back(k < 200 ? 1.0 : 0.0);
  QVERIFY(paired_bootstrap({pooled_x}, {pooled_y}).excludes_zero());
  // Seeds only.
  const auto seeds = dm::stats::seed_bootstrap({30, 33, 36}, {15, 15, 15});
  QCOMPARE(seeds.samples, int64_t(0));
  QCOMPARE(seeds.delta, 18.0);
  QVERIFY(seeds.ci.low >= 15.0 && seeds.ci.high <= 21.0 && seeds.excludes_zero());
  QVERIFY(dm::test::error_of<std::invalid_argument>([] { dm::stats::seed_bootstrap({1}, {2}); }).contains("at least 2"));
  QVERIFY(dm::test::error_of<std::invalid_argument>([&] { paired_bootstrap({a}, {std::vector<double>(3)}); }).contains("pair up"));
}

void TestBabilong::binomial_intervals() {
  using dm::stats::wilson;
  using dm::stats::newcombe_difference;
  auto near = [](double a, double b) { return std::abs(a - b) < 5e-5; };
  auto w = wilson(81.0 / 263, 263);
  QVERIFY(near(w.low, 0.2553) && near(w.high, 0.3662));
  w = wilson(0.0, 10);  // 0 % is not certainty: the upper end is 27.75 %
  QVERIFY(near(w.low, 0.0) && near(w.high, 0.2775));
  auto d = newcombe_difference(56.0 / 70, 70, 48.0 / 80, 80);
  QVERIFY2(near(d.low, 0.0524) && near(d.high, 0.3339), qPrintable(QString("%1 %2").arg(d.low).arg(d.high)));
  d = newcombe_difference(9.0 / 10, 10, 3.0 / 10, 10);
  QVERIFY(near(d.low, 0.1705) && near(d.high, 0.8090));
  d = newcombe_difference(5.0 / 56, 56, 0.0, 29);
  QVERIFY(near(d.low, -0.0381) && near(d.high, 0.1926));
  QVERIFY(d.contains(0.0));
  // No samples: nothing is known.
  w = wilson(0.5, 0);
  QCOMPARE(w.low, 0.0);
  QCOMPARE(w.high, 1.0);
}

#include "tst_babilong.moc"
