// `cartable coordinator --config FILE` (the daemon serving submitted runs) and `cartable
// coordinator init DIR` (a configuration to start it from).

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>

#include "audit/audit_log.h"
#include "cli/command.h"
#include "cli/coordinator_options.h"
#include "cli/metrics_endpoint.h"
#include "coordinator/metrics.h"
#include "coordinator/run_service.h"
#include "core/config_file.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/subprocess.h"
#include "node/identity.h"

namespace cartable::cli {
namespace {

constexpr const char* kConfigTemplate =
    R"toml(# The coordinator daemon's configuration: cartable coordinator --config coordinator.toml
# Relative paths are relative to this file's directory. Flags given on the command line
# (--bind, --key, --allow, --admin-bind, --admin-allow, --metrics-listen, --log-level,
# --heartbeat and the limits) override what is here. `cartable coordinator --help` explains each setting.

# runs.db (the run store, SQLite), audit.jsonl (the audit log) and runs/<id>/ (what each run
# left: model, card, rounds) live here. Back it up whole (docs/operations.md).
state_dir = "state"
log_level = "info"

[nodes]
# Where the establishments' node agents connect. 0.0.0.0 listens on every interface.
bind = "tcp://0.0.0.0:7450"
key = "keys/coordinator.key"
# One .pub file per establishment (from its `cartable keygen`); re-read on SIGHUP.
allow = "nodes"
heartbeat_seconds = 5
# A node silent this long between rounds is forgotten until it says hello again.
node_timeout_seconds = 30

[admin]
# Where researchers submit and follow runs (cartable run ...). Keep it on a trusted network.
bind = "tcp://127.0.0.1:7451"
# One .pub file per researcher; a node key is never accepted here.
allow = "researchers"
# Researchers (their .pub file names) who may see and cancel every run, not only their own.
operators = []
# Runs one researcher may have queued or running at once; a submission beyond is refused.
max_queued_runs = 20

[limits]
max_message_mb = 256
peer_queue_mb = 0          # 0: max_message_mb + 16
reassembly_mb = 4096
transfer_timeout_seconds = 60

# [metrics]
# Prometheus metrics at http://HOST:PORT/metrics (counts and durations only; docs/operations.md
# lists them). Unauthenticated: keep it on loopback or a network only your monitoring reaches.
# listen = "127.0.0.1:9464"
)toml";

// Each key of the file, unless its flag was given.
Status ApplyConfig(CoordinatorOptions& o, const GivenFlag& given) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable root, ConfigTable::ReadFile(o.config_file));
  auto text = [&](ConfigTable& table, const std::string& key, const std::string& flag,
                  std::string& field, bool is_path) -> Status {
    CARTABLE_ASSIGN_OR_RETURN(std::string value, table.String(key, field));
    if (!given(flag)) field = is_path ? table.Path(value) : value;
    return Status::Ok();
  };
  auto number = [&](ConfigTable& table, const std::string& key, const std::string& flag, int& field,
                    int min, int max) -> Status {
    CARTABLE_ASSIGN_OR_RETURN(int64_t value, table.Integer(key, field, min, max));
    if (!given(flag)) field = static_cast<int>(value);
    return Status::Ok();
  };
  CARTABLE_ASSIGN_OR_RETURN(std::string state, root.String("state_dir", "state"));
  o.state_dir = root.Path(state);
  CARTABLE_RETURN_IF_ERROR(text(root, "log_level", "--log-level", o.log_level, false));
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable nodes, root.Table("nodes"));
  CARTABLE_RETURN_IF_ERROR(text(nodes, "bind", "--bind", o.bind, false));
  CARTABLE_RETURN_IF_ERROR(text(nodes, "key", "--key", o.key_file, true));
  CARTABLE_RETURN_IF_ERROR(text(nodes, "allow", "--allow", o.allow_dir, true));
  CARTABLE_RETURN_IF_ERROR(
      number(nodes, "heartbeat_seconds", "--heartbeat", o.heartbeat_s, 1, 3600));
  CARTABLE_ASSIGN_OR_RETURN(int64_t node_timeout,
                            nodes.Integer("node_timeout_seconds", 30, 1, 86400));
  o.node_timeout_s = static_cast<int>(node_timeout);
  CARTABLE_RETURN_IF_ERROR(nodes.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable admin, root.Table("admin"));
  CARTABLE_RETURN_IF_ERROR(text(admin, "bind", "--admin-bind", o.admin_bind, false));
  CARTABLE_RETURN_IF_ERROR(text(admin, "allow", "--admin-allow", o.admin_allow_dir, true));
  CARTABLE_ASSIGN_OR_RETURN(o.operators, admin.Strings("operators"));
  CARTABLE_ASSIGN_OR_RETURN(int64_t max_queued, admin.Integer("max_queued_runs", 20, 1, 100000));
  o.max_unfinished_runs = static_cast<int>(max_queued);
  CARTABLE_RETURN_IF_ERROR(admin.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable limits, root.Table("limits"));
  CARTABLE_RETURN_IF_ERROR(
      number(limits, "max_message_mb", "--max-message-mb", o.max_message_mb, 1, 4095));
  CARTABLE_RETURN_IF_ERROR(
      number(limits, "peer_queue_mb", "--peer-queue-mb", o.peer_queue_mb, 0, 65535));
  CARTABLE_RETURN_IF_ERROR(
      number(limits, "reassembly_mb", "--reassembly-mb", o.reassembly_mb, 1, 1 << 20));
  CARTABLE_RETURN_IF_ERROR(number(limits, "transfer_timeout_seconds", "--transfer-timeout",
                                  o.transfer_timeout_s, 1, 86400));
  CARTABLE_RETURN_IF_ERROR(limits.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable metrics, root.Table("metrics"));
  CARTABLE_ASSIGN_OR_RETURN(std::string listen, metrics.String("listen", ""));
  if (!given("--metrics-listen")) {
    if (auto parsed = ParseHttpAddress(listen); !listen.empty() && !parsed.ok()) {
      return metrics.Error("listen", parsed.status().message());
    }
    o.metrics_listen = listen;
  }
  CARTABLE_RETURN_IF_ERROR(metrics.Finish());
  return root.Finish();
}

