// `cartable node`: the node agent an establishment runs beside its pupil data.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "audit/audit_log.h"
#include "audit/verify.h"
#include "cli/command.h"
#include "core/config_file.h"
#include "core/files.h"
#include "core/logging.h"
#include "core/number_text.h"
#include "core/subprocess.h"
#include "ingest/formats.h"
#include "ingest/pseudonymizer.h"
#include "ingest/pupil_attributes.h"
#include "node/identity.h"
#include "node/node_agent.h"
#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"

namespace cartable::cli {
namespace {

struct NodeOptions {
  std::string coordinator;
  std::string data;
  std::string name;
  double test_fraction = 0.2;
  uint64_t split_seed = 0;
  std::vector<std::string> attributes;  // pupil attributes for evaluation by subgroup
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
  bool serve = false;             // run after run, until stopped
  bool check = false;             // --check: validate the configuration, start nothing
  std::string audit_log;          // this node's audit log; empty: none
  std::string evaluation_report;  // this school's own evaluation figures; empty: none
  std::string privacy_ledger;     // what DP-SGD runs cost its pupils; empty: none
  node::PlanPolicy plan_policy;   // [policy]: what this establishment agrees to train
  std::string config_file;        // node.toml: serve, configured by the file
};

// Where an installed node keeps its audit log and privacy ledger, relative to node.toml.
constexpr const char* kDefaultAuditLog = "state/audit.jsonl";
constexpr const char* kDefaultEvaluationReport = "state/evaluations.jsonl";
constexpr const char* kDefaultPrivacyLedger = "state/privacy-ledger.jsonl";

// Each key of node.toml, unless its flag was given (the flag wins).
Status ApplyConfig(NodeOptions& o, const GivenFlag& given) {
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable root, ConfigTable::ReadFile(o.config_file));
  auto text = [&](ConfigTable& t, const char* key, const char* flag, std::string& field,
                  bool is_path) -> Status {
    CARTABLE_ASSIGN_OR_RETURN(std::string value, t.String(key, field));
    if (!given(flag) && t.Has(key)) field = is_path ? t.Path(value) : value;
    return Status::Ok();
  };
  auto number = [&](ConfigTable& t, const char* key, const char* flag, auto& field, int64_t min,
                    int64_t max) -> Status {
    CARTABLE_ASSIGN_OR_RETURN(int64_t value, t.Integer(key, static_cast<int64_t>(field), min, max));
    if (!given(flag)) field = static_cast<std::decay_t<decltype(field)>>(value);
    return Status::Ok();
  };
  auto real = [&](ConfigTable& t, const char* key, const char* flag, double& field, double min,
                  double max) -> Status {
    CARTABLE_ASSIGN_OR_RETURN(double value, t.Real(key, field, min, max));
    if (!given(flag)) field = value;
    return Status::Ok();
  };
  CARTABLE_RETURN_IF_ERROR(text(root, "name", "--name", o.name, false));
  CARTABLE_RETURN_IF_ERROR(text(root, "log_level", "--log-level", o.log_level, false));
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable coordinator, root.Table("coordinator"));
  CARTABLE_RETURN_IF_ERROR(text(coordinator, "endpoint", "--coordinator", o.coordinator, false));
  CARTABLE_RETURN_IF_ERROR(
      text(coordinator, "key", "--coordinator-key", o.coordinator_key_file, true));
  CARTABLE_RETURN_IF_ERROR(
      number(coordinator, "heartbeat_seconds", "--heartbeat", o.heartbeat_s, 1, 3600));
  CARTABLE_RETURN_IF_ERROR(number(coordinator, "missed_heartbeats", "--missed-heartbeats",
                                  o.missed_heartbeats, 1, 1000));
  CARTABLE_RETURN_IF_ERROR(
      number(coordinator, "idle_timeout_seconds", "--idle-timeout", o.idle_timeout_s, 1, 86400));
  CARTABLE_RETURN_IF_ERROR(
      number(coordinator, "max_message_mb", "--max-message-mb", o.max_message_mb, 1, 4095));
  CARTABLE_RETURN_IF_ERROR(coordinator.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable keys, root.Table("keys"));
  CARTABLE_RETURN_IF_ERROR(text(keys, "key", "--key", o.key_file, true));
  CARTABLE_RETURN_IF_ERROR(text(keys, "pseudonym_key", "--pseudonym-key", o.pseudonym_key, true));
  CARTABLE_RETURN_IF_ERROR(keys.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable data, root.Table("data"));
  CARTABLE_ASSIGN_OR_RETURN(std::string source, data.String("source", o.data));
  if (!given("--data") && data.Has("source")) {
    // FORMAT:PATH, the path relative to this file.
    const size_t colon = source.find(':');
    o.data = colon == std::string::npos
                 ? source
                 : source.substr(0, colon + 1) + data.Path(source.substr(colon + 1));
  }
  CARTABLE_RETURN_IF_ERROR(
      real(data, "test_fraction", "--test-fraction", o.test_fraction, 0.01, 0.99));
  CARTABLE_RETURN_IF_ERROR(number(data, "split_seed", "--split-seed", o.split_seed, 0, INT64_MAX));
  CARTABLE_ASSIGN_OR_RETURN(std::vector<std::string> attributes,
                            data.Strings("attributes", o.attributes));
  if (!given("--attributes")) o.attributes = std::move(attributes);
  CARTABLE_RETURN_IF_ERROR(data.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable secure, root.Table("secure_aggregation"));
  CARTABLE_RETURN_IF_ERROR(number(secure, "min_cohort", "--min-cohort", o.min_cohort, 2, 65535));
  CARTABLE_RETURN_IF_ERROR(
      real(secure, "tolerate_corrupt", "--tolerate-corrupt", o.tolerate_corrupt, 0, 0.99));
  CARTABLE_RETURN_IF_ERROR(text(secure, "roster", "--roster", o.roster_dir, true));
  CARTABLE_ASSIGN_OR_RETURN(bool plain, secure.Bool("allow_plain_updates", o.allow_plain_updates));
  if (!given("--allow-plain-updates")) o.allow_plain_updates = plain;
  CARTABLE_RETURN_IF_ERROR(secure.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable policy, root.Table("policy"));
  CARTABLE_ASSIGN_OR_RETURN(o.plan_policy, node::ReadPlanPolicy(policy));
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable audit, root.Table("audit"));
  if (!given("--audit-log") && !audit.Has("path")) {
    o.audit_log = (std::filesystem::path(o.config_file).parent_path() / kDefaultAuditLog).string();
  }
  CARTABLE_RETURN_IF_ERROR(text(audit, "path", "--audit-log", o.audit_log, true));
  if (!given("--evaluation-report") && !audit.Has("evaluations")) {
    o.evaluation_report =
        (std::filesystem::path(o.config_file).parent_path() / kDefaultEvaluationReport).string();
  }
  CARTABLE_RETURN_IF_ERROR(
      text(audit, "evaluations", "--evaluation-report", o.evaluation_report, true));
  CARTABLE_RETURN_IF_ERROR(audit.Finish());
  CARTABLE_ASSIGN_OR_RETURN(ConfigTable privacy, root.Table("privacy"));
  if (!given("--privacy-ledger") && !privacy.Has("ledger")) {
    o.privacy_ledger =
        (std::filesystem::path(o.config_file).parent_path() / kDefaultPrivacyLedger).string();
  }
  CARTABLE_RETURN_IF_ERROR(text(privacy, "ledger", "--privacy-ledger", o.privacy_ledger, true));
  CARTABLE_RETURN_IF_ERROR(privacy.Finish());
  CARTABLE_RETURN_IF_ERROR(root.Finish());
  if (o.coordinator.empty() || o.data.empty()) {
    return InvalidArgumentError(o.config_file + ": needs [coordinator] endpoint and [data] source");
  }
  return Status::Ok();
}

