#pragma once

// PendingHandshakes: the connections a server has accepted that may not have finished their
// handshake, and which of them to cut so that they cannot take every file descriptor
// (ConnectionGuard does the I/O). Fed the socket monitor's events in order, it answers which
// connections to shut down, oldest first: those beyond `max_pending`, and, after accept() failed
// for want of descriptors, a quarter of the pending ones (at least one) so that accepting can
// resume. ZeroMQ's monitor names an accepted connection by its descriptor (and its end by the same
// descriptor) but does not say which connection a successful handshake belongs to, so before
// deciding, every entry is put to `state`: a connection that completed its handshake or no longer
// exists is forgotten, never cut. Entries older than `forget_after` (the monitor lost an event) are
// forgotten too. Sans-I/O; not thread safe.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace cartable::protocol::internal {

enum class ConnectionState { kHandshaking, kEstablished, kGone };

class PendingHandshakes {
 public:
  struct Connection {
    int fd;
    std::string
        peer;  // its peer address when accepted, to tell it from a later user of the descriptor
  };
  using StateOf = std::function<ConnectionState(const Connection&)>;

  PendingHandshakes(size_t max_pending, Duration forget_after)
      : max_pending_(max_pending), forget_after_(forget_after) {}

  void Accepted(Connection connection, TimePoint now);
  // ZeroMQ closed the connection on this descriptor.
  void Ended(int fd);
  // accept() failed with EMFILE or ENFILE.
  void OutOfDescriptors() { out_of_descriptors_ = true; }

  // The connections to shut down now, oldest first; they are forgotten.
  std::vector<Connection> TakeVictims(TimePoint now, const StateOf& state);

  size_t size() const { return by_fd_.size(); }

 private:
  struct Entry {
    Connection connection;
    uint64_t order;
    TimePoint since;
  };

  size_t max_pending_;
  Duration forget_after_;
  bool out_of_descriptors_ = false;
  uint64_t next_order_ = 0;
  std::unordered_map<int, Entry> by_fd_;
  std::map<uint64_t, int> by_age_;  // order of acceptance → descriptor
};

}  // namespace cartable::protocol::internal
