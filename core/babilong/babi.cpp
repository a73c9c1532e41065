// bAbI tasks: names and file stems, generate_story over the qa1–qa5 generators (babi_generators.cpp),
// BABILong's story split and the released file grammar. Section numbers (§) refer to babi-tasks.md.
#include "core/babilong/babi.h"

#include <charconv>
#include <string_view>

#include "core/babilong/babi_generators.h"
#include "core/common/error.h"
#include "core/common/hash.h"

namespace dm::babilong {

namespace {

const std::array<const char*, 20> kTaskStems = {"qa1_single-supporting-fact",
                                                "qa2_two-supporting-facts",
                                                "qa3_three-supporting-facts",
                                                "qa4_two-arg-relations",
                                                "qa5_three-arg-relations",
                                                "qa6_yes-no-questions",
                                                "qa7_counting",
                                                "qa8_lists-sets",
                                                "qa9_simple-negation",
                                                "qa10_indefinite-knowledge",
                                                "qa11_basic-coreference",
                                                "qa12_conjunction",
                                                "qa13_compound-coreference",
                                                "qa14_time-reasoning",
                                                "qa15_basic-deduction",
                                                "qa16_basic-induction",
                                                "qa17_positional-reasoning",
                                                "qa18_size-reasoning",
                                                "qa19_path-finding",
                                                "qa20_agents-motivations"};

// 1 … 20 for "qa1" … "qa20", else 0.
int task_number(const std::string& task) {
  if (task.size() < 3 || task.size() > 4 || task.compare(0, 2, "qa") != 0 || task[2] == '0') return 0;
  int n = 0;
  for (size_t i = 2; i < task.size(); ++i) {
    if (task[i] < '0' || task[i] > '9') return 0;
    n = n * 10 + (task[i] - '0');
  }
  return n >= 1 && n <= 20 ? n : 0;
}

std::string generated_list() {
  std::string s;
  for (const auto& t : generated_tasks()) s += (s.empty() ? "" : ", ") + t;
  return s;
}

[[noreturn]] void unknown_task(const std::string& task) {
  if (task_number(task))
    throw ConfigError("task", task, "bAbI stories can be generated for " + generated_list() + " only");
  throw ConfigError("task", task,
                    "not a bAbI task; valid tasks: " + generated_list() + " (qa6..qa20 known, not generated)");
}

// ---------------------------------------------------------------------------------------------------
// File grammar helpers (§1.2).

[[noreturn]] void bad_line(const std::string& origin, size_t line, const std::string& what) {
  throw FileError(origin, "line " + std::to_string(line) + ": " + what);
}

// A positive decimal integer, no sign, no leading zero; -1 otherwise.
int parse_id(std::string_view s) {
  if (s.empty() || s.size() > 9 || s[0] == '0') return -1;
  int v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return -1;
  return v;
}

}  // namespace

// =====================================================================================================

std::vector<std::string> generated_tasks() { return {"qa1", "qa2", "qa3", "qa4", "qa5"}; }

bool is_known_task(const std::string& task) { return task_number(task) != 0; }

std::string task_file_stem(const std::string& task) {
  const int n = task_number(task);
  if (!n) throw ConfigError("task", task, "not a bAbI task; known tasks are qa1 … qa20");
  return kTaskStems[static_cast<size_t>(n - 1)];
}

int questions_per_story(const std::string& task) {
  switch (task_number(task)) {
    case 0:
      throw ConfigError("task", task, "not a bAbI task; known tasks are qa1 … qa20");
    case 4:
    case 16:
    case 19:
      return 1;
    case 15:
      return 4;
    case 17:
      return 8;
    case 20:
      return 11;  // ≈10.7, varies (§1.3)
    default:
      return 5;  // qa18 ≈5, varies
  }
}

Story generate_story(const std::string& task, std::mt19937_64& rng) {
  switch (task_number(task)) {
    case 1:
      return generators::qa1(rng);
    case 2:
      return generators::qa2(rng);
    case 3:
      return generators::qa3(rng);
    case 4:
      return generators::qa4(rng);
    case 5:
      return generators::qa5(rng);
    default:
      unknown_task(task);
  }
}

std::vector<Sample> split_story(const Story& s) {
  std::vector<Sample> out;
  std::vector<std::string> facts;
  std::vector<int> fact_of_line(s.lines.size() + 1, -1);  // line number → fact index, -1 for questions
  for (size_t i = 0; i < s.lines.size(); ++i) {
    const StoryLine& l = s.lines[i];
    if (!l.is_question) {
      fact_of_line[i + 1] = static_cast<int>(facts.size());
      facts.push_back(l.text);
      continue;
    }
    Sample smp{s.task, facts, l.text, l.answer, {}};
    for (int id : l.supporting) {
      if (id < 1 || static_cast<size_t>(id) > i || fact_of_line[static_cast<size_t>(id)] < 0)
        throw ConfigError("supporting id of story line " + std::to_string(i + 1), std::to_string(id),
                          "must be the line number of an earlier statement of the same story");
      smp.supporting.push_back(fact_of_line[static_cast<size_t>(id)]);
    }
    out.push_back(std::move(smp));
  }
  return out;
}

std::vector<Sample> generate_samples(const std::string& task, int64_t n, uint64_t seed) {
  if (task_number(task) < 1 || task_number(task) > 5) unknown_task(task);
  if (n < 0) throw ConfigError("samples", std::to_string(n), "must be ≥ 0");
  std::mt19937_64 rng(seed ^ (fnv1a(task) * 0x9e3779b97f4a7c15ull));
  std::vector<Sample> out;
  out.reserve(static_cast<size_t>(n));
  while (static_cast<int64_t>(out.size()) < n) {
    for (auto& smp : split_story(generate_story(task, rng))) {
      if (static_cast<int64_t>(out.size()) == n) break;
      out.push_back(std::move(smp));
    }
  }
  return out;
}

std::vector<Story> parse_babi(const std::string& text, const std::string& task, const std::string& origin) {
  std::vector<Story> stories;
  std::vector<bool> is_statement;  // per line of the current story
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) bad_line(origin, line_no, "blank line (bAbI files have none)");
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) bad_line(origin, line_no, "expected \"<id> <text>\"");
    const int id = parse_id(line.substr(0, sp));
    if (id < 0)
      bad_line(origin, line_no, "line id \"" + std::string(line.substr(0, sp)) + "\" is not a positive integer");
    if (id == 1) {
      if (!stories.empty() && !stories.back().lines.back().is_question)
        bad_line(origin, line_no - 1, "story does not end with a question");
      stories.push_back(Story{task, {}});
      is_statement.clear();
    } else if (stories.empty() || static_cast<size_t>(id) != stories.back().lines.size() + 1) {
      bad_line(origin, line_no,
               "line id " + std::to_string(id) + " should be " +
                   (stories.empty() ? std::string("1 (a story starts at 1)")
                                    : std::to_string(stories.back().lines.size() + 1)));
    }
    const std::string_view rest = line.substr(sp + 1);
    StoryLine sl;
    const size_t tab = rest.find('\t');
    if (tab == std::string_view::npos) {
      sl.text = std::string(rest);
    } else {
      const size_t tab2 = rest.find('\t', tab + 1);
      if (tab2 == std::string_view::npos || rest.find('\t', tab2 + 1) != std::string_view::npos)
        bad_line(origin, line_no, "a question line needs exactly three tab-separated fields (question, answer, ids)");
      sl.is_question = true;
      sl.text = std::string(rest.substr(0, tab));
      sl.answer = std::string(rest.substr(tab + 1, tab2 - tab - 1));
      if (sl.answer.empty()) bad_line(origin, line_no, "empty answer");
      std::string_view ids = rest.substr(tab2 + 1);
      while (!ids.empty()) {
        const size_t e = std::min(ids.find(' '), ids.size());
        const std::string_view tok = ids.substr(0, e);
        const int sid = parse_id(tok);
        if (sid < 0) bad_line(origin, line_no, "supporting id \"" + std::string(tok) + "\" is not a positive integer");
        if (sid >= id || !is_statement[static_cast<size_t>(sid - 1)])
          bad_line(origin, line_no,
                   "supporting id " + std::to_string(sid) + " is not an earlier statement of this story");
        if (std::find(sl.supporting.begin(), sl.supporting.end(), sid) != sl.supporting.end())
          bad_line(origin, line_no, "supporting id " + std::to_string(sid) + " repeated");
        sl.supporting.push_back(sid);
        ids.remove_prefix(std::min(e + 1, ids.size()));
      }
      if (sl.supporting.empty()) bad_line(origin, line_no, "a question needs at least one supporting id");
    }
    if (sl.text.empty() || sl.text.find_first_not_of(' ') == std::string::npos) bad_line(origin, line_no, "empty text");
    is_statement.push_back(!sl.is_question);
    stories.back().lines.push_back(std::move(sl));
  }
  if (!stories.empty() && !stories.back().lines.back().is_question)
    bad_line(origin, line_no, "story does not end with a question");
  return stories;
}

std::string format_babi(const Story& s) {
  std::string out;
  for (size_t i = 0; i < s.lines.size(); ++i) {
    const StoryLine& l = s.lines[i];
    out += std::to_string(i + 1) + " " + l.text;
    if (l.is_question) {
      out += "\t" + l.answer + "\t";
      for (size_t k = 0; k < l.supporting.size(); ++k) {
        if (k) out += ' ';
        out += std::to_string(l.supporting[k]);
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace dm::babilong
