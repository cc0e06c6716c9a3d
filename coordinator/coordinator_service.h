#pragma once

// ServeRun: drives a RoundLoop over a ServerTransport until the run ends or is stopped, and answers
// the researchers' admin socket when there is one. The only I/O of the coordinator's round
// handling. Frames that fail to decode are logged (with the reason) and dropped; they never reach
// the state machine.

#include <functional>

#include "coordinator/admin_desk.h"
#include "coordinator/round_loop.h"
#include "protocol/codec.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

// Answers one request of the admin socket; `run` is the run in progress, or null between runs.
using AdminAnswerer = std::function<AdminAnswer(
    const protocol::Envelope& request, const std::string& identity, const RunSnapshot* run)>;

struct ServeOptions {
  Duration poll_interval = std::chrono::milliseconds(100);
  size_t max_payload_bytes = protocol::kDefaultMaxPayloadBytes;
  std::function<bool()> should_stop = [] { return false; };
  // The researchers' admin socket, answered by an AdminDesk. It is polled without waiting after
  // each poll of the nodes' socket, so it never slows the run. Null: no admin socket.
  protocol::ServerTransport* admin = nullptr;
  // Who answers the admin socket. Empty: an AdminDesk (status and stop of this one run).
  AdminAnswerer answer_admin;
  // Shown the run in progress after each poll and once more when it is over, and null when
  // ServeIdle starts (metrics). Called on the serving thread; it must not wait. Empty: none.
  std::function<void(const RunSnapshot* run)> observe;
};

// Returns the loop's outcome: OK when every round completed.
Status ServeRun(RoundLoop& loop, protocol::ServerTransport& transport,
                const ServeOptions& options = {});

// Between runs, for `duration` or until should_stop: answers each Hello and Heartbeat with a
// Heartbeat, so that waiting nodes hear a live coordinator (when the next run starts, its first
// answer to their heartbeat asks them to say Hello), and answers the admin socket with no run in
// progress. Fails only when the nodes' transport does.
Status ServeIdle(protocol::ServerTransport& transport, const ServeOptions& options,
                 Duration duration);

}  // namespace cartable::coordinator
