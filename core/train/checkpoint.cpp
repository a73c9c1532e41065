#include "core/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/common/error.h"
#include "core/io/safetensors.h"

namespace dm::train {
namespace {

std::vector<torch::Tensor> ordered_params(torch::optim::AdamW& opt) {
  std::vector<torch::Tensor> ps;
  for (auto& g : opt.param_groups())
    for (auto& p : g.params()) ps.push_back(p);
  return ps;
}

}  // namespace

void save_checkpoint(const std::string& path, model::LanguageModel& model, torch::optim::AdamW& opt,
                     const Position& pos, const nlohmann::json& extra) {
  io::NamedTensors t;
  for (const auto& item : model->named_parameters()) t.emplace_back("model." + item.key(), item.value());
  const auto ps = ordered_params(opt);
  std::vector<int64_t> steps;
  for (size_t i = 0; i < ps.size(); ++i) {
    auto it = opt.state().find(ps[i].unsafeGetTensorImpl());
    if (it == opt.state().end()) {
      steps.push_back(-1);
      continue;
    }
    auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
    steps.push_back(st.step());
    t.emplace_back("optim." + std::to_string(i) + ".exp_avg", st.exp_avg());
    t.emplace_back("optim." + std::to_string(i) + ".exp_avg_sq", st.exp_avg_sq());
  }
  t.emplace_back("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
  nlohmann::json state = {{"step", pos.step}, {"epoch", pos.epoch}, {"next_batch", pos.next_batch},
                          {"optim_steps", steps}, {"extra", extra}};
  io::write_safetensors(path, t, {{"format", "pt"}, {"dm_format", kCheckpointFormat}, {"state", state.dump()}});
}

std::pair<Position, nlohmann::json> load_checkpoint(const std::string& path, model::LanguageModel& model,
                                                    torch::optim::AdamW& opt) {
  const auto f = io::read_safetensors(path);
  auto fmt = f.metadata.find("dm_format");
  auto st_text = f.metadata.find("state");
  if (fmt == f.metadata.end() || fmt->second != kCheckpointFormat || st_text == f.metadata.end())
    throw FileError(path, std::string("not a training checkpoint of this version (expected ") + kCheckpointFormat + ")");
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(st_text->second);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path, std::string("checkpoint state is not valid JSON: ") + e.what());
  }
  torch::NoGradGuard ng;
  for (auto& item : model->named_parameters()) {
    const auto* t = f.find("model." + item.key());
    if (!t || t->sizes() != item.value().sizes())
      throw FileError(path, "checkpoint does not match the model: tensor '" + item.key() + "' missing or of another shape");
    item.value().copy_(*t);
  }
  const auto ps = ordered_params(opt);
  const auto steps = state.at("optim_steps").get<std::vector<int64_t>>();
  if (steps.size() != ps.size()) throw FileError(path, "optimizer state has another number of parameters");
  opt.state().clear();
  for (size_t i = 0; i < ps.size(); ++i) {
    if (steps[i] < 0) continue;
    const auto* m = f.find("optim." + std::to_string(i) + ".exp_avg");
    const auto* v = f.find("optim." + std::to_string(i) + ".exp_avg_sq");
    if (!m || !v) throw FileError(path, "optimizer state of parameter " + std::to_string(i) + " is missing");
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(steps[i]);
    s->exp_avg(m->to(ps[i].device()).clone());
    s->exp_avg_sq(v->to(ps[i].device()).clone());
    opt.state()[ps[i].unsafeGetTensorImpl()] = std::move(s);
  }
  if (const auto* rng = f.find("rng.cpu")) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the process generator
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(*rng);
  }
  Position pos{state.at("step").get<int64_t>(), state.at("epoch").get<int64_t>(), state.at("next_batch").get<int64_t>()};
  return {pos, state.value("extra", nlohmann::json::object())};
}

}  // namespace dm::train
