#pragma once

// The options of `cartable coordinator`, shared by its two modes: one run from flags
// (coordinator_command.cpp) and the daemon serving submitted runs from a configuration file
// (coordinator_daemon.cpp).

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/metrics_endpoint.h"
#include "cli/secagg_flags.h"
#include "coordinator/run_config.h"
#include "core/status.h"
#include "protocol/zmq_transport.h"

namespace cartable::cli {

struct CoordinatorOptions {
  coordinator::RunConfig run;
  std::string bind = "tcp://127.0.0.1:7450";
  int join_timeout_s = 300;
  int round_timeout_s = 120;
  int heartbeat_s = 5;
  std::string out;
  std::string log_level = "info";
  std::string key_file;
  std::string allow_dir;
  bool insecure = false;
  std::string admin_bind;
  std::string admin_allow_dir;
  int max_message_mb = 256;
  int peer_queue_mb = 0;  // 0: max_message_mb + 16
  int reassembly_mb = 4096;
  int transfer_timeout_s = 60;
  std::vector<std::string> model_options;  // KEY=VALUE, from --option
  SecAggFlags secagg;
  // The daemon's, from --config FILE and the file itself.
  std::string config_file;
  std::string state_dir;               // runs.db, audit.jsonl, runs/<id>/
  std::vector<std::string> operators;  // admin names that may see and cancel every run
  int node_timeout_s = 30;
  int max_unfinished_runs = 20;  // per researcher ([admin] max_queued_runs)
  // HOST:PORT of the Prometheus endpoint ([metrics] listen, --metrics-listen); empty: none.
  std::string metrics_listen;
};

protocol::ZmqOptions TransportOptions(const CoordinatorOptions& o);
// The nodes' socket, and the researchers' admin socket (its own CURVE allow-list, so only the keys
// in --admin-allow reach it and no node key does).
StatusOr<std::unique_ptr<protocol::ZmqServerTransport>> Bind(const CoordinatorOptions& o);
StatusOr<std::unique_ptr<protocol::ZmqServerTransport>> BindAdmin(const CoordinatorOptions& o);

// What the daemon makes of its configuration beyond the options themselves.
struct DaemonSettings {
  std::optional<HttpAddress> metrics_address;  // none: no metrics endpoint
  std::string metrics_setting;                 // where the address came from, for errors
};
// Reads o.config_file into `o` (flags given win), and checks what can be checked without touching
// a socket or a file: an error names the setting and the file.
StatusOr<DaemonSettings> ReadDaemonSettings(CoordinatorOptions& o, const GivenFlag& given);

// `cartable coordinator --config FILE`: the daemon. `given` tells the flags from the defaults.
int RunCoordinatorDaemon(CoordinatorOptions& o, const GivenFlag& given);
// `cartable coordinator --config FILE --check`: validates the configuration and what it names
// (keys, allow-lists, state), and explains in plain words what the daemon would do, starting
// nothing and writing nothing.
int CheckCoordinatorDaemon(CoordinatorOptions& o, const GivenFlag& given);
// `cartable coordinator init DIR`: a commented configuration, keys and directories to start from.
int InitCoordinator(const std::string& dir);

}  // namespace cartable::cli
