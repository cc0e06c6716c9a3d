#pragma once

// SessionDriver: one NodeSession spoken for over one ClientTransport, a step at a time — what the
// node agent does with a frame that arrived (decode, audit, hand to the session, send its replies)
// and with a moment of quiet (say Hello, send a Heartbeat, rejoin or give up, as its
// CoordinatorLink decides). It never waits: RunNodeAgent calls it between blocking receives on one
// connection, a NodePool between polls of many. Frames that fail to decode are logged, answered
// with an ErrorReply and dropped. A send that fails is logged once per episode and never ends the
// session: the link's rules find a coordinator that is gone. Not thread safe.

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "node/audit_trail.h"
#include "node/coordinator_link.h"
#include "node/node_agent.h"
#include "node/node_session.h"
#include "protocol/transport.h"

namespace cartable::node {

class SessionDriver {
 public:
  // Says the first Hello at `now`.
  SessionDriver(NodeSession& session, protocol::ClientTransport& transport,
                const NodeAgentOptions& options, TimePoint now);

  // A frame from the coordinator; an error (the audit log refused an entry) ends the session.
  Status OnFrame(const protocol::Frame& frame, const Clock& clock);
  // Nothing arrived: what the link's rules ask for. kDeadlineExceeded when it gives up.
  Status OnQuiet(TimePoint now);
  // The transport saw part of a frame arrive: a node receiving a large model is not idle.
  void NoteActivity(TimePoint now);
  // Work elsewhere in the process (a pool's other schools) kept this session from listening.
  void ResumedListening(TimePoint now) { link_.ResumedListening(now); }

  NodeSession& session() { return session_; }
  protocol::ClientTransport& transport() { return transport_; }

 private:
  // Logs a failed send once per episode of failures.
  void NoteSend(const Status& sent, std::string_view what);
  Status Record(const AuditNote& note);

  NodeSession& session_;
  protocol::ClientTransport& transport_;
  const NodeAgentOptions& options_;
  CoordinatorLink link_;
  std::string hello_;       // the frame to say Hello with (renewed on a rejoin)
  bool rejoining_ = false;  // said Hello again after the coordinator fell silent
  bool send_failing_ = false;
  AuditTrail trail_;
  std::optional<TimePoint> activity_seen_;
};

}  // namespace cartable::node
