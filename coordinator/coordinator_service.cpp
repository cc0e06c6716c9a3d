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

// An AdminRequest carries at most a plan file (kMaxAdminDocumentBytes) besides its command.
constexpr size_t kMaxAdminRequestBytes = protocol::kMaxAdminDocumentBytes + (size_t{64} << 10);
// Requests answered per poll of the nodes' socket, so a flood of admin requests cannot starve the
// nodes.
constexpr int kAdminRequestsPerPoll = 8;

// Answers the admin requests waiting on `admin`, without waiting for more; `loop` is the run in
// progress (null between runs), to which accepted stops and cancels are applied. False when the
// admin socket failed (it is then left alone; the run goes on).
bool ServeAdmin(RoundLoop* loop, protocol::ServerTransport* nodes, protocol::ServerTransport& admin,
                const AdminAnswerer& answer_admin) {
  for (int i = 0; i < kAdminRequestsPerPoll; ++i) {
    auto delivery = admin.Receive(Duration::zero());
    if (!delivery.ok()) {
      spdlog::error("the admin socket failed; the coordinator goes on without it: {}",
                    delivery.status().message());
      return false;
    }
    if (!*delivery) return true;
    auto request = protocol::Decode((*delivery)->frame, kMaxAdminRequestBytes);
    AdminAnswer answer;
    if (request.ok()) {
      const std::optional<RunSnapshot> snapshot =
          loop ? std::optional<RunSnapshot>(loop->Snapshot()) : std::nullopt;
      answer = answer_admin(*request, (*delivery)->identity, snapshot ? &*snapshot : nullptr);
    } else {
      spdlog::warn("refusing an admin frame: {}", request.status().ToString());
      answer.reply =
          protocol::Envelope{0, 0,
                             protocol::AdminReply{static_cast<uint32_t>(request.status().code()),
                                                  "frame refused: " + request.status().message(),
                                                  {}}};
    }
    Status sent = admin.Send((*delivery)->peer, protocol::Encode(answer.reply));
    if (!sent.ok()) spdlog::warn("could not answer an admin: {}", sent.message());
    if (loop == nullptr) continue;
    if (answer.stop_by) SendAll(*loop, *nodes, loop->StopAfterRound(*answer.stop_by));
    if (answer.cancel_by) {
      spdlog::warn("run {} cancelled by admin '{}'", loop->config().run_id, *answer.cancel_by);
      SendAll(*loop, *nodes, loop->Stop("run cancelled by " + *answer.cancel_by));
    }
  }
  return true;
}

void Observe(const RoundLoop& loop, const ServeOptions& options) {
  if (!options.observe) return;
  const RunSnapshot snapshot = loop.Snapshot();
  options.observe(&snapshot);
}

AdminAnswerer OneRunDesk() {
  return [desk = AdminDesk()](const protocol::Envelope& request, const std::string& identity,
                              const RunSnapshot* run) {
    if (run == nullptr) {
      return AdminAnswer{
          protocol::Envelope{
              0, 0,
              protocol::AdminReply{
                  static_cast<uint32_t>(StatusCode::kUnavailable), "no run in progress", {}}},
          std::nullopt, std::nullopt};
    }
    return desk.Answer(request, identity, *run);
  };
}

}  // namespace

Status ServeRun(RoundLoop& loop, protocol::ServerTransport& transport,
                const ServeOptions& options) {
  spdlog::info("coordinator listening on {}", transport.endpoint());
  protocol::ServerTransport* admin = options.admin;
  if (admin != nullptr) spdlog::info("admin socket listening on {}", admin->endpoint());
  const AdminAnswerer answer_admin = options.answer_admin ? options.answer_admin : OneRunDesk();
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
    if (admin != nullptr && !ServeAdmin(&loop, &transport, *admin, answer_admin)) admin = nullptr;
    SendAll(loop, transport, loop.OnTick());
    Observe(loop, options);
  }
  Observe(loop, options);
  return loop.outcome();
}

Status ServeIdle(protocol::ServerTransport& transport, const ServeOptions& options,
                 Duration duration) {
  const AdminAnswerer answer_admin = options.answer_admin ? options.answer_admin : OneRunDesk();
  protocol::ServerTransport* admin = options.admin;
  const TimePoint until = SystemClock::Get().Now() + duration;
  const std::string heartbeat = protocol::Encode({0, 0, protocol::Heartbeat{}});
  if (options.observe) options.observe(nullptr);
  while (!options.should_stop() && SystemClock::Get().Now() < until) {
    auto delivery = transport.Receive(options.poll_interval);
    if (!delivery.ok()) return delivery.status().WithContext("coordinator");
    if (*delivery) {
      auto envelope = protocol::Decode((*delivery)->frame, options.max_payload_bytes);
      if (envelope.ok() && (std::holds_alternative<protocol::Hello>(envelope->body) ||
                            std::holds_alternative<protocol::Heartbeat>(envelope->body))) {
        transport.Send((*delivery)->peer, heartbeat).IgnoreError();
      }
    }
    if (admin != nullptr && !ServeAdmin(nullptr, nullptr, *admin, answer_admin)) admin = nullptr;
  }
  return Status::Ok();
}

}  // namespace cartable::coordinator
