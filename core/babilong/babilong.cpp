#include "core/babilong/babilong.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/common/error.h"
#include "core/io/atomic_file.h"

namespace dm::babilong {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::pair<std::string, int64_t>>& length_table() {
  static const std::vector<std::pair<std::string, int64_t>> t = {
      {"0k", 0},           {"1k", 1024},        {"2k", 2048},         {"4k", 4096},       {"8k", 8192},
      {"16k", 16384},      {"32k", 32768},      {"64k", 65536},       {"128k", 131072},   {"256k", 262144},
      {"512k", 524288},    {"1M", 1048576}};
  return t;
}

// bAbI people (qa1–qa3, qa5–qa13): a distractor sentence naming one is dropped.
const std::vector<std::string>& babi_people() {
  static const std::vector<std::string> p = {"Mary", "John", "Daniel", "Sandra", "Fred", "Bill", "Jeff"};
  return p;
}

bool names_person(const std::string& s) {
  for (const auto& name : babi_people()) {
    for (size_t pos = s.find(name); pos != std::string::npos; pos = s.find(name, pos + 1)) {
      const bool left = pos == 0 || !std::isalpha(static_cast<unsigned char>(s[pos - 1]));
      const size_t e = pos + name.size();
      const bool right = e >= s.size() || !std::isalpha(static_cast<unsigned char>(s[e]));
      if (left && right) return true;
    }
  }
  return false;
}

std::string strip(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  const auto b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// BABILong's DEFAULT_PROMPTS (booydar/babilong prompts.py) for the generated tasks: data, kept verbatim.
struct TaskPrompt {
  const char *instruction, *examples, *post_prompt;
};
const std::map<std::string, TaskPrompt>& default_prompts() {
  static const std::map<std::string, TaskPrompt> m = {
      {"qa1",
       {"I will give you context with the facts about positions of different persons hidden in some random text "
        "and a question. You need to answer the question based only on the information from the facts. "
        "If a person was in different locations, use the latest location to answer the question.",
        "<example>\nCharlie went to the hallway. Judith come back to the kitchen. Charlie travelled to balcony. "
        "Where is Charlie?\nAnswer: The most recent location of Charlie is balcony.\n</example>\n\n"
        "<example>\nAlan moved to the garage. Charlie went to the beach. Alan went to the shop. Rouse "
        "travelled to balcony. Where is Alan?\nAnswer: The most recent location of Alan is shop.\n</example>",
        "Always return your answer in the following format: "
        "The most recent location of \u2019person\u2019 is \u2019location\u2019. Do not write anything else after that."}},
      {"qa2",
       {"I give you context with the facts about locations and actions of different persons "
        "hidden in some random text and a question."
        "You need to answer the question based only on the information from the facts.\n"
        "If a person got an item in the first location and travelled to the second location "
        "the item is also in the second location. "
        "If a person dropped an item in the first location and moved to the second location "
        "the item remains in the first location.",
        "<example>\nCharlie went to the kitchen. Charlie got a bottle. Charlie moved to the balcony. "
        "Where is the bottle?\nAnswer: The bottle is in the balcony.\n</example>\n"
        "<example>\nAlan moved to the garage. Alan got a screw driver. Alan moved to the kitchen. Where "
        "is the screw driver?\nAnswer: The screw driver is in the kitchen.\n</example>",
        "Always return your answer in the following format: The \u2019item\u2019 is in \u2019location\u2019. "
        "Do not write anything else after that."}},
      {"qa3",
       {"I give you context with the facts about locations and actions of different persons "
        "hidden in some random text and a question. "
        "You need to answer the question based only on the information from the facts.\n"
        "If a person got an item in the first location and travelled to the second location "
        "the item is also in the second location. "
        "If a person dropped an item in the first location and moved to the second location "
        "the item remains in the first location.",
        "<example>\nJohn journeyed to the bedroom. Mary grabbed the apple. Mary went back to the bathroom. "
        "Daniel journeyed to the bedroom. Daniel moved to the garden. Mary travelled to the kitchen. "
        "Where was the apple before the kitchen?\nAnswer: Before the kitchen the apple was in the bathroom.\n</example>\n"
        "<example>\nJohn went back to the bedroom. John went back to the garden. John went back to the kitchen. "
        "Sandra took the football. Sandra travelled to the garden. Sandra journeyed to the bedroom. "
        "Where was the football before the bedroom?\nAnswer: Before the bedroom the football was in the garden.\n</example>",
        "Always return your answer in the following format: "
        "Before the $location_1$ the $item$ was in the $location_2$. Do not write anything else after that."}},
      {"qa4",
       {"I will give you context with the facts about different people, their location and actions, hidden in "
        "some random text and a question. "
        "You need to answer the question based only on the information from the facts.",
        "<example>\nThe hallway is south of the kitchen. The bedroom is north of the kitchen. "
        "What is the kitchen south of?\nAnswer: bedroom\n</example>\n"
        "<example>\nThe garden is west of the bedroom. The bedroom is west of the kitchen. What is west of the bedroom?\n"
        "Answer: garden\n</example>",
        "Your answer should contain only one word - location. Do not write anything else after that."}},
      {"qa5",
       {"I will give you context with the facts about locations and their relations hidden in some random text "
        "and a question. You need to answer the question based only on the information from the facts.",
        "<example>\nMary picked up the apple there. Mary gave the apple to Fred. Mary moved to the bedroom. "
        "Bill took the milk there. Who did Mary give the apple to?\nAnswer: Fred\n</example>\n"
        "<example>\nJeff took the football there. Jeff passed the football to Fred. Jeff got the milk there. "
        "Bill travelled to the bedroom. Who gave the football?\nAnswer: Jeff\n</example>\n"
        "<example>\nFred picked up the apple there. Fred handed the apple to Bill. Bill journeyed to the bedroom. "
        "Jeff went back to the garden. What did Fred give to Bill?\nAnswer: apple\n</example>",
        "Your answer should contain only one word. Do not write anything else after that. "
        "Do not explain your answer."}}};
  return m;
}

}  // namespace

int64_t length_tokens(const std::string& name) {
  for (const auto& [n, v] : length_table())
    if (n == name) return v;
  throw ConfigError("length", name, "must be one of " + join(length_names(), ", "));
}

const std::vector<std::string>& length_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [n, _] : length_table()) v.push_back(n);
    return v;
  }();
  return names;
}

