// Our own launcher, for `trainer.devices=N` / `--nproc_per_node=N` without torchrun or Slurm: starts N
// copies of this executable with the environment torchrun would give them (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free MASTER_PORT, DM_LAUNCHER=diffmamba),
// forwards SIGINT/SIGTERM to all of them, waits for all and returns one exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dm::dist {

struct LaunchOptions {
  int nproc = 2;
  std::vector<std::string> argv;  // argv[0] is ignored: the children run this same executable
  // Intra-op threads per process (OMP_NUM_THREADS, unless the user set it): the cores divided among them.
  int threads_per_process = 1;
  // After the first rank fails, how long the others get to notice and end on their own before SIGKILL.
  int grace_seconds = 150;
};

// Options for `nproc` processes of this command line on this machine: the cores shared out among them
// (or `threads` each when > 0), and the collective timeout + 30 s of grace after a rank fails.
LaunchOptions local_launch(int nproc, std::vector<std::string> argv, int threads = 0);

// --nproc_per_node=N of a command that is not already one of torchrun's or srun's ranks: starts the N
// processes (saying so on stdout) and returns their exit status. std::nullopt: this process does the work
// itself (N == 1, or a launcher started it). Throws ConfigError for N < 1.
std::optional<int> launch_nproc_per_node(int64_t n, const std::vector<std::string>& argv);

// The exit status: 0 when every rank exited 0; else the first failing rank's status (128 + signal for a
// rank killed by a signal). Messages about dead ranks go to stderr.
int launch_local(const LaunchOptions& opt);

// A TCP port free on the loopback interface right now (bound to port 0, then released).
int free_port();

}  // namespace dm::dist
