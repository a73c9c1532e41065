// Language-modelling corpora as token streams: text8 and enwik8 (characters / bytes, BPC),
// WikiText-103 (words with <eos>, perplexity) and the built-in fortunes corpus; plus the seed's
// ordered batching (spec §6.4).
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace dm::data {

struct LmCorpus {
  std::string name;
  std::vector<std::string> vocab;  // symbol of each id
  torch::Tensor train, valid, test;  // int64 streams
  std::string metric;  // "bpc" (bits per character/byte) or "ppl" (perplexity per word)
  int64_t vocab_size() const { return static_cast<int64_t>(vocab.size()); }
};

// Reads `name` (text8 | enwik8 | wt103 | fortunes) from `dir`. A missing file throws FileError that
// lists the files expected there and how to obtain them.
LmCorpus load_corpus(const std::string& name, const std::string& dir);

// Readers for each format (exposed for tests).
LmCorpus read_text8(const std::string& dir);
LmCorpus read_enwik8(const std::string& dir);
LmCorpus read_wikitext103(const std::string& dir);
LmCorpus fortunes_corpus(const std::string& dir);

// The seed's LMOrderedIterator: the stream trimmed to a multiple of batch_size and cut into
// batch_size contiguous rows; batch i is rows[:, i·l_max : (i+1)·l_max] with targets shifted by one
// (the last batch may be shorter). In training every row is rotated at the start of each epoch by
// a random offset from a generator seeded with roll_seed + epoch. Random access by (epoch, index),
// so a resumed run sees exactly the batches an uninterrupted one would.
//
// Data-parallel (spec §6.4): with `world` ranks the stream is cut into world · batch_size rows (the global
// batch), the rotation offsets are drawn for all of them, and rank r reads rows [r·batch_size,
// (r+1)·batch_size). So 2 ranks × batch 4 see exactly the tokens of 1 rank × batch 8.
class OrderedBatches {
 public:
  OrderedBatches(torch::Tensor stream, int64_t batch_size, int64_t l_max, bool rotate, uint64_t roll_seed = 42,
                 int rank = 0, int world = 1);
  int64_t size() const { return batches_; }
  int64_t tokens_per_epoch() const;
  std::pair<torch::Tensor, torch::Tensor> get(int64_t epoch, int64_t index);

 private:
  torch::Tensor rows_, rotated_;
  int64_t rotated_epoch_ = -1;
  int64_t l_max_, batches_;
  int64_t first_row_ = 0, rows_per_rank_ = 0;
  bool rotate_;
  uint64_t roll_seed_;
};

}  // namespace dm::data
