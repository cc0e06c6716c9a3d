#include "protocol/zmq_transport.h"

#include <chrono>
#include <zmq.hpp>

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

struct ZmqServerTransport::Sockets {
  zmq::context_t context{1};
  zmq::socket_t router{context, zmq::socket_type::router};
};

struct ZmqClientTransport::Sockets {
  zmq::context_t context{1};
  zmq::socket_t dealer{context, zmq::socket_type::dealer};
};

StatusOr<std::unique_ptr<ZmqServerTransport>> ZmqServerTransport::Bind(const std::string& endpoint,
                                                                       const ZmqOptions& options) {
  auto sockets = std::make_unique<Sockets>();
  try {
    ApplyOptions(sockets->router, options);
    // Sending to a peer that is gone fails loudly instead of vanishing.
    sockets->router.set(zmq::sockopt::router_mandatory, 1);
    sockets->router.bind(endpoint);
    std::string bound = sockets->router.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<ZmqServerTransport>(new ZmqServerTransport(std::move(sockets), bound));
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot bind " + endpoint, e);
  }
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
    delivery.frame = payload.to_string();
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

StatusOr<std::optional<std::string>> ZmqClientTransport::Receive(Duration timeout) {
  CARTABLE_ASSIGN_OR_RETURN(bool readable, WaitReadable(sockets_->dealer, timeout));
  if (!readable) return std::optional<std::string>();
  try {
    zmq::message_t payload;
    if (!sockets_->dealer.recv(payload, zmq::recv_flags::dontwait)) {
      return std::optional<std::string>();
    }
    bool multipart = payload.more();
    while (payload.more()) (void)sockets_->dealer.recv(payload, zmq::recv_flags::none);
    if (multipart) return std::optional<std::string>();  // not a cartable frame
    return std::optional<std::string>(payload.to_string());
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<std::string>();
    return ZmqError("receive failed", e);
  }
}

}  // namespace cartable::protocol
