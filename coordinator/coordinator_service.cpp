#include "coordinator/coordinator_service.h"

#include <spdlog/spdlog.h>

#include "coordinator/admin_desk.h"
#include "protocol/codec.h"

namespace cartable::coordinator {
namespace {

// Sends every message, at once or not at all: a transport never waits on a peer. A peer that cannot
// take its message (gone, or not reading) is reported to the loop, which drops it from the round;
// what the loop sends in answer goes out the same way.
void SendAll(RoundLoop& loop, protocol::ServerTransport& transport,
             std::vector<Outgoing> outgoing) {
  while (!outgoing.empty()) {
    std::vector<std::pair<protocol::PeerId, Status>> unreachable;
    const protocol::Envelope* encoded = nullptr;  // a broadcast is encoded once
    std::shared_ptr<const std::string> frame;
    for (const Outgoing& o : outgoing) {
      if (o.envelope.get() != encoded) {
        frame = std::make_shared<const std::string>(protocol::Encode(*o.envelope));
        encoded = o.envelope.get();
      }
      Status sent = transport.SendShared(o.peer, frame);
      if (!sent.ok()) unreachable.emplace_back(o.peer, sent);
    }
    outgoing.clear();
    for (const auto& [peer, why] : unreachable) {
      std::vector<Outgoing> more = loop.OnUnreachable(peer, why);
      outgoing.insert(outgoing.end(), more.begin(), more.end());
    }
  }
}

// AdminRequest frames are small: a command word.
constexpr size_t kMaxAdminRequestBytes = size_t{16} << 10;
// Requests answered per poll of the nodes' socket, so a flood of admin requests cannot starve the
// nodes.
constexpr int kAdminRequestsPerPoll = 8;

// Answers the admin requests waiting on `admin`, without waiting for more. False when the admin
// socket failed (it is then left alone; the run goes on).
bool ServeAdmin(RoundLoop& loop, protocol::ServerTransport& nodes, protocol::ServerTransport& admin,
                const AdminDesk& desk) {
  for (int i = 0; i < kAdminRequestsPerPoll; ++i) {
    auto delivery = admin.Receive(Duration::zero());
    if (!delivery.ok()) {
      spdlog::error("the admin socket failed; the run goes on without it: {}",
                    delivery.status().message());
      return false;
    }
    if (!*delivery) return true;
    auto request = protocol::Decode((*delivery)->frame, kMaxAdminRequestBytes);
    AdminAnswer answer;
    if (request.ok()) {
      answer = desk.Answer(*request, (*delivery)->identity, loop.Snapshot());
    } else {
      spdlog::warn("refusing an admin frame: {}", request.status().ToString());
      answer.reply =
          protocol::Envelope{loop.config().run_id, 0,
                             protocol::AdminReply{static_cast<uint32_t>(request.status().code()),
                                                  "frame refused: " + request.status().message(),
                                                  {}}};
    }
    Status sent = admin.Send((*delivery)->peer, protocol::Encode(answer.reply));
    if (!sent.ok()) spdlog::warn("could not answer an admin: {}", sent.message());
    if (answer.stop_by) SendAll(loop, nodes, loop.StopAfterRound(*answer.stop_by));
  }
  return true;
}

}  // namespace

Status ServeRun(RoundLoop& loop, protocol::ServerTransport& transport,
                const ServeOptions& options) {
  spdlog::info("coordinator listening on {}", transport.endpoint());
  protocol::ServerTransport* admin = options.admin;
  if (admin != nullptr) spdlog::info("admin socket listening on {}", admin->endpoint());
  const AdminDesk desk;
  while (!loop.done()) {
    if (options.should_stop()) {
      SendAll(loop, transport, loop.Stop("the coordinator was stopped"));
      break;
    }
    auto delivery = transport.Receive(options.poll_interval);
    if (!delivery.ok()) {
      SendAll(loop, transport, loop.Stop("the coordinator's transport failed"));
      return delivery.status().WithContext("coordinator");
    }
    if (*delivery) {
      auto envelope = protocol::Decode((*delivery)->frame, options.max_payload_bytes);
      if (envelope.ok()) {
        SendAll(loop, transport,
                loop.OnMessage((*delivery)->peer, *envelope,
                               SenderIdentity{(*delivery)->identity, (*delivery)->identity_key}));
      } else {
        // The peer passed authentication, so it deserves to know why it is not understood (unless
        // what it sent is itself a refusal: answering it would start an endless exchange).
        spdlog::warn("refusing a frame: {}", envelope.status().ToString());
        protocol::Envelope error{
            loop.config().run_id, 0,
            protocol::ErrorReply{static_cast<uint32_t>(envelope.status().code()),
                                 "frame refused: " + envelope.status().message()}};
        if (!protocol::IsErrorFrame((*delivery)->frame)) {
          transport.Send((*delivery)->peer, protocol::Encode(error)).IgnoreError();
        }
      }
    }
    if (admin != nullptr && !ServeAdmin(loop, transport, *admin, desk)) admin = nullptr;
    SendAll(loop, transport, loop.OnTick());
  }
  return loop.outcome();
}

}  // namespace cartable::coordinator
