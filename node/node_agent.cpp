#include "node/node_agent.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "protocol/codec.h"

namespace cartable::node {
namespace {

int Seconds(Duration d) { return static_cast<int>(std::lround(ToSeconds(d))); }

// The one line a node logs when its coordinator falls silent: what it waited for, and what it does
// now.
void LogCoordinatorGone(const CoordinatorLink& link, const NodeAgentOptions& options,
                        TimePoint now) {
  spdlog::warn(
      "no message from the coordinator for {} s ({} heartbeat intervals of {:g} s): it is gone or "
      "stalled; rejoining — saying hello every {:g} s, giving up after {} s of silence",
      Seconds(link.silence(now)), options.missed_heartbeats, ToSeconds(options.heartbeat_interval),
      ToSeconds(options.hello_interval), Seconds(options.idle_timeout));
}

// Sends that fail (a coordinator that is not reading, or gone) never end the agent: the link's
// rules find a gone coordinator. A failure is logged once per episode, not once per attempt.
class SendTrouble {
 public:
  void Note(const Status& sent, std::string_view what) {
    if (sent.ok()) {
      if (failing_) spdlog::info("the coordinator takes messages again");
      failing_ = false;
      return;
    }
    if (!failing_) {
      spdlog::warn(
          "could not send {} to the coordinator (carrying on; further failures are not logged "
          "until a send succeeds): {}",
          what, sent.message());
    }
    failing_ = true;
  }

