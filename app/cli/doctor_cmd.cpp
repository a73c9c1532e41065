#include "app/cli/doctor_cmd.h"

#include "core/dist/dist.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "core/ops/doctor.h"
#include "core/ops/selfcheck.h"

namespace dm::cli {

DoctorCommands::DoctorCommands(CLI::App& app) {
  doctor_ =
      app.add_subcommand("doctor", "What this build can use: LibTorch, CUDA (or why not), GPUs, kernel architectures");
  doctor_->alias("info");  // the older name
  selfcheck_ = app.add_subcommand(
      "selfcheck", "Compare the fast kernels with their references on fresh random inputs (exit 77 = skipped: no GPU)");
  selfcheck_
      ->add_option("--device", device_, "cuda (every CUDA kernel, fp32 + bf16), cuda:N, or cpu (the CPU fast paths)")
      ->capture_default_str();
  selfcheck_->add_option("--seed", seed_, "random seed (default: from the clock, printed)");
  selfcheck_->add_flag("--kernels-only", kernels_only_,
                       "CUDA: leave out the small language models' loss and gradient checks (e.g. under "
                       "compute-sanitizer)");
}

bool DoctorCommands::parsed() const { return doctor_->parsed() || selfcheck_->parsed(); }

int DoctorCommands::run() const {
  if (doctor_->parsed()) {
    std::fputs(dm::ops::format_doctor(dm::ops::doctor()).c_str(), stdout);
    std::printf("intra-op threads  %d\n", static_cast<int>(torch::get_num_threads()));
    std::string backends;
    for (const auto& b : dm::dist::available_backends()) backends += (backends.empty() ? "" : ", ") + b;
    std::printf("distributed       c10d %s (data-parallel: trainer.devices=N, torchrun, srun)\n", backends.c_str());
    const auto env = dm::dist::from_environment();
    if (env.active())
      std::printf("this process      rank %d of %d (local %d of %d), launched by %s, master %s:%d\n", env.rank, env.world,
                  env.local_rank, env.local_world, env.launcher.c_str(), env.master_addr.c_str(), env.master_port);
    return 0;
  }
  const uint64_t seed =
      seed_ ? seed_
            : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000007ULL;
  const auto rep = dm::ops::selfcheck(device_, seed, !kernels_only_);
  std::fputs(dm::ops::format_selfcheck(rep).c_str(), stdout);
  std::fflush(stdout);
  if (rep.skipped()) return 77;
  return rep.failures() == 0 ? 0 : 1;
}

}  // namespace dm::cli