// The node's identity key (from its CURVE secret key, or fresh under --insecure), floor and roster.
StatusOr<node::NodeSecurity> Security(const NodeOptions& o) {
  node::NodeSecurity security;
  security.policy.min_cohort = o.min_cohort;
  security.policy.tolerate_corrupt = o.tolerate_corrupt;
  security.allow_plain_updates = o.allow_plain_updates;
  security.plan_policy = o.plan_policy;
  if (!o.key_file.empty()) {
    CARTABLE_ASSIGN_OR_RETURN(security.identity, node::LoadIdentity(o.key_file));
  }
  if (!o.roster_dir.empty()) {
    CARTABLE_ASSIGN_OR_RETURN(security.policy.roster, node::LoadRoster(o.roster_dir));
    spdlog::info("roster: {} enrolled node(s) from {}", security.policy.roster.size(),
                 o.roster_dir);
  } else {
    spdlog::warn(
        "no --roster: this node trusts the coordinator to name the cohort's members truthfully");
  }
  if (!o.privacy_ledger.empty()) {
    auto ledger = node::PrivacyLedger::Open(o.privacy_ledger);
    if (!ledger.ok()) return ledger.status().WithContext("the node's privacy ledger");
    security.ledger = std::move(ledger).value();
    const std::string year = security.ledger->CurrentSchoolYear();
    spdlog::info("privacy ledger: {} (ε spent in {}: {} per pupil, {} for the establishment)",
                 o.privacy_ledger, year, NumberText(security.ledger->SpentIn(year), 3),
                 NumberText(security.ledger->SpentIn(year, node::PrivacyUnit::kEstablishment), 3));
  } else if (o.plan_policy.max_epsilon_per_year > 0 ||
             o.plan_policy.max_establishment_epsilon_per_year > 0) {
    return InvalidArgumentError(
        std::string("[policy] ") +
        (o.plan_policy.max_epsilon_per_year > 0 ? "max_epsilon_per_year"
                                                : "max_establishment_epsilon_per_year") +
        " needs a privacy ledger to keep it ([privacy] ledger or --privacy-ledger)");
  }
  return security;
}