// A run's settings come from its plan, never from the daemon's command line.
Status RefuseRunFlags(const GivenFlag& given) {
  for (const char* flag : {"--nodes",           "--min-nodes",
                           "--rounds",          "--model",
                           "--skills",          "--items",
                           "--features",        "--option",
                           "--local-epochs",    "--batch-size",
                           "--learning-rate",   "--seed",
                           "--run-id",          "--join-timeout",
                           "--round-timeout",   "--out",
                           "--secagg",          "--neighbours",
                           "--secagg-bits",     "--value-range",
                           "--weight-cap",      "--tolerate-corrupt",
                           "--tolerate-dropout"}) {
    if (given(flag)) {
      return InvalidArgumentError(std::string(flag) +
                                  " with --config: a daemon's runs take their settings from the "
                                  "plans researchers submit (docs/plans.md), not from its flags");
    }
  }
  return Status::Ok();
}

void PrintRound(uint64_t run_id, const coordinator::RoundRecord& r) {
  std::printf("run %llu  round %3u  nodes %2zu  train loss %.4f  held-out AUC %s  %.2f s\n",
              static_cast<unsigned long long>(run_id), r.round, r.nodes, r.train_loss,
              r.auc ? std::to_string(*r.auc).substr(0, 6).c_str() : "  n/a ", r.seconds);
  std::fflush(stdout);
}

void PrintRun(const coordinator::StoredRun& run) {
  std::printf("run %llu '%s' (by %s, plan %.12s): %s%s%s\n",
              static_cast<unsigned long long>(run.id), run.name.c_str(), run.submitter.c_str(),
              run.plan_hash.c_str(), std::string(coordinator::RunStateName(run.state)).c_str(),
              run.reason.empty() ? "" : ": ", run.reason.c_str());
  std::fflush(stdout);
}

