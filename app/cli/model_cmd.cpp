// `diffmamba logits` and `diffmamba tokenize`: a checkpoint's next-token logits for given ids or text,
// and the tokenizer on its own, so users can check our numbers against the Python original;
// `diffmamba init-model`: a randomly initialised model of a published shape.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "app/cli/commands.h"
#include "core/common/error.h"
#include "core/data/tokenizer.h"
#include "core/io/atomic_file.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"
#include "core/io/npy.h"
#include "core/jobs/model_source.h"

namespace dm::cli {
namespace {

namespace fs = std::filesystem;

std::vector<int64_t> parse_ids(const std::string& text, const char* option) {
  std::vector<int64_t> ids;
  std::stringstream ss(text);
  for (std::string tok; std::getline(ss, tok, ',');) {
    try {
      size_t pos = 0;
      ids.push_back(std::stoll(tok, &pos));
      if (pos != tok.size()) throw std::invalid_argument(tok);
    } catch (const std::exception&) {
      throw Error(std::string(option) + ": '" + tok + "' is not an integer token id");
    }
  }
  if (ids.empty()) throw Error(std::string(option) + ": no token ids given");
  return ids;
}

// A tokenizer.json path, or a directory that holds one.
data::BpeTokenizer open_tokenizer(const std::string& where) {
  fs::path p(where);
  if (fs::is_directory(p)) p /= "tokenizer.json";
  if (!fs::exists(p))
    throw FileError(p.string(), "no tokenizer.json here; pass --tokenizer FILE (the GPT-NeoX tokenizer.json of the "
                                "checkpoint) or use --ids");
  return data::BpeTokenizer::from_file(p.string());
}

std::string join(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace

int run_logits(const LogitsArgs& a) {
  if (a.ids.empty() == a.text.empty()) throw Error("logits needs exactly one of --ids or --text");
  std::vector<int64_t> ids;
  model::LanguageModel m{nullptr};
  if (!a.ids.empty()) {
    ids = parse_ids(a.ids, "--ids");
    m = jobs::open_model(a.ckpt_path);
  } else {
    // The model's own codec: a given tokenizer, the tokenizer.json beside its weights, or text8's
    // characters for our character-level models.
    auto t = jobs::open_text_model(a.ckpt_path, a.tokenizer);
    ids = t.codec->encode(a.text);
    if (ids.empty()) throw Error("--text: the text encodes to no tokens");
    std::printf("tokens (%zu): %s\n", ids.size(), join(ids).c_str());
    m = t.model;
  }
  for (auto id : ids)
    if (id < 0 || id >= m->config().vocab_size)
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(m->config().vocab_size) + ")");
  m->eval();
  torch::NoGradGuard ng;
  auto logits = m->forward(torch::tensor(ids, torch::kLong).unsqueeze(0)).squeeze(0).to(torch::kFloat);
  io::write_npy(a.out, logits);
  std::printf("wrote %s: float32 [%lld, %lld]\n", a.out.c_str(), static_cast<long long>(logits.size(0)),
              static_cast<long long>(logits.size(1)));
  return 0;
}

int run_tokenize(const TokenizeArgs& a) {
  const auto tok = open_tokenizer(a.tokenizer);
  if (!a.decode.empty()) {
    // Bytes, not a C string: byte-level BPE has a token for every byte, NUL included.
    const std::string text = tok.decode(parse_ids(a.decode, "--decode"));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  if (a.text.empty() == a.file.empty()) throw Error("tokenize needs exactly one of --text, --file or --decode");
  const std::string text = a.file.empty() ? a.text : io::read_file(a.file);
  if (!a.lines) {
    std::printf("%s\n", join(tok.encode(text, !a.no_special)).c_str());
    return 0;
  }
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) std::printf("%s\n", join(tok.encode(line, !a.no_special)).c_str());
  return 0;
}

int run_init_model(const InitModelArgs& a) {
  const auto family = model::family_from_string(a.family);
  auto cfg = model::ModelConfig::hf_370m(family);
  if (a.shape == "demo") {  // the demo presets' size, HF backbone
    cfg.d_model = 64;
    cfg.n_layers = 2;
    cfg.head_dim = 32;
    cfg.d_state = 16;
    cfg.chunk_size = 64;
  } else if (a.shape != "370m") {
    throw ConfigError("shape", a.shape, "must be 370m or demo");
  }
  if (a.vocab > 0) cfg.vocab_size = a.vocab;
  if (a.d_model > 0) cfg.d_model = a.d_model;
  if (a.n_layers > 0) cfg.n_layers = a.n_layers;
  torch::manual_seed(static_cast<int64_t>(a.seed));
  model::LanguageModel m(cfg);
  std::string where = a.out;
  if (family == model::Family::mamba2 || family == model::Family::diffmamba2) {
    io::save_hf_directory(m, a.out);
  } else {
    fs::create_directories(a.out);
    where = (fs::path(a.out) / "model.safetensors").string();
    io::save_model(m, where);
  }
  std::printf("wrote a randomly initialised %s (shape %s: %lld blocks, d_model %lld, vocabulary %lld; %lld parameters) to %s\n",
              model::display_name(family).c_str(), a.shape.c_str(), static_cast<long long>(cfg.n_layers),
              static_cast<long long>(cfg.d_model), static_cast<long long>(cfg.vocab_size),
              static_cast<long long>(m->num_parameters()), where.c_str());
  return 0;
}

}  // namespace dm::cli
