// Data-parallel training on PyTorch's own distributed engine (c10d): where this process sits among the
// ranks (read once from the environment torchrun, Slurm or our launcher sets), the process group (a
// TCPStore rendezvous, ProcessGroupGloo on CPU, ProcessGroupNCCL on CUDA), and gradient synchronisation
// by c10d's Reducer — PyTorch DDP's own bucketed all-reduce, launched from autograd hooks while the
// backward pass still runs. The c10d headers stay inside dist.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace dm::dist {

// This process's place among the ranks. world == 1: a plain single-process run.
struct Env {
  int rank = 0, world = 1, local_rank = 0, local_world = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  std::string launcher = "none";  // none | torchrun | slurm | diffmamba
  bool active() const { return world > 1; }
};

// torchrun / our launcher: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
// (DM_LAUNCHER=diffmamba marks our own). Else Slurm with SLURM_NTASKS > 1: SLURM_PROCID, SLURM_NTASKS,
// SLURM_LOCALID, SLURM_NTASKS_PER_NODE (or SLURM_TASKS_PER_NODE), the first host of SLURM_JOB_NODELIST
// as master (MASTER_ADDR overrides) and MASTER_PORT, else 29500 + SLURM_JOB_ID % 1000. Else single.
// Throws ConfigError on an inconsistent environment (rank outside the world, a missing variable).
Env from_environment();
// The first host of a Slurm node list: "gpu[03-07,12],cpu1" → "gpu03".
std::string first_slurm_host(const std::string& nodelist);

// Collective timeout: DM_DIST_TIMEOUT seconds in the environment, default 120. A rank that dies makes
// every other rank's next collective fail within it.
std::chrono::milliseconds collective_timeout();

// Backends this build can create: "gloo" always, "nccl" when LibTorch has CUDA and NCCL.
std::vector<std::string> available_backends();

class Group {
 public:
  // Rendezvous: rank 0 serves the TCPStore at master_addr:master_port, every rank connects. Throws Error
  // naming the address when it fails or times out (a port in use, a rank that never came).
  explicit Group(const Env& env);
  // The process group on `device`: NCCL for CUDA, Gloo otherwise. Collectives need it; share() does not.
  void connect(const torch::Device& device);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return env_.rank; }
  int size() const { return env_.world; }
  const Env& env() const { return env_; }
  const std::string& backend() const { return backend_; }
  // "cpu × 2 processes (gloo, launched by torchrun)": for the run record.
  std::string describe() const;

  // Every tensor overwritten by rank 0's (in place).
  void broadcast(std::vector<torch::Tensor> tensors);
  // Element-wise sum over ranks, in place, each tensor on its own. Tensors on this group's device.
  void allreduce_sum(std::vector<torch::Tensor> tensors);
  std::vector<double> allreduce_sum(const std::vector<double>& values);
  // A small string from rank 0 to every rank (through the store).
  std::string share(const std::string& key, const std::string& value_on_rank0);
  // True on every rank when `mine` is true on any (e.g. someone's Ctrl-C: all stop at the same step).
  bool any(bool mine);
  void barrier();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  Env env_;
  torch::Device device_{torch::kCPU};
  std::string backend_;
  std::unique_ptr<Impl> impl_;
};

// For the jobs outside the trainer (fine-tuning, the lens): when this process is one of several ranks, its
// group on `device` (Gloo on the CPU, NCCL on a GPU), with `state` (e.g. the parameters, already on
// `device`) overwritten by rank 0's; nullptr when it runs alone.
std::unique_ptr<Group> join_group(const std::vector<torch::Tensor>& state, const torch::Device& device);

// PyTorch DDP's gradient synchronisation (c10d::Reducer) over `params`: 25 MB buckets (the first 1 MB),
// in reverse parameter order, each all-reduced as soon as its gradients are ready in the backward pass
// and divided by the world size. Call prepare(loss) before a backward whose gradients should be
// synchronised (the last micro-step of an accumulation); a backward without it accumulates locally.
class GradSync {
 public:
  // find_unused: parameters that may get no gradient in a step (adaptive softmax tail clusters).
  GradSync(Group& group, const std::vector<torch::Tensor>& params, bool find_unused);
  ~GradSync();
  void prepare(const torch::Tensor& loss);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dm::dist
