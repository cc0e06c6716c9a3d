#include "protocol/internal/connection_guard.h"

#include <linux/tcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <set>

#include "core/clock.h"
#include "core/open_file_limit.h"
#include "core/printable.h"
#include "protocol/internal/pending_handshakes.h"

namespace cartable::protocol::internal {
namespace {

constexpr int kEvents = ZMQ_EVENT_LISTENING | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED |
                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED;
constexpr auto kLogEvery = std::chrono::seconds(10);
constexpr int kMaxEventsPerBatch = 10000;

// What a ZMTP 3 server sends before and after admitting a client (command frames are a flags byte,
// a size byte and the body). Greeting: 64 bytes. CURVE: WELCOME (body 1 + 7 + 16-byte nonce +
// 144-byte box) = 170 to anyone who knows the server's public key; then READY (body 1 + 5 + 8-byte
// nonce + 16-byte MAC + metadata: Socket-Type and Identity, 35 bytes) = 67 once ZAP said yes, or
// ERROR (body 1 + 5 + 1 + "400") = 12 once it said no. So an admitted client has received at least
// 64 + 170 + 67 = 301 bytes and a refused one at most 64 + 170 + 12 = 246. NULL: the greeting, then
// READY (body 1 + 5 + 35) = 43 once the client's own greeting and READY arrived: 107 bytes, against
// at most 64.
constexpr uint64_t kCurveEstablishedBytes = 274;
constexpr uint64_t kNullEstablishedBytes = 86;

// An address as ZeroMQ writes it (tcp_address_t::to_string): "tcp://1.2.3.4:5", "tcp://[::1]:5".
std::optional<std::string> AddressOf(const sockaddr_storage& address, socklen_t size,
                                     uint16_t* port) {
  char host[NI_MAXHOST] = {};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&address), size, host, sizeof(host), nullptr,
                    0, NI_NUMERICHOST) != 0) {
    return std::nullopt;
  }
  if (address.ss_family == AF_INET) {
    *port = ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    return "tcp://" + std::string(host) + ":" + std::to_string(*port);
  }
  if (address.ss_family == AF_INET6) {
    *port = ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    return "tcp://[" + std::string(host) + "]:" + std::to_string(*port);
  }
  return std::nullopt;
}

// The peer address of `fd` if it is a connection on one of the listening ports, else nullopt.
std::optional<std::string> AcceptedPeer(int fd, const std::set<uint16_t>& listening_ports) {
  sockaddr_storage local{}, remote{};
  socklen_t local_size = sizeof(local), remote_size = sizeof(remote);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) return std::nullopt;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_size) != 0)
    return std::nullopt;
  uint16_t local_port = 0, remote_port = 0;
  if (!AddressOf(local, local_size, &local_port) || listening_ports.count(local_port) == 0)
    return std::nullopt;
  return AddressOf(remote, remote_size, &remote_port);
}