size_t NoiseSource::sentence_count() const {
  size_t n = 0;
  for (const auto& b : books_) n += b.size();
  return n;
}

std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto s = strip(cur);
    cur.clear();
    if (s.size() >= 2 && !names_person(s)) out.push_back(std::move(s));
  };
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && !cur.empty() && cur.back() == ' ') continue;
    if (c == ' ' && cur.empty()) continue;
    cur += c;
    if (c == '.' || c == '!' || c == '?') {
      size_t j = i + 1;
      while (j < n && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']')) cur += text[j++];
      size_t k = j;
      while (k < n && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
      if (k == n || (k > j && (std::isupper(static_cast<unsigned char>(text[k])) ||
                               std::isdigit(static_cast<unsigned char>(text[k])) || text[k] == '"' || text[k] == '\''))) {
        flush();
        i = k - 1;
      } else {
        i = j - 1;
      }
    }
  }
  flush();
  return out;
}

NoiseSource NoiseSource::from_text(const std::string& text, const std::string& origin) {
  NoiseSource n;
  n.origin_ = origin;
  auto s = split_sentences(text);
  if (s.empty()) throw FileError(origin, "holds no usable distractor sentences");
  n.books_.push_back(std::move(s));
  return n;
}

NoiseSource NoiseSource::from_pg19(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw FileError(dir, "is not a folder of PG19 books (*.txt)");
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  NoiseSource n;
  n.origin_ = dir;
  for (const auto& f : files) {
    auto s = split_sentences(io::read_file(f.string()));
    if (s.size() > 2) n.books_.emplace_back(s.begin() + 1, s.end() - 1);  // drop partial first / last
  }
  if (n.books_.empty()) throw FileError(dir, "has no readable *.txt book with sentences");
  return n;
}

