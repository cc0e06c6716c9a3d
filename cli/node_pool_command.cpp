// `cartable node pool`: many virtual schools of a simulation in one process, each with its own
// connection to the coordinator, so that a simulation spreads over machines a scheduler places
// (docs/simulation-guide.md, "Beyond one machine").

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/command.h"
#include "core/logging.h"
#include "core/subprocess.h"
#include "ingest/formats.h"
#include "ingest/pseudonymizer.h"
#include "node/identity.h"
#include "node/node_pool.h"
#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"
#include "simulations/pool_manifest.h"

namespace cartable::cli {
namespace {

struct PoolOptions {
  std::string from;         // the simulation's output directory, holding pool.json
  size_t index = 0;         // --pool
  size_t pools = 1;         // --pools
  std::string coordinator;  // overrides the manifest's endpoint
  size_t workers = 2;
  std::string log_level = "info";
  int wait_s = 300;  // for pool.json, when a scheduler starts the pool before the simulation
};

// Most schools one pool hosts: each holds a connection (three sockets, four descriptors) in the
// pool's one ZeroMQ context.
constexpr size_t kMaxSchoolsPerPool = 4000;

// pool.json in `from`, waited for up to `wait_s` seconds (the simulation writes it once it
// listens).
StatusOr<simulations::PoolManifest> WaitForManifest(const std::filesystem::path& from, int wait_s) {
  const auto path = from / "pool.json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  bool told = false;
  std::error_code error;
  while (!std::filesystem::exists(path, error) && std::chrono::steady_clock::now() < deadline &&
         !ShutdownRequested()) {
    if (!told) {
      spdlog::info("waiting up to {} s for {} (written once the simulation listens)", wait_s,
                   path.string());
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return simulations::ReadPoolManifest(path);
}

// One hosted school: its session and its connection.
struct Hosted {
  std::unique_ptr<node::NodeSession> session;
  std::unique_ptr<protocol::ZmqClientTransport> transport;
};

StatusOr<Hosted> Host(const simulations::PoolManifest& m, const simulations::PoolSchool& school,
                      const std::string& endpoint, const node::NodeSecurity& base,
                      const std::shared_ptr<protocol::ZmqContext>& context) {
  CARTABLE_ASSIGN_OR_RETURN(ingest::Pseudonymizer pseudonymizer,
                            ingest::Pseudonymizer::LoadOrCreate(school.pseudonym_key));
  CARTABLE_ASSIGN_OR_RETURN(models::InteractionLog log,
                            ingest::LoadData(school.data, &pseudonymizer));
  node::NodeSecurity security = base;
  const bool curve = !school.key.empty();
  if (curve) {
    CARTABLE_ASSIGN_OR_RETURN(security.identity, node::LoadIdentity(school.key));
  }
  Hosted hosted;
  hosted.session = std::make_unique<node::NodeSession>(
      school.name, models::SplitByPupil(log, m.test_fraction, m.split_seed), std::move(security));
  protocol::ZmqOptions options;
  options.context = context;
  CARTABLE_ASSIGN_OR_RETURN(hosted.transport,
                            protocol::ZmqClientTransport::Open(
                                {endpoint, school.key, m.coordinator_key, !curve, options}));
  return hosted;
}

int RunPool(const PoolOptions& o) {
  const std::string name = "pool-" + std::to_string(o.index);
  if (Status s = SetupLogging(o.log_level, name); !s.ok()) return ReportFailure(s);
  if (o.index >= o.pools) {
    return ReportFailure(InvalidArgumentError("--pool " + std::to_string(o.index) +
                                              ": pools are numbered 0 to --pools − 1 (" +
                                              std::to_string(o.pools - 1) + ")"));
  }
  InstallShutdownHandler();
  auto manifest = WaitForManifest(o.from, o.wait_s);
  if (!manifest.ok()) return ReportFailure(manifest.status().WithContext("--from"));
  const std::vector<size_t> share =
      simulations::PoolShare(manifest->schools.size(), o.index, o.pools);
  if (share.empty()) {
    return ReportFailure(InvalidArgumentError(
        "pool " + std::to_string(o.index) + " of " + std::to_string(o.pools) + " hosts none of " +
        std::to_string(manifest->schools.size()) + " schools: start fewer pools"));
  }
  if (share.size() > kMaxSchoolsPerPool) {
    return ReportFailure(
        InvalidArgumentError("pool " + std::to_string(o.index) + " would host " +
                             std::to_string(share.size()) + " schools, more than one pool hosts (" +
                             std::to_string(kMaxSchoolsPerPool) + "): start more pools"));
  }
  const std::string endpoint = o.coordinator.empty() ? manifest->endpoint : o.coordinator;
  if (o.coordinator.empty() && endpoint.find("0.0.0.0") != std::string::npos) {
    spdlog::warn(
        "pool.json's endpoint {} is where the coordinator listens on every address: this reaches "
        "it only from its own machine; elsewhere give --coordinator tcp://HOST:PORT",
        endpoint);
  }
  node::NodeSecurity security;
  security.allow_plain_updates = manifest->allow_plain_updates;
  security.policy.tolerate_corrupt = manifest->tolerate_corrupt;
  if (!manifest->roster.empty()) {
    auto roster = node::LoadRoster(manifest->roster);
    if (!roster.ok()) return ReportFailure(roster.status().WithContext("the simulation's roster"));
    security.policy.roster = std::move(roster).value();
  }
  if (manifest->coordinator_key.empty()) {
    spdlog::warn("the simulation runs without CURVE: nothing is encrypted or authenticated");
  }
  RaiseFileLimit(4 * share.size(), "cartable node pool");
  // One context for every school: an I/O thread per 500 schools (at most 4), not one each.
  auto context = protocol::ZmqContext::Create(
      static_cast<int>(std::clamp<size_t>((share.size() + 499) / 500, 1, 4)),
      static_cast<int>(3 * share.size() + 16));
  if (!context.ok()) return ReportFailure(context.status());
  std::vector<Hosted> hosted;
  hosted.reserve(share.size());
  for (size_t s : share) {
    const simulations::PoolSchool& school = manifest->schools[s];
    auto one = Host(*manifest, school, endpoint, security, *context);
    if (!one.ok()) return ReportFailure(one.status().WithContext(school.name));
    hosted.push_back(std::move(one).value());
  }
  spdlog::info("pool {} of {}: hosting {} of {} schools, joining the coordinator at {}", o.index,
               o.pools, hosted.size(), manifest->schools.size(), endpoint);
  std::vector<node::PoolMember> members;
  members.reserve(hosted.size());
  for (Hosted& h : hosted) members.push_back({h.session.get(), h.transport.get()});
  node::NodePoolOptions options;
  options.workers = o.workers;
  options.agent.should_stop = [] { return ShutdownRequested(); };
  options.agent.hello_interval = std::chrono::seconds(3);
  options.agent.idle_timeout = std::chrono::minutes(10);
  options.agent.poll_interval = std::chrono::milliseconds(2);  // one pause for every school
  const std::vector<Status> outcomes = node::RunNodePool(members, options);
  size_t ended = 0;
  Status first;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].ok()) {
      ++ended;
    } else if (first.ok()) {
      first = outcomes[i].WithContext(manifest->schools[share[i]].name);
    }
  }
  spdlog::info("pool {}: {} of {} schools saw their run to its end", o.index, ended,
               outcomes.size());
  return first.ok() ? kExitOk : ReportFailure(first);
}

}  // namespace

