#include "protocol/zmq_transport.h"

#include <chrono>
#include <cstring>
#include <vector>
#include <zmq.hpp>

#include "protocol/internal/zap_handler.h"

namespace cartable::protocol {
namespace {

Status ZmqError(std::string_view what, const zmq::error_t& e) {
  return UnavailableError(std::string(what) + ": " + e.what());
}

void ApplyOptions(zmq::socket_t& socket, const ZmqOptions& options) {
  socket.set(zmq::sockopt::linger, options.linger_ms);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options.max_frame_bytes));
}

long TimeoutMs(Duration timeout) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  return ms < 0 ? 0 : static_cast<long>(ms);
}

// A ZeroMQ message that borrows the bytes of a frame kept alive by `owner` until ZeroMQ has sent it
// (zero copy; ZeroMQ releases the owner from its I/O thread, shared_ptr counts are atomic).
template <typename Owner>
zmq::message_t BorrowingMessage(const std::string& bytes, Owner owner) {
  auto* keep = new Owner(std::move(owner));
  return zmq::message_t(const_cast<char*>(bytes.data()), bytes.size(),
                        [](void*, void* hint) { delete static_cast<Owner*>(hint); }, keep);
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

}  // namespace

// Members are destroyed in reverse order: the ZAP thread and the sockets close before the context ends.
struct ZmqServerTransport::Sockets {
  zmq::context_t context{1};
  std::unique_ptr<internal::ZapHandler> zap;
  zmq::socket_t router{context, zmq::socket_type::router};
};

struct ZmqClientTransport::Sockets {
  zmq::context_t context{1};
  zmq::socket_t dealer{context, zmq::socket_type::dealer};
  std::optional<zmq::socket_t> monitor;  // handshake events, when CURVE is on
};

namespace {

StatusOr<std::string> BindRouter(zmq::socket_t& router, const std::string& endpoint,
                                 const ZmqOptions& options) {
  try {
    ApplyOptions(router, options);
    // Sending to a peer that is gone fails loudly instead of vanishing.
    router.set(zmq::sockopt::router_mandatory, 1);
    router.bind(endpoint);
    return router.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot bind " + endpoint, e);
  }
}

}  // namespace

StatusOr<std::unique_ptr<ZmqServerTransport>> ZmqServerTransport::Bind(const std::string& endpoint,
                                                                       const ZmqOptions& options) {
  auto sockets = std::make_unique<Sockets>();
  CARTABLE_ASSIGN_OR_RETURN(std::string bound, BindRouter(sockets->router, endpoint, options));
  return std::unique_ptr<ZmqServerTransport>(new ZmqServerTransport(std::move(sockets), bound));
}

StatusOr<std::unique_ptr<ZmqServerTransport>> ZmqServerTransport::BindCurve(
    const std::string& endpoint, const CurveKeyPair& server_keys, const std::filesystem::path& allow_list_dir,
    const ZmqOptions& options) {
  auto sockets = std::make_unique<Sockets>();
  CARTABLE_ASSIGN_OR_RETURN(sockets->zap, internal::ZapHandler::Start(sockets->context, allow_list_dir));
  try {
    sockets->router.set(zmq::sockopt::curve_server, 1);
    sockets->router.set(zmq::sockopt::curve_secretkey, server_keys.secret_key.z85());
    sockets->router.set(zmq::sockopt::zap_domain, "cartable");
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot enable CURVE", e);
  }
  CARTABLE_ASSIGN_OR_RETURN(std::string bound, BindRouter(sockets->router, endpoint, options));
  return std::unique_ptr<ZmqServerTransport>(new ZmqServerTransport(std::move(sockets), bound));
}

ZmqServerTransport::ZmqServerTransport(std::unique_ptr<Sockets> sockets, std::string endpoint)
    : sockets_(std::move(sockets)), endpoint_(std::move(endpoint)) {}

ZmqServerTransport::~ZmqServerTransport() = default;

Status ZmqServerTransport::Send(const PeerId& peer, std::string_view frame) {
  try {
    sockets_->router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
    sockets_->router.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return UnavailableError("peer is no longer connected");
    return ZmqError("send failed", e);
  }
}

Status ZmqServerTransport::SendShared(const PeerId& peer, std::shared_ptr<const std::string> frame) {
  try {
    const std::string& bytes = *frame;
    zmq::message_t message = BorrowingMessage(bytes, std::move(frame));
    sockets_->router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
    sockets_->router.send(message, zmq::send_flags::none);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return UnavailableError("peer is no longer connected");
    return ZmqError("send failed", e);
  }
}

StatusOr<std::optional<Delivery>> ZmqServerTransport::Receive(Duration timeout) {
  CARTABLE_ASSIGN_OR_RETURN(bool readable, WaitReadable(sockets_->router, timeout));
  if (!readable) return std::optional<Delivery>();
  try {
    zmq::message_t identity;
    zmq::message_t payload;
    if (!sockets_->router.recv(identity, zmq::recv_flags::dontwait)) {
      return std::optional<Delivery>();
    }
    Delivery delivery{identity.to_string(), {}};
    // A DEALER frame is [identity][payload]; anything else is not ours, drain and drop it.
    if (!identity.more()) return std::optional<Delivery>();
    (void)sockets_->router.recv(payload, zmq::recv_flags::none);
    if (payload.more()) {
      zmq::message_t extra;
      do {
        (void)sockets_->router.recv(extra, zmq::recv_flags::none);
      } while (extra.more());
      return std::optional<Delivery>();
    }
    if (sockets_->zap) {
      const char* user_id = zmq_msg_gets(payload.handle(), "User-Id");
      if (user_id != nullptr) delivery.identity = user_id;
    }
    auto owned = std::make_shared<zmq::message_t>(std::move(payload));
    const std::string_view view(static_cast<const char*>(owned->data()), owned->size());
    delivery.frame = Frame(std::move(owned), view);
    return std::optional<Delivery>(std::move(delivery));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Delivery>();
    return ZmqError("receive failed", e);
  }
}

