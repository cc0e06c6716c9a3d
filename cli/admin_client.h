#pragma once

// AdminClient: a researcher's connection to a coordinator's admin socket (`cartable admin`,
// `cartable run`): CURVE with the researcher's key, the coordinator's key pinned. Ask sends one
// AdminRequest and waits for its AdminReply, at most the timeout; a refused handshake or silence
// becomes an error that says what to check. One connection serves many requests (watch, fetch).

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/status.h"
#include "protocol/messages.h"
#include "protocol/zmq_transport.h"

namespace cartable::cli {

struct AdminEndpoint {
  std::string coordinator;  // its admin endpoint, e.g. tcp://10.0.0.5:7451
  std::string server_key_file;
  std::string key_file;
  int timeout_s = 10;
  bool insecure = false;
};

// --coordinator, --server-key, --key, --timeout and --insecure on `cmd`.
void AddAdminEndpointFlags(CLI::App* cmd, AdminEndpoint& endpoint);

class AdminClient {
 public:
  static StatusOr<std::unique_ptr<AdminClient>> Connect(const AdminEndpoint& endpoint);

  // The reply to `request`, whatever its code.
  StatusOr<protocol::AdminReply> Ask(const protocol::AdminRequest& request);
  // The reply's document when its code is 0; otherwise the coordinator's refusal as an error.
  StatusOr<std::string> AskForDocument(const protocol::AdminRequest& request);

 private:
  AdminClient(AdminEndpoint endpoint, std::unique_ptr<protocol::ZmqClientTransport> transport)
      : endpoint_(std::move(endpoint)), transport_(std::move(transport)) {}

  AdminEndpoint endpoint_;
  std::unique_ptr<protocol::ZmqClientTransport> transport_;
};

}  // namespace cartable::cli
