#pragma once

// The process's limit on open file descriptors (RLIMIT_NOFILE). Every connection a server accepts
// holds one descriptor until it is closed, so a coordinator's limit bounds how many nodes, and how
// many connections still in their handshake, it can hold at once. Linux starts most processes with
// a soft limit of 1024 under a much higher hard limit; a service that may hold many connections
// raises its soft limit to the hard one, which any process may do. Raising the hard limit is the
// operator's business (systemd LimitNOFILE=, ulimit -n, /etc/security/limits.conf).

#include <cstdint>

#include "core/status.h"

namespace cartable {

struct OpenFileLimit {
  uint64_t soft = 0;  // the limit in effect
  uint64_t hard = 0;  // the ceiling the soft limit may be raised to without privilege
};

// The limits now.
StatusOr<OpenFileLimit> CurrentOpenFileLimit();

// Raises the soft limit to the hard limit (capped at what the kernel accepts, fs.nr_open, when the
// hard limit is "unlimited") and returns the limits in effect afterwards.
StatusOr<OpenFileLimit> RaiseOpenFileLimit();

}  // namespace cartable
