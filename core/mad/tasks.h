// The MAD synthetic tasks (Mechanistic Architecture Design; the seed's vendored mad-lab, spec upstream.md
// §11): six generators that isolate recall, noise robustness, copying, compression and memorisation, with
// the seed's baseline setting and difficulty "changes" of each. No LibTorch here: plain token arrays.
//
// The generators follow mad-lab's instances.py step by step (which positions are scored, the train/test
// difference of the recall tasks, the shared random stream of train then test), with our own portable
// random numbers (core/common/random.h): a seed gives the same data on every machine, not numpy's.
// Deviations, each deliberate:
//   - In-context recall: the pair that is never noise is drawn among the pairs of the context, so a
//     context is never all noise (mad-lab can draw it outside and then fail on an empty key list).
//   - Fuzzy recall: a key or value motif is drawn directly as `size` distinct tokens in order, the same
//     distribution as mad-lab's choice from the shuffled list of all permutations, without building it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dm::mad {

inline constexpr int64_t kIgnore = -100;  // targets that are not scored

// The six task names, as mad-lab spells them: in-context-recall, fuzzy-in-context-recall,
// noisy-in-context-recall, selective-copying, compression, memorization.
const std::vector<std::string>& task_names();

struct Settings {
  std::string task;
  std::string name = "baseline";  // or the change, e.g. "vocab_size=32"
  int64_t vocab_size = 16, seq_len = 128, num_train_examples = 12800, num_test_examples = 1280;
  int64_t k_motif_size = 1, v_motif_size = 1, noise_vocab_size = 0, num_tokens_to_copy = 0;
  double frac_noise = 0.0;
  bool multi_query = true;
  uint64_t seed = 12345;

  // Throws ConfigError naming the field and the rule (sizes bounded: the data are held in memory).
  void validate() const;
  // The length of every instance: seq_len, or seq_len − 1 for (noisy) in-context recall with multi_query.
  int64_t instance_length() const;
};

// A task's baseline followed by the seed's difficulty changes (one field changed at a time), in the
// seed's order. Throws ConfigError for an unknown task.
std::vector<Settings> task_settings(const std::string& task);
// One of them by name ("baseline", "vocab_size=32", …); throws ConfigError listing the names.
Settings task_setting(const std::string& task, const std::string& name);

// n instances of one length, row-major [n, len]. Targets are kIgnore where nothing is scored.
struct Split {
  int64_t n = 0, len = 0;
  std::vector<int64_t> inputs, targets;
};
struct Data {
  Split train, test;
};

// The train set, then the test set from the same random stream (as mad-lab). The recall tasks' train
// targets are next-token targets everywhere; their test targets score only recalled values.
Data generate(const Settings& s);

}  // namespace dm::mad