Status CheckSourcesAgainstPolicy(const NodeOptions& o) {
  const node::PlanPolicy& policy = o.plan_policy;
  std::string key;  // none under --insecure
  if (!policy.coordinator_keys.empty() && !o.insecure) {
    auto loaded = protocol::LoadCurvePublicKey(o.coordinator_key_file);
    if (!loaded.ok()) return loaded.status().WithContext("[coordinator] key");
    key = *loaded;
  }
  CARTABLE_RETURN_IF_ERROR(
      policy.CheckCoordinatorKey(key).WithContext("[policy] coordinator_keys"));
  std::string source = o.data;
  if (const size_t colon = source.find(':'); colon != std::string::npos) {
    std::error_code error;
    const auto path = std::filesystem::absolute(source.substr(colon + 1), error);
    if (!error) source = source.substr(0, colon + 1) + path.string();
  }
  return policy.CheckDataSource(source).WithContext("[policy] data_sources");
}

// The configuration and flags against the establishment's policy: the coordinator it would join
// and the data it would read must be ones the policy allows. A breach is a bad configuration.
Status CheckAgainstPolicy(const NodeOptions& o) {
  Status s = CheckSourcesAgainstPolicy(o);
  if (s.code() == StatusCode::kPermissionDenied) return InvalidArgumentError(s.message());
  return s;
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

constexpr const char* kNodeTemplate =
    R"toml(# This establishment's node agent: cartable node --config node.toml
# It serves the coordinator's runs one after another until stopped. Relative paths are relative to
# this file's directory; flags given on the command line override what is here
# (`cartable node --help` explains each setting).
name = "NAME"
log_level = "info"

[coordinator]
endpoint = "tcp://COORDINATOR-HOST:7450"
key = "coordinator.pub"          # the coordinator's public key: the only server this node talks to
heartbeat_seconds = 5
missed_heartbeats = 4
idle_timeout_seconds = 120       # within a run; between runs the agent waits as long as it runs
max_message_mb = 256

[keys]
key = "keys/NAME.key"            # send keys/NAME.pub to the coordinator's operator
pseudonym_key = "state/pseudonym.key"  # keep it: pupils keep their pseudonyms across runs

[data]
source = "csv:data/answers.csv"  # FORMAT:PATH: csv, kt3, pykt, xapi, oulad, records (docs/data-formats.md)
test_fraction = 0.2              # pupils held out to evaluate each round's model
split_seed = 0
# attributes = ["gender", "age_band"]  # pupil attributes a run may break its evaluation down by

[secure_aggregation]
min_cohort = 3                   # refuse rounds whose sum mixes fewer establishments
tolerate_corrupt = 0.05
# roster = "roster"              # NAME.sign.pub of every enrolled establishment (recommended)
allow_plain_updates = false      # never send an update or evaluation figures in the clear

[policy]
# What this establishment agrees to train; a request that breaks it is refused with the reason
# (`cartable node policy check node.toml` explains it). Leave a key out for no limit.
# models = ["pfa", "irt1pl", "dkt"]
# max_local_epochs = 5
# min_training_pupils = 20
# Differential privacy per pupil (docs/privacy.md): with a cap, only DP-SGD runs are trained.
# max_epsilon_per_run = 2        # what one run may cost each pupil, at max_delta
# max_epsilon_per_year = 8       # all runs of a school year (from 1 September) together
# max_delta = 1e-5
# max_dp_steps = 100000          # DP-SGD steps a round at most (the default)
# max_establishment_epsilon = 8  # ε per run for the school itself; a cap requires DP per establishment
# max_establishment_epsilon_per_year = 16  # the school's ε of a school year, by the privacy ledger
# Whom this node may serve and what it may read, whatever [coordinator] key, [data] source or a
# flag says: public keys as in the coordinator's .pub file; FORMAT:PATH, a PATH ending in / covering
# the files under it.
# coordinator_keys = ["COORDINATOR-PUBLIC-KEY-OF-40-Z85-CHARACTERS"]
# data_sources = ["csv:data/"]
# [policy.options.dkt]
# hidden_size = "8..128"         # a range, bounds included, or the one value allowed

[privacy]
ledger = "state/privacy-ledger.jsonl"  # the ε each DP-SGD run cost, charged before it trains

[audit]
path = "state/audit.jsonl"       # runs offered, rounds asked, each message sent: sizes and hashes
                                 # (check it with: cartable audit verify state/audit.jsonl)
evaluations = "state/evaluations.jsonl"  # this school's own evaluation figures; they stay here
)toml";

