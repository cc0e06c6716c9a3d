#pragma once

// Moving whole frames over ZeroMQ sockets, in chunks when they are large (chunking.h). Shared by the
// ROUTER and DEALER transports; zmq::error_t escapes to them, which turn it into a Status.

#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "protocol/internal/chunking.h"
#include "protocol/transport.h"

namespace cartable::protocol::internal {

// Sends `frame`, preceded by `routing_id` when not null (ROUTER), in one message if it fits in
// `chunk_bytes`, else as chunks of `transfer`. Every part borrows the frame's bytes (no copy).
void SendFrame(zmq::socket_t& socket, const std::string* routing_id,
               std::shared_ptr<const std::string> frame, size_t chunk_bytes, uint64_t transfer);

// Reads the rest of a message whose first part (after any routing id) is `first`. Returns the frame it
// completes; nothing for a chunk of an unfinished frame, or for a message that is not a cartable frame
// (logged, with `who` sent it). Logs the progress of large transfers.
std::optional<Frame> ReadFrame(zmq::socket_t& socket, zmq::message_t first, Reassembler& reassembler,
                               const std::string& who);

}  // namespace cartable::protocol::internal
