#include "simulations/process_federation.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

#include "coordinator/coordinator_service.h"
#include "coordinator/listen.h"
#include "core/files.h"
#include "core/subprocess.h"
#include "node/identity.h"
#include "simulations/pool_manifest.h"

namespace cartable::simulations {
namespace {

// Fresh keys for one simulation: the coordinator's, one set per school, the allow-list of the
// schools' .pub files and the roster of their .sign.pub files.
struct ScenarioKeys {
  std::filesystem::path dir;
  std::filesystem::path coordinator_key() const { return dir / "coordinator.key"; }
  std::filesystem::path coordinator_pub() const { return dir / "coordinator.pub"; }
  std::filesystem::path allow_dir() const { return dir / "allowed"; }
  std::filesystem::path node_key(const std::string& name) const {
    return dir / "nodes" / (name + ".key");
  }
  std::filesystem::path roster_dir() const { return dir / "roster"; }
};

StatusOr<ScenarioKeys> MakeKeys(const std::filesystem::path& out_dir,
                                const std::vector<VirtualSchool>& schools) {
  ScenarioKeys keys{out_dir / "keys"};
  std::error_code ignored;
  std::filesystem::remove_all(keys.dir, ignored);  // keys of an earlier simulation in the place
  CARTABLE_RETURN_IF_ERROR(node::CreateKeySet(keys.dir, "coordinator").status());
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(keys.allow_dir()));
  CARTABLE_RETURN_IF_ERROR(EnsureDirectory(keys.roster_dir()));
  for (const VirtualSchool& school : schools) {
    CARTABLE_RETURN_IF_ERROR(node::CreateKeySet(keys.dir / "nodes", school.name).status());
    for (const auto& [file, to] : {std::pair{school.name + ".pub", keys.allow_dir()},
                                   std::pair{school.name + ".sign.pub", keys.roster_dir()}}) {
      std::error_code error;
      std::filesystem::copy_file(keys.dir / "nodes" / file, to / file, error);
      if (error)
        return InternalError("copying " + file + " to " + to.string() + ": " + error.message());
    }
  }
  return keys;
}

std::vector<std::string> NodeCommand(const coordinator::RunConfig& run,
                                     const ProcessFederationOptions& options,
                                     const VirtualSchool& school, const std::string& endpoint,
                                     const ScenarioKeys* keys) {
  std::vector<std::string> command = {options.executable.string(),
                                      "node",
                                      "--coordinator",
                                      endpoint,
                                      "--data",
                                      school.format + ":" + school.file.string(),
                                      "--name",
                                      school.name,
                                      "--test-fraction",
                                      std::to_string(options.test_fraction),
                                      "--split-seed",
                                      std::to_string(options.split_seed),
                                      "--pseudonym-key",
                                      school.pseudonym_key.string(),
                                      "--log-level",
                                      options.log_level};
  if (keys) {
    command.insert(command.end(),
                   {"--key", keys->node_key(school.name).string(), "--coordinator-key",
                    keys->coordinator_pub().string(), "--roster", keys->roster_dir().string()});
  } else {
    command.push_back("--insecure");
  }
  if (!run.secagg.enabled) command.push_back("--allow-plain-updates");
  // The schools assume what the simulated coordinator plans for, so a scenario with another
  // tolerance than the default does not see every round refused.
  command.insert(command.end(),
                 {"--tolerate-corrupt", std::to_string(run.secagg.tolerate_corrupt)});
  return command;
}

// OUT/pool.json for pools that reach the coordinator at `endpoint`.
Status WriteManifest(const coordinator::RunConfig& run, const ProcessFederationOptions& options,
                     const std::vector<VirtualSchool>& schools, const std::string& endpoint,
                     const ScenarioKeys* keys) {
  PoolManifest manifest;
  manifest.endpoint = endpoint;
  if (keys) {
    manifest.coordinator_key = std::filesystem::absolute(keys->coordinator_pub());
    manifest.roster = std::filesystem::absolute(keys->roster_dir());
  }
  manifest.test_fraction = options.test_fraction;
  manifest.split_seed = options.split_seed;
  manifest.allow_plain_updates = !run.secagg.enabled;
  manifest.tolerate_corrupt = run.secagg.tolerate_corrupt;
  for (const VirtualSchool& school : schools) {
    manifest.schools.push_back(
        {school.name, school.format + ":" + std::filesystem::absolute(school.file).string(),
         std::filesystem::absolute(school.pseudonym_key),
         keys ? std::filesystem::absolute(keys->node_key(school.name)) : std::filesystem::path()});
  }
  return WritePoolManifest(manifest, options.out_dir / "pool.json");
}

std::vector<std::string> PoolCommand(const ProcessFederationOptions& options, size_t index) {
  return {options.executable.string(),
          "node",
          "pool",
          "--from",
          options.out_dir.string(),
          "--pool",
          std::to_string(index),
          "--pools",
          std::to_string(options.pools),
          "--workers",
          std::to_string(options.pool_workers),
          "--log-level",
          options.log_level};
}

}  // namespace

