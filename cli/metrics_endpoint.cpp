#include "cli/metrics_endpoint.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

namespace cartable::cli {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
// A scrape is one short request: a client slow to send or to read is cut off, so that it can hold
// neither the endpoint's few workers nor the daemon's stop for long.
constexpr time_t kTimeoutSeconds = 5;
constexpr size_t kWorkers = 2;
constexpr size_t kMaxRequestBodyBytes = 4096;

// SO_REUSEADDR only (a restart may take the port back from TIME_WAIT). httplib's default,
// SO_REUSEPORT, would let a second daemon bind the same port and share the scrapes unnoticed.
void ExclusivePort(int socket) {
  int yes = 1;
  ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

}  // namespace

struct MetricsEndpoint::Server {
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> finished{false};  // listen_after_bind returned
};

std::string HttpAddress::ToString() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

StatusOr<HttpAddress> ParseHttpAddress(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  const std::string example = " (e.g. 127.0.0.1:9464)";
  if (text.find("://") != std::string_view::npos) {
    return InvalidArgumentError(quoted + " is not HOST:PORT: no scheme" + example);
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError(quoted + " is not HOST:PORT" + example);
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return InvalidArgumentError(quoted + ": an IPv6 address goes in brackets, as [::1]:9464");
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return InvalidArgumentError(quoted + ": an IPv6 address goes in brackets, as [::1]:9464");
  }
  int number = 0;
  const char* end = port.data() + port.size();
  const auto [stop, error] = std::from_chars(port.data(), end, number);
  if (port.empty() || error != std::errc() || stop != end) {
    return InvalidArgumentError(quoted + ": the port '" + std::string(port) + "' is not a number");
  }
  if (number < 1 || number > 65535) {
    return InvalidArgumentError(quoted + ": the port " + std::string(port) +
                                " is out of range (1 to 65535)");
  }
  return HttpAddress{std::string(host), number};
}

StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const HttpAddress& address,
                                                                  Render render) {
  auto server = std::make_unique<Server>();
  httplib::Server& http = server->http;
  http.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  http.set_socket_options(ExclusivePort);
  http.set_read_timeout(kTimeoutSeconds, 0);
  http.set_write_timeout(kTimeoutSeconds, 0);
  http.set_keep_alive_timeout(kTimeoutSeconds);
  http.set_payload_max_length(kMaxRequestBodyBytes);
  http.Get("/metrics",
           [render = std::move(render)](const httplib::Request&, httplib::Response& response) {
             response.set_content(render(), kContentType);
           });
  errno = 0;
  if (!http.bind_to_port(address.host, address.port)) {
    const int error = errno;
    return UnavailableError("cannot listen on " + address.ToString() + ": " +
                            (error != 0 ? std::strerror(error) : "not an address of this machine"));
  }
  Server* s = server.get();
  s->thread = std::thread([s] {
    if (!s->http.listen_after_bind()) spdlog::error("the metrics endpoint stopped serving");
    s->finished = true;
  });
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(server)));
}

MetricsEndpoint::MetricsEndpoint(std::unique_ptr<Server> server) : server_(std::move(server)) {}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

void MetricsEndpoint::Stop() {
  if (!server_->thread.joinable()) return;
  // httplib's stop() does nothing before its listening loop has started.
  while (!server_->http.is_running() && !server_->finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->http.stop();
  server_->thread.join();
}

}  // namespace cartable::cli