StatusOr<std::unique_ptr<ZmqClientTransport>> ZmqClientTransport::Connect(const std::string& endpoint,
                                                                          const ZmqOptions& options) {
  auto sockets = std::make_unique<Sockets>();
  try {
    ApplyOptions(sockets->dealer, options);
    sockets->dealer.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot connect to " + endpoint, e);
  }
  return std::unique_ptr<ZmqClientTransport>(new ZmqClientTransport(std::move(sockets)));
}

StatusOr<std::unique_ptr<ZmqClientTransport>> ZmqClientTransport::ConnectCurve(
    const std::string& endpoint, const CurveKeyPair& client_keys, const std::string& server_public_key,
    const ZmqOptions& options) {
  if (!IsZ85Key(server_public_key)) {
    return InvalidArgumentError("the coordinator's public key is not a 40-character Z85 key");
  }
  auto sockets = std::make_unique<Sockets>();
  try {
    ApplyOptions(sockets->dealer, options);
    sockets->dealer.set(zmq::sockopt::curve_serverkey, server_public_key);
    sockets->dealer.set(zmq::sockopt::curve_publickey, client_keys.public_key);
    sockets->dealer.set(zmq::sockopt::curve_secretkey, client_keys.secret_key.z85());
    const std::string monitor_endpoint =
        "inproc://monitor-" + std::to_string(reinterpret_cast<uintptr_t>(sockets.get()));
    if (zmq_socket_monitor(sockets->dealer.handle(), monitor_endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
      return UnavailableError("cannot monitor the connection's handshake");
    }
    sockets->monitor.emplace(sockets->context, zmq::socket_type::pair);
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

Status ZmqClientTransport::Send(std::string_view frame) {
  try {
    sockets_->dealer.send(zmq::buffer(frame.data(), frame.size()), zmq::send_flags::none);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return ZmqError("send failed", e);
  }
}

Status ZmqClientTransport::SendOwned(std::string frame) {
  try {
    auto owned = std::make_unique<const std::string>(std::move(frame));
    const std::string& bytes = *owned;
    zmq::message_t message = BorrowingMessage(bytes, std::shared_ptr<const std::string>(std::move(owned)));
    sockets_->dealer.send(message, zmq::send_flags::none);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return ZmqError("send failed", e);
  }
}

namespace {

// Turns a monitor event into the error a user can act on, or OK for events that do not matter.
Status HandshakeFailure(zmq::socket_t& monitor) {
  zmq::message_t event;
  zmq::message_t address;
  if (!monitor.recv(event, zmq::recv_flags::dontwait)) return Status::Ok();
  if (event.more()) (void)monitor.recv(address, zmq::recv_flags::none);
  if (event.size() < 6) return Status::Ok();
  uint16_t id = 0;
  uint32_t value = 0;
  std::memcpy(&id, event.data(), 2);
  std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
  if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    return PermissionDeniedError("the coordinator refused this node's key (status " + std::to_string(value) +
                                 "): ask its operator to add this node's .pub file to the allow-list");
  }
  return PermissionDeniedError(
      "secure handshake with the coordinator failed: the pinned coordinator public key does not match "
      "the server at " + address.to_string() + ", or it does not speak CURVE");
}

}  // namespace

StatusOr<std::optional<Frame>> ZmqClientTransport::Receive(Duration timeout) {
  try {
    std::vector<zmq::pollitem_t> items{{sockets_->dealer.handle(), 0, ZMQ_POLLIN, 0}};
    if (sockets_->monitor) items.push_back({sockets_->monitor->handle(), 0, ZMQ_POLLIN, 0});
    if (zmq::poll(items, std::chrono::milliseconds(TimeoutMs(timeout))) <= 0) {
      return std::optional<Frame>();
    }
    if (items.size() > 1 && (items[1].revents & ZMQ_POLLIN)) {
      CARTABLE_RETURN_IF_ERROR(HandshakeFailure(*sockets_->monitor));
    }
    if (!(items[0].revents & ZMQ_POLLIN)) return std::optional<Frame>();
    zmq::message_t payload;
    if (!sockets_->dealer.recv(payload, zmq::recv_flags::dontwait)) {
      return std::optional<Frame>();
    }
    bool multipart = payload.more();
    while (payload.more()) (void)sockets_->dealer.recv(payload, zmq::recv_flags::none);
    if (multipart) return std::optional<Frame>();  // not a cartable frame
    auto owned = std::make_shared<zmq::message_t>(std::move(payload));
    const std::string_view view(static_cast<const char*>(owned->data()), owned->size());
    return std::optional<Frame>(Frame(std::move(owned), view));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Frame>();
    return ZmqError("receive failed", e);
  }
}

}  // namespace cartable::protocol