// `cartable node policy check FILE`.
int CheckPolicy(const std::string& file) {
  auto root = ConfigTable::ReadFile(file);
  if (!root.ok()) return ReportFailure(root.status());
  auto table = root->Table("policy");
  if (!table.ok()) return ReportFailure(table.status());
  if (root->Keys().empty() || !root->Has("policy")) {
    return ReportFailure(InvalidArgumentError(file + " has no [policy] table"));
  }
  auto policy = node::ReadPlanPolicy(*table);
  if (!policy.ok()) return ReportFailure(policy.status());
  std::printf("%s: a valid policy. This establishment agrees to train as follows.\n%s",
              file.c_str(), policy->Explain().c_str());
  return kExitOk;
}

int InitNode(const std::string& dir, const std::string& name) {
  const std::filesystem::path root = dir;
  const std::filesystem::path config = root / "node.toml";
  std::error_code error;
  if (std::filesystem::exists(config, error)) {
    return ReportFailure(
        AlreadyExistsError(config.string() + " exists; init writes nothing over a configuration"));
  }
  for (const char* sub : {"data", "state"}) {
    if (Status s = EnsureDirectory(root / sub); !s.ok()) return ReportFailure(s);
  }
  auto keys = node::CreateKeySet(root / "keys", name);
  if (!keys.ok()) return ReportFailure(keys.status());
  std::string text = kNodeTemplate;
  for (size_t at; (at = text.find("NAME")) != std::string::npos;) text.replace(at, 4, name);
  if (Status s = WriteFileAtomically(config, text); !s.ok()) return ReportFailure(s);
  std::printf(
      "wrote %s and this establishment's keys in %s/keys.\n"
      "Send keys/%s.pub (and keys/%s.sign.pub, for the rosters) to the coordinator's operator,\n"
      "put its coordinator.pub beside node.toml, set [coordinator] endpoint and [data] source,\n"
      "then start the agent:\n"
      "  cartable node --config %s\n",
      config.c_str(), root.c_str(), name.c_str(), name.c_str(), config.c_str());
  return kExitOk;
}