Runner AddNodePoolCommand(CLI::App& node) {
  auto o = std::make_shared<PoolOptions>();
  CLI::App* cmd = node.add_subcommand(
      "pool",
      "Host a share of a simulation's schools in this process, each with its own connection to\n"
      "the coordinator: the way a simulation started with `cartable simulate --mode pools\n"
      "--external-pools` spreads over machines (a Slurm array job, a Kubernetes Indexed Job).\n"
      "Pool I of N hosts the schools I, I + N, I + 2N, … of the simulation's pool.json.");
  cmd->add_option("--from", o->from,
                  "The simulation's output directory (its --out), holding pool.json, the schools'\n"
                  "files and keys; on a filesystem every machine sees")
      ->required();
  cmd->add_option("--pool", o->index, "This pool's index, from 0 (e.g. $SLURM_ARRAY_TASK_ID)")
      ->required();
  cmd->add_option("--pools", o->pools, "How many pools share the schools")
      ->required()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--coordinator", o->coordinator,
                  "The coordinator's endpoint as this machine reaches it (default: pool.json's,\n"
                  "where it listens, e.g. tcp://head-node:7450 when it listens on tcp://*:7450)");
  cmd->add_option("--workers", o->workers, "Threads that run the hosted schools' training")
      ->default_val(2)
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn, error or off")
      ->default_val("info");
  cmd->add_option("--wait-for-manifest", o->wait_s,
                  "Seconds to wait for pool.json when the pool starts before the simulation has\n"
                  "written it (a scheduler may start them in any order)")
      ->default_val(300)
      ->check(CLI::Range(0, 86400));
  cmd->footer(
      "Example: cartable simulate --mode pools --pools 2 --external-pools --bind tcp://*:7450\n"
      "           --schools 200 --out /shared/run1     (on the head node), then on others:\n"
      "         cartable node pool --from /shared/run1 --pool 0 --pools 2 --coordinator "
      "tcp://head:7450\n"
      "         cartable node pool --from /shared/run1 --pool 1 --pools 2 --coordinator "
      "tcp://head:7450");
  return [o] { return RunPool(*o); };
}

}  // namespace cartable::cli
