#include "protocol/zmq_transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <vector>
#include <zmq.hpp>

#include "protocol/internal/connection_guard.h"
#include "protocol/internal/frame_io.h"
#include "protocol/internal/handshake_watch.h"
#include "protocol/internal/zap_handler.h"

namespace cartable::protocol {
namespace {

Status ZmqError(std::string_view what, const zmq::error_t& e) {
  return UnavailableError(std::string(what) + ": " + e.what());
}

void ApplyOptions(zmq::socket_t& socket, const ZmqOptions& options) {
  socket.set(zmq::sockopt::linger, options.linger_ms);
  socket.set(zmq::sockopt::handshake_ivl, options.handshake_timeout_ms);
  // No single message part is larger than a chunk (or than a whole frame, when that is smaller).
  // The margin covers CURVE's per-message box, which ZeroMQ counts against the limit.
  const size_t part =
      std::max(std::min(options.chunk_bytes, options.max_frame_bytes), internal::kChunkHeaderBytes);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(part + 1024));
}

// A node's DEALER: reconnection with backoff, and ZMTP heartbeats to notice a dead connection.
void ApplyClientOptions(zmq::socket_t& dealer, const ZmqOptions& options) {
  ApplyOptions(dealer, options);
  dealer.set(zmq::sockopt::reconnect_ivl, 100);
  dealer.set(zmq::sockopt::reconnect_ivl_max, options.reconnect_max_ms);
  dealer.set(zmq::sockopt::heartbeat_ivl, options.connection_heartbeat_ms);
  dealer.set(zmq::sockopt::heartbeat_timeout, options.connection_timeout_ms);
  // A coordinator that stops reading fills this queue; a send then fails instead of blocking the
  // node.
  dealer.set(zmq::sockopt::sndtimeo, options.send_timeout_ms);
}

long TimeoutMs(Duration timeout) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  return ms < 0 ? 0 : static_cast<long>(ms);
}

// Polls one socket; false on timeout or when a signal interrupted the wait.
StatusOr<bool> WaitReadable(zmq::socket_t& socket, Duration timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  try {
    int ready = zmq::poll(&item, 1, std::chrono::milliseconds(TimeoutMs(timeout)));
    return ready > 0;
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    return ZmqError("poll failed", e);
  }
}

// A peer's chunked frame on its way in, and when its last chunk came.
struct InboundTransfer {
  InboundTransfer(size_t max_frame_bytes, std::shared_ptr<internal::FrameBufferPool> pool,
                  std::shared_ptr<internal::ReassemblyBudget> budget)
      : reassembler(max_frame_bytes, std::move(pool), std::move(budget)) {}
  internal::Reassembler reassembler;
  TimePoint last_chunk;
};

size_t QueueCap(const ZmqOptions& options) {
  return options.max_queued_bytes_per_peer != 0 ? options.max_queued_bytes_per_peer
                                                : options.max_frame_bytes + kQueueHeadroomBytes;
}

std::string Queued(const internal::SendQueue& queue, size_t cap) {
  return std::to_string(queue.bytes.load()) + " bytes in " + std::to_string(queue.messages.load()) +
         " messages are queued for it (cap " + std::to_string(cap) + " bytes)";
}

}  // namespace

// Members are destroyed in reverse order: the ZAP thread and the sockets close before the context
// ends.
struct ZmqServerTransport::Sockets {
  explicit Sockets(const ZmqOptions& o) : options(o) {}
  ZmqOptions options;
  zmq::context_t context{1};
  std::unique_ptr<internal::ZapHandler> zap;
  zmq::socket_t router{context, zmq::socket_type::router};
  // What each peer has queued in ZeroMQ; an entry no message holds any more is pruned by a sweep.
  std::map<PeerId, std::shared_ptr<internal::SendQueue>> queues;
  std::unique_ptr<internal::ConnectionGuard> guard;  // watches the router: destroyed before it
  // Buffers of large frames, reused by the next ones (at most one largest frame's worth kept idle).
  std::shared_ptr<internal::FrameBufferPool> buffers =
      std::make_shared<internal::FrameBufferPool>(options.max_frame_bytes);
  std::shared_ptr<internal::ReassemblyBudget> reassembly =
      std::make_shared<internal::ReassemblyBudget>(options.max_reassembly_bytes);
  std::map<PeerId, InboundTransfer> transfers;  // one per peer with a transfer in progress
  uint64_t next_transfer = 1;
  std::atomic<uint64_t> bytes_received{0};  // whole frames
  std::atomic<uint64_t> bytes_sent{0};

