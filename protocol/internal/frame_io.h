#pragma once

// Moving whole frames over ZeroMQ sockets, in chunks when they are large (chunking.h). Shared by
// the ROUTER and DEALER transports; zmq::error_t escapes to them, which turn it into a Status.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "protocol/internal/chunking.h"
#include "protocol/transport.h"

namespace cartable::protocol::internal {

// What a socket has handed ZeroMQ for one peer and ZeroMQ has not yet let go of (written to the
// connection, encrypted for it under CURVE, or dropped with it). ZeroMQ lets go on its I/O thread,
// hence atomics; the counters stay valid for as long as any message still holds them.
struct SendQueue {
  std::atomic<size_t> bytes{0};     // frame bytes borrowed by messages ZeroMQ still holds
  std::atomic<size_t> messages{0};  // those messages
};

// How far one SendFrame got: a frame is sent when all its messages were.
struct SendProgress {
  uint32_t sent = 0;
  uint32_t messages = 0;
  bool complete() const { return sent == messages; }
};

// Sends `frame`, preceded by `routing_id` when not null (ROUTER), in one message if it fits in
// `chunk_bytes`, else as chunks of `transfer`. Every part borrows the frame's bytes (no copy) and
// is counted in `queue` until ZeroMQ lets go of it. A message ZeroMQ will not take (`flags` holds
// dontwait and the peer's queue is full, or the socket's send timeout passed) ends the transfer:
// the progress says how many went out. ZeroMQ checks its high-water mark on a message's first part
// only, so each message is queued whole or not at all.
SendProgress SendFrame(zmq::socket_t& socket, const std::string* routing_id,
                       const std::shared_ptr<const std::string>& frame, size_t chunk_bytes,
                       uint64_t transfer, const std::shared_ptr<SendQueue>& queue,
                       zmq::send_flags flags);

// Reads the rest of a message whose first part (after any routing id) is `first`. Returns the frame
// it completes; nothing for a chunk of an unfinished frame, or for a message that is not a cartable
// frame (logged, with `who` sent it). Logs the progress of large transfers.
std::optional<Frame> ReadFrame(zmq::socket_t& socket, zmq::message_t first,
                               Reassembler& reassembler, const std::string& who);

// A peer as logs name it: ROUTER routing ids are binary, so "peer 00a3f1c2d4".
std::string PeerLabel(const std::string& routing_id);

}  // namespace cartable::protocol::internal
