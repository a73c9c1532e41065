#include "core/jobs/model_source.h"

#include <filesystem>

#include "core/common/error.h"
#include "core/data/char_corpus.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"

namespace dm::jobs {
namespace {

namespace fs = std::filesystem;

bool is_hf_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(fs::path(path) / "config.json", ec);
}

}  // namespace

model::LanguageModel open_model(const std::string& path, std::string* source) {
  std::error_code ec;
  if (is_hf_directory(path)) {
    if (source) *source = path;
    return io::load_hf_directory(path);
  }
  fs::path file = path;
  if (fs::is_directory(path, ec)) file = fs::path(path) / "model.safetensors";
  if (!fs::is_regular_file(file, ec))
    throw FileError(path, "is not a model: expected a HuggingFace directory (config.json + weights), a run folder "
                          "with model.safetensors, or a model file written by diffmamba");
  if (source) *source = file.string();
  return io::load_model(file.string());
}

TextModel open_text_model(const std::string& path, const std::string& tokenizer) {
  std::error_code ec;
  TextModel t;
  t.model = open_model(path, &t.source);
  fs::path tok = tokenizer;
  // A HuggingFace directory or a run folder carries its tokenizer.json beside the weights.
  if (tok.empty() && fs::is_directory(path, ec)) tok = fs::path(path) / "tokenizer.json";
  if (!tok.empty() && fs::exists(tok, ec)) {
    t.codec = data::bpe_codec(tok.string());
  } else if (t.model->config().vocab_size == data::CharCorpus::kVocab && tokenizer.empty()) {
    t.codec = data::text8_codec();
  } else {
    throw FileError(tok.empty() ? path : tok.string(),
                    "no tokenizer for this model: pass --tokenizer tokenizer.json (its vocabulary has " +
                        std::to_string(t.model->config().vocab_size) + " entries)");
  }
  if (t.codec->vocab_size() > t.model->config().vocab_size)
    throw ConfigError("tokenizer", tok.string(),
                      "has " + std::to_string(t.codec->vocab_size()) + " tokens but the model only " +
                          std::to_string(t.model->config().vocab_size));
  t.model->eval();
  return t;
}

torch::Device device_from_option(const std::string& want) {
  if (want == "cpu") return torch::kCPU;
  if (want == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (want.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) throw ConfigError("device", want, "this machine has no CUDA device; use cpu or auto");
    return torch::Device(want);
  }
  throw ConfigError("device", want, "must be auto, cpu, cuda or cuda:N");
}

}  // namespace dm::jobs
