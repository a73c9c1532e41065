// bAbI tasks qa1–qa5 (tasks_1-20_v1-2, en-10k): story generators that write stories like the released
// files (same people, rooms, objects, sentence templates, world rules, question phrasings and measured
// statistics; spec babi-tasks §1–§7), BABILong's split of a story into single-question samples (§9), and
// a reader/writer for the released file grammar (§1.2). No torch, no Qt.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace dm::babilong {

// One line of a bAbI story as in the released files: a statement, or a question with its answer and the
// 1-based line numbers (counting question lines too, §1.2) of its supporting statements, in the task's
// order (not sorted, §10.3). A question's text is field 1 of its line exactly, so it keeps the trailing
// space of qa1–qa3/qa5 ("Where is Mary? ") and has none in qa4 (§1.2, §9.1).
struct StoryLine {
  bool is_question = false;
  std::string text;
  std::string answer;           // questions only
  std::vector<int> supporting;  // questions only: line numbers of statements of the same story
};

// One story: line i (0-based) has line number i + 1; it always ends with a question.
struct Story {
  std::string task;  // "qa1" …
  std::vector<StoryLine> lines;
};

// One single-question sample as BABILong builds it (§9.2–9.3): every statement before the question, in
// order (earlier questions removed), the question (with its trailing space), the answer, and the 0-based
// indices into `facts` of the supporting statements, in the story's support order.
struct Sample {
  std::string task;
  std::vector<std::string> facts;
  std::string question;
  std::string answer;
  std::vector<int> supporting;
};

// The tasks generate_story() can write: {"qa1", "qa2", "qa3", "qa4", "qa5"}.
std::vector<std::string> generated_tasks();
// qa1 … qa20.
bool is_known_task(const std::string& task);
// The released file stem of a known task ("qa1" → "qa1_single-supporting-fact", §1.1). Throws ConfigError.
std::string task_file_stem(const std::string& task);
// Questions per story of a known task in the released files (§1.3; qa18/qa20 vary, their mean rounded).
int questions_per_story(const std::string& task);

// One story of `task`. Throws dm::ConfigError naming the task and the valid set for an unknown or
// not-generated task.
Story generate_story(const std::string& task, std::mt19937_64& rng);

// BABILong's split (§9): one sample per question, in order. Throws ConfigError when a supporting id is
// not the line number of an earlier statement of the story.
std::vector<Sample> split_story(const Story& s);

// n samples of `task`, deterministic for (task, seed) on every platform (no std:: distributions):
// generates stories and splits them, in order, until n samples exist (the last story may be cut).
// Throws ConfigError for an unknown task or n < 0.
std::vector<Sample> generate_samples(const std::string& task, int64_t n, uint64_t seed);

// Parses a released bAbI file's text (§1.2: "<n> <sentence>" and "<n> <question>\t<answer>\t<ids>",
// a story per run of lines from id 1; a final newline, a trailing CR per line tolerated) into stories.
// Throws dm::FileError(origin, "line N: …") on malformed input: a bad or non-consecutive id, a missing
// text, a question line without exactly three tab fields, an empty answer, supporting ids that are not
// earlier statements of the same story, a blank line, or a story that does not end with a question.
std::vector<Story> parse_babi(const std::string& text, const std::string& task, const std::string& origin);

// The story in the file grammar, one line per entry, each ending with '\n' (round trip with parse_babi).
std::string format_babi(const Story& s);

}  // namespace dm::babilong
