#pragma once

// ServeRun: drives a RoundLoop over a ServerTransport until the run ends or is stopped, and answers
// the researchers' admin socket when there is one. The only I/O of the coordinator's round
// handling. Frames that fail to decode are logged (with the reason) and dropped; they never reach
// the state machine.

#include <functional>

#include "coordinator/round_loop.h"
#include "protocol/codec.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

struct ServeOptions {
  Duration poll_interval = std::chrono::milliseconds(100);
  size_t max_payload_bytes = protocol::kDefaultMaxPayloadBytes;
  std::function<bool()> should_stop = [] { return false; };
  // The researchers' admin socket, answered by an AdminDesk. It is polled without waiting after
  // each poll of the nodes' socket, so it never slows the run. Null: no admin socket.
  protocol::ServerTransport* admin = nullptr;
};

// Returns the loop's outcome: OK when every round completed.
Status ServeRun(RoundLoop& loop, protocol::ServerTransport& transport,
                const ServeOptions& options = {});

}  // namespace cartable::coordinator
