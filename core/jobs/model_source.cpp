#include "core/jobs/model_source.h"

#include <filesystem>

#include "core/common/error.h"
#include "core/data/char_corpus.h"
#include "core/io/hf_checkpoint.h"
#include "core/io/model_file.h"
#include "core/ops/doctor.h"
#include "core/train/trainer.h"

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

torch::Device device_from_option(const std::string& want, const train::EventSink& sink, int local_rank, int local_world) {
  if (want == "cpu") return torch::kCPU;
  if (want != "auto" && want.rfind("cuda", 0) != 0) throw ConfigError("device", want, "must be auto, cpu, cuda or cuda:N");
  if (want == "auto") {
    if (!ops::cuda_unavailable_reason().empty()) {
      train::warn_cpu_fallback(sink, "running on the CPU (--device cpu says so without this warning)");
      return torch::kCPU;
    }
  }
  const auto dev = ops::require_device(want == "auto" ? "cuda" : want);  // the reason when there is no such GPU
  if (local_world <= 1) return dev;
  if (want != "auto" && want != "cuda")
    throw ConfigError("device", want,
                      std::to_string(local_world) + " processes run on this machine and each takes the GPU of its local "
                      "rank: use --device cuda (or auto), or CUDA_VISIBLE_DEVICES to choose the GPUs");
  return ops::require_device("cuda:" + std::to_string(local_rank));
}

std::optional<at::ScalarType> autocast_from_option(const std::string& option, const std::string& value,
                                                   const torch::Device& device, bool bf16_on_gpu) {
  if (value == "auto") return device.is_cuda() && bf16_on_gpu ? std::optional(at::kBFloat16) : std::nullopt;
  if (value == "32" || value == "32-true" || value == "fp32") return std::nullopt;
  if (value == "bf16" || value == "bf16-mixed") return at::kBFloat16;
  throw ConfigError(option, value, "must be auto, 32 (fp32) or bf16-mixed (bf16 autocast, fp32 weights)");
}

std::string precision_name(std::optional<at::ScalarType> autocast) {
  if (!autocast) return "32";
  return *autocast == at::kBFloat16 ? "bf16-mixed" : *autocast == at::kHalf ? "16-mixed" : c10::toString(*autocast);
}

torch::Device model_device(const model::LanguageModel& m) {
  const auto params = m->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

}  // namespace dm::jobs
