#pragma once

// Listen: the coordinator's listening sockets (the nodes' and the researchers' admin socket), one
// way for the `coordinator` command and the simulations alike. A socket admits its peers by CURVE —
// the coordinator's secret key file and a directory of the .pub files it allows, both from
// `cartable keygen`, the directory re-read on SIGHUP — or, insecure, anyone (plain TCP: tests on
// loopback only).

#include <filesystem>
#include <memory>
#include <string>

#include "core/status.h"
#include "protocol/zmq_transport.h"

namespace cartable::coordinator {

struct ListenSpec {
  std::string endpoint;  // "tcp://0.0.0.0:7450", or "tcp://127.0.0.1:*" for a free port
  std::filesystem::path key_file;
  std::filesystem::path allow_dir;
  bool insecure = false;  // then key_file and allow_dir are unused
  protocol::ZmqOptions transport;
};

// The bound socket. An endpoint taken or unreachable is kUnavailable; a missing or unreadable key
// file, or an allow-list that cannot be read, names the file.
StatusOr<std::unique_ptr<protocol::ZmqServerTransport>> Listen(const ListenSpec& spec);

}  // namespace cartable::coordinator
