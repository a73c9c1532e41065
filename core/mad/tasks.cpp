#include "core/mad/tasks.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

#include "core/common/error.h"
#include "core/common/random.h"

namespace dm::mad {
namespace {

using Rng = std::mt19937_64;
using Tokens = std::vector<int64_t>;

int64_t draw(Rng& rng, int64_t lo, int64_t hi) {  // uniform in [lo, hi)
  return lo + static_cast<int64_t>(random::below(rng, static_cast<uint64_t>(hi - lo)));
}

// `size` distinct tokens of [lo, hi) in random order (a uniformly drawn ordered motif).
Tokens motif(Rng& rng, int64_t lo, int64_t hi, int64_t size) {
  Tokens out;
  while (static_cast<int64_t>(out.size()) < size) {
    const int64_t t = draw(rng, lo, hi);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

struct Instance {
  Tokens inputs, targets;
  void add(int64_t input, int64_t target) {
    inputs.push_back(input);
    targets.push_back(target);
  }
  // mad-lab's return of the recall tasks: training sees next-token targets everywhere, the test scores
  // only what the task asks for; both drop the last input.
  Instance shifted(bool training) const {
    Instance out;
    out.inputs.assign(inputs.begin(), inputs.end() - 1);
    const Tokens& t = training ? inputs : targets;
    out.targets.assign(t.begin() + 1, t.end());
    return out;
  }
};

// In-context recall, and noisy in-context recall (the same generator with noise tokens).
Instance in_context_recall(const Settings& s, bool training, Rng& rng) {
  const int64_t vs = s.vocab_size, copy_prefix = vs - 1;
  const int64_t non_special = (s.multi_query ? vs : vs - 1) - s.noise_vocab_size;
  const int64_t keys = non_special / 2, values_end = non_special;
  const int64_t pairs = s.seq_len / 2;
  const int64_t not_noise = draw(rng, 0, pairs - 1);
  std::map<int64_t, int64_t> kv, presented;
  Tokens order;  // presented keys, first presentation first
  Instance x;
  for (int64_t i = 0; i + 1 < pairs; ++i) {
    const bool noise = i != not_noise && s.frac_noise > 0 && random::chance(rng, s.frac_noise);
    if (noise) {
      for (int j = 0; j < 2; ++j) x.add(draw(rng, non_special, non_special + s.noise_vocab_size), kIgnore);
      continue;
    }
    const int64_t k = draw(rng, 0, keys);
    auto it = kv.find(k);
    const int64_t v = it != kv.end() ? it->second : (kv[k] = draw(rng, keys, values_end));
    const bool seen = presented.count(k) > 0;
    x.add(k, kIgnore);
    x.add(v, seen && s.multi_query ? v : kIgnore);
    if (!seen) order.push_back(k);
    presented[k] = v;
  }
  const int64_t k_probe = order[static_cast<size_t>(draw(rng, 0, static_cast<int64_t>(order.size())))];
  const int64_t v_probe = presented.at(k_probe);
  if (!s.multi_query) x.add(copy_prefix, kIgnore);
  x.add(k_probe, kIgnore);
  x.add(v_probe, v_probe);
  return x.shifted(training);
}

Instance fuzzy_in_context_recall(const Settings& s, bool training, Rng& rng) {
  const int64_t vs = s.vocab_size, copy_prefix = vs - 1, pad = s.multi_query ? vs - 1 : vs - 2;
  const int64_t non_special = (s.multi_query ? vs - 1 : vs - 2) - s.noise_vocab_size;
  const int64_t keys = non_special / 2, values_end = non_special;
  const int64_t km = s.k_motif_size, vm = s.v_motif_size;
  // The test set always prompts with keys of the longest motif.
  auto key_size = [&] { return training ? draw(rng, 1, km + 1) : km; };
  const int64_t k_probe_size = key_size(), v_probe_size = draw(rng, 1, vm + 1);
  const Tokens k_probe = motif(rng, 0, keys, k_probe_size), v_probe = motif(rng, keys, values_end, v_probe_size);
  const int64_t kvp = k_probe_size + v_probe_size;
  const int64_t probe_at = draw(rng, 0, s.seq_len - 2 * kvp);
  std::map<int64_t, std::map<Tokens, Tokens>> kv;  // per key size
  std::map<Tokens, Tokens> presented;
  bool probe_added = false;
  Instance x;
  auto put = [&](const Tokens& k, const Tokens& v, bool score_values) {
    for (int64_t t : k) x.add(t, kIgnore);
    for (int64_t t : v) x.add(t, score_values ? t : kIgnore);
  };
  while (static_cast<int64_t>(x.inputs.size()) < s.seq_len - kvp - (km + vm)) {
    const int64_t k_size = key_size(), v_size = draw(rng, 1, vm + 1);
    if (static_cast<int64_t>(x.inputs.size()) >= probe_at && !probe_added) {
      put(k_probe, v_probe, false);
      kv[k_probe_size][k_probe] = v_probe;
      presented[k_probe] = v_probe;
      probe_added = true;
      continue;
    }
    if (s.frac_noise > 0 && random::chance(rng, s.frac_noise)) {
      for (int64_t j = 0; j < k_size + v_size; ++j) x.add(draw(rng, non_special, non_special + s.noise_vocab_size), kIgnore);
      continue;
    }
    const Tokens k = motif(rng, 0, keys, k_size);
    Tokens v;
    if (k == k_probe) {
      v = v_probe;
      probe_added = true;
    } else if (auto it = kv[k_size].find(k); it != kv[k_size].end()) {
      v = it->second;
    } else {
      v = kv[k_size][k] = motif(rng, keys, values_end, v_size);
    }
    put(k, v, presented.count(k) > 0 && s.multi_query);
    presented[k] = v;
  }
  if (!s.multi_query) x.add(copy_prefix, kIgnore);
  put(k_probe, {}, false);
  for (int64_t t : v_probe) x.add(t, t);
  // Left-padded to seq_len + 1, then shifted to seq_len.
  Instance padded;
  for (int64_t i = static_cast<int64_t>(x.inputs.size()); i < s.seq_len + 1; ++i) padded.add(pad, kIgnore);
  padded.inputs.insert(padded.inputs.end(), x.inputs.begin(), x.inputs.end());
  padded.targets.insert(padded.targets.end(), x.targets.begin(), x.targets.end());
  return padded.shifted(training);
}

// Memorisation: key → value pairs of one fixed map (the same for train and test), queried with an
// insert token; only the value after each insert token is scored. No shift.
Instance memorization(const Settings& s, const std::vector<std::pair<int64_t, int64_t>>& map, Rng& rng) {
  const int64_t insert = s.vocab_size - 1;
  Instance x;
  for (int64_t i = 0; i < s.seq_len / 2; ++i) {
    const auto& kv = map[static_cast<size_t>(draw(rng, 0, static_cast<int64_t>(map.size())))];
    x.add(kv.first, kIgnore);
    x.add(insert, kv.second);
  }
  return x;
}

// mad-lab's generate_kv_map(vocab_size − 1, seed): keys [0, V/2) and values [V/2, V) of V = vocab_size − 1,
// both shuffled by a generator of their own (keys first), paired in order.
std::vector<std::pair<int64_t, int64_t>> memorization_map(const Settings& s) {
  Rng rng(s.seed);
  const int64_t v = s.vocab_size - 1;
  Tokens keys, values;
  for (int64_t i = 0; i < v / 2; ++i) keys.push_back(i);
  for (int64_t i = v / 2; i < v; ++i) values.push_back(i);
  random::shuffle(rng, keys);
  random::shuffle(rng, values);
  std::vector<std::pair<int64_t, int64_t>> out;
  for (size_t i = 0; i < std::min(keys.size(), values.size()); ++i) out.emplace_back(keys[i], values[i]);
  return out;
}

// Compression: random tokens and a compression token; the model reconstructs every token (mad-lab returns
// the inputs as the targets). No noise in the benchmark.
Instance compression(const Settings& s, Rng& rng) {
  const int64_t token = s.vocab_size - 1, vocab = s.vocab_size - 1 - s.noise_vocab_size;
  Instance x;
  for (int64_t i = 0; i + 1 < s.seq_len; ++i) {
    const int64_t t = draw(rng, 0, vocab);
    x.add(t, t);
  }
  x.add(token, token);
  return x;
}

// Selective copying: the tokens to copy scattered among blanks, a copy token, then one blank per token to
// copy, at which the tokens are scored in order.
Instance selective_copying(const Settings& s, Rng& rng) {
  const int64_t copy = s.vocab_size - 1, blank = s.vocab_size - 2, ntc = s.num_tokens_to_copy;
  const int64_t blanks = s.seq_len - 2 * ntc - 1;
  Tokens to_copy(static_cast<size_t>(ntc));
  for (auto& t : to_copy) t = draw(rng, 0, s.vocab_size - 2);
  // mad-lab's np.insert(to_copy, randint(0, ntc, blanks), blank): each blank goes before a random token.
  std::vector<int64_t> before(static_cast<size_t>(ntc), 0);
  for (int64_t i = 0; i < blanks; ++i) ++before[static_cast<size_t>(draw(rng, 0, ntc))];
  Instance x;
  for (int64_t j = 0; j < ntc; ++j) {
    for (int64_t b = 0; b < before[static_cast<size_t>(j)]; ++b) x.add(blank, kIgnore);
    x.add(to_copy[static_cast<size_t>(j)], kIgnore);
  }
  x.add(copy, kIgnore);
  for (int64_t j = 0; j < ntc; ++j) x.add(blank, to_copy[static_cast<size_t>(j)]);
  return x;
}

void check(bool ok, const std::string& field, int64_t value, const std::string& rule) {
  if (!ok) throw ConfigError(field, std::to_string(value), rule);
}

Settings with(Settings s, const std::string& field, double value) {
  const auto n = static_cast<int64_t>(value);
  if (field == "vocab_size") s.vocab_size = n;
  if (field == "seq_len") s.seq_len = n;
  if (field == "num_train_examples") s.num_train_examples = n;
  if (field == "num_tokens_to_copy") s.num_tokens_to_copy = n;
  if (field == "frac_noise") s.frac_noise = value;
  char buf[64];
  if (field == "frac_noise")
    std::snprintf(buf, sizeof buf, "%s=%g", field.c_str(), value);
  else
    std::snprintf(buf, sizeof buf, "%s=%lld", field.c_str(), static_cast<long long>(n));
  s.name = buf;
  return s;
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"in-context-recall", "fuzzy-in-context-recall", "noisy-in-context-recall",
                                                 "selective-copying", "compression",             "memorization"};
  return names;
}

int64_t Settings::instance_length() const {
  const bool recall = task == "in-context-recall" || task == "noisy-in-context-recall";
  return recall && multi_query ? seq_len - 1 : seq_len;
}

void Settings::validate() const {
  if (std::find(task_names().begin(), task_names().end(), task) == task_names().end())
    throw ConfigError("task", task, "one of in-context-recall, fuzzy-in-context-recall, noisy-in-context-recall, "
                                    "selective-copying, compression, memorization");
  check(seq_len >= 4 && seq_len <= 65536, "seq_len", seq_len, "must be in [4, 65536]");
  check(vocab_size >= 4 && vocab_size <= 65536, "vocab_size", vocab_size, "must be in [4, 65536]");
  check(num_train_examples >= 1 && num_train_examples <= 10'000'000, "num_train_examples", num_train_examples,
        "must be in [1, 10^7]");
  check(num_test_examples >= 1 && num_test_examples <= 10'000'000, "num_test_examples", num_test_examples, "must be in [1, 10^7]");
  check((num_train_examples + num_test_examples) * seq_len <= 2'000'000'000, "num_train_examples", num_train_examples,
        "(train + test examples) × seq_len must stay under 2·10^9 tokens");
  check(noise_vocab_size >= 0, "noise_vocab_size", noise_vocab_size, "must be ≥ 0");
  if (!(frac_noise >= 0.0 && frac_noise < 1.0)) throw ConfigError("frac_noise", std::to_string(frac_noise), "must be in [0, 1)");
  check(frac_noise == 0.0 || noise_vocab_size > 0, "noise_vocab_size", noise_vocab_size, "must be > 0 when frac_noise > 0");
  const int64_t special = task == "fuzzy-in-context-recall" ? (multi_query ? 1 : 2) : (multi_query ? 0 : 1);
  if (task == "in-context-recall" || task == "noisy-in-context-recall" || task == "fuzzy-in-context-recall") {
    check(seq_len % 2 == 0, "seq_len", seq_len, "must be even for " + task);
    check(vocab_size - special - noise_vocab_size >= 2, "vocab_size", vocab_size,
          "leaves no key and value tokens beside the noise and special tokens");
  }
  if (task == "fuzzy-in-context-recall") {
    const int64_t keys = (vocab_size - special - noise_vocab_size) / 2;
    check(k_motif_size >= 1 && k_motif_size <= keys, "k_motif_size", k_motif_size,
          "must be in [1, " + std::to_string(keys) + "] (distinct key tokens per motif)");
    check(v_motif_size >= 1 && v_motif_size <= vocab_size - special - noise_vocab_size - keys, "v_motif_size", v_motif_size,
          "must be ≥ 1 and at most the number of value tokens");
    check(seq_len > 2 * (2 * (k_motif_size + v_motif_size)), "seq_len", seq_len, "too short for the key and value motifs");
  }
  if (task == "selective-copying") {
    check(num_tokens_to_copy >= 1, "num_tokens_to_copy", num_tokens_to_copy, "must be ≥ 1");
    check(seq_len > 2 * num_tokens_to_copy + 1, "seq_len", seq_len, "must exceed 2 · num_tokens_to_copy + 1");
  }
  if (task == "memorization") check(vocab_size >= 5, "vocab_size", vocab_size, "must be ≥ 5 (keys, values, insert token)");
  if (task == "compression") check(vocab_size - 1 - noise_vocab_size >= 1, "vocab_size", vocab_size, "leaves no tokens");
}

std::vector<Settings> task_settings(const std::string& task) {
  Settings b;
  b.task = task;
  std::vector<std::pair<std::string, std::vector<double>>> changes;
  if (task == "in-context-recall") {
    changes = {{"vocab_size", {32, 64}}, {"seq_len", {256, 512}}, {"num_train_examples", {6400}}};
  } else if (task == "noisy-in-context-recall") {
    b.vocab_size = 32;
    b.noise_vocab_size = 16;
    b.frac_noise = 0.2;
    changes = {{"vocab_size", {48}}, {"seq_len", {512}}, {"num_train_examples", {6400}}, {"frac_noise", {0.6}}};
  } else if (task == "fuzzy-in-context-recall") {
    b.k_motif_size = b.v_motif_size = 3;
    changes = {{"vocab_size", {32, 64}}, {"seq_len", {512}}, {"num_train_examples", {6400}}};
  } else if (task == "selective-copying") {
    b.seq_len = 256;
    b.num_tokens_to_copy = 16;
    changes = {{"vocab_size", {32}}, {"seq_len", {512}}, {"num_train_examples", {6400}}, {"num_tokens_to_copy", {32}}};
  } else if (task == "compression") {
    b.seq_len = 32;
    changes = {{"vocab_size", {32, 64}}, {"seq_len", {64, 128}}, {"num_train_examples", {6400}}};
  } else if (task == "memorization") {
    b.vocab_size = 256;
    b.seq_len = 32;
    b.num_train_examples = 256;
    changes = {{"vocab_size", {512, 1024, 2048, 4096, 8192}}};
  } else {
    b.validate();  // throws, naming the tasks
  }
  std::vector<Settings> out = {b};
  for (const auto& [field, values] : changes)
    for (double v : values) out.push_back(with(b, field, v));
  return out;
}

Settings task_setting(const std::string& task, const std::string& name) {
  std::string names;
  for (const auto& s : task_settings(task)) {
    if (s.name == name) return s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  throw ConfigError("setting", name, "the settings of " + task + " are " + names);
}

Data generate(const Settings& s) {
  s.validate();
  Rng rng(s.seed);
  const auto map = s.task == "memorization" ? memorization_map(s) : std::vector<std::pair<int64_t, int64_t>>{};
  Data d;
  for (Split* split : {&d.train, &d.test}) {
    const bool training = split == &d.train;
    split->n = training ? s.num_train_examples : s.num_test_examples;
    split->len = s.instance_length();
    split->inputs.reserve(static_cast<size_t>(split->n * split->len));
    split->targets.reserve(static_cast<size_t>(split->n * split->len));
    for (int64_t i = 0; i < split->n; ++i) {
      Instance x;
      if (s.task == "in-context-recall" || s.task == "noisy-in-context-recall")
        x = in_context_recall(s, training, rng);
      else if (s.task == "fuzzy-in-context-recall")
        x = fuzzy_in_context_recall(s, training, rng);
      else if (s.task == "memorization")
        x = memorization(s, map, rng);
      else if (s.task == "compression")
        x = compression(s, rng);
      else
        x = selective_copying(s, rng);
      if (static_cast<int64_t>(x.inputs.size()) != split->len)
        throw Error("MAD " + s.task + ": an instance of length " + std::to_string(x.inputs.size()) + ", expected " +
                    std::to_string(split->len));
      split->inputs.insert(split->inputs.end(), x.inputs.begin(), x.inputs.end());
      split->targets.insert(split->targets.end(), x.targets.begin(), x.targets.end());
    }
  }
  return d;
}

}  // namespace dm::mad
