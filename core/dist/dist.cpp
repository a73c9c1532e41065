// c10d from the pinned LibTorch. ProcessGroupGloo.hpp needs Gloo's headers, which the wheel does not
// ship: Debian's libgloo-dev provides them (docs/distributed.md says what that relies on). Only
// declarations are used from them: the Gloo device is created inside LibTorch
// (createDeviceForHostname) and handed back as a shared_ptr we never dereference.
#define USE_C10D_GLOO 1
#include "core/dist/dist.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>

#include "core/common/error.h"
#include "core/dist/dist_internal.h"

namespace dm::dist {
namespace {

const char* getenv_nonempty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int fallback, bool required) {
  const char* v = getenv_nonempty(name);
  if (!v) {
    if (required) throw ConfigError(name, "(unset)", "is needed for a distributed run");
    return fallback;
  }
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < 0 || n > 1000000) throw ConfigError(name, v, "must be a non-negative integer");
  return static_cast<int>(n);
}

// "4(x2),3" → 4 (tasks on this job's first node; SLURM_TASKS_PER_NODE's format).
int leading_count(const char* v) {
  if (!v) return 0;
  return std::atoi(v);
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // Split off the first comma-separated entry that is not inside brackets.
  size_t depth = 0, end = nodelist.size();
  for (size_t i = 0; i < nodelist.size(); ++i) {
    if (nodelist[i] == '[') ++depth;
    if (nodelist[i] == ']' && depth > 0) --depth;
    if (nodelist[i] == ',' && depth == 0) {
      end = i;
      break;
    }
  }
  const std::string first = nodelist.substr(0, end);
  const auto open = first.find('[');
  if (open == std::string::npos) return first;
  const auto close = first.find(']', open);
  if (close == std::string::npos) throw ConfigError("SLURM_JOB_NODELIST", nodelist, "has an unclosed '['");
  // The first number of the range list: "03-07,12" → "03" (zero padding kept).
  std::string range = first.substr(open + 1, close - open - 1);
  const auto stop = range.find_first_of("-,");
  if (stop != std::string::npos) range = range.substr(0, stop);
  if (range.empty()) throw ConfigError("SLURM_JOB_NODELIST", nodelist, "has an empty host range");
  return first.substr(0, open) + range + first.substr(close + 1);
}

Env from_environment() {
  Env e;
  if (getenv_nonempty("WORLD_SIZE") || getenv_nonempty("RANK")) {
    e.world = env_int("WORLD_SIZE", 1, true);
    e.rank = env_int("RANK", 0, true);
    e.local_rank = env_int("LOCAL_RANK", e.rank, false);
    e.local_world = env_int("LOCAL_WORLD_SIZE", e.world, false);
    const char* launcher = getenv_nonempty("DM_LAUNCHER");
    e.launcher = launcher && std::string(launcher) == "diffmamba" ? "diffmamba" : "torchrun";
    if (e.world > 1) {
      if (!getenv_nonempty("MASTER_ADDR")) throw ConfigError("MASTER_ADDR", "(unset)", "is needed when WORLD_SIZE > 1");
      e.master_addr = getenv_nonempty("MASTER_ADDR");
      e.master_port = env_int("MASTER_PORT", 0, true);
    }
  } else if (getenv_nonempty("SLURM_NTASKS") && env_int("SLURM_NTASKS", 1, false) > 1) {
    e.launcher = "slurm";
    e.world = env_int("SLURM_NTASKS", 1, true);
    e.rank = env_int("SLURM_PROCID", 0, true);
    e.local_rank = env_int("SLURM_LOCALID", 0, false);
    e.local_world = getenv_nonempty("SLURM_NTASKS_PER_NODE") ? env_int("SLURM_NTASKS_PER_NODE", 1, false)
                                                 : std::max(1, leading_count(getenv_nonempty("SLURM_TASKS_PER_NODE")));
    if (getenv_nonempty("MASTER_ADDR")) {
      e.master_addr = getenv_nonempty("MASTER_ADDR");
    } else {
      if (!getenv_nonempty("SLURM_JOB_NODELIST")) throw ConfigError("SLURM_JOB_NODELIST", "(unset)", "is needed to find the master host");
      e.master_addr = first_slurm_host(getenv_nonempty("SLURM_JOB_NODELIST"));
    }
    e.master_port = getenv_nonempty("MASTER_PORT") ? env_int("MASTER_PORT", 0, true) : 29500 + env_int("SLURM_JOB_ID", 0, false) % 1000;
  }
  if (e.world < 1) throw ConfigError("WORLD_SIZE", std::to_string(e.world), "must be at least 1");
  if (e.rank >= e.world)
    throw ConfigError("RANK", std::to_string(e.rank), "must be below the world size " + std::to_string(e.world));
  if (e.local_rank >= std::max(e.local_world, 1) && e.local_world > 0)
    throw ConfigError("LOCAL_RANK", std::to_string(e.local_rank),
                      "must be below the processes per node " + std::to_string(e.local_world));
  if (e.active() && (e.master_port <= 0 || e.master_port > 65535))
    throw ConfigError("MASTER_PORT", std::to_string(e.master_port), "must be a TCP port 1..65535");
  return e;
}

std::chrono::milliseconds collective_timeout() {
  const int s = env_int("DM_DIST_TIMEOUT", 120, false);
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(1, s)) * 1000);
}

std::vector<std::string> available_backends() {
  std::vector<std::string> out{"gloo"};
  if (nccl_available()) out.push_back("nccl");
  return out;
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  c10d::ProcessGroup& group() {
    if (!pg) throw Error("dist::Group: collectives before connect()");
    return *pg;
  }
};

