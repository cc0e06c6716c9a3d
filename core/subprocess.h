#pragma once

// ChildProcess: a program started with fork/exec and owned by this object. The child receives
// SIGTERM if its parent dies (so no orphan outlives a crashed coordinator), and the destructor
// terminates and reaps it, so a test or command that fails halfway never leaves processes behind.
// Not thread safe.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace cartable {

// Resource limits set in the child before it starts its program (both soft and hard), e.g. to run a
// server under the open-file limit an operator might give it.
struct ChildLimits {
  std::optional<uint64_t> open_files;  // RLIMIT_NOFILE
};

class ChildProcess {
 public:
  // Starts argv[0] (a path) with its arguments. PR_SET_PDEATHSIG follows the spawning *thread*:
  // spawn from a thread that lives as long as the child should. The child's stdout and stderr go to
  // `log_file` when given (created or appended), else they are inherited. A limit that cannot be
  // set makes the child exit with 127.
  static StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::optional<std::filesystem::path>& log_file,
      const ChildLimits& limits = {});

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The exit code once the child has ended (128 + signal when killed by one), nullopt while it
  // runs.
  std::optional<int> Poll();

  // Waits up to `timeout` for the child to end by itself.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);

  // Sends `signal` (SIGTERM by default) unless the child has ended.
  void Signal(int signal);

  // SIGTERM, then SIGKILL after `grace`; always reaps. Returns the exit code.
  int Terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> exit_code_;
};

// Path of the running executable (/proc/self/exe), so a command can start more of itself.
StatusOr<std::filesystem::path> CurrentExecutable();

// SIGINT and SIGTERM set a flag instead of killing the process, so long loops can stop cleanly:
// close sockets, stop children, and leave no half-written file. A second signal exits at once.
void InstallShutdownHandler();
bool ShutdownRequested();

// SIGHUP asks long-running services to reload their files (the coordinator's key allow-list).
// Readers compare the generation with the last one they acted on.
void InstallReloadHandler();
uint64_t ReloadGeneration();

}  // namespace cartable