// `cartable node --config FILE --check`: the configuration and what it names (keys, data, roster,
// audit log) checked, and what the agent would do said in plain words. Nothing is started,
// created or written; the data are read to count them, as the agent would read them.
int Check(const NodeOptions& o) {
  if (o.insecure) {
    return ReportFailure(InvalidArgumentError(
        "--check validates an agent that uses CURVE; --insecure switches off its keys"));
  }
  auto keys = protocol::LoadCurveKeyPair(o.key_file);
  if (!keys.ok()) return ReportFailure(keys.status().WithContext("[keys] key"));
  auto coordinator_key = protocol::LoadCurvePublicKey(o.coordinator_key_file);
  if (!coordinator_key.ok())
    return ReportFailure(coordinator_key.status().WithContext("[coordinator] key"));
  if (Status s = CheckAgainstPolicy(o); !s.ok()) return ReportFailure(s);
  auto data = ingest::LoadData(o.data);
  if (!data.ok()) return ReportFailure(data.status().WithContext("[data] source"));
  const models::PupilSplit split = models::SplitByPupil(*data, o.test_fraction, o.split_seed);
  std::string roster = "none: the coordinator is trusted to name each cohort's members truthfully";
  if (!o.roster_dir.empty()) {
    auto loaded = node::LoadRoster(o.roster_dir);
    if (!loaded.ok())
      return ReportFailure(loaded.status().WithContext("[secure_aggregation] roster"));
    roster = std::to_string(loaded->size()) + " enrolled establishment(s) in " + o.roster_dir +
             ", against which every cohort is checked";
  }
  std::error_code error;
  const std::filesystem::path pseudonym_key = o.pseudonym_key.empty()
                                                  ? ingest::DefaultPseudonymKeyFile()
                                                  : std::filesystem::path(o.pseudonym_key);
  const bool has_pseudonym_key = std::filesystem::exists(pseudonym_key, error);
  std::string audit = "none (set [audit] path or --audit-log)";
  if (!o.audit_log.empty()) {
    audit = o.audit_log + ": no log yet (it is created at the first start)";
    if (std::filesystem::exists(o.audit_log, error)) {
      auto verified = audit::VerifyAuditLog(o.audit_log);
      if (!verified.ok()) return ReportFailure(verified.status().WithContext("[audit] path"));
      audit = o.audit_log + ": intact, " + std::to_string(verified->entries) + " entries";
    }
  }
  std::string ledger = "none (set [privacy] ledger or --privacy-ledger)";
  if (!o.privacy_ledger.empty()) {
    ledger = o.privacy_ledger + ": no ledger yet (it is created at the first start)";
    if (std::filesystem::exists(o.privacy_ledger, error)) {
      auto opened = node::PrivacyLedger::Open(o.privacy_ledger);
      if (opened.ok()) {
        const std::string year = (*opened)->CurrentSchoolYear();
        ledger = o.privacy_ledger + ": " + std::to_string((*opened)->entries().size()) +
                 " charge(s); ε spent in " + year + ": " + NumberText((*opened)->SpentIn(year), 3) +
                 " per pupil, " +
                 NumberText((*opened)->SpentIn(year, node::PrivacyUnit::kEstablishment), 3) +
                 " for the establishment";
      } else if (opened.status().code() == StatusCode::kFailedPrecondition) {
        ledger = o.privacy_ledger + ": in use by the running agent";
      } else {
        return ReportFailure(opened.status().WithContext("[privacy] ledger"));
      }
    }
  }
  std::printf("%s is valid. Started with it, the node agent of '%s' would:\n",
              o.config_file.c_str(), (o.name.empty() ? HostName() : o.name).c_str());
  std::printf(
      "  - read %s: %zu answers and %zu pupil records of %zu pupils; hold out %zu pupils\n"
      "    (%.0f%%) to evaluate each round's model;\n",
      o.data.c_str(), data->size(), data->records.size(), data->num_pupils(),
      split.test.num_pupils(), 100 * o.test_fraction);
  std::printf("  - pseudonymise pupil ids as it reads them with the key in %s%s;\n",
              pseudonym_key.c_str(), has_pseudonym_key ? "" : " (created at the first start)");
  std::printf(
      "  - connect to the coordinator at %s, accepting only the server key in %s,\n"
      "    as the key in %s (public %s);\n",
      o.coordinator.c_str(), o.coordinator_key_file.c_str(), o.key_file.c_str(),
      keys->public_key.c_str());
  std::printf(
      "  - serve its runs one after another until stopped, rejoining a silent coordinator\n"
      "    after %d heartbeats of %d s;\n",
      o.missed_heartbeats, o.heartbeat_s);
  std::printf(
      "  - refuse rounds whose secure sum mixes fewer than %zu establishments, assume up to\n"
      "    %.0f%% of a cohort may collude, and %s;\n",
      o.min_cohort, 100 * o.tolerate_corrupt,
      o.allow_plain_updates
          ? "ALSO answer rounds that ask for the update or the evaluation in the clear"
          : "never send an update or this school's evaluation figures in the clear");
  std::printf("  - roster: %s;\n", roster.c_str());
  std::printf("  - train only what its policy allows ([policy]):\n");
  std::string rules = o.plan_policy.Explain();
  for (size_t at = 0, end; (end = rules.find('\n', at)) != std::string::npos; at = end + 1) {
    std::printf("      %s\n", rules.substr(at, end - at).c_str());
  }
  std::printf("  - audit log: %s.\n", audit.c_str());
  std::printf("  - privacy ledger: %s.\n", ledger.c_str());
  return kExitOk;
}

