// main() for the fuzz targets when they are not linked with libFuzzer:
//   fuzz_<reader> FILE...                        run each file once (reproduce a finding)
//   fuzz_<reader> --mutate N [--seed S] [FILE...] N mutated inputs from the seeds (and FILEs)
//   fuzz_<reader> --write-seeds DIR              write the seed corpus, e.g. for libFuzzer or AFL++
//   --limit-as-gb G                              cap the address space (an allocation spree then fails)
// An input that makes the reader throw anything but dm::Error, crash or hang fails the run; the
// input is saved as crash-<target>-<n> in the working folder first, so it can be replayed.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>

#include "tests/fuzz/fuzz_target.h"

namespace {

std::string read_all(const char* path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", path);
    std::exit(2);
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// One mutation, in the spirit of libFuzzer's: flip a bit, set a byte to an interesting value, insert or
// erase a run, duplicate a chunk, overwrite with a boundary integer, or splice in digits.
void mutate(std::string& s, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
  static const uint8_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, '[', '{', '(', ')', ']', '}', '"', '\'', '\\', ':', ',',
                                        '&', '*', '\n', '9', '-', 0x85, 0x93, 'q', 'h', 'X', 'e', 'u', 't', '.'};
  switch (rng() % 7) {
    case 0:
      if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:
      if (!s.empty()) s[pick(s.size())] = static_cast<char>(interesting[pick(sizeof interesting)]);
      break;
    case 2:
      s.insert(pick(s.size() + 1), std::string(1 + pick(64), static_cast<char>(interesting[pick(sizeof interesting)])));
      break;
    case 3:
      if (!s.empty()) {
        const size_t at = pick(s.size());
        s.erase(at, 1 + pick(std::min<size_t>(64, s.size() - at)));
      }
      break;
    case 4:
      if (!s.empty()) {
        const size_t at = pick(s.size()), n = 1 + pick(std::min<size_t>(256, s.size() - at));
        s.insert(pick(s.size() + 1), s.substr(at, n));
      }
      break;
    case 5:
      if (s.size() >= 8) {
        static const uint64_t ints[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffull, ~0ull, 1ull << 40};
        const uint64_t v = ints[pick(sizeof ints / sizeof ints[0])];
        std::memcpy(&s[pick(s.size() - 7)], &v, 8);
      }
      break;
    default: {
      static const char* digits[] = {"0", "-1", "4294967296", "99999999999999999999", "1e308", "nan", "inf", "16777217"};
      s.insert(pick(s.size() + 1), digits[pick(sizeof digits / sizeof digits[0])]);
    }
  }
}

int run_one(const std::string& input, const char* name, int64_t index) {
  try {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  } catch (const std::exception& e) {
    const std::string out = std::string("crash-") + name + "-" + std::to_string(index);
    std::ofstream(out, std::ios::binary) << input;
    std::fprintf(stderr, "input %lld: an exception other than dm::Error escaped: %s (saved as %s)\n",
                 static_cast<long long>(index), e.what(), out.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* name = std::strrchr(argv[0], '/') ? std::strrchr(argv[0], '/') + 1 : argv[0];
  int64_t mutations = 0;
  uint64_t seed = 1;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutate" && i + 1 < argc) {
      mutations = std::atoll(argv[++i]);
    } else if (a == "--limit-as-gb" && i + 1 < argc) {
      const rlim_t bytes = static_cast<rlim_t>(std::atof(argv[++i]) * 1073741824.0);
      const struct rlimit lim {bytes, bytes};
      ::setrlimit(RLIMIT_AS, &lim);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--write-seeds" && i + 1 < argc) {
      const std::string dir = argv[++i];
      int n = 0;
      for (const auto& s : dm::fuzz::seed_inputs()) std::ofstream(dir + "/seed-" + std::to_string(n++), std::ios::binary) << s;
      std::printf("%d seeds written to %s\n", n, dir.c_str());
      return 0;
    } else {
      corpus.push_back(read_all(argv[i]));
    }
  }
  if (mutations == 0) {
    if (corpus.empty()) corpus.push_back(std::string(std::istreambuf_iterator<char>(std::cin), {}));
    int bad = 0;
    for (size_t i = 0; i < corpus.size(); ++i) bad += run_one(corpus[i], name, static_cast<int64_t>(i));
    return bad ? 1 : 0;
  }
  for (auto& s : dm::fuzz::seed_inputs()) corpus.push_back(std::move(s));
  std::mt19937_64 rng(seed);
  int bad = 0;
  for (const auto& c : corpus) bad += run_one(c, name, -1);  // the seeds themselves
  for (int64_t n = 0; n < mutations && bad < 5; ++n) {
    std::string input = corpus[static_cast<size_t>(rng() % corpus.size())];
    const int rounds = 1 + static_cast<int>(rng() % 8);
    for (int r = 0; r < rounds; ++r) mutate(input, rng);
    bad += run_one(input, name, n);
  }
  const auto refused = dm::fuzz::refusals();
  const auto total = mutations + static_cast<int64_t>(corpus.size());
  std::printf("%s: %lld mutated inputs from %zu seeds (seed %llu): %lld accepted, %lld refused cleanly, %s\n", name,
              static_cast<long long>(mutations), corpus.size(), static_cast<unsigned long long>(seed),
              static_cast<long long>(total - refused - bad), static_cast<long long>(refused), bad ? "FINDINGS" : "no findings");
  return bad ? 1 : 0;
}
