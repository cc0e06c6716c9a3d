#pragma once

// InProcessNetwork: a coordinator and its nodes inside one process, exchanging frames through
// queues instead of sockets — for simulations at scale and for tests. The round logic above it is
// the same as over ZeroMQ. The network is thread safe: the server and each client may live on their
// own thread. It must outlive every transport made from it.

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "protocol/transport.h"

namespace cartable::protocol {

class InProcessNetwork {
 public:
  InProcessNetwork() = default;
  InProcessNetwork(const InProcessNetwork&) = delete;
  InProcessNetwork& operator=(const InProcessNetwork&) = delete;

  // The coordinator's end; only one may exist at a time.
  StatusOr<std::unique_ptr<ServerTransport>> Serve();
  // A node's end, with a fresh peer id, like a new connection.
  std::unique_ptr<ClientTransport> Connect();

 private:
  friend class InProcessServer;
  friend class InProcessClient;
  // Frames share their bytes: a broadcast to n nodes is held once, not n times.
  struct Inbox {
    std::deque<Frame> frames;
    bool open = true;
  };

  std::mutex mutex_;
  std::condition_variable changed_;
  bool serving_ = false;
  std::deque<Delivery> server_inbox_;
  std::map<PeerId, Inbox> clients_;
  uint64_t next_peer_ = 1;
};

}  // namespace cartable::protocol
