// A character-level corpus in text8's alphabet (space + a–z), and the demo corpus built from the
// English text the Debian `fortunes` packages install.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace dm::data {

// text8 normalisation: lower-case a–z kept, every other run of characters becomes one space.
std::string normalize_text8(const std::string& raw);

struct CharCorpus {
  static constexpr int64_t kVocab = 27;  // id 0 = space, 1..26 = a..z
  torch::Tensor train, valid, test;      // int64 token streams

  // Splits normalised text 90 / 5 / 5 (as text8 is split).
  static CharCorpus from_text(const std::string& text);
  // Reads every fortune file under `dir` (default /usr/share/games/fortunes); throws FileError
  // naming the folder and the package to install when none is found.
  static CharCorpus from_fortunes(const std::string& dir = "/usr/share/games/fortunes");
};

torch::Tensor encode_text8(const std::string& normalized);

// `batch` random windows of `length + 1` tokens from `stream`: {inputs [B, L], targets [B, L]}.
std::pair<torch::Tensor, torch::Tensor> random_windows(const torch::Tensor& stream, int64_t batch, int64_t length,
                                                       torch::Generator& gen);

}  // namespace dm::data
