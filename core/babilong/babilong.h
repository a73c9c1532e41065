// BABILong: bAbI samples hidden in long distractor text (spec babi-tasks §9, upstream §7.3–7.4, §8):
// length names, distractor sources (PG19 books or the default corpus), sample construction measured in
// the model's own tokens, BABILong's prompt formats, its answer matcher, and the dataset's records as
// JSON lines (written by `babilong generate`, read back, or imported from the published files).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/babilong/babi.h"
#include "core/data/codec.h"

namespace dm::babilong {

// "0k", "1k", …, "128k", "256k", "512k", "1M" → nominal tokens (k = 1024). Throws ConfigError.
int64_t length_tokens(const std::string& name);
const std::vector<std::string>& length_names();
// Tokens BABILong leaves for the prompt around the context (its budget is nominal − 300).
inline constexpr int64_t kPromptReserve = 300;

// One BABILong sample: the dataset's fields plus where it came from.
struct Record {
  std::string task, length;
  std::string input, question, target;
  int64_t input_tokens = 0;  // in the codec that built it; 0 when imported
  // The bAbI facts hidden in the input (the needle), in order: set when generated, read from a file's
  // "facts" field when present (BABILong's released files have none).
  std::vector<std::string> facts;
};

// Sentences of distractor text, grouped by book.
class NoiseSource {
 public:
  // Every *.txt under `dir` (PG19: one book per file). Throws FileError when none is readable.
  static NoiseSource from_pg19(const std::string& dir);
  static NoiseSource from_text(const std::string& text, const std::string& origin);
  // The fortunes text the demo corpus uses (Debian's fortunes-min). Throws FileError without it.
  static NoiseSource default_corpus();
  const std::vector<std::vector<std::string>>& books() const { return books_; }
  const std::string& origin() const { return origin_; }
  size_t sentence_count() const;

 private:
  std::vector<std::vector<std::string>> books_;
  std::string origin_;
};

// Splits prose into sentences: ends at . ! ? (plus closing quotes/brackets) followed by whitespace and
// an upper-case letter, digit or quote; line breaks inside a sentence become spaces. Sentences naming a
// bAbI person are dropped, so distractors never compete with the facts.
std::vector<std::string> split_sentences(const std::string& text);

// BABILong's construction: the sample's facts, in order, each at a random gap between distractor
// sentences (gaps drawn with replacement, then sorted), starting at a random sentence of a random book,
// until the input has length_tokens(length) − reserve tokens of `codec` (noise sentences shorter than
// 10 tokens skipped, the last one cut to fit). "0k": the facts alone. Sentences are joined by one space.
Record build_record(const Sample& s, const std::string& length, const data::Codec& codec, const NoiseSource& noise,
                    std::mt19937_64& rng, int64_t reserve = kPromptReserve);

// Which parts of BABILong's DEFAULT_PROMPTS go into the prompt (the seed evaluates none: no_instruct).
// `answer_cue` ends the prompt with " Answer:" as the needle fine-tuning text does (the seed's evaluation
// does not; a small character-level model fine-tuned on "… Answer: <target>" needs the cue to answer).
struct PromptOptions {
  bool instruction = false, examples = false, post_prompt = false, answer_cue = false;
};
// BABILong's template "{instruction}\n\n{examples}\n\n{post_prompt}\n\n<context>\n{context}\n</context>\n\n
// Question: {question}" with the context stripped, then the whole string stripped; then " Answer:" when
// answer_cue is set.
std::string format_prompt(const Record& r, const PromptOptions& o = {});
// The seed's name of a prompt configuration (file names of its CSVs); "_answer_cue_yes" added when set.
std::string prompt_name(const PromptOptions& o = {});
// The needle fine-tuning text (finetune_needle.py): "<context> \n{input}\n</context>\n\nQuestion: {question} Answer: ";
// the answer follows it.
std::string finetune_prompt(const Record& r);

// BABILong's compare_answers (metrics.py): the task's labels found in the output (cut at the first '.',
// '<context>', '<example>'), minus labels named in the question, must be exactly the target's.
bool compare_answers(const std::string& target, const std::string& output, const std::string& question,
                     const std::string& task);
const std::vector<std::string>& task_labels(const std::string& task);

// JSON lines with the dataset's fields (input, question, target) plus task and length.
void write_records(const std::string& path, const std::vector<Record>& records);
// JSON lines or one JSON array of objects with input / question / target. Throws FileError naming the line.
std::vector<Record> read_records(const std::string& path, const std::string& task = "", const std::string& length = "");
// The published BABILong files exported as JSON: `dir/<length>/<task>.json[l]` or `dir/<task>_<length>.json[l]`
// (or `dir/<length>/<task>/…` as written by datasets' to_json). Throws FileError naming the paths it tried.
std::vector<Record> import_babilong(const std::string& dir, const std::string& task, const std::string& length);

// A CSV file as the seed's pandas writes it (header row, quoted fields with embedded newlines).
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& origin);

}  // namespace dm::babilong
