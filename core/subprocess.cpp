#include "core/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

namespace cartable {
namespace {

std::atomic<int> g_shutdown_signals{0};
std::atomic<uint64_t> g_reload_generation{0};

void OnReloadSignal(int) { g_reload_generation.fetch_add(1); }

void OnShutdownSignal(int) {
  if (g_shutdown_signals.fetch_add(1) >= 1) _exit(130);
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::optional<std::filesystem::path>& log_file,
    const ChildLimits& limits) {
  if (argv.empty()) return InvalidArgumentError("cannot start a process without a program");
  int log_fd = -1;
  if (log_file) {
    log_fd = ::open(log_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return UnavailableError("cannot open log file " + log_file->string() + ": " +
                              std::strerror(errno));
    }
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  struct rlimit open_files {};
  if (limits.open_files)
    open_files.rlim_cur = open_files.rlim_max = static_cast<rlim_t>(*limits.open_files);

  pid_t child = ::fork();
  if (child < 0) {
    if (log_fd >= 0) ::close(log_fd);
    return UnavailableError(std::string("cannot fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    // Child: only async-signal-safe calls from here to exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) _exit(127);  // the parent died before prctl took effect
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    if (limits.open_files && ::setrlimit(RLIMIT_NOFILE, &open_files) != 0) _exit(127);
    ::execv(args[0], args.data());
    _exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  return std::unique_ptr<ChildProcess>(new ChildProcess(child));
}

ChildProcess::~ChildProcess() { Terminate(std::chrono::milliseconds(1000)); }

std::optional<int> ChildProcess::Poll() {
  if (exit_code_) return exit_code_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) exit_code_ = DecodeWaitStatus(status);
  if (r < 0 && errno == ECHILD) exit_code_ = -1;
  return exit_code_;
}

std::optional<int> ChildProcess::WaitFor(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!Poll()) {
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

void ChildProcess::Signal(int signal) {
  if (!Poll()) ::kill(pid_, signal);
}

int ChildProcess::Terminate(std::chrono::milliseconds grace) {
  if (Poll()) return *exit_code_;
  ::kill(pid_, SIGTERM);
  if (WaitFor(grace)) return *exit_code_;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = DecodeWaitStatus(status);
  return *exit_code_;
}

StatusOr<std::filesystem::path> CurrentExecutable() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return InternalError("cannot find the running executable: " + error.message());
  return path;
}

void InstallShutdownHandler() {
  struct sigaction action {};
  action.sa_handler = OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking waits return early and see the flag
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

bool ShutdownRequested() { return g_shutdown_signals.load() > 0; }

void InstallReloadHandler() {
  struct sigaction action {};
  action.sa_handler = OnReloadSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGHUP, &action, nullptr);
}

uint64_t ReloadGeneration() { return g_reload_generation.load(); }

}  // namespace cartable
