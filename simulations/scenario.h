#pragma once

// A federated simulation: synthetic schools, each written to its own CSV file and read back
// through the node's own adapter and pseudonym key, trained together as a federation — in this
// process (every school's node session in a node pool over the in-process transport) or with one
// `cartable node` process per school over ZeroMQ with CURVE — then read against its baselines
// (pooled and school-alone training, and the generator's own probabilities) on the same held-out
// pupils. Outputs: report.json, rounds.csv and audit.jsonl in the output directory.
//
// The run stops cleanly on SIGINT/SIGTERM (ShutdownRequested): nodes are told to stop and reaped,
// and no report is written.

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>

#include "coordinator/round_loop.h"
#include "core/status.h"
#include "models/fairness.h"
#include "models/model.h"
#include "simulations/partition.h"
#include "simulations/school_faults.h"
#include "simulations/synthetic_cohort.h"

namespace cartable::simulations {

enum class SimulationMode {
  kInProcess,  // every school's node session in this process, on a pool of worker threads
  kProcesses,  // one `cartable node` process per school, over ZeroMQ on loopback
  kPools,      // `cartable node pool` processes, each hosting a share of the schools, over ZeroMQ
};

// The most schools processes mode starts (one process and one connection each).
inline constexpr int kMaxProcessSchools = 200;

struct ScenarioConfig {
  CohortConfig cohort;
  // The model every school trains: its name and options (models/model.h). Its skill space is the
  // cohort's; models that read pupil records need a real dataset, not a synthetic cohort.
  models::ModelSpec model;
  SimulationMode mode = SimulationMode::kInProcess;
  // A real dataset, "FORMAT:PATH" (ingest/formats.h), split into virtual schools by `partition`
  // instead of the synthetic cohort (whose other settings then do not apply, but for the number of
  // schools and the seed). Empty: the synthetic cohort.
  std::string data;
  // Held-out pupils from another file of the same format and columns, "FORMAT:PATH", placed in the
  // schools `data` was split into (PlaceHeldOutPupils); each school then trains on all its pupils
  // of `data`. Empty: each school holds out `test_fraction` of its own pupils.
  std::string test_data;
  PartitionSpec partition;
  size_t workers = 2;  // in process, and in each pool: threads that run the schools' work
  // Pools mode: how many pools host the schools, where the coordinator listens, and whether the
  // pools are started elsewhere (by a scheduler, from OUT/pool.json) rather than by the simulation.
  size_t pools = 2;
  std::string bind = "tcp://127.0.0.1:*";
  bool external_pools = false;
  uint32_t rounds = 10;
  uint32_t local_epochs = 1;
  uint32_t batch_size = 64;
  float learning_rate = 0.05f;
  double test_fraction = 0.2;  // share of each school's pupils held out for evaluation
  std::filesystem::path out_dir = "cartable-out";
  std::filesystem::path executable;  // processes mode: the binary that runs `cartable node`
  Duration round_timeout = std::chrono::seconds(120);
  Duration join_timeout = std::chrono::seconds(60);
  std::string log_level = "info";  // of the node processes (their logs go to out_dir/logs/)
  // CURVE on every connection, with fresh keys in out_dir/keys/ (as a deployment would have); false
  // only to measure what security costs.
  bool curve = true;
  // How updates are securely aggregated; on by default, as in deployments. With curve keys, nodes
  // also get a roster of the schools' identity keys (out_dir/keys/roster/), so cohorts are checked
  // against it.
  coordinator::ContributionConfig contribution;
  coordinator::SecAggConfig secagg;
  // Establishment-level DP under secure aggregation (enabled 0: none); its rounds are the
  // scenario's.
  protocol::WireEstablishmentDp establishment_dp;
  // DP-SGD per pupil at every school (enabled 0: none); its rounds are the scenario's.
  protocol::WirePupilDp pupil_dp;
  // Pupil attributes of the dataset whose subgroups the last round's evaluation reports
  // (fairness; every value found in the dataset is a subgroup), and the fewest pupils a subgroup
  // must hold federation-wide for its figures to be shown.
  std::vector<std::string> fairness;
  uint64_t min_group_pupils = models::kDefaultMinGroupPupils;
  // Schools dropping out part way through rounds (in process only; rate 0: none). Its seed is the
  // cohort's.
  DropoutPlan dropout;
  // Slow schools (in process only; rate 0: none). Its seed is the cohort's.
  StragglerPlan stragglers;
  // Schools that crash and restart (in process only; rate 0: none). Its seed is the cohort's.
  CrashPlan crashes;
  // Byzantine schools (in process, without secure aggregation; fraction 0: none). Its seed is the
  // cohort's and its value range the contribution's.
  ByzantinePlan byzantine;
  // How the coordinator combines the updates (aggregation/strategies): fedavg, fedavgm, fedadam,
  // median, trimmed_mean, krum..., and its options by name.
  std::string strategy = "fedavg";
  std::map<std::string, double> strategy_options;
};

Status Validate(const ScenarioConfig& config);

// What a simulation tells as it goes, for progress on a terminal. Either may be empty.
struct ScenarioProgress {
  std::function<void(const coordinator::RoundRecord&)> round;  // each completed round
  // The baselines after the rounds: `done` of `total` trainings (the centralised model, then each
  // school alone), called from one thread at a time.
  std::function<void(size_t done, size_t total)> baselines;
};

// Runs the scenario, writes report.json, report.html, rounds.csv (and fairness.csv) in the output
// directory, and returns the report.
StatusOr<nlohmann::json> RunScenario(const ScenarioConfig& config,
                                     const ScenarioProgress& progress = {});

}  // namespace cartable::simulations