  // Abandons the transfers that made no progress for transfer_idle_timeout_ms (their peer stopped
  // or vanished: this libzmq says nothing of disconnections), and forgets idle send queues.
  void Sweep(TimePoint now) {
    const Duration idle = std::chrono::milliseconds(options.transfer_idle_timeout_ms);
    for (auto it = transfers.begin(); it != transfers.end();) {
      if (now - it->second.last_chunk < idle) {
        ++it;
        continue;
      }
      const internal::Reassembler& r = it->second.reassembler;
      spdlog::warn("abandoning a {}-byte frame from {} after {} bytes: no chunk for {} s",
                   r.total(), internal::PeerLabel(it->first), r.received(),
                   options.transfer_idle_timeout_ms / 1000.0);
      it = transfers.erase(it);  // frees its buffer and its reservation
    }
    std::erase_if(queues, [](const auto& entry) { return entry.second.use_count() == 1; });
  }
};

struct ZmqClientTransport::Sockets {
  Sockets(const ZmqOptions& o, std::shared_ptr<ZmqContext> shared)
      : options(o),
        context(std::move(shared)),
        reassembler(o.max_frame_bytes,
                    std::make_shared<internal::FrameBufferPool>(o.max_frame_bytes)) {}
  ZmqOptions options;
  std::shared_ptr<internal::SendQueue> queue = std::make_shared<internal::SendQueue>();
  std::shared_ptr<ZmqContext> context;  // outlives the sockets below, destroyed before it
  zmq::socket_t dealer{context->get(), zmq::socket_type::dealer};
  std::optional<zmq::socket_t> monitor;  // handshake events, when CURVE is on
  std::optional<internal::HandshakeWatch> handshakes;
  internal::Reassembler reassembler;
  uint64_t next_transfer = 1;
  std::optional<TimePoint> last_activity;
};

namespace {

// Watches the router's connections (before it binds, so that none is missed) unless turned off.
StatusOr<std::unique_ptr<internal::ConnectionGuard>> GuardRouter(zmq::context_t& context,
                                                                 zmq::socket_t& router,
                                                                 const ZmqOptions& options,
                                                                 bool curve) {
  if (options.max_pending_handshakes == 0) return std::unique_ptr<internal::ConnectionGuard>();
  return internal::ConnectionGuard::Start(
      context, router,
      {options.max_pending_handshakes, curve,
       std::chrono::milliseconds(options.handshake_timeout_ms)});
}

StatusOr<std::string> BindRouter(zmq::socket_t& router, const std::string& endpoint,
                                 const ZmqOptions& options) {
  if (options.max_reassembly_bytes < options.max_frame_bytes) {
    return InvalidArgumentError("the memory for frames in transit (" +
                                std::to_string(options.max_reassembly_bytes) +
                                " bytes) must hold at least one largest frame (" +
                                std::to_string(options.max_frame_bytes) + " bytes)");
  }
  try {
    ApplyOptions(router, options);
    // Sending to a peer that is gone fails loudly instead of vanishing; sending to one whose queue
    // is full fails too (EAGAIN), since every send is dontwait.
    router.set(zmq::sockopt::router_mandatory, 1);
    // Left at 1000, ZeroMQ would buffer up to 1000 chunks from each peer before this code sees
    // them.
    router.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    router.bind(endpoint);
    return router.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot bind " + endpoint, e);
  }
}

}  // namespace

StatusOr<std::unique_ptr<ZmqServerTransport>> ZmqServerTransport::Bind(const std::string& endpoint,
                                                                       const ZmqOptions& options) {
  auto sockets = std::make_unique<Sockets>(options);
  CARTABLE_ASSIGN_OR_RETURN(sockets->guard,
                            GuardRouter(sockets->context, sockets->router, options, false));
  CARTABLE_ASSIGN_OR_RETURN(std::string bound, BindRouter(sockets->router, endpoint, options));
  return std::unique_ptr<ZmqServerTransport>(new ZmqServerTransport(std::move(sockets), bound));
}

StatusOr<std::unique_ptr<ZmqServerTransport>> ZmqServerTransport::BindCurve(
    const std::string& endpoint, const CurveKeyPair& server_keys,
    const std::filesystem::path& allow_list_dir, const ZmqOptions& options) {
  auto sockets = std::make_unique<Sockets>(options);
  CARTABLE_ASSIGN_OR_RETURN(sockets->zap,
                            internal::ZapHandler::Start(sockets->context, allow_list_dir));
  try {
    sockets->router.set(zmq::sockopt::curve_server, 1);
    sockets->router.set(zmq::sockopt::curve_secretkey, server_keys.secret_key.z85());
    sockets->router.set(zmq::sockopt::zap_domain, "cartable");
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot enable CURVE", e);
  }
  CARTABLE_ASSIGN_OR_RETURN(sockets->guard,
                            GuardRouter(sockets->context, sockets->router, options, true));
  CARTABLE_ASSIGN_OR_RETURN(std::string bound, BindRouter(sockets->router, endpoint, options));
  return std::unique_ptr<ZmqServerTransport>(new ZmqServerTransport(std::move(sockets), bound));
}