ConnectionState StateOf(const PendingHandshakes::Connection& connection,
                        const std::set<uint16_t>& listening_ports, uint64_t established_bytes) {
  if (AcceptedPeer(connection.fd, listening_ports) != connection.peer)
    return ConnectionState::kGone;
  tcp_info info{};
  socklen_t size = sizeof(info);
  if (::getsockopt(connection.fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0)
    return ConnectionState::kGone;
  const bool known = size >= offsetof(tcp_info, tcpi_bytes_acked) + sizeof(info.tcpi_bytes_acked);
  return known && info.tcpi_bytes_acked >= established_bytes ? ConnectionState::kEstablished
                                                             : ConnectionState::kHandshaking;
}

std::optional<uint16_t> PortOf(const std::string& endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  char* end = nullptr;
  const unsigned long port = std::strtoul(endpoint.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port == 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

size_t EffectiveCap(size_t wanted) {
  auto limit = CurrentOpenFileLimit();
  if (!limit.ok()) return wanted;
  return std::min<size_t>(wanted, std::max<uint64_t>(8, limit->soft / 4));
}

}  // namespace

StatusOr<std::unique_ptr<ConnectionGuard>> ConnectionGuard::Start(zmq::context_t& context,
                                                                  zmq::socket_t& server,
                                                                  const Options& options) {
  const std::string endpoint = "inproc://cartable-connection-guard-" +
                               std::to_string(reinterpret_cast<uintptr_t>(server.handle()));
  try {
    if (zmq_socket_monitor(server.handle(), endpoint.c_str(), kEvents) != 0) {
      return UnavailableError(std::string("cannot monitor the server's connections: ") +
                              zmq_strerror(errno));
    }
    zmq::socket_t monitor(context, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.set(zmq::sockopt::rcvhwm,
                100000);  // a lost event leaves a connection unwatched for a while
    monitor.connect(endpoint);
    return std::unique_ptr<ConnectionGuard>(
        new ConnectionGuard(std::move(monitor), EffectiveCap(options.max_pending), options));
  } catch (const zmq::error_t& e) {
    return UnavailableError(std::string("cannot monitor the server's connections: ") + e.what());
  }
}

ConnectionGuard::ConnectionGuard(zmq::socket_t monitor, size_t max_pending, const Options& options)
    : monitor_(std::move(monitor)),
      max_pending_(max_pending),
      handshake_timeout_(options.handshake_timeout),
      established_bytes_(options.curve ? kCurveEstablishedBytes : kNullEstablishedBytes) {
  thread_ = std::thread([this] { Run(); });
}

ConnectionGuard::~ConnectionGuard() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ConnectionGuard::Run() {
  PendingHandshakes pending(max_pending_, 2 * handshake_timeout_ + std::chrono::seconds(5));
  std::set<uint16_t> listening_ports;
  const auto state = [&](const PendingHandshakes::Connection& c) {
    return StateOf(c, listening_ports, established_bytes_);
  };
  uint64_t cut_since_log = 0, starved_since_log = 0;
  TimePoint last_log = SystemClock::Get().Now() - 2 * kLogEvery;
  while (!stop_) {
    try {
      zmq::pollitem_t item{monitor_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) < 0) continue;
      // Read every waiting event before deciding anything.
      for (int n = 0; n < kMaxEventsPerBatch; ++n) {
        zmq::message_t event, address;
        if (!monitor_.recv(event, zmq::recv_flags::dontwait)) break;
        if (event.more()) (void)monitor_.recv(address, zmq::recv_flags::none);
        if (event.size() < 6) continue;
        uint16_t id = 0;
        uint32_t value = 0;
        std::memcpy(&id, event.data(), 2);
        std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
        const int fd = static_cast<int>(value);
        if (id == ZMQ_EVENT_LISTENING) {
          if (auto port = PortOf(address.to_string())) listening_ports.insert(*port);
        } else if (id == ZMQ_EVENT_ACCEPTED) {
          // Already closed (and perhaps reused) if it is no longer a connection on our port: its
          // DISCONNECTED event follows.
          if (auto peer = AcceptedPeer(fd, listening_ports))
            pending.Accepted({fd, *peer}, SystemClock::Get().Now());
        } else if (id == ZMQ_EVENT_DISCONNECTED) {
          pending.Ended(fd);
        } else if (id == ZMQ_EVENT_ACCEPT_FAILED && (value == EMFILE || value == ENFILE)) {
          pending.OutOfDescriptors();
          ++starved_since_log;
        }
      }
      const TimePoint now = SystemClock::Get().Now();
      for (const PendingHandshakes::Connection& victim : pending.TakeVictims(now, state)) {
        if (AcceptedPeer(victim.fd, listening_ports) != victim.peer) continue;
        if (::shutdown(victim.fd, SHUT_RDWR) == 0) {
          ++shut_down_;
          ++cut_since_log;
        }
      }
      if ((cut_since_log > 0 || starved_since_log > 0) && now - last_log >= kLogEvery) {
        auto limit = CurrentOpenFileLimit();
        spdlog::warn(
            "connection guard: shut down {} connection(s) that had not finished their handshake, "
            "to keep at "
            "most {} pending{}; {} pending now, open-file limit {}",
            cut_since_log, max_pending_,
            starved_since_log > 0 ? " (and " + std::to_string(starved_since_log) +
                                        " accept() failure(s) for want of file descriptors)"
                                  : std::string(),
            pending.size(), limit.ok() ? std::to_string(limit->soft) : std::string("unknown"));
        cut_since_log = starved_since_log = 0;
        last_log = now;
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      if (e.num() != EINTR) spdlog::error("connection guard: {}", Printable(e.what()));
    }
  }
}

}  // namespace cartable::protocol::internal