 private:
  bool failing_ = false;
};

// What the link's rules ask for while nothing arrives; an error stops the agent. `hello` is the
// frame to say Hello with (renewed on a rejoin); `rejoining` is set once the coordinator fell
// silent. A Hello or Heartbeat that cannot be sent counts as said: it is tried again when the rules
// next ask for one.
Status ActWhileQuiet(CoordinatorLink& link, NodeSession& session,
                     protocol::ClientTransport& transport, const NodeAgentOptions& options,
                     TimePoint now, std::string& hello, bool& rejoining, SendTrouble& trouble) {
  switch (link.Next(now)) {
    case CoordinatorLink::Action::kWait:
      return Status::Ok();
    case CoordinatorLink::Action::kGiveUp:
      return DeadlineExceededError("no message from the coordinator for " +
                                   std::to_string(Seconds(link.silence(now))) + " s; giving up");
    case CoordinatorLink::Action::kRejoin:
      LogCoordinatorGone(link, options, now);
      rejoining = true;
      hello = protocol::Encode(session.Hello());
      [[fallthrough]];
    case CoordinatorLink::Action::kSayHello:
      if (!rejoining) spdlog::info("no answer from the coordinator yet; saying hello again");
      trouble.Note(transport.Send(hello), "a Hello");
      link.SaidHello(now);
      return Status::Ok();
    case CoordinatorLink::Action::kSendHeartbeat:
      trouble.Note(transport.Send(protocol::Encode({0, 0, protocol::Heartbeat{}})), "a Heartbeat");
      link.Sent(now);
      return Status::Ok();
  }
  return Status::Ok();
}

// Hands an entry to the audit callback; its failure ends the agent.
Status Record(const NodeAgentOptions& options, const AuditNote& note) {
  if (!options.audit) return Status::Ok();
  Status recorded = options.audit(note);
  if (recorded.ok()) return recorded;
  return recorded.WithContext("recording " + note.event + " in the node's audit log");
}

}  // namespace

Status RunNodeAgent(NodeSession& session, protocol::ClientTransport& transport,
                    const NodeAgentOptions& options, const Clock& clock) {
  CoordinatorLink link({options.hello_interval, options.heartbeat_interval,
                        options.missed_heartbeats, options.idle_timeout},
                       clock.Now());
  std::string hello = protocol::Encode(session.Hello());
  SendTrouble trouble;
  trouble.Note(transport.Send(hello), "a Hello");
  bool rejoining = false;  // said Hello again after the coordinator fell silent
  AuditTrail trail;
  std::optional<TimePoint> activity_seen;
  while (!session.finished()) {
    if (options.should_stop()) return CancelledError("node agent stopped before the run ended");
    StatusOr<std::optional<protocol::Frame>> received = transport.Receive(options.poll_interval);
    if (!received.ok()) return received.status();
    const std::optional<protocol::Frame>& frame = *received;
    const TimePoint now = clock.Now();
    const Duration silent = link.silence(now);
    // Part of a large frame arriving counts as hearing from the coordinator.
    if (auto activity = transport.last_activity(); activity && activity != activity_seen) {
      activity_seen = activity;
      link.Heard(std::min(*activity, now));
    }
    if (!frame) {
      CARTABLE_RETURN_IF_ERROR(
          ActWhileQuiet(link, session, transport, options, now, hello, rejoining, trouble));
      continue;
    }
    auto envelope = protocol::Decode(*frame, options.max_payload_bytes);
    if (!envelope.ok()) {
      spdlog::warn("refusing a frame from the coordinator: {}", envelope.status().ToString());
      if (!protocol::IsErrorFrame(*frame)) {  // answering a refusal would start an endless exchange
        protocol::Envelope error{
            0, 0,
            protocol::ErrorReply{static_cast<uint32_t>(envelope.status().code()),
                                 "frame refused: " + envelope.status().message()}};
        transport.Send(protocol::Encode(error)).IgnoreError();
      }
      continue;
    }
    if (rejoining) {
      spdlog::info("the coordinator is back after {} s of silence", Seconds(silent));
      rejoining = false;
    }
    link.Heard(now);
    for (const AuditNote& note : trail.Received(*envelope)) {
      CARTABLE_RETURN_IF_ERROR(Record(options, note));
    }
    // A reply that cannot be sent is lost: the coordinator's deadline drops this node from the
    // round.
    for (const protocol::Envelope& reply : session.OnMessage(*envelope)) {
      std::string frame = protocol::Encode(reply);
      if (auto note = trail.Sending(reply, frame)) CARTABLE_RETURN_IF_ERROR(Record(options, *note));
      Status sent = transport.SendOwned(std::move(frame));
      if (!sent.ok()) {
        spdlog::warn(
            "could not send {} (round {}) to the coordinator, which will drop this node from the "
            "round: {}",
            protocol::MessageTypeName(protocol::TypeOf(reply.body)), reply.round, sent.message());
        continue;
      }
      trouble.Note(sent, "a reply");
      link.Sent(clock.Now());
    }
    link.ResumedListening(clock.Now());  // training may have kept the node from listening
  }
  if (!session.finish_status().ok()) return session.finish_status();
  spdlog::info("the coordinator ended the run: {}", session.finish_reason());
  return Status::Ok();
}

Status ServeRuns(const std::function<std::unique_ptr<NodeSession>()>& new_session,
                 protocol::ClientTransport& transport, const NodeAgentOptions& options,
                 const Clock& clock, const std::function<void(const Status&)>& on_run_end) {
  while (true) {
    std::unique_ptr<NodeSession> session = new_session();
    Status outcome = RunNodeAgent(*session, transport, options, clock);
    if (on_run_end) on_run_end(outcome);
    switch (outcome.code()) {
      case StatusCode::kCancelled:
      case StatusCode::kPermissionDenied:
        return outcome;
      case StatusCode::kOk:
        spdlog::info("waiting for the coordinator's next run");
        break;
      case StatusCode::kDeadlineExceeded:
        spdlog::info("{}; still waiting for the coordinator (the node serves until stopped)",
                     outcome.message());
        break;
      default:
        // A transport that failed for good (its socket is closed) cannot be waited on.
        if (options.should_stop()) return CancelledError("node agent stopped");
        return outcome;
    }
  }
}

}  // namespace cartable::node