ZmqServerTransport::ZmqServerTransport(std::unique_ptr<Sockets> sockets, std::string endpoint)
    : sockets_(std::move(sockets)), endpoint_(std::move(endpoint)) {}

ZmqServerTransport::~ZmqServerTransport() = default;

Status ZmqServerTransport::Send(const PeerId& peer, std::string_view frame) {
  return SendShared(peer, std::make_shared<const std::string>(frame));
}

Status ZmqServerTransport::SendShared(const PeerId& peer,
                                      std::shared_ptr<const std::string> frame) {
  std::shared_ptr<internal::SendQueue>& queue = sockets_->queues[peer];
  if (!queue) queue = std::make_shared<internal::SendQueue>();
  const size_t cap = QueueCap(sockets_->options);
  const size_t size = frame->size();
  // The whole frame is checked before its first chunk, so a transfer is not started to be
  // abandoned.
  if (size > cap) {
    return ResourceExhaustedError("a frame of " + std::to_string(size) +
                                  " bytes exceeds the cap of " + std::to_string(cap) +
                                  " bytes queued per peer");
  }
  if (size > cap - std::min(queue->bytes.load(), cap)) {
    return ResourceExhaustedError(internal::PeerLabel(peer) +
                                  " is not reading: " + Queued(*queue, cap) +
                                  ", no room for a frame of " + std::to_string(size) + " bytes");
  }
  try {
    const internal::SendProgress progress =
        internal::SendFrame(sockets_->router, &peer, frame, sockets_->options.chunk_bytes,
                            sockets_->next_transfer++, queue, zmq::send_flags::dontwait);
    if (progress.complete()) {
      sockets_->bytes_sent.fetch_add(size, std::memory_order_relaxed);
      return Status::Ok();
    }
    std::string what = internal::PeerLabel(peer) +
                       " is not reading: ZeroMQ's queue for it is full; " + Queued(*queue, cap);
    if (progress.sent > 0) {
      what += "; " + std::to_string(progress.sent) + " of the " +
              std::to_string(progress.messages) + " chunks of a " + std::to_string(size) +
              "-byte frame went out, the rest are abandoned";
    }
    return ResourceExhaustedError(what);
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH)
      return UnavailableError(internal::PeerLabel(peer) + " is no longer connected");
    return ZmqError("send failed", e);
  }
}

size_t ZmqServerTransport::queued_bytes(const PeerId& peer) const {
  auto it = sockets_->queues.find(peer);
  return it == sockets_->queues.end() ? 0 : it->second->bytes.load();
}

size_t ZmqServerTransport::reassembly_bytes() const { return sockets_->reassembly->reserved(); }

uint64_t ZmqServerTransport::frame_bytes_received() const {
  return sockets_->bytes_received.load(std::memory_order_relaxed);
}

uint64_t ZmqServerTransport::frame_bytes_sent() const {
  return sockets_->bytes_sent.load(std::memory_order_relaxed);
}

StatusOr<std::optional<Delivery>> ZmqServerTransport::Receive(Duration timeout) {
  const TimePoint end = SystemClock::Get().Now() + timeout;
  sockets_->Sweep(SystemClock::Get().Now());
  try {
    while (true) {
      CARTABLE_ASSIGN_OR_RETURN(bool readable,
                                WaitReadable(sockets_->router, end - SystemClock::Get().Now()));
      if (!readable) return std::optional<Delivery>();
      zmq::message_t identity;
      zmq::message_t first;
      if (!sockets_->router.recv(identity, zmq::recv_flags::dontwait)) continue;
      if (!identity.more()) continue;  // a ROUTER message always has a routing id and a body
      (void)sockets_->router.recv(first, zmq::recv_flags::none);
      std::string identity_name;
      std::optional<PublicKeyBytes> identity_key;
      if (sockets_->zap) {
        const char* user_id = zmq_msg_gets(first.handle(), "User-Id");
        if (user_id != nullptr) identity_name = user_id;
        identity_key = internal::IdentityKeyOf(first);
      }
      PeerId peer = identity.to_string();
      auto [it, inserted] = sockets_->transfers.try_emplace(
          peer, sockets_->options.max_frame_bytes, sockets_->buffers, sockets_->reassembly);
      it->second.last_chunk = SystemClock::Get().Now();
      std::optional<Frame> frame = internal::ReadFrame(
          sockets_->router, std::move(first), it->second.reassembler, internal::PeerLabel(peer));
      if (!it->second.reassembler.in_progress()) sockets_->transfers.erase(it);
      if (frame) {
        sockets_->bytes_received.fetch_add(frame->size(), std::memory_order_relaxed);
        return std::optional<Delivery>(
            Delivery{std::move(peer), std::move(*frame), identity_name, identity_key});
      }
      if (SystemClock::Get().Now() >= end) return std::optional<Delivery>();
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Delivery>();
    return ZmqError("receive failed", e);
  }
}

StatusOr<std::shared_ptr<ZmqContext>> ZmqContext::Create(int io_threads, int max_sockets) {
  try {
    auto context = std::make_unique<zmq::context_t>(io_threads);
    context->set(zmq::ctxopt::max_sockets, max_sockets);
    return std::shared_ptr<ZmqContext>(new ZmqContext(std::move(context)));
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot make a context of " + std::to_string(io_threads) +
                        " I/O thread(s) for " + std::to_string(max_sockets) + " sockets",
                    e);
  }
}

