#pragma once

// ConnectionGuard: keeps connections that never finish their handshake from taking all of a
// server's file descriptors. Every TCP connection ZeroMQ accepts holds a descriptor until its
// handshake succeeds, fails or times out (ZMQ_HANDSHAKE_IVL); a few hundred idle connections from
// anyone who can reach the port would otherwise leave no descriptor for an honest node, and
// ZeroMQ's listener then retries accept() in a busy loop, silently. The guard watches the server
// socket through a ZeroMQ socket monitor, from its own thread, and keeps at most `max_pending`
// connections in their handshake: beyond that, or whenever accept() fails for want of descriptors
// (EMFILE, ENFILE), it shuts the oldest pending connections down (shutdown(2)), so that ZeroMQ sees
// them end and closes them itself. It logs what it did, at most every 10 s.
//
// Which connections have finished their handshake: the monitor reports an accepted connection and
// its end with its descriptor, but a successful handshake without saying whose. The kernel knows,
// though: a server sends its greeting, then (CURVE) WELCOME to anyone who knows its public key, and
// READY only once ZAP has admitted the client's key (NULL: READY once the client's greeting and
// READY arrived). So a connection whose peer has acknowledged more bytes than a greeting, a WELCOME
// and a refusal (TCP_INFO tcpi_bytes_acked) has completed its handshake, and is never touched.
//
// File descriptors are reused as soon as ZeroMQ closes them, and monitor events arrive after the
// fact, so a descriptor the guard remembers may already belong to something else. The guard records
// each connection's peer address when it learns of it, and before counting or shutting one down
// checks that the descriptor still is that connection: a connected socket on a port the server
// listens on, with that peer address (a TCP connection is its address pair: no other connection has
// both while it exists). Events are read until none is waiting before any decision, so the guard
// acts on what it knows last; the one window left, between that check and shutdown(2), is a few
// instructions long, and the worst it can do is cut a just-accepted connection of the same server,
// which reconnects.

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <zmq.hpp>

#include "core/status.h"

namespace cartable::protocol::internal {

class ConnectionGuard {
 public:
  struct Options {
    size_t max_pending = 128;  // connections allowed in their handshake at once
    bool curve = false;        // the socket is a CURVE server (how many bytes make a handshake)
    // ZeroMQ's own handshake deadline on the socket, so that a connection the monitor lost track of
    // is forgotten after twice that.
    std::chrono::milliseconds handshake_timeout{10000};
  };

  // Monitors `server` (from `context`, before it binds or connects anything) from a new thread.
  static StatusOr<std::unique_ptr<ConnectionGuard>> Start(zmq::context_t& context,
                                                          zmq::socket_t& server,
                                                          const Options& options);
  ~ConnectionGuard();  // stops and joins the thread; destroy it before the socket it watches
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  // Connections shut down so far, for tests and logs.
  uint64_t connections_shut_down() const { return shut_down_.load(); }
  // The cap in effect: Options::max_pending, and never more than a quarter of the open-file limit.
  size_t max_pending() const { return max_pending_; }

 private:
  ConnectionGuard(zmq::socket_t monitor, size_t max_pending, const Options& options);
  void Run();

  zmq::socket_t monitor_;  // used by the thread alone once it runs
  size_t max_pending_;
  std::chrono::milliseconds handshake_timeout_;
  uint64_t established_bytes_;  // acknowledged bytes beyond which a handshake has completed
  std::atomic<uint64_t> shut_down_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cartable::protocol::internal
