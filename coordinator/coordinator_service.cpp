#include "coordinator/coordinator_service.h"

#include <spdlog/spdlog.h>

#include "protocol/codec.h"

namespace cartable::coordinator {
namespace {

void SendAll(protocol::ServerTransport& transport, const std::vector<Outgoing>& outgoing) {
  for (const Outgoing& o : outgoing) {
    Status sent = transport.Send(o.peer, protocol::Encode(o.envelope));
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
        SendAll(transport, loop.OnMessage((*delivery)->peer, *envelope));
      } else {
        spdlog::warn("dropping a frame: {}", envelope.status().ToString());
      }
    }
    SendAll(transport, loop.OnTick());
  }
  return loop.outcome();
}

}  // namespace cartable::coordinator