ZmqContext::ZmqContext(std::unique_ptr<zmq::context_t> context) : context_(std::move(context)) {}
ZmqContext::~ZmqContext() = default;

namespace {

// The connection's context: the one its options share, or one of its own.
StatusOr<std::shared_ptr<ZmqContext>> ContextFor(const ZmqOptions& options) {
  if (options.context) return options.context;
  return ZmqContext::Create(1, 1023);  // ZeroMQ's defaults
}

}  // namespace

StatusOr<std::unique_ptr<ZmqClientTransport::Sockets>> ZmqClientTransport::OpenSockets(
    const ZmqOptions& options) {
  CARTABLE_ASSIGN_OR_RETURN(std::shared_ptr<ZmqContext> context, ContextFor(options));
  try {
    return std::make_unique<Sockets>(options, std::move(context));
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot open a node's socket (a shared context full?)", e);
  }
}

StatusOr<std::unique_ptr<ZmqClientTransport>> ZmqClientTransport::Connect(
    const std::string& endpoint, const ZmqOptions& options) {
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<Sockets> sockets, OpenSockets(options));
  try {
    ApplyClientOptions(sockets->dealer, options);
    sockets->dealer.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot connect to " + endpoint, e);
  }
  return std::unique_ptr<ZmqClientTransport>(new ZmqClientTransport(std::move(sockets)));
}

StatusOr<std::unique_ptr<ZmqClientTransport>> ZmqClientTransport::Open(const Spec& spec) {
  if (spec.insecure) return Connect(spec.endpoint, spec.options);
  if (spec.key_file.empty() || spec.server_key_file.empty()) {
    return InvalidArgumentError(
        "a CURVE client needs its secret key file and the server's public key file");
  }
  CARTABLE_ASSIGN_OR_RETURN(CurveKeyPair keys, LoadCurveKeyPair(spec.key_file));
  CARTABLE_ASSIGN_OR_RETURN(std::string server_key, LoadCurvePublicKey(spec.server_key_file));
  return ConnectCurve(spec.endpoint, keys, server_key, spec.options);
}

StatusOr<std::unique_ptr<ZmqClientTransport>> ZmqClientTransport::ConnectCurve(
    const std::string& endpoint, const CurveKeyPair& client_keys,
    const std::string& server_public_key, const ZmqOptions& options) {
  if (!IsZ85Key(server_public_key)) {
    return InvalidArgumentError("the coordinator's public key is not a 40-character Z85 key");
  }
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<Sockets> sockets, OpenSockets(options));
  try {
    ApplyClientOptions(sockets->dealer, options);
    sockets->dealer.set(zmq::sockopt::curve_serverkey, server_public_key);
    sockets->dealer.set(zmq::sockopt::curve_publickey, client_keys.public_key);
    sockets->dealer.set(zmq::sockopt::curve_secretkey, client_keys.secret_key.z85());
    // Unique in the process, hence in a context that many connections share.
    static std::atomic<uint64_t> monitors{0};
    const std::string monitor_endpoint = "inproc://monitor-" + std::to_string(++monitors);
    if (zmq_socket_monitor(sockets->dealer.handle(), monitor_endpoint.c_str(),
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
      return UnavailableError(std::string("cannot monitor the connection's handshake: ") +
                              zmq_strerror(zmq_errno()) +
                              " (in a shared context: is it full, or the descriptors spent?)");
    }
    sockets->handshakes.emplace(endpoint);
    sockets->monitor.emplace(sockets->context->get(), zmq::socket_type::pair);
    sockets->monitor->set(zmq::sockopt::linger, 0);
    sockets->monitor->connect(monitor_endpoint);
    sockets->dealer.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot connect to " + endpoint, e);
  }
  return std::unique_ptr<ZmqClientTransport>(new ZmqClientTransport(std::move(sockets)));
}

