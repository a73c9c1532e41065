// Command-line overrides (`key=value`, the value read as YAML) resolved into an experiment config, as
// `diffmamba train key=value` and the window's form do.
#include "core/config/experiment_config.h"
#include "tests/fuzz/fuzz_target.h"

std::vector<std::string> dm::fuzz::seed_inputs() {
  return {"model.n_layers=4", "optimizer.betas=[0.9, 0.95]", "description=&a [*a]", "loader.l_max=64",
          "description=[&a [x, x, x], &b [*a, *a, *a], [*b, *b, *b]]", "optimizer.lr=3e-4", "dataset.data_dir=",
          "model.family=diffmamba2", "description={a: {b: {c: [1, 2, {d: e}]}}}", "trainer.max_steps=0x10"};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  return dm::fuzz::refuse_cleanly([&] {
    (void)dm::config::parse_value(text);
    (void)dm::config::resolve({text});
  });
}
