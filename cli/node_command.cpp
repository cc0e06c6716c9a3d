// `cartable node`: the node agent an establishment runs beside its pupil data.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/command.h"
#include "core/logging.h"
#include "core/subprocess.h"
#include "ingest/formats.h"
#include "ingest/pseudonymizer.h"
#include "node/identity.h"
#include "node/node_agent.h"
#include "protocol/zmq_transport.h"

namespace cartable::cli {
namespace {

struct NodeOptions {
  std::string coordinator;
  std::string data;
  std::string name;
  double test_fraction = 0.2;
  uint64_t split_seed = 0;
  int idle_timeout_s = 120;
  int heartbeat_s = 5;
  int missed_heartbeats = 4;
  std::string log_level = "info";
  std::string key_file;
  std::string coordinator_key_file;
  bool insecure = false;
  int max_message_mb = 256;
  std::string pseudonym_key;
  size_t min_cohort = 3;
  double tolerate_corrupt = 0.05;
  std::string roster_dir;
  bool allow_plain_updates = false;
};

// The node's identity key (from its CURVE secret key, or fresh under --insecure), floor and roster.
StatusOr<node::NodeSecurity> Security(const NodeOptions& o) {
  node::NodeSecurity security;
  security.policy.min_cohort = o.min_cohort;
  security.policy.tolerate_corrupt = o.tolerate_corrupt;
  security.allow_plain_updates = o.allow_plain_updates;
  if (!o.key_file.empty()) {
    CARTABLE_ASSIGN_OR_RETURN(protocol::CurveKeyPair keys, protocol::LoadCurveKeyPair(o.key_file));
    CARTABLE_ASSIGN_OR_RETURN(aggregation::secagg::SigningKey key,
                              node::SigningKeyFromCurveSecret(keys.secret_key));
    security.identity = std::make_shared<const aggregation::secagg::SigningKey>(std::move(key));
  }
  if (!o.roster_dir.empty()) {
    CARTABLE_ASSIGN_OR_RETURN(security.policy.roster, node::LoadRoster(o.roster_dir));
    spdlog::info("roster: {} enrolled node(s) from {}", security.policy.roster.size(),
                 o.roster_dir);
  } else {
    spdlog::warn(
        "no --roster: this node trusts the coordinator to name the cohort's members truthfully");
  }
  return security;
}

protocol::ZmqOptions TransportOptions(const NodeOptions& o) {
  protocol::ZmqOptions options;
  options.max_frame_bytes = static_cast<size_t>(o.max_message_mb) << 20;
  return options;
}

StatusOr<std::unique_ptr<protocol::ZmqClientTransport>> Connect(const NodeOptions& o) {
  CARTABLE_RETURN_IF_ERROR(CheckKeyFlags(
      o.insecure, !o.key_file.empty() && !o.coordinator_key_file.empty(),
      "a node needs --key (its secret key file, from cartable keygen) and --coordinator-key (the "
      "coordinator's .pub file)"));
  return protocol::ZmqClientTransport::Open(
      {o.coordinator, o.key_file, o.coordinator_key_file, o.insecure, TransportOptions(o)});
}

std::string HostName() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof(buffer) - 1) != 0) return "node";
  return buffer;
}

int Run(NodeOptions& o) {
  if (o.name.empty()) o.name = HostName();
  if (Status s = SetupLogging(o.log_level, o.name); !s.ok()) return ReportFailure(s);
  const std::filesystem::path key_file = o.pseudonym_key.empty()
                                             ? ingest::DefaultPseudonymKeyFile()
                                             : std::filesystem::path(o.pseudonym_key);
  auto pseudonymizer = ingest::Pseudonymizer::LoadOrCreate(key_file);
  if (!pseudonymizer.ok())
    return ReportFailure(pseudonymizer.status().WithContext("--pseudonym-key"));
  auto log = ingest::LoadData(o.data, &*pseudonymizer);
  if (!log.ok()) return ReportFailure(log.status().WithContext("loading --data"));
  models::PupilSplit split = models::SplitByPupil(*log, o.test_fraction, o.split_seed);
  spdlog::info(
      "loaded {} answers and {} pupil records of {} pupils; {} pupils held out for evaluation",
      log->size(), log->records.size(), log->num_pupils(), split.test.num_pupils());
  auto security = Security(o);
  if (!security.ok()) return ReportFailure(security.status());
  node::NodeSession session(o.name, std::move(split), std::move(security).value());
  auto transport = Connect(o);
  if (!transport.ok()) return ReportFailure(transport.status());
  InstallShutdownHandler();
  node::NodeAgentOptions options;
  options.idle_timeout = std::chrono::seconds(o.idle_timeout_s);
  options.heartbeat_interval = std::chrono::seconds(o.heartbeat_s);
  options.missed_heartbeats = o.missed_heartbeats;
  options.should_stop = [] { return ShutdownRequested(); };
  options.max_payload_bytes = static_cast<size_t>(o.max_message_mb) << 20;
  Status outcome = node::RunNodeAgent(session, **transport, options);
  if (outcome.code() == StatusCode::kDeadlineExceeded) {
    // Giving up on a coordinator never securely reached says why it may be, not only that it was
    // silent.
    if (const std::string why = (*transport)->HandshakeDiagnosis(); !why.empty()) {
      outcome = DeadlineExceededError(outcome.message() + ": " + why);
    }
  }
  if (!outcome.ok()) return ReportFailure(outcome);
  return kExitOk;
}

}  // namespace