int Run(NodeOptions& o) {
  if (o.name.empty()) o.name = HostName();
  if (o.coordinator.empty() || o.data.empty()) {
    return ReportFailure(InvalidArgumentError(
        "a node needs --coordinator and --data (or --config FILE giving them)"));
  }
  if (Status s = SetupLogging(o.log_level, o.name); !s.ok()) return ReportFailure(s);
  if (Status s = CheckAgainstPolicy(o); !s.ok()) return ReportFailure(s);
  const std::filesystem::path key_file = o.pseudonym_key.empty()
                                             ? ingest::DefaultPseudonymKeyFile()
                                             : std::filesystem::path(o.pseudonym_key);
  auto pseudonymizer = ingest::Pseudonymizer::LoadOrCreate(key_file);
  if (!pseudonymizer.ok())
    return ReportFailure(pseudonymizer.status().WithContext("--pseudonym-key"));
  auto log = ingest::LoadData(o.data, &*pseudonymizer);
  if (!log.ok()) return ReportFailure(log.status().WithContext("loading --data"));
  models::PupilSplit split = models::SplitByPupil(*log, o.test_fraction, o.split_seed);
  auto attributes = std::make_shared<models::PupilAttributes>();
  for (const std::string& column : o.attributes) {
    auto values = ingest::LoadPupilAttribute(o.data, column, &*pseudonymizer);
    if (!values.ok()) return ReportFailure(values.status().WithContext("--attributes"));
    spdlog::info("pupil attribute '{}' known for {} pupils, for evaluations by subgroup", column,
                 values->size());
    (*attributes)[column] = std::move(values).value();
  }
  spdlog::info(
      "loaded {} answers and {} pupil records of {} pupils; {} pupils held out for evaluation",
      log->size(), log->records.size(), log->num_pupils(), split.test.num_pupils());
  auto security = Security(o);
  if (!security.ok()) return ReportFailure(security.status());
  auto transport = Connect(o);
  if (!transport.ok()) return ReportFailure(transport.status());
  std::unique_ptr<audit::AuditLog> audit_log;
  if (!o.audit_log.empty()) {
    auto opened = audit::AuditLog::Open(o.audit_log);
    if (!opened.ok()) return ReportFailure(opened.status().WithContext("the node's audit log"));
    audit_log = std::move(opened).value();
    if (Status s = audit_log->Append("node_started", {{"name", o.name},
                                                      {"coordinator", o.coordinator},
                                                      {"pupils", log->num_pupils()},
                                                      {"held_out", split.test.num_pupils()}});
        !s.ok()) {
      return ReportFailure(s);
    }
    spdlog::info("audit log: {} ({} entries)", o.audit_log, audit_log->size());
  }
  InstallShutdownHandler();
  node::NodeAgentOptions options;
  if (audit_log) {
    options.audit = [&audit_log](const node::AuditNote& note) {
      return audit_log->Append(note.event, note.data);
    };
  }
  // This school's own figures, each evaluation's: they stay here (the coordinator gets only sums).
  std::unique_ptr<audit::AuditLog> evaluations;
  if (!o.evaluation_report.empty()) {
    auto opened = audit::AuditLog::Open(o.evaluation_report);
    if (!opened.ok())
      return ReportFailure(opened.status().WithContext("the node's evaluation report"));
    evaluations = std::move(opened).value();
    spdlog::info("this school's evaluation figures go to {}", o.evaluation_report);
  }
  auto report_to = [&evaluations](node::NodeSession& session) {
    if (!evaluations) return;
    session.ReportEvaluationsTo([&evaluations](const node::AuditNote& note) {
      if (Status s = evaluations->Append(note.event, note.data); !s.ok())
        spdlog::warn("the evaluation report: {}", s.message());
    });
  };
  options.idle_timeout = std::chrono::seconds(o.idle_timeout_s);
  options.heartbeat_interval = std::chrono::seconds(o.heartbeat_s);
  options.missed_heartbeats = o.missed_heartbeats;
  options.should_stop = [] { return ShutdownRequested(); };
  options.max_payload_bytes = static_cast<size_t>(o.max_message_mb) << 20;
  Status outcome;
  if (o.serve) {
    spdlog::info("serving run after run until stopped (SIGTERM or Ctrl-C)");
    outcome = node::ServeRuns(
        [&] {
          auto session = std::make_unique<node::NodeSession>(o.name, split, *security, attributes);
          report_to(*session);
          return session;
        },
        **transport, options);
    if (outcome.code() == StatusCode::kCancelled) outcome = Status::Ok();
  } else {
    node::NodeSession session(o.name, std::move(split), std::move(security).value(), attributes);
    report_to(session);
    outcome = node::RunNodeAgent(session, **transport, options);
  }
  if (outcome.code() == StatusCode::kDeadlineExceeded) {
    // Giving up on a coordinator never securely reached says why it may be, not only that it was
    // silent.
    if (const std::string why = (*transport)->HandshakeDiagnosis(); !why.empty()) {
      outcome = DeadlineExceededError(outcome.message() + ": " + why);
    }
  }
  if (audit_log) {
    audit_log->Append("node_stopped", {{"outcome", outcome.ok() ? "ok" : outcome.ToString()}})
        .IgnoreError();
  }
  if (!outcome.ok()) return ReportFailure(outcome);
  if (o.serve) spdlog::info("node agent stopped");
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
  cmd->add_option("--coordinator", o->coordinator,
                  "Coordinator endpoint, e.g. tcp://10.0.0.5:7450");
  cmd->add_option("--data", o->data,
                  "This establishment's data as FORMAT:PATH: csv "
                  "(pupil_id,timestamp,skill_id,item_id,correct),\n"
                  "kt3, pykt, xapi (JSON lines), oulad:DIR or records (see docs/data-formats.md)");
  cmd->add_option("--attributes", o->attributes,
                  "Pupil attributes of --data a run may break its evaluation down by (fairness),\n"
                  "e.g. gender,age_band for oulad or group for csv and xapi; only securely\n"
                  "summed statistics by subgroup leave the node")
      ->delimiter(',');
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
         "Also answer rounds that ask for the update and the evaluation statistics in the clear\n"
         "(coordinator --secagg off);\n"
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
  cmd->add_flag("--serve", o->serve,
                "Serve run after run until stopped, instead of ending with the first run: when\n"
                "a run ends, or the coordinator is silent past --idle-timeout, wait for the next")
      ->group("Daemon");
  cmd->add_option(
      "--evaluation-report", o->evaluation_report,
      "Keep this school's own evaluation figures in this file (hash-chained JSON lines,\n"
      "one per evaluation: its held-out answers, AUC, calibration, and its fairness\n"
      "table with small subgroups suppressed); they never leave the node. With --config\n"
      "the default is state/evaluations.jsonl beside node.toml");
  cmd->add_option("--audit-log", o->audit_log,
                  "Keep this node's audit log in this file (hash-chained JSON lines; see\n"
                  "docs/audit-log.md): runs offered, rounds asked, each message sent by size and\n"
                  "SHA-256, never a value. With --config the default is state/audit.jsonl beside\n"
                  "node.toml; check it with `cartable audit verify FILE`")
      ->group("Daemon");
  cmd->add_option("--privacy-ledger", o->privacy_ledger,
                  "Keep this node's privacy ledger in this file (JSON lines; docs/privacy.md):\n"
                  "the ε each DP-SGD run costs its pupils, charged before the run trains and kept\n"
                  "against [policy] max_epsilon_per_year. With --config the default is\n"
                  "state/privacy-ledger.jsonl beside node.toml")
      ->group("Daemon");
  cmd->add_flag("--check", o->check,
                "With --config: validate the configuration and what it names (keys, data,\n"
                "roster, audit log), explain what the agent would do, and exit without starting\n"
                "it (0: valid)")
      ->group("Daemon");
  cmd->add_option("--config", o->config_file,
                  "Serve run after run as the installed agent, configured by this file (see\n"
                  "`cartable node init`); flags given here override it")
      ->group("Daemon");
  cmd->require_subcommand(0, 1);
  auto init_dir = std::make_shared<std::string>();
  auto init_name = std::make_shared<std::string>();
  CLI::App* init = cmd->add_subcommand(
      "init",
      "Write a commented node.toml and this establishment's keys into DIR, to install the agent");
  init->add_option("dir", *init_dir, "The directory (created; must not hold a configuration)")
      ->required();
  init->add_option("--name", *init_name, "This establishment's name in the federation")->required();
  auto policy_file = std::make_shared<std::string>();
  CLI::App* policy = cmd->add_subcommand("policy", "This establishment's training policy");
  CLI::App* policy_check = policy->add_subcommand(
      "check",
      "Validate the [policy] table of FILE (node.toml) and explain in plain words what this\n"
      "establishment agrees to train; exit 0 when valid, 2 naming the first error");
  policy_check->add_option("file", *policy_file, "node.toml, or any TOML file with [policy]")
      ->required();
  policy->require_subcommand(1);
  const Runner pool = AddNodePoolCommand(*cmd);
  CLI::App* pool_cmd = cmd->get_subcommand("pool");
  return [o, cmd, init, init_dir, init_name, policy_check, policy_file, pool, pool_cmd] {
    if (pool_cmd->parsed()) return pool();
    if (init->parsed()) return InitNode(*init_dir, *init_name);
    if (policy_check->parsed()) return CheckPolicy(*policy_file);
    if (!o->config_file.empty()) {
      if (Status s = ApplyConfig(
              *o, [cmd](const std::string& flag) { return cmd->get_option(flag)->count() > 0; });
          !s.ok()) {
        return ReportFailure(s);
      }
      o->serve = true;
      if (o->check) return Check(*o);
    } else if (o->check) {
      return ReportFailure(InvalidArgumentError("--check needs --config FILE: it checks a file"));
    }
    return Run(*o);
  };
}

}  // namespace cartable::cli
