#pragma once

// RunNodeAgent: drives a NodeSession over a ClientTransport until the coordinator ends the run, the
// coordinator stays silent past a deadline, or the process is asked to stop (SIGINT/SIGTERM). This
// is the only I/O in the node's round handling; when to say Hello, send a Heartbeat, rejoin a
// coordinator that went silent or give up is decided by a CoordinatorLink. Frames that fail to
// decode are logged and dropped. A send that fails (a coordinator that stops reading, or is gone)
// is logged and never ends the agent. What the node was offered and what it sent go to its audit
// trail (NodeAgentOptions::audit).

#include <functional>
#include <memory>

#include "core/clock.h"
#include "core/status.h"
#include "node/audit_trail.h"
#include "node/coordinator_link.h"
#include "node/node_session.h"
#include "protocol/codec.h"
#include "protocol/transport.h"

namespace cartable::node {

struct NodeAgentOptions {
  // Give up when nothing has come from the coordinator for this long.
  Duration idle_timeout = std::chrono::seconds(120);
  // Say Hello again this often while nothing has come back (a coordinator that started late).
  Duration hello_interval = std::chrono::seconds(3);
  // Send a Heartbeat after this long without sending anything, so the coordinator knows the node is
  // alive between rounds and a restarted coordinator learns of it (it answers "say hello").
  Duration heartbeat_interval = std::chrono::seconds(5);
  // After this many heartbeat intervals without a message, the coordinator is taken for gone: the
  // node logs it and rejoins (says Hello again, while ZeroMQ reconnects with backoff underneath)
  // until the coordinator answers or idle_timeout passes.
  int missed_heartbeats = 4;
  // Largest payload accepted from the coordinator.
  size_t max_payload_bytes = protocol::kDefaultMaxPayloadBytes;
  // Granularity of waits; also how fast a stop request is noticed.
  Duration poll_interval = std::chrono::milliseconds(100);
  // Returns true when the agent should stop (e.g. a signal arrived).
  std::function<bool()> should_stop = [] { return false; };
  // If set, hears each entry of the node's audit trail (node/audit_trail.h), a reply's before the
  // reply is sent. An error from it stops the agent: a node does not act without its record.
  std::function<Status(const AuditNote&)> audit;
};

// OK when the coordinator sent Shutdown; kDeadlineExceeded on silence; kCancelled when stopped.
Status RunNodeAgent(NodeSession& session, protocol::ClientTransport& transport,
                    const NodeAgentOptions& options = {}, const Clock& clock = SystemClock::Get());

// ServeRuns: the installed node agent, serving run after run for as long as it runs. Each run gets
// a fresh session from `new_session` (nothing of one run carries into the next). When a run ends,
// or the coordinator stays silent past idle_timeout (it is down, or between runs and not
// answering), the agent logs it and says Hello again, while ZeroMQ reconnects underneath with its
// backoff: an idle timeout ends a wait, never the agent. `on_run_end` (if set) hears how each run
// ended. Returns kCancelled once stopped, or a session's refusal for good (kPermissionDenied: this
// node's name or key is not the coordinator's to accept), which no retry would change.
Status ServeRuns(const std::function<std::unique_ptr<NodeSession>()>& new_session,
                 protocol::ClientTransport& transport, const NodeAgentOptions& options = {},
                 const Clock& clock = SystemClock::Get(),
                 const std::function<void(const Status&)>& on_run_end = {});

}  // namespace cartable::node
