// tokenizer.json (byte-level BPE): the JSON, the vocabulary, merges, added tokens, then encode and decode.
#include "core/data/tokenizer.h"
#include "core/io/atomic_file.h"
#include "tests/fuzz/fuzz_target.h"

std::vector<std::string> dm::fuzz::seed_inputs() {
  return {dm::io::read_file(test_data("tokenizer/tokenizer.json")),
          R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
              "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "added_tokens": []})"};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  return dm::fuzz::refuse_cleanly([&] {
    const auto tok = dm::data::BpeTokenizer::from_file(dm::fuzz::as_file(bytes));
    const auto ids = tok.encode("Hello, world! <|endoftext|> naïve ab");
    (void)tok.decode(ids);
  });
}
