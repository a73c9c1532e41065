// Whole torch.save archives (pytorch_model.bin): the zip directory, records and their sizes, then data.pkl.
#include "core/io/atomic_file.h"
#include "core/io/torch_pickle.h"
#include "tests/fuzz/fuzz_target.h"

std::vector<std::string> dm::fuzz::seed_inputs() {
  return {dm::io::read_file(test_data("torch_save/state_dict.bin")),
          dm::io::read_file(test_data("checkpoints/mamba2_tiny_bin/pytorch_model.bin"))};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  return dm::fuzz::refuse_cleanly([&] { dm::io::read_torch_state_dict(dm::fuzz::as_file(bytes)); });
}
