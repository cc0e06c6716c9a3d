#include "coordinator/coordinator_service.h"

#include <spdlog/spdlog.h>

#include "protocol/codec.h"

namespace cartable::coordinator {
namespace {

void SendAll(protocol::ServerTransport& transport, const std::vector<Outgoing>& outgoing) {
  const protocol::Envelope* encoded = nullptr;  // a broadcast is encoded once
  std::shared_ptr<const std::string> frame;
  for (const Outgoing& o : outgoing) {
    if (o.envelope.get() != encoded) {
      frame = std::make_shared<const std::string>(protocol::Encode(*o.envelope));
      encoded = o.envelope.get();
    }
    Status sent = transport.SendShared(o.peer, frame);
    // A node that is gone misses this message; the round's deadline deals with it.
    if (!sent.ok()) spdlog::warn("could not send to a node: {}", sent.message());
  }
}

}  // namespace

Status ServeRun(RoundLoop& loop, protocol::ServerTransport& transport, const ServeOptions& options) {
  spdlog::info("coordinator listening on {}", transport.endpoint());
  while (!loop.done()) {
    if (options.should_stop()) {
      SendAll(transport, loop.Stop("the coordinator was stopped"));
      break;
    }
    auto delivery = transport.Receive(options.poll_interval);
    if (!delivery.ok()) {
      SendAll(transport, loop.Stop("the coordinator's transport failed"));
      return delivery.status().WithContext("coordinator");
    }
    if (*delivery) {
      auto envelope = protocol::Decode((*delivery)->frame, options.max_payload_bytes);
      if (envelope.ok()) {
        SendAll(transport, loop.OnMessage((*delivery)->peer, *envelope, (*delivery)->identity));
      } else {
        // The peer passed authentication, so it deserves to know why it is not understood.
        spdlog::warn("refusing a frame: {}", envelope.status().ToString());
        protocol::Envelope error{loop.config().run_id, 0,
                                 protocol::ErrorReply{static_cast<uint32_t>(envelope.status().code()),
                                                      "frame refused: " + envelope.status().message()}};
        transport.Send((*delivery)->peer, protocol::Encode(error)).IgnoreError();
      }
    }
    SendAll(transport, loop.OnTick());
  }
  return loop.outcome();
}

}  // namespace cartable::coordinator
