#include "core/jobs/model_source.h"

#include <filesystem>

#include "core/common/error.h"
#include "core/data/char_corpus.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"

namespace dm::jobs {

TextModel open_text_model(const std::string& path, const std::string& tokenizer) {
  namespace fs = std::filesystem;
  std::error_code ec;
  TextModel t;
  fs::path tok = tokenizer;
  if (fs::is_directory(path, ec) && fs::exists(fs::path(path) / "config.json", ec)) {
    t.model = io::load_hf_directory(path);
    t.source = path;
    if (tok.empty()) tok = fs::path(path) / "tokenizer.json";
  } else {
    fs::path file = path;
    if (fs::is_directory(path, ec)) file = fs::path(path) / "model.safetensors";
    if (!fs::is_regular_file(file, ec))
      throw FileError(path, "is not a model: expected a HuggingFace directory (config.json + weights), a run folder "
                            "with model.safetensors, or a model file written by diffmamba");
    t.model = io::load_model(file.string());
    t.source = file.string();
  }
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

}  // namespace dm::jobs