// The daemon's Prometheus endpoint and what it reads at each scrape: the counters the service's
// hooks feed, the run store through a connection of its own (the service's is not thread safe),
// and the nodes' socket's byte counters.
class DaemonMetrics {
 public:
  coordinator::CoordinatorMetrics& counters() { return counters_; }

  // Serves until destroyed; `nodes` must outlive this object. An error names `setting`.
  Status Start(const std::string& setting, const HttpAddress& address,
               const std::filesystem::path& store, const protocol::ZmqServerTransport& nodes) {
    CARTABLE_ASSIGN_OR_RETURN(store_, coordinator::OpenSqliteRunStore(store));
    auto endpoint = MetricsEndpoint::Start(address, [this, &nodes] { return Render(nodes); });
    if (!endpoint.ok()) return InvalidArgumentError(setting + ": " + endpoint.status().message());
    endpoint_ = std::move(endpoint).value();
    return Status::Ok();
  }

 private:
  std::string Render(const protocol::ZmqServerTransport& nodes) {
    {
      const std::lock_guard lock(store_mutex_);
      auto counts = store_->CountByState();
      if (counts.ok()) {
        counters_.SetRunCounts((*counts)[coordinator::RunState::kQueued],
                               (*counts)[coordinator::RunState::kRunning]);
      } else {
        spdlog::warn("metrics: the run store could not be read: {}", counts.status().message());
      }
    }
    counters_.SetNodeTraffic(nodes.frame_bytes_received(), nodes.frame_bytes_sent());
    return coordinator::RenderPrometheus(counters_.Snapshot());
  }

  coordinator::CoordinatorMetrics counters_;
  std::mutex store_mutex_;
  std::unique_ptr<coordinator::RunStore> store_;
  std::unique_ptr<MetricsEndpoint> endpoint_;  // last: stopped before what it reads goes
};

int Fail(const Status& s) {
  // A socket that cannot bind is a configuration the operator must change.
  return ReportFailure(s.code() == StatusCode::kUnavailable ? InvalidArgumentError(s.message())
                                                            : s);
}

}  // namespace

StatusOr<DaemonSettings> ReadDaemonSettings(CoordinatorOptions& o, const GivenFlag& given) {
  CARTABLE_RETURN_IF_ERROR(ApplyConfig(o, given));
  CARTABLE_RETURN_IF_ERROR(RefuseRunFlags(given));
  DaemonSettings settings;
  settings.metrics_setting =
      given("--metrics-listen") ? "--metrics-listen" : o.config_file + ": [metrics] listen";
  if (!o.metrics_listen.empty()) {
    auto parsed = ParseHttpAddress(o.metrics_listen);
    if (!parsed.ok()) {
      return InvalidArgumentError(settings.metrics_setting + ": " + parsed.status().message());
    }
    settings.metrics_address = *parsed;
  }
  if (o.admin_bind.empty()) {
    return InvalidArgumentError(o.config_file +
                                ": [admin] bind is empty: a daemon takes its runs from "
                                "researchers, on its admin socket");
  }
  if (o.reassembly_mb < o.max_message_mb) {
    return InvalidArgumentError("reassembly_mb must be at least max_message_mb");
  }
  return settings;
}