Runner AddNodeCommand(CLI::App& app) {
  auto o = std::make_shared<NodeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "node",
      "Run a node agent: load this establishment's answers, join a coordinator, train locally\n"
      "and send only model updates and summed evaluation statistics. Pupil rows never leave this\n"
      "process.");
  cmd->add_option("--coordinator", o->coordinator, "Coordinator endpoint, e.g. tcp://10.0.0.5:7450")
      ->required();
  cmd->add_option("--data", o->data,
                  "This establishment's data as FORMAT:PATH: csv "
                  "(pupil_id,timestamp,skill_id,item_id,correct),\n"
                  "kt3, pykt, xapi (JSON lines) or oulad:DIR (see docs/data-formats.md)")
      ->required();
  cmd->add_option("--name", o->name,
                  "Name of this establishment in the federation (default: host name)");
  cmd->add_option("--test-fraction", o->test_fraction, "Share of pupils held out for evaluation")
      ->default_val(0.2)
      ->check(CLI::Range(0.01, 0.99));
  cmd->add_option("--split-seed", o->split_seed, "Seed of the train/held-out split by pupil")
      ->default_val(0);
  cmd->add_option(
         "--heartbeat", o->heartbeat_s,
         "Seconds without sending after which the node sends a Heartbeat; the coordinator answers\n"
         "each one (and sends its own), so a live coordinator is heard at least this often")
      ->default_val(5)
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--missed-heartbeats", o->missed_heartbeats,
                  "Take the coordinator for gone after this many --heartbeat intervals without a\n"
                  "message from it: log it, then rejoin (say hello again until it answers or\n"
                  "--idle-timeout passes)")
      ->default_val(4)
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--idle-timeout", o->idle_timeout_s,
                  "Seconds of coordinator silence before giving up")
      ->default_val(120)
      ->check(CLI::Range(1, 86400));
  cmd->add_option("--key", o->key_file,
                  "This node's secret key file (NAME.key from cartable keygen)");
  cmd->add_option(
      "--coordinator-key", o->coordinator_key_file,
      "The coordinator's public key file (.pub): the only server this node will talk to");
  cmd->add_flag("--insecure", o->insecure,
                "No CURVE encryption or authentication (loopback tests only)");
  cmd->add_option(
      "--pseudonym-key", o->pseudonym_key,
      "This node's pseudonymisation key (created on first use, mode 0600; default\n"
      "~/.local/state/cartable/pseudonym.key). Pupil ids become HMAC-SHA-256 pseudonyms as\n"
      "they are read; keep the key to keep pseudonyms stable across runs.");
  cmd->add_option(
         "--min-cohort", o->min_cohort,
         "Refuse rounds whose secure sum would mix fewer nodes than this (this node included)")
      ->default_val(3)
      ->check(CLI::Range(2, 65535))
      ->group("Secure aggregation");
  cmd->add_option(
         "--tolerate-corrupt", o->tolerate_corrupt,
         "Fraction of the cohort this node assumes may collude with the coordinator: rounds whose\n"
         "Shamir threshold would not outlast that many colluders are refused (0: no check)")
      ->default_val(0.05)
      ->check(CLI::Range(0.0, 0.99))
      ->group("Secure aggregation");
  cmd->add_option("--roster", o->roster_dir,
                  "Directory of the enrolled nodes' NAME.sign.pub files (from cartable keygen):\n"
                  "cohorts are checked against it, so a coordinator cannot invent members or swap\n"
                  "their keys")
      ->group("Secure aggregation");
  cmd->add_flag(
         "--allow-plain-updates", o->allow_plain_updates,
         "Also answer rounds that ask for the update in the clear (coordinator --secagg off);\n"
         "for comparison runs only")
      ->group("Secure aggregation");
  cmd->add_option("--max-message-mb", o->max_message_mb,
                  "Largest message accepted from the coordinator")
      ->default_val(256)
      ->check(CLI::Range(1, 4095));
  cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn, error or off")
      ->default_val("info");
  cmd->footer(
      "Example. Once, make this school's keys, send keys/lycee-a.pub to the coordinator's\n"
      "operator and get its coordinator.pub in return:\n"
      "  cartable keygen --out keys --name lycee-a\n"
      "Then, at each run (HOST: the coordinator's address, listening with\n"
      "--bind tcp://0.0.0.0:7450):\n"
      "  cartable node --coordinator tcp://HOST:7450 --coordinator-key coordinator.pub \\\n"
      "    --key keys/lycee-a.key --name lycee-a --data csv:answers.csv\n"
      "To try it on one machine without keys: --coordinator tcp://127.0.0.1:7450 --insecure,\n"
      "with a coordinator started with --insecure.");
  return [o] { return Run(*o); };
}

}  // namespace cartable::cli
