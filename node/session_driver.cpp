#include "node/session_driver.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "protocol/codec.h"

namespace cartable::node {
namespace {

int Seconds(Duration d) { return static_cast<int>(std::lround(ToSeconds(d))); }

}  // namespace

SessionDriver::SessionDriver(NodeSession& session, protocol::ClientTransport& transport,
                             const NodeAgentOptions& options, TimePoint now)
    : session_(session),
      transport_(transport),
      options_(options),
      link_({options.hello_interval, options.heartbeat_interval, options.missed_heartbeats,
             options.idle_timeout},
            now),
      hello_(protocol::Encode(session.Hello())) {
  NoteSend(transport_.Send(hello_), "a Hello");
}

void SessionDriver::NoteSend(const Status& sent, std::string_view what) {
  if (sent.ok()) {
    if (send_failing_) spdlog::info("the coordinator takes messages again");
    send_failing_ = false;
    return;
  }
  if (!send_failing_) {
    spdlog::warn(
        "could not send {} to the coordinator (carrying on; further failures are not logged "
        "until a send succeeds): {}",
        what, sent.message());
  }
  send_failing_ = true;
}

Status SessionDriver::Record(const AuditNote& note) {
  if (!options_.audit) return Status::Ok();
  Status recorded = options_.audit(note);
  if (recorded.ok()) return recorded;
  return recorded.WithContext("recording " + note.event + " in the node's audit log");
}

void SessionDriver::NoteActivity(TimePoint now) {
  if (auto activity = transport_.last_activity(); activity && activity != activity_seen_) {
    activity_seen_ = activity;
    link_.Heard(std::min(*activity, now));
  }
}

// A Hello or Heartbeat that cannot be sent counts as said: it is tried again when the rules next
// ask for one.
Status SessionDriver::OnQuiet(TimePoint now) {
  switch (link_.Next(now)) {
    case CoordinatorLink::Action::kWait:
      return Status::Ok();
    case CoordinatorLink::Action::kGiveUp:
      return DeadlineExceededError("no message from the coordinator for " +
                                   std::to_string(Seconds(link_.silence(now))) + " s; giving up");
    case CoordinatorLink::Action::kRejoin:
      spdlog::warn(
          "no message from the coordinator for {} s ({} heartbeat intervals of {:g} s): it is gone "
          "or stalled; rejoining — saying hello every {:g} s, giving up after {} s of silence",
          Seconds(link_.silence(now)), options_.missed_heartbeats,
          ToSeconds(options_.heartbeat_interval), ToSeconds(options_.hello_interval),
          Seconds(options_.idle_timeout));
      rejoining_ = true;
      hello_ = protocol::Encode(session_.Hello());
      [[fallthrough]];
    case CoordinatorLink::Action::kSayHello:
      if (!rejoining_) spdlog::info("no answer from the coordinator yet; saying hello again");
      NoteSend(transport_.Send(hello_), "a Hello");
      link_.SaidHello(now);
      return Status::Ok();
    case CoordinatorLink::Action::kSendHeartbeat:
      NoteSend(transport_.Send(protocol::Encode({0, 0, protocol::Heartbeat{}})), "a Heartbeat");
      link_.Sent(now);
      return Status::Ok();
  }
  return Status::Ok();
}

Status SessionDriver::OnFrame(const protocol::Frame& frame, const Clock& clock) {
  const TimePoint now = clock.Now();
  const Duration silent = link_.silence(now);
  auto envelope = protocol::Decode(frame, options_.max_payload_bytes);
  if (!envelope.ok()) {
    spdlog::warn("refusing a frame from the coordinator: {}", envelope.status().ToString());
    if (!protocol::IsErrorFrame(frame)) {  // answering a refusal would start an endless exchange
      protocol::Envelope error{
          0, 0,
          protocol::ErrorReply{static_cast<uint32_t>(envelope.status().code()),
                               "frame refused: " + envelope.status().message()}};
      transport_.Send(protocol::Encode(error)).IgnoreError();
    }
    return Status::Ok();
  }
  if (rejoining_) {
    spdlog::info("the coordinator is back after {} s of silence", Seconds(silent));
    rejoining_ = false;
  }
  link_.Heard(now);
  for (const AuditNote& note : trail_.Received(*envelope)) CARTABLE_RETURN_IF_ERROR(Record(note));
  // A reply that cannot be sent is lost: the coordinator's deadline drops this node from the round.
  for (const protocol::Envelope& reply : session_.OnMessage(*envelope)) {
    std::string encoded = protocol::Encode(reply);
    if (auto note = trail_.Sending(reply, encoded)) CARTABLE_RETURN_IF_ERROR(Record(*note));
    Status sent = transport_.SendOwned(std::move(encoded));
    if (!sent.ok()) {
      spdlog::warn(
          "could not send {} (round {}) to the coordinator, which will drop this node from the "
          "round: {}",
          protocol::MessageTypeName(protocol::TypeOf(reply.body)), reply.round, sent.message());
      continue;
    }
    NoteSend(sent, "a reply");
    link_.Sent(clock.Now());
  }
  link_.ResumedListening(clock.Now());  // training may have kept the node from listening
  return Status::Ok();
}

}  // namespace cartable::node
