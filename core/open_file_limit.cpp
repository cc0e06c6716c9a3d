#include "core/open_file_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace cartable {
namespace {

Status LimitError(std::string_view what) {
  return UnavailableError(std::string(what) +
                          " the open file limit (RLIMIT_NOFILE): " + std::strerror(errno));
}

// The kernel's ceiling on descriptors per process; setrlimit refuses anything above it.
rlim_t KernelCeiling() {
  std::ifstream in("/proc/sys/fs/nr_open");
  unsigned long long value = 0;
  if (in >> value && value > 0) return static_cast<rlim_t>(value);
  return 1 << 20;  // Linux's default nr_open
}

}  // namespace

StatusOr<OpenFileLimit> CurrentOpenFileLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return LimitError("cannot read");
  return OpenFileLimit{static_cast<uint64_t>(limit.rlim_cur),
                       static_cast<uint64_t>(limit.rlim_max)};
}

StatusOr<OpenFileLimit> RaiseOpenFileLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return LimitError("cannot read");
  const rlim_t target = limit.rlim_max == RLIM_INFINITY ? KernelCeiling() : limit.rlim_max;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= target) return CurrentOpenFileLimit();
  limit.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return LimitError("cannot raise");
  return CurrentOpenFileLimit();
}

}  // namespace cartable
