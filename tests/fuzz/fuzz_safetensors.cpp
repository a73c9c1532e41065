// safetensors files: the 8-byte header length, the JSON header, dtypes, shapes and offsets.
#include <torch/torch.h>

#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

std::vector<std::string> dm::fuzz::seed_inputs() {
  dm::io::NamedTensors t = {{"a", torch::arange(6, torch::kFloat).reshape({2, 3})},
                            {"b.weight", torch::ones({4}, torch::kBFloat16)},
                            {"ids", torch::arange(3, torch::kLong)},
                            {"empty", torch::zeros({0, 5})}};
  return {dm::io::encode_safetensors(t, {{"format", "pt"}, {"dm_model_config", "{\"n_layers\": 2}"}}),
          dm::io::encode_safetensors({}, {})};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  return dm::fuzz::refuse_cleanly([&] {
    const auto st = dm::io::parse_safetensors(bytes, "fuzz-input");
    for (const auto& [name, tensor] : st.tensors) (void)tensor.sum();  // every accepted tensor is readable
  });
}
