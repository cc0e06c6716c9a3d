#include "node/node_agent.h"

#include <spdlog/spdlog.h>

#include "protocol/codec.h"

namespace cartable::node {

Status RunNodeAgent(NodeSession& session, protocol::ClientTransport& transport,
                    const NodeAgentOptions& options, const Clock& clock) {
  const std::string hello = protocol::Encode(session.Hello());
  CARTABLE_RETURN_IF_ERROR(transport.Send(hello).WithContext("saying hello to the coordinator"));
  TimePoint last_heard = clock.Now();
  TimePoint last_hello = last_heard;
  TimePoint last_sent = last_heard;
  bool heard_anything = false;
  while (!session.finished()) {
    if (options.should_stop()) return CancelledError("node agent stopped before the run ended");
    CARTABLE_ASSIGN_OR_RETURN(std::optional<protocol::Frame> frame, transport.Receive(options.poll_interval));
    const TimePoint now = clock.Now();
    if (!frame) {
      // Part of a large frame arriving counts as hearing from the coordinator.
      if (auto activity = transport.last_activity(); activity && *activity > last_heard) last_heard = *activity;
      if (now - last_heard >= options.idle_timeout) {
        return DeadlineExceededError("no message from the coordinator for " +
                                     std::to_string(static_cast<int>(ToSeconds(options.idle_timeout))) +
                                     " s; giving up");
      }
      if (!heard_anything && now - last_hello >= options.hello_interval) {
        spdlog::info("no answer from the coordinator yet; saying hello again");
        CARTABLE_RETURN_IF_ERROR(transport.Send(hello));
        last_hello = last_sent = now;
      } else if (heard_anything && now - last_sent >= options.heartbeat_interval) {
        CARTABLE_RETURN_IF_ERROR(transport.Send(protocol::Encode({0, 0, protocol::Heartbeat{}})));
        last_sent = now;
      }
      continue;
    }
    auto envelope = protocol::Decode(*frame, options.max_payload_bytes);
    if (!envelope.ok()) {
      spdlog::warn("refusing a frame from the coordinator: {}", envelope.status().ToString());
      protocol::Envelope error{0, 0,
                               protocol::ErrorReply{static_cast<uint32_t>(envelope.status().code()),
                                                    "frame refused: " + envelope.status().message()}};
      transport.Send(protocol::Encode(error)).IgnoreError();
      continue;
    }
    last_heard = now;
    heard_anything = true;
    for (const protocol::Envelope& reply : session.OnMessage(*envelope)) {
      CARTABLE_RETURN_IF_ERROR(transport.SendOwned(protocol::Encode(reply)).WithContext("replying"));
      last_sent = clock.Now();
    }
  }
  if (!session.finish_status().ok()) return session.finish_status();
  spdlog::info("the coordinator ended the run: {}", session.finish_reason());
  return Status::Ok();
}

}  // namespace cartable::node
