// data.pkl, the pickle of a torch.save archive, run by the restricted unpickler: the input is the pickle,
// wrapped here into a well-formed archive (with storage records data/0 … data/15 of 4 kB each) so every
// mutation reaches the unpickler instead of stopping at the zip's checksums.
#include <caffe2/serialize/inline_container.h>

#include "core/io/atomic_file.h"
#include "core/io/torch_pickle.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

std::string data_pkl_of(const std::string& archive_path) {
  caffe2::serialize::PyTorchStreamReader r(archive_path);
  auto [ptr, n] = r.getRecord("data.pkl");
  return std::string(static_cast<const char*>(ptr.get()), n);
}

}  // namespace

std::vector<std::string> dm::fuzz::seed_inputs() {
  return {data_pkl_of(test_data("torch_save/state_dict.bin")),
          data_pkl_of(test_data("checkpoints/mamba2_tiny_bin/pytorch_model.bin"))};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string archive;
  {
    caffe2::serialize::PyTorchStreamWriter w([&](const void* p, size_t n) {
      if (p) archive.append(static_cast<const char*>(p), n);
      else archive.append(n, '\0');
      return n;
    });
    w.writeRecord("data.pkl", data, size);
    w.writeRecord("byteorder", "little", 6);
    static const std::string storage(4096, '\0');
    for (int i = 0; i < 16; ++i) w.writeRecord("data/" + std::to_string(i), storage.data(), storage.size());
    w.writeEndOfFile();
  }
  return dm::fuzz::refuse_cleanly([&] { dm::io::read_torch_state_dict(dm::fuzz::as_file(archive)); });
}