int RunCoordinatorDaemon(CoordinatorOptions& o, const GivenFlag& given) {
  auto settings = ReadDaemonSettings(o, given);
  if (!settings.ok()) return ReportFailure(settings.status());
  if (Status s = SetupLogging(o.log_level, "coordinator"); !s.ok()) return ReportFailure(s);
  const std::string& metrics_setting = settings->metrics_setting;
  const std::optional<HttpAddress>& metrics_address = settings->metrics_address;
  const std::filesystem::path state = o.state_dir;
  if (Status s = EnsureDirectory(state / "runs"); !s.ok()) return ReportFailure(s);
  auto store = coordinator::OpenSqliteRunStore(state / "runs.db");
  if (!store.ok()) return ReportFailure(store.status());
  auto audit = audit::AuditLog::Open(state / "audit.jsonl");
  if (!audit.ok()) return ReportFailure(audit.status());
  RaiseFileLimit(1000, "the coordinator");
  auto nodes = Bind(o);
  if (!nodes.ok()) return Fail(nodes.status());
  auto admin = BindAdmin(o);
  if (!admin.ok()) return Fail(admin.status().WithContext("admin socket"));
  DaemonMetrics metrics;
  if (metrics_address) {
    if (Status s = metrics.Start(metrics_setting, *metrics_address, state / "runs.db", **nodes);
        !s.ok()) {
      return ReportFailure(s);
    }
    std::printf("metrics on http://%s/metrics\n", metrics_address->ToString().c_str());
  }
  std::printf("coordinator daemon: nodes on %s, researchers on %s, state in %s\n",
              (*nodes)->endpoint().c_str(), (*admin)->endpoint().c_str(), state.c_str());
  std::fflush(stdout);

  coordinator::RunServiceOptions service;
  service.runs_dir = state / "runs";
  service.heartbeat_interval = std::chrono::seconds(o.heartbeat_s);
  service.node_timeout = std::chrono::seconds(o.node_timeout_s);
  service.operators = {o.operators.begin(), o.operators.end()};
  service.max_unfinished_runs = static_cast<uint64_t>(o.max_unfinished_runs);
  service.serve.max_payload_bytes = static_cast<size_t>(o.max_message_mb) << 20;
  service.serve.admin = admin->get();
  service.serve.should_stop = [] { return ShutdownRequested(); };
  audit::AuditLog& log = **audit;
  service.audit = [&log](const std::string& event, const nlohmann::ordered_json& data) {
    return log.Append(event, data);
  };
  service.audit_head = [&log] { return log.head(); };
  service.on_round = PrintRound;
  service.on_run = PrintRun;
  if (metrics_address) {
    coordinator::CoordinatorMetrics& counters = metrics.counters();
    service.on_round = [&counters](uint64_t run_id, const coordinator::RoundRecord& record) {
      PrintRound(run_id, record);
      counters.OnRound(record);
    };
    service.on_run = [&counters](const coordinator::StoredRun& run) {
      PrintRun(run);
      counters.OnRun(run);
    };
    service.serve.observe = [&counters](const coordinator::RunSnapshot* run) {
      counters.Observe(run);
    };
  }
  InstallShutdownHandler();
  if (Status s = log.Append("coordinator_started",
                            {{"nodes", (*nodes)->endpoint()}, {"admin", (*admin)->endpoint()}});
      !s.ok()) {
    return ReportFailure(s);
  }
  Status served = coordinator::ServeRunQueue(**store, **nodes, service);
  if (!served.ok()) return ReportFailure(served);
  log.Append("coordinator_stopped", nlohmann::ordered_json::object()).IgnoreError();
  std::printf("coordinator daemon stopped\n");
  return kExitOk;
}

int InitCoordinator(const std::string& dir) {
  const std::filesystem::path root = dir;
  const std::filesystem::path config = root / "coordinator.toml";
  std::error_code error;
  if (std::filesystem::exists(config, error)) {
    return ReportFailure(AlreadyExistsError(config.string() + " exists; init writes nothing "
                                                              "over a configuration"));
  }
  for (const char* sub : {"nodes", "researchers", "state"}) {
    if (Status s = EnsureDirectory(root / sub); !s.ok()) return ReportFailure(s);
  }
  auto keys = node::CreateKeySet(root / "keys", "coordinator");
  if (!keys.ok()) return ReportFailure(keys.status());
  if (Status s = WriteFileAtomically(config, kConfigTemplate); !s.ok()) return ReportFailure(s);
  std::printf(
      "wrote %s, the coordinator's keys in %s/keys (give coordinator.pub to every establishment\n"
      "and researcher), and the directories nodes/ and researchers/ for their .pub files.\n"
      "Check the configuration, then start the daemon:\n"
      "  cartable coordinator --config %s\n",
      config.c_str(), root.c_str(), config.c_str());
  return kExitOk;
}

}  // namespace cartable::cli