FederationResult RunInProcesses(const coordinator::RunConfig& run,
                                const std::vector<VirtualSchool>& schools,
                                const ProcessFederationOptions& options) {
  FederationResult result;
  std::vector<std::unique_ptr<ChildProcess>> nodes;  // reaped on every return path
  auto reap = [&nodes] {
    for (auto& node : nodes) {
      if (!node->WaitFor(std::chrono::seconds(10))) node->Terminate();
    }
  };
  auto serve = [&]() -> Status {
    // An earlier simulation's manifest and pool logs in the place would mislead pools and readers.
    std::error_code ignored;
    std::filesystem::remove(options.out_dir / "pool.json", ignored);
    for (size_t p = 0; p < options.pools; ++p) {
      std::filesystem::remove(options.out_dir / "logs" / ("pool-" + std::to_string(p) + ".log"),
                              ignored);
    }
    std::optional<ScenarioKeys> keys;
    coordinator::ListenSpec listen{options.pools > 0 ? options.bind : "tcp://127.0.0.1:*",
                                   {},
                                   {},
                                   /*insecure=*/!options.curve,
                                   {}};
    if (options.curve) {
      CARTABLE_ASSIGN_OR_RETURN(keys, MakeKeys(options.out_dir, schools));
      listen.key_file = keys->coordinator_key();
      listen.allow_dir = keys->allow_dir();
    }
    CARTABLE_ASSIGN_OR_RETURN(auto transport, coordinator::Listen(listen));
    const auto log_dir = options.out_dir / "logs";
    CARTABLE_RETURN_IF_ERROR(EnsureDirectory(log_dir));
    if (options.pools > 0) {
      CARTABLE_RETURN_IF_ERROR(
          WriteManifest(run, options, schools, transport->endpoint(), keys ? &*keys : nullptr));
      for (size_t p = 0; p < options.pools && !options.external_pools; ++p) {
        const auto log_file = log_dir / ("pool-" + std::to_string(p) + ".log");
        CARTABLE_ASSIGN_OR_RETURN(auto child,
                                  ChildProcess::Spawn(PoolCommand(options, p), log_file));
        nodes.push_back(std::move(child));
      }
      if (options.external_pools) {
        spdlog::info(
            "listening on {}: waiting for {} pools started elsewhere (cartable node pool --from {} "
            "--pool I --pools {})",
            transport->endpoint(), options.pools, options.out_dir.string(), options.pools);
      } else {
        spdlog::info("started {} node pools; their logs are in {}", nodes.size(), log_dir.string());
      }
    } else {
      for (const VirtualSchool& school : schools) {
        const auto log_file = log_dir / (school.name + ".log");
        std::filesystem::remove(log_file);
        CARTABLE_ASSIGN_OR_RETURN(
            auto child, ChildProcess::Spawn(NodeCommand(run, options, school, transport->endpoint(),
                                                        keys ? &*keys : nullptr),
                                            log_file));
        nodes.push_back(std::move(child));
      }
      spdlog::info("started {} node processes; their logs are in {}", nodes.size(),
                   log_dir.string());
    }
    // Created now, so its join deadline starts when every school can have started.
    CARTABLE_ASSIGN_OR_RETURN(auto loop, coordinator::RoundLoop::Create(run, SystemClock::Get()));
    if (options.on_round) {
      loop->set_round_listener(
          [&](const coordinator::RoundRecord& r) { options.on_round(r, loop->global_model()); });
    }
    coordinator::ServeOptions serving;
    serving.should_stop = options.should_stop;
    Status outcome = coordinator::ServeRun(*loop, *transport, serving);
    result.records = loop->records();
    result.model = loop->global_model();
    return outcome;
  };
  result.status = serve();
  reap();
  return result;
}

}  // namespace cartable::simulations