NoiseSource NoiseSource::default_corpus() {
  const std::string dir = "/usr/share/games/fortunes";
  std::string text;
  std::error_code ec;
  for (const char* f : {"fortunes", "literature", "riddles"})
    if (fs::exists(fs::path(dir) / f, ec)) text += io::read_file((fs::path(dir) / f).string()) + "\n";
  if (text.empty())
    throw FileError(dir, "the default distractor text (Debian package fortunes-min) is not installed; "
                         "install it or pass a PG19 folder");
  // Each fortune (between "%" lines) ends a sentence, with a period if it has no closing mark.
  std::string joined;
  std::stringstream ss(text);
  std::string fortune;
  auto close = [&] {
    auto f = strip(fortune);
    fortune.clear();
    if (f.empty()) return;
    if (std::string(".!?\"')").find(f.back()) == std::string::npos) f += '.';
    joined += f + "\n\n";
  };
  for (std::string line; std::getline(ss, line);) {
    if (strip(line) == "%") close();
    else fortune += line + "\n";
  }
  close();
  return from_text(joined, dir);
}

Record build_record(const Sample& s, const std::string& length, const data::Codec& codec, const NoiseSource& noise,
                    std::mt19937_64& rng, int64_t reserve) {
  const int64_t nominal = length_tokens(length);
  Record r{s.task, length, "", s.question, s.answer, 0, s.facts};
  const int64_t budget = nominal - reserve;
  const int64_t fact_tokens = static_cast<int64_t>(codec.encode(join(s.facts, " ")).size());
  if (nominal == 0 || budget <= fact_tokens) {
    r.input = join(s.facts, " ");
    r.input_tokens = fact_tokens;
    return r;
  }
  if (noise.sentence_count() == 0) throw Error("BABILong: the distractor source " + noise.origin() + " is empty");
  auto assemble = [&](int64_t need) {
    // Distractor sentences from a random book and sentence on, wrapping to the next books.
    std::vector<std::string> sentences;
    int64_t have = 0;
    size_t book = std::uniform_int_distribution<size_t>(0, noise.books().size() - 1)(rng);
    size_t pos = std::uniform_int_distribution<size_t>(0, noise.books()[book].size() - 1)(rng);
    size_t tried = 0;
    const size_t total = noise.sentence_count();
    while (have < need) {
      const auto& b = noise.books()[book];
      const auto& sent = b[pos];
      auto ids = codec.encode(" " + sent);
      const auto n = static_cast<int64_t>(ids.size());
      if (n >= 10) {
        if (have + n > need) {
          ids.resize(static_cast<size_t>(need - have));
          sentences.push_back(strip(codec.decode(ids)));
          have = need;
        } else {
          sentences.push_back(sent);
          have += n;
        }
      }
      if (++pos >= b.size()) {
        pos = 0;
        book = (book + 1) % noise.books().size();
      }
      if (++tried > total && sentences.empty())
        throw Error("BABILong: no distractor sentence of " + noise.origin() + " has 10 tokens or more");
    }
    // One gap (0 … n) per fact, drawn with replacement and sorted: fact order is kept.
    std::vector<size_t> gaps(s.facts.size());
    std::uniform_int_distribution<size_t> gap(0, sentences.size());
    for (auto& g : gaps) g = gap(rng);
    std::sort(gaps.begin(), gaps.end());
    std::vector<std::string> parts;
    parts.reserve(sentences.size() + s.facts.size());
    size_t f = 0;
    for (size_t i = 0; i <= sentences.size(); ++i) {
      while (f < gaps.size() && gaps[f] == i) parts.push_back(s.facts[f++]);
      if (i < sentences.size()) parts.push_back(sentences[i]);
    }
    return join(parts, " ");
  };
  // Sentences tokenised one by one do not add up exactly to the joined text (normalisation, merges
  // across the joining spaces), so the noise budget is corrected from the measured length (≤ 4 passes,
  // each with the same random draws).
  const auto start = rng;
  int64_t need = budget - fact_tokens;
  for (int pass = 0; pass < 4; ++pass) {
    rng = start;
    r.input = assemble(need);
    r.input_tokens = static_cast<int64_t>(codec.encode(r.input).size());
    const int64_t off = r.input_tokens - budget;
    if (std::abs(off) * 200 <= budget || need - off <= 0) break;  // within 0.5 %
    need -= off;
  }
  return r;
}

