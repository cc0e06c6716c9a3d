#pragma once

// MetricsEndpoint: the coordinator daemon's Prometheus endpoint, a small HTTP server on its own
// thread answering GET /metrics with the text `render` gives (Content-Type text/plain;
// version=0.0.4) and 404 to anything else. It authenticates nobody: it must listen on a loopback
// or otherwise monitored address (docs/operations.md). httplib stays in its .cpp.
// Start binds before it returns, so a bad or busy address is an error before anything is served;
// Stop (or destruction) closes the socket and joins the thread. `render` is called on the
// endpoint's threads (two scrapes may run at once) and must be thread safe.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cartable::cli {

struct HttpAddress {
  std::string host;  // a name or an address; IPv6 without its brackets
  int port = 0;
  std::string ToString() const;  // as parsed: "127.0.0.1:9464", "[::1]:9464"
};

// "HOST:PORT" with a port in 1–65535 ("127.0.0.1:9464", "[::1]:9464", "localhost:9464");
// kInvalidArgument saying what is wrong otherwise (the caller names the setting).
StatusOr<HttpAddress> ParseHttpAddress(std::string_view text);

class MetricsEndpoint {
 public:
  using Render = std::function<std::string()>;

  // Listens on `address`; kUnavailable naming it when it cannot (in use, not this machine's).
  static StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const HttpAddress& address,
                                                          Render render);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Stops serving and joins the thread; idempotent.
  void Stop();

 private:
  struct Server;
  explicit MetricsEndpoint(std::unique_ptr<Server> server);
  std::unique_ptr<Server> server_;
};

}  // namespace cartable::cli
