#pragma once

// NodePool: many establishments' node sessions served from one process — virtual schools in a
// simulation, in process or spread over machines — with a bounded number of threads however many
// schools there are. One dispatcher (the calling thread) polls every member's transport and does
// what each member's link asks for while it is quiet (Hello, Heartbeat, rejoin, give up); a frame
// that arrives goes to a worker thread, which runs that member's session (its training, its secure
// aggregation stages) and sends its replies, except a coordinator's Heartbeat, which the dispatcher
// takes at once (queued behind thousands of members' key agreements, it would keep an idle member
// from sending its own heartbeats until the coordinator forgot it). A pool of more than one member
// verifies each signature once (aggregation/secagg/signing.h, RememberVerifiedSignatures). A member
// is handled by one thread at a time, so its session and transport see one thread at a time, as
// they require. The sessions are the deployed ones (NodeSession through SessionDriver), so a pool
// behaves, to its coordinator, exactly like as many node agents.

#include <functional>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "node/node_agent.h"
#include "node/node_session.h"
#include "protocol/transport.h"

namespace cartable::node {

// A member whose process may die and be started again (a simulation's crash faults). While it is
// Down, the pool leaves it alone: nothing is received or sent for it. Restarted gives, once per
// crash, the fresh session it comes back with (nothing of the old one survives but its data and
// keys); the pool then serves that session from a first Hello, as a node agent started again.
// Called by the dispatcher, never while a worker holds the member.
class Restartable {
 public:
  virtual ~Restartable() = default;
  virtual bool Down(TimePoint now) = 0;
  virtual std::unique_ptr<NodeSession> Restarted(TimePoint now) = 0;
};

struct PoolMember {
  NodeSession* session;
  protocol::ClientTransport* transport;
  Restartable* restartable = nullptr;  // null: the member never crashes
};

struct NodePoolOptions {
  // Each member's rules (Hello and Heartbeat intervals, giving up, largest payload, should_stop).
  // Its poll_interval is the dispatcher's pause when no transport had anything.
  NodeAgentOptions agent;
  // Threads that run the members' work: training, masking, evaluating. At least 1.
  size_t workers = 2;
};

// Serves every member until each one's run ended (Shutdown, a refusal for good, silence past its
// idle timeout, a failed transport) or agent.should_stop() holds. Returns each member's outcome, in
// order, as RunNodeAgent would have: OK when the coordinator ended the run, kDeadlineExceeded on
// silence, kCancelled when stopped first.
std::vector<Status> RunNodePool(const std::vector<PoolMember>& members,
                                const NodePoolOptions& options,
                                const Clock& clock = SystemClock::Get());

}  // namespace cartable::node