std::string format_prompt(const Record& r, const PromptOptions& o) {
  const auto it = default_prompts().find(r.task);
  if ((o.instruction || o.examples || o.post_prompt) && it == default_prompts().end())
    throw ConfigError("prompt", r.task, "BABILong instructions exist for qa1–qa5 only; use the no_instruct prompt");
  const std::string instruction = o.instruction ? it->second.instruction : "";
  const std::string examples = o.examples ? it->second.examples : "";
  const std::string post = o.post_prompt ? it->second.post_prompt : "";
  return strip(instruction + "\n\n" + examples + "\n\n" + post + "\n\n<context>\n" + strip(r.input) +
               "\n</context>\n\nQuestion: " + r.question) +
         (o.answer_cue ? " Answer:" : "");
}

std::string prompt_name(const PromptOptions& o) {
  auto yn = [](bool b) { return b ? std::string("yes") : std::string("no"); };
  return "instruction_" + yn(o.instruction) + "_examples_" + yn(o.examples) + "_post_prompt_" + yn(o.post_prompt) +
         "_chat_template_no_system_prompt_no" + (o.answer_cue ? "_answer_cue_yes" : "");
}

std::string finetune_prompt(const Record& r) {
  return "<context> \n" + r.input + "\n</context>\n\nQuestion: " + r.question + " Answer: ";
}

const std::vector<std::string>& task_labels(const std::string& task) {
  static const std::vector<std::string> rooms = {"bathroom", "bedroom", "garden", "hallway", "kitchen", "office"};
  static const std::map<std::string, std::vector<std::string>> m = {
      {"qa1", rooms}, {"qa2", rooms}, {"qa3", rooms}, {"qa4", rooms},
      {"qa5", {"Bill", "Fred", "Jeff", "Mary", "apple", "football", "milk"}},
      {"qa6", {"no", "yes"}}, {"qa7", {"none", "one", "three", "two"}},
      {"qa8", {"apple", "football", "milk", "nothing"}}, {"qa9", {"no", "yes"}}, {"qa10", {"maybe", "no", "yes"}},
      {"qa11", rooms}, {"qa12", rooms}, {"qa13", rooms},
      {"qa14", {"bedroom", "cinema", "kitchen", "office", "park", "school"}},
      {"qa15", {"cat", "mouse", "sheep", "wolf"}}, {"qa16", {"gray", "green", "white", "yellow"}},
      {"qa17", {"no", "yes"}}, {"qa18", {"no", "yes"}},
      {"qa19", {"e,e", "e,n", "e,s", "n,e", "n,n", "n,w", "s,e", "s,s", "s,w", "w,n", "w,s", "w,w"}},
      {"qa20", {"bedroom", "bored", "garden", "hungry", "kitchen", "thirsty", "tired"}}};
  const auto it = m.find(task);
  if (it == m.end()) throw ConfigError("task", task, "must be one of qa1 … qa20");
  return it->second;
}