ZmqClientTransport::ZmqClientTransport(std::unique_ptr<Sockets> sockets)
    : sockets_(std::move(sockets)) {}

ZmqClientTransport::~ZmqClientTransport() = default;

Status ZmqClientTransport::Send(std::string_view frame) { return SendOwned(std::string(frame)); }

Status ZmqClientTransport::SendOwned(std::string frame) {
  try {
    const size_t size = frame.size();
    const internal::SendProgress progress = internal::SendFrame(
        sockets_->dealer, nullptr, std::make_shared<const std::string>(std::move(frame)),
        sockets_->options.chunk_bytes, sockets_->next_transfer++, sockets_->queue,
        zmq::send_flags::none);
    if (progress.complete()) return Status::Ok();
    std::string what = "the coordinator is not reading: no room in the queue to it for " +
                       std::to_string(sockets_->options.send_timeout_ms) + " ms (" +
                       std::to_string(sockets_->queue->bytes.load()) + " bytes queued)";
    if (progress.sent > 0) {
      what += "; " + std::to_string(progress.sent) + " of the " +
              std::to_string(progress.messages) + " chunks of a " + std::to_string(size) +
              "-byte frame went out, the rest are abandoned";
    }
    return ResourceExhaustedError(what);
  } catch (const zmq::error_t& e) {
    return ZmqError("send failed", e);
  }
}

std::optional<TimePoint> ZmqClientTransport::last_activity() const {
  return sockets_->last_activity;
}

size_t ZmqClientTransport::queued_bytes() const { return sockets_->queue->bytes.load(); }

std::string ZmqClientTransport::HandshakeDiagnosis() const {
  return sockets_->handshakes ? sockets_->handshakes->Diagnosis() : std::string();
}

namespace {

// Reads the monitor's waiting events into `watch`, logging what it reports; an error for a definite
// refusal (the coordinator refused our key, or does not speak CURVE), OK for anything that is
// retried.
Status HandshakeFailure(zmq::socket_t& monitor, internal::HandshakeWatch& watch) {
  zmq::message_t event;
  while (monitor.recv(event, zmq::recv_flags::dontwait)) {
    zmq::message_t address;
    if (event.more()) (void)monitor.recv(address, zmq::recv_flags::none);
    if (event.size() < 6) continue;
    uint16_t id = 0;
    uint32_t value = 0;
    std::memcpy(&id, event.data(), 2);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
    internal::HandshakeWatch::Verdict verdict =
        watch.OnEvent(id, value, address.to_string(), SystemClock::Get().Now());
    if (!verdict.warning.empty()) spdlog::warn("{}", verdict.warning);
    if (!verdict.info.empty()) spdlog::info("{}", verdict.info);
    CARTABLE_RETURN_IF_ERROR(verdict.error);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::optional<Frame>> ZmqClientTransport::Receive(Duration timeout) {
  const TimePoint end = SystemClock::Get().Now() + timeout;
  try {
    while (true) {
      std::vector<zmq::pollitem_t> items{{sockets_->dealer.handle(), 0, ZMQ_POLLIN, 0}};
      if (sockets_->monitor) items.push_back({sockets_->monitor->handle(), 0, ZMQ_POLLIN, 0});
      const long wait = TimeoutMs(end - SystemClock::Get().Now());
      if (zmq::poll(items, std::chrono::milliseconds(wait)) <= 0) return std::optional<Frame>();
      if (items.size() > 1 && (items[1].revents & ZMQ_POLLIN)) {
        CARTABLE_RETURN_IF_ERROR(HandshakeFailure(*sockets_->monitor, *sockets_->handshakes));
      }
      if (items[0].revents & ZMQ_POLLIN) {
        zmq::message_t first;
        if (sockets_->dealer.recv(first, zmq::recv_flags::dontwait)) {
          sockets_->last_activity = SystemClock::Get().Now();
          auto frame = internal::ReadFrame(sockets_->dealer, std::move(first),
                                           sockets_->reassembler, "the coordinator");
          if (frame) return std::optional<Frame>(std::move(*frame));
        }
      }
      if (SystemClock::Get().Now() >= end) return std::optional<Frame>();
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Frame>();
    return ZmqError("receive failed", e);
  }
}

}  // namespace cartable::protocol
