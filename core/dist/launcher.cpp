#include "core/dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/common/error.h"
#include "core/dist/dist.h"

extern char** environ;

namespace dm::dist {
namespace {

std::atomic<int> g_forward_signal{0};

void on_signal(int sig) { g_forward_signal = sig; }

}  // namespace

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("free_port: socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw Error("free_port: " + why);
  }
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

LaunchOptions local_launch(int nproc, std::vector<std::string> argv, int threads) {
  LaunchOptions lo;
  lo.nproc = nproc;
  lo.argv = std::move(argv);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  lo.threads_per_process = threads > 0 ? threads : std::max(1, cores / std::max(1, nproc));
  lo.grace_seconds = static_cast<int>(collective_timeout().count() / 1000) + 30;
  return lo;
}

std::optional<int> launch_nproc_per_node(int64_t n, const std::vector<std::string>& argv) {
  if (n < 1) throw ConfigError("nproc_per_node", std::to_string(n), "must be at least 1");
  if (n == 1 || from_environment().active()) return std::nullopt;
  std::printf("starting %lld processes (--nproc_per_node)\n", static_cast<long long>(n));
  return launch_local(local_launch(static_cast<int>(n), argv));
}

int launch_local(const LaunchOptions& opt) {
  if (opt.nproc < 1) throw Error("launch: the number of processes must be at least 1");
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  std::vector<char*> args;
  for (size_t i = 1; i < opt.argv.size(); ++i) args.push_back(const_cast<char*>(opt.argv[i].c_str()));
  const char* exe = "/proc/self/exe";
  std::fflush(stdout);
  std::fflush(stderr);
  // Each child's environment, built before fork (only exec runs between fork and exec).
  auto env_for = [&](int r) {
    const std::vector<std::pair<std::string, std::string>> set = {
        {"RANK", std::to_string(r)}, {"LOCAL_RANK", std::to_string(r)}, {"WORLD_SIZE", std::to_string(opt.nproc)},
        {"LOCAL_WORLD_SIZE", std::to_string(opt.nproc)}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port},
        {"DM_LAUNCHER", "diffmamba"}};
    std::vector<std::string> out;
    bool have_omp = false;
    for (char** e = environ; e && *e; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      bool replaced = false;
      for (const auto& [k, v] : set) replaced = replaced || k == key;
      if (key == "OMP_NUM_THREADS") {
        if (kv.size() <= key.size() + 1) continue;  // set but empty: as if unset
        have_omp = true;
      }
      if (!replaced) out.push_back(kv);
    }
    for (const auto& [k, v] : set) out.push_back(k + "=" + v);
    if (!have_omp) out.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1, opt.threads_per_process)));
    return out;
  };
  std::vector<char*> argv{const_cast<char*>(opt.argv.empty() ? "diffmamba" : opt.argv[0].c_str())};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(nullptr);
  for (int r = 0; r < opt.nproc; ++r) {
    const auto env_strings = env_for(r);
    std::vector<char*> envp;
    for (const auto& kv : env_strings) envp.push_back(const_cast<char*>(kv.c_str()));
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      for (auto p : pids) ::kill(p, SIGKILL);
      throw Error(std::string("launch: fork failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // Own process group: a terminal's Ctrl-C reaches the launcher only, which forwards it once (a
      // second SIGINT would make a rank stop at once, without its checkpoint). Ranks end with the launcher.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::execve(exe, argv.data(), envp.data());
      static const char msg[] = "launch: exec failed\n";
      (void)!::write(2, msg, sizeof msg - 1);
      std::_Exit(127);
    }
    pids.push_back(pid);
  }

  struct sigaction sa{}, old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);

  std::vector<int> status(pids.size(), -1);
  size_t running = pids.size();
  int result = 0;
  bool forwarded = false;
  std::chrono::steady_clock::time_point kill_at{};
  bool failing = false;
  while (running > 0) {
    if (const int sig = g_forward_signal.exchange(0); sig != 0) {
      for (size_t i = 0; i < pids.size(); ++i)
        if (status[i] < 0) ::kill(pids[i], sig);
      forwarded = true;
    }
    for (size_t i = 0; i < pids.size(); ++i) {
      if (status[i] >= 0) continue;
      int ws = 0;
      const pid_t got = ::waitpid(pids[i], &ws, WNOHANG);
      if (got != pids[i]) continue;
      --running;
      status[i] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
      if (status[i] != 0 && result == 0) {
        result = status[i];
        if (!forwarded || status[i] != 130) {
          if (WIFSIGNALED(ws))
            std::fprintf(stderr, "launch: rank %zu (pid %d) was killed by signal %d; the other ranks stop at their next "
                                 "collective\n", i, static_cast<int>(pids[i]), WTERMSIG(ws));
          else
            std::fprintf(stderr, "launch: rank %zu exited with status %d\n", i, status[i]);
        }
        failing = true;
        kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(opt.grace_seconds);
      }
    }
    if (failing && running > 0 && std::chrono::steady_clock::now() > kill_at) {
      for (size_t i = 0; i < pids.size(); ++i)
        if (status[i] < 0) {
          std::fprintf(stderr, "launch: rank %zu did not end %d s after another rank failed; killing it\n", i,
                       opt.grace_seconds);
          ::kill(pids[i], SIGKILL);
        }
      failing = false;  // reap them on the next rounds
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace dm::dist