bool compare_answers(const std::string& target, const std::string& output, const std::string& question,
                     const std::string& task) {
  std::string out = lower(strip(output));
  for (const char* cut : {".", "<context>", "<example>", "Question"}) out = out.substr(0, out.find(cut));
  const std::string q = lower(question);
  std::vector<std::string> in_question, in_output;
  for (const auto& label : task_labels(task)) {
    const auto l = lower(label);
    if (q.find(l) != std::string::npos) in_question.push_back(l);
  }
  for (const auto& label : task_labels(task)) {
    const auto l = lower(label);
    if (out.find(l) != std::string::npos && std::find(in_question.begin(), in_question.end(), l) == in_question.end())
      in_output.push_back(l);
  }
  const auto t = lower(target);
  if (t.find(',') != std::string::npos && t.size() > 3) {
    std::vector<std::string> subs;
    std::stringstream ss(t);
    for (std::string x; std::getline(ss, x, ',');) subs.push_back(x);
    for (const auto& x : subs)
      if (std::find(in_output.begin(), in_output.end(), x) == in_output.end()) return false;
    return in_output.size() == subs.size();
  }
  return in_output.size() == 1 && in_output[0] == t;
}

void write_records(const std::string& path, const std::vector<Record>& records) {
  std::string out;
  for (const auto& r : records) {
    json o{{"input", r.input}, {"question", r.question}, {"target", r.target}, {"task", r.task},
           {"length", r.length}, {"input_tokens", r.input_tokens}};
    if (!r.facts.empty()) o["facts"] = r.facts;
    out += o.dump() + "\n";
  }
  io::write_file_atomic(path, out);
}

std::vector<Record> read_records(const std::string& path, const std::string& task, const std::string& length) {
  const std::string text = io::read_file(path);
  std::vector<json> objects;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    try {
      for (auto& o : json::parse(text)) objects.push_back(o);
    } catch (const json::exception& e) {
      throw FileError(path, std::string("is not a valid JSON array: ") + e.what());
    }
  } else {
    std::stringstream ss(text);
    int line_no = 0;
    for (std::string line; std::getline(ss, line);) {
      ++line_no;
      if (strip(line).empty()) continue;
      try {
        objects.push_back(json::parse(line));
      } catch (const json::exception& e) {
        throw FileError(path, "line " + std::to_string(line_no) + " is not valid JSON: " + e.what());
      }
    }
  }
  std::vector<Record> out;
  for (size_t i = 0; i < objects.size(); ++i) {
    const auto& o = objects[i];
    for (const char* k : {"input", "question", "target"})
      if (!o.is_object() || !o.contains(k) || !o.at(k).is_string())
        throw FileError(path, "record " + std::to_string(i + 1) + " has no string field '" + k +
                                  "' (BABILong records need input, question and target)");
    Record r;
    r.input = o.at("input");
    r.question = o.at("question");
    r.target = o.at("target");
    r.task = o.contains("task") && o.at("task").is_string() ? o.at("task").get<std::string>() : task;
    r.length = o.contains("length") && o.at("length").is_string() ? o.at("length").get<std::string>() : length;
    if (o.contains("input_tokens") && o.at("input_tokens").is_number_integer()) r.input_tokens = o.at("input_tokens");
    if (o.contains("facts") && o.at("facts").is_array())
      for (const auto& f : o.at("facts"))
        if (f.is_string()) r.facts.push_back(f.get<std::string>());
    out.push_back(std::move(r));
  }
  if (out.empty())
    throw FileError(path, "holds no BABILong records (an empty file would be scored as 0 %, so it is refused)");
  return out;
}

std::vector<Record> import_babilong(const std::string& dir, const std::string& task, const std::string& length) {
  const fs::path d(dir);
  std::vector<fs::path> tried;
  for (const auto& base : {d / length / task, d / (task + "_" + length), d / length / (task + "_" + length)}) {
    for (const char* ext : {".jsonl", ".json"}) {
      auto p = base;
      p += ext;
      tried.push_back(p);
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return read_records(p.string(), task, length);
    }
  }
  std::string list;
  for (const auto& p : tried) list += "\n  " + p.string();
  throw FileError(dir, "has no BABILong file for " + task + " at " + length + "; looked for:" + list);
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& origin) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      row.clear();
      field.clear();
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (quoted) throw FileError(origin, "ends inside a quoted CSV field (truncated?)");
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace dm::babilong
