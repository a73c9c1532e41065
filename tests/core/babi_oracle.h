// An independent reader and solver of bAbI qa1–qa5 stories for the generator tests (tst_babi): the
// released data's vocabulary, the sentence templates of babi-tasks §2.2 / §6 parsed with this file's own
// patterns, and a world tracker that answers every question from the facts alone. Nothing here comes
// from core/babilong.
#pragma once

#include <algorithm>
#include <cctype>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace dm::test::babi {

// ---------------------------------------------------------------------------------------------------
// Vocabulary of the released data (§2.1, §7).

inline const std::vector<std::string> kPeople = {"Mary", "John", "Daniel", "Sandra"};
inline const std::vector<std::string> kPeopleQa5 = {"Bill", "Fred", "Jeff", "Mary"};
inline const std::vector<std::string> kRooms = {"bathroom", "bedroom", "garden", "hallway", "kitchen", "office"};
inline const std::vector<std::string> kObjects = {"apple", "football", "milk"};

inline const std::vector<std::string>& people_of(const std::string& task) {
  return task == "qa5" ? kPeopleQa5 : kPeople;
}
inline bool in(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// ---------------------------------------------------------------------------------------------------
// Independent reader: sentences of §2.2 / §6 parsed by this test's own patterns.

enum class Kind { Move, Get, Drop, Give, Rel };
struct Fact {
  Kind kind;
  std::string a;  // subject (Rel: the subject room)
  std::string x;  // room (Move), object (Get/Drop/Give), direction (Rel)
  std::string b;  // recipient (Give), object room (Rel)
  std::string verb;
  bool there = false;
};

inline const std::string kA = "(Mary|John|Daniel|Sandra|Bill|Fred|Jeff)";
inline const std::string kL = "(bathroom|bedroom|garden|hallway|kitchen|office)";
inline const std::string kO = "(apple|football|milk)";
inline const std::string kD = "(north|south|east|west)";

inline std::optional<Fact> parse_fact(const std::string& s) {
  static const std::regex move("^" + kA + " (moved to|went to|went back to|journeyed to|travelled to) the " + kL +
                               "\\.$");
  static const std::regex get("^" + kA + " (got|took|grabbed|picked up) the " + kO + "( there)?\\.$");
  static const std::regex drop("^" + kA + " (dropped|discarded|put down|left) the " + kO + "( there)?\\.$");
  static const std::regex give("^" + kA + " (gave|handed|passed) the " + kO + " to " + kA + "\\.$");
  static const std::regex rel("^The " + kL + " is " + kD + " of the " + kL + "\\.$");
  static std::unordered_map<std::string, std::optional<Fact>> cache;  // stories reuse a few hundred sentences
  if (auto it = cache.find(s); it != cache.end()) return it->second;
  std::smatch m;
  std::optional<Fact> f;
  if (std::regex_match(s, m, move))
    f = Fact{Kind::Move, m[1], m[3], "", m[2], false};
  else if (std::regex_match(s, m, get))
    f = Fact{Kind::Get, m[1], m[3], "", m[2], m[4].matched};
  else if (std::regex_match(s, m, drop))
    f = Fact{Kind::Drop, m[1], m[3], "", m[2], m[4].matched};
  else if (std::regex_match(s, m, give))
    f = Fact{Kind::Give, m[1], m[3], m[4], m[2], false};
  else if (std::regex_match(s, m, rel))
    f = Fact{Kind::Rel, m[1], m[2], m[3], "", false};
  cache.emplace(s, f);
  return f;
}

// Replays facts and checks the world rules of §2.3 as far as the text reveals the state: no move to the
// room the actor is known to be in, gets only of objects nobody holds and (where both are known) in the
// actor's room, drops only of held objects, gives only of the giver's object to another actor in the same
// room. Locations are known from moves and inferred from gets/gives of objects whose room is known.
class World {
 public:
  void add(const Fact& f) {
    switch (f.kind) {
      case Kind::Move:
        if (auto r = room_.find(f.a); r != room_.end() && r->second == f.x)
          fail(f.a + " moves to the " + f.x + " where they are");
        room_[f.a] = f.x;
        break;
      case Kind::Get:
        if (auto h = holder_.find(f.x); h != holder_.end())
          fail(f.a + " takes the " + f.x + " that " + h->second + " holds");
        if (auto o = obj_room_.find(f.x); o != obj_room_.end()) {
          if (auto r = room_.find(f.a); r != room_.end() && r->second != o->second)
            fail(f.a + " in the " + r->second + " takes the " + f.x + " from the " + o->second);
          room_[f.a] = o->second;
        }
        holder_[f.x] = f.a;
        obj_room_.erase(f.x);
        break;
      case Kind::Drop: {
        auto h = holder_.find(f.x);
        if (h == holder_.end() || h->second != f.a) fail(f.a + " drops the " + f.x + " without holding it");
        holder_.erase(f.x);
        if (auto r = room_.find(f.a); r != room_.end())
          obj_room_[f.x] = r->second;
        else
          obj_room_.erase(f.x);
        break;
      }
      case Kind::Give: {
        auto h = holder_.find(f.x);
        if (h == holder_.end() || h->second != f.a) fail(f.a + " gives the " + f.x + " without holding it");
        if (f.a == f.b) fail(f.a + " gives to themself");
        auto ra = room_.find(f.a), rb = room_.find(f.b);
        if (ra != room_.end() && rb != room_.end() && ra->second != rb->second)
          fail(f.a + " in the " + ra->second + " gives to " + f.b + " in the " + rb->second);
        if (ra != room_.end() && rb == room_.end()) room_[f.b] = ra->second;
        if (rb != room_.end() && ra == room_.end()) room_[f.a] = rb->second;
        holder_[f.x] = f.b;
        break;
      }
      case Kind::Rel:
        break;
    }
  }
  const std::string& violation() const { return violation_; }

 private:
  void fail(const std::string& why) {
    if (violation_.empty()) violation_ = why;
  }
  std::map<std::string, std::string> room_, holder_, obj_room_;
  std::string violation_;
};

template <class F>
int latest(const std::vector<Fact>& f, int end, F pred) {
  for (int i = end - 1; i >= 0; --i)
    if (pred(f[static_cast<size_t>(i)])) return i;
  return -1;
}

struct Solved {
  std::string answer;
  std::vector<int> support;  // fact indices, in the task's order
};

// qa2 (§4, §2.4): where the text puts the object.
inline std::optional<Solved> where_is_object(const std::vector<Fact>& f, const std::string& o) {
  const int n = static_cast<int>(f.size());
  const int k = latest(f, n, [&](const Fact& e) { return e.kind != Kind::Move && e.kind != Kind::Rel && e.x == o; });
  if (k < 0) return std::nullopt;
  const Fact& e = f[static_cast<size_t>(k)];
  if (e.kind == Kind::Drop) {  // where the dropper was when dropping it
    const int m = latest(f, k, [&](const Fact& x) { return x.kind == Kind::Move && x.a == e.a; });
    if (m < 0) return std::nullopt;
    return Solved{f[static_cast<size_t>(m)].x, {k, m}};
  }
  const std::string holder = e.kind == Kind::Give ? e.b : e.a;
  const int m = latest(f, n, [&](const Fact& x) { return x.kind == Kind::Move && x.a == holder; });
  if (m < k) return std::nullopt;  // held, but the holder has not moved since (§4: never asked)
  return Solved{f[static_cast<size_t>(m)].x, {k, m}};
}

// qa3 (§5): the moves the latest holder made while holding the object, and the fact that ends the segment.
inline std::vector<int> carried(const std::vector<Fact>& f, const std::string& o, int* object_fact) {
  const int n = static_cast<int>(f.size());
  const int g = latest(f, n, [&](const Fact& e) { return e.kind == Kind::Get && e.x == o; });
  *object_fact = g;
  std::vector<int> moves;
  if (g < 0) return moves;
  for (int i = g + 1; i < n; ++i) {
    const Fact& e = f[static_cast<size_t>(i)];
    if (e.kind == Kind::Drop && e.x == o) {
      *object_fact = i;
      break;
    }
    if (e.kind == Kind::Move && e.a == f[static_cast<size_t>(g)].a) moves.push_back(i);
  }
  return moves;
}

inline std::string opposite(const std::string& d) {
  return d == "north" ? "south" : d == "south" ? "north" : d == "east" ? "west" : "east";
}

// Answers a question from the facts alone; nullopt with `why` when the text does not determine it.
inline std::optional<Solved> solve(const std::string& task, const std::vector<Fact>& f, const std::string& q,
                                   std::string& why) {
  static const std::regex q1("^Where is " + kA + "\\? $");
  static const std::regex q2("^Where is the " + kO + "\\? $");
  static const std::regex q3("^Where was the " + kO + " before the " + kL + "\\? $");
  static const std::regex q4a("^What is " + kD + " of the " + kL + "\\?$");
  static const std::regex q4b("^What is the " + kL + " " + kD + " of\\?$");
  static const std::regex q5a("^What did " + kA + " give to " + kA + "\\? $");
  static const std::regex q5b("^Who gave the " + kO + "\\? $");
  static const std::regex q5c("^Who gave the " + kO + " to " + kA + "\\? $");
  static const std::regex q5d("^Who did " + kA + " give the " + kO + " to\\? $");
  static const std::regex q5e("^Who received the " + kO + "\\? $");
  const int n = static_cast<int>(f.size());
  std::smatch m;
  why.clear();
  if (task == "qa1" && std::regex_match(q, m, q1)) {
    const int k = latest(f, n, [&](const Fact& e) { return e.kind == Kind::Move && e.a == m[1].str(); });
    if (k < 0) return why = "actor never moved", std::nullopt;
    return Solved{f[static_cast<size_t>(k)].x, {k}};
  }
  if (task == "qa2" && std::regex_match(q, m, q2)) {
    auto s = where_is_object(f, m[1]);
    if (!s) why = "object location not determined";
    return s;
  }
  if (task == "qa3" && std::regex_match(q, m, q3)) {
    int object_fact = -1;
    const auto mv = carried(f, m[1], &object_fact);
    for (int j = static_cast<int>(mv.size()) - 1; j >= 1; --j)  // the last arrival at L, after a carrying move
      if (f[static_cast<size_t>(mv[static_cast<size_t>(j)])].x == m[2].str())
        return Solved{f[static_cast<size_t>(mv[static_cast<size_t>(j - 1)])].x,
                      {object_fact, mv[static_cast<size_t>(j)], mv[static_cast<size_t>(j - 1)]}};
    return why = "the object was not carried to that room after another carried-to room", std::nullopt;
  }
  if (task == "qa4") {
    // "What is D of the B?" → X with "X is D of B" or "B is D' of X"; "What is the B D of?" → X with
    // "B is D of X" or "X is D' of B". The three rooms are collinear, so exactly one statement fits.
    std::string dir, room;
    bool named_first = false;
    if (std::regex_match(q, m, q4a)) {
      dir = m[1], room = m[2];
    } else if (std::regex_match(q, m, q4b)) {
      room = m[1], dir = m[2], named_first = true;
    } else {
      return why = "question does not match a qa4 template", std::nullopt;
    }
    std::vector<Solved> hits;
    for (int i = 0; i < n; ++i) {
      const Fact& e = f[static_cast<size_t>(i)];
      if (e.kind != Kind::Rel) continue;
      const std::string want = named_first ? opposite(dir) : dir;  // as "X is want of room"
      if (e.x == want && e.b == room) hits.push_back({e.a, {i}});
      if (e.x == opposite(want) && e.a == room) hits.push_back({e.b, {i}});
    }
    if (hits.size() != 1) return why = std::to_string(hits.size()) + " statements answer it", std::nullopt;
    return hits[0];
  }
  if (task == "qa5") {
    const auto give = [&](auto pred) {
      return latest(f, n, [&](const Fact& e) { return e.kind == Kind::Give && pred(e); });
    };
    int k = -1;
    std::string answer;
    if (std::regex_match(q, m, q5a)) {
      k = give([&](const Fact& e) { return e.a == m[1].str() && e.b == m[2].str(); });
      if (k >= 0) answer = f[static_cast<size_t>(k)].x;
    } else if (std::regex_match(q, m, q5b)) {
      k = give([&](const Fact& e) { return e.x == m[1].str(); });
      if (k >= 0) answer = f[static_cast<size_t>(k)].a;
    } else if (std::regex_match(q, m, q5c)) {
      k = give([&](const Fact& e) { return e.x == m[1].str() && e.b == m[2].str(); });
      if (k >= 0) answer = f[static_cast<size_t>(k)].a;
    } else if (std::regex_match(q, m, q5d)) {
      k = give([&](const Fact& e) { return e.a == m[1].str() && e.x == m[2].str(); });
      if (k >= 0) answer = f[static_cast<size_t>(k)].b;
    } else if (std::regex_match(q, m, q5e)) {
      k = give([&](const Fact& e) { return e.x == m[1].str(); });
      if (k >= 0) answer = f[static_cast<size_t>(k)].b;
    } else {
      return why = "question does not match a qa5 template", std::nullopt;
    }
    if (k < 0) return why = "no such give", std::nullopt;
    return Solved{answer, {k}};
  }
  why = "question does not match a " + task + " template";
  return std::nullopt;
}

}  // namespace dm::test::babi