Group::Group(const Env& e) : env_(e), impl_(std::make_unique<Impl>()) {
  // A world of one is allowed (benchmarks measure a backend's own cost that way); it still needs a port.
  if (e.world < 1 || e.master_port <= 0)
    throw Error("dist::Group: a process group needs a world size and MASTER_PORT (got " + std::to_string(e.world) +
                ", port " + std::to_string(e.master_port) + ")");
  const auto timeout = collective_timeout();
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(e.master_port);
  so.isServer = e.rank == 0;
  so.numWorkers = static_cast<std::size_t>(e.world);
  so.waitWorkers = true;
  so.timeout = timeout;
  const std::string where = e.master_addr + ":" + std::to_string(e.master_port);
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(e.master_addr, so);
  } catch (const std::exception& ex) {
    std::string why = ex.what();
    if (const auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    throw Error("rank " + std::to_string(e.rank) + ": the rendezvous at " + where + " failed (" +
                (e.rank == 0 ? "is the port already in use? set MASTER_PORT to a free one" : "is rank 0 running?") +
                "): " + why);
  }
}

void Group::connect(const torch::Device& device) {
  const Env& e = env_;
  device_ = device;
  const auto timeout = collective_timeout();
  auto pg = c10::make_intrusive<c10d::ProcessGroup>(impl_->store, e.rank, e.world);
  try {
    if (device.is_cuda()) {
      backend_ = "nccl";
      pg->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL,
                     make_nccl_backend(impl_->store, e.rank, e.world, timeout));
      pg->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
    } else {
      backend_ = "gloo";
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      // One machine (loopback master): bind to loopback. Several: GLOO_SOCKET_IFNAME names the interface,
      // as in PyTorch; else this host's name is resolved (falling back to loopback).
      const bool local = e.master_addr == "127.0.0.1" || e.master_addr == "localhost";
      if (const char* ifname = getenv_nonempty("GLOO_SOCKET_IFNAME"))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (local)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, e.rank, e.world, opts);
      pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
      pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw Error("rank " + std::to_string(e.rank) + ": creating the " + backend_ + " process group failed: " + ex.what());
  }
  impl_->pg = pg;
}

Group::~Group() = default;

std::string Group::describe() const {
  return device_.str() + " × " + std::to_string(env_.world) + " processes (" + backend_ + ", launched by " +
         env_.launcher + ")";
}

void Group::broadcast(std::vector<torch::Tensor> tensors) {
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    impl_->group().broadcast(one, o)->wait();
  }
}

void Group::allreduce_sum(std::vector<torch::Tensor> tensors) {
  // One collective per tensor: c10d's allreduce of a list reduces the list's tensors into each other
  // (its old one-process-many-GPUs form), which is not what is meant here.
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    impl_->group().allreduce(one)->wait();
  }
}

std::vector<double> Group::allreduce_sum(const std::vector<double>& values) {
  if (values.empty()) return {};
  auto t = torch::tensor(values, torch::TensorOptions().dtype(torch::kDouble)).to(device_);
  allreduce_sum(std::vector<torch::Tensor>{t});
  t = t.cpu();
  return {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()};
}

std::string Group::share(const std::string& key, const std::string& value_on_rank0) {
  const std::string k = "dm/" + key;
  if (env_.rank == 0) {
    impl_->store->set(k, std::vector<uint8_t>(value_on_rank0.begin(), value_on_rank0.end()));
    return value_on_rank0;
  }
  const auto v = impl_->store->get(k);
  return {v.begin(), v.end()};
}

bool Group::any(bool mine) { return allreduce_sum(std::vector<double>{mine ? 1.0 : 0.0})[0] > 0; }

void Group::barrier() { impl_->group().barrier()->wait(); }

std::unique_ptr<Group> join_group(const std::vector<torch::Tensor>& state, const torch::Device& device) {
  const auto env = from_environment();
  if (!env.active()) return nullptr;
  auto group = std::make_unique<Group>(env);
  group->connect(device);
  torch::NoGradGuard ng;
  group->broadcast(state);
  return group;
}

struct GradSync::Impl {
  std::unique_ptr<c10d::Reducer> reducer;
  bool find_unused = false;
};

GradSync::GradSync(Group& group, const std::vector<torch::Tensor>& params, bool find_unused)
    : impl_(std::make_unique<Impl>()) {
  impl_->find_unused = find_unused;
  // As torch.nn.parallel.DistributedDataParallel: buckets over the parameters in reverse order (their
  // gradients become ready roughly last-to-first), the first bucket 1 MB so communication starts early.
  constexpr int64_t kFirst = 1 << 20, kCap = 25 << 20;
  std::vector<int64_t> order(params.size());
  for (size_t i = 0; i < params.size(); ++i) order[i] = static_cast<int64_t>(params.size() - 1 - i);
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
      params, {static_cast<size_t>(kFirst), static_cast<size_t>(kCap)}, std::vector<bool>(params.size(), false), order);
  std::vector<int64_t> caps(limits.begin(), limits.end());
  (void)group.impl().group();  // connected
  impl_->reducer = std::make_unique<c10d::Reducer>(params, std::move(buckets), group.impl().pg,
                                                   std::vector<bool>(params.size(), false), kCap, find_unused,
                                                   /*gradient_as_bucket_view=*/false,
                                                   std::unordered_map<size_t, std::string>{}, kFirst,
                                                   /*skip_all_reduce_unused_params=*/false,
                                                   /*use_python_reducer=*/false, caps);
}

GradSync::~GradSync() = default;

void GradSync::prepare(const torch::Tensor& loss) {
  impl_->reducer->prepare_for_forward();
  impl_->reducer->prepare_for_backward(impl_->find_unused ? std::vector<at::Tensor>{loss} : std::vector<at::Tensor>{});
}

}  // namespace dm::dist
