#include "core/data/char_corpus.h"

#include <algorithm>
#include <filesystem>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/atomic_file.h"

namespace dm::data {

std::string normalize_text8(const std::string& raw) {
  std::string out;
  out.reserve(raw.size());
  bool space = true;  // no leading space
  for (unsigned char ch : raw) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<unsigned char>(ch - 'A' + 'a');
    if (ch >= 'a' && ch <= 'z') {
      out.push_back(static_cast<char>(ch));
      space = false;
    } else if (!space) {
      out.push_back(' ');
      space = true;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

torch::Tensor encode_text8(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kLong);
  auto* p = t.data_ptr<int64_t>();
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ') p[i] = 0;
    else if (c >= 'a' && c <= 'z') p[i] = c - 'a' + 1;
    else throw Error(std::string("encode_text8: character '") + c + "' is outside the text8 alphabet");
  }
  return t;
}

CharCorpus CharCorpus::from_text(const std::string& text) {
  auto all = encode_text8(normalize_text8(text));
  const int64_t n = all.numel();
  if (n < 1000) throw Error("corpus too small: " + std::to_string(n) + " characters after normalisation (need >= 1000)");
  const int64_t n_train = n * 90 / 100, n_valid = n * 5 / 100;
  CharCorpus c;
  c.train = all.narrow(0, 0, n_train).clone();
  c.valid = all.narrow(0, n_train, n_valid).clone();
  c.test = all.narrow(0, n_train + n_valid, n - n_train - n_valid).clone();
  return c;
}

CharCorpus CharCorpus::from_fortunes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const auto ext = e.path().extension().string();
      if (e.is_regular_file() && ext != ".dat" && ext != ".u8") files.push_back(e.path());
    }
  }
  if (files.empty())
    throw FileError(dir, "no fortune text files found; install them with `apt-get install fortunes-min` "
                         "(or `fortunes` for more text)");
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& f : files) text += io::read_file(f.string()) + "\n";
  return from_text(text);
}

std::pair<torch::Tensor, torch::Tensor> random_windows(const torch::Tensor& stream, int64_t batch, int64_t length,
                                                       torch::Generator& gen) {
  const int64_t n = stream.numel();
  if (n < length + 2) throw Error("random_windows: stream of " + std::to_string(n) + " tokens is shorter than a window");
  auto starts = torch::randint(0, n - length - 1, {batch}, gen, torch::kLong);
  auto offs = torch::arange(length + 1, torch::kLong);
  auto idx = starts.unsqueeze(1) + offs.unsqueeze(0);
  auto w = stream.index({idx});
  return {w.narrow(1, 0, length).contiguous(), w.narrow(1, 1, length).contiguous()};
}

}  // namespace dm::data
