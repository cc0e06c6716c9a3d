#pragma once

// A federated simulation with real processes: synthetic schools are written to CSV files, one node
// agent process per school reads its own file, and a coordinator in this process runs the rounds
// with them over ZeroMQ on loopback. Then the simulation computes its baselines (pooled and
// school-alone training, and the generator's own probabilities) on the same held-out pupils and
// returns the report.
//
// The run stops cleanly on SIGINT/SIGTERM (ShutdownRequested): nodes are told to stop and reaped,
// and no report is written.

#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>

#include "coordinator/round_loop.h"
#include "core/status.h"
#include "simulations/synthetic_cohort.h"

namespace cartable::simulations {

struct ScenarioConfig {
  CohortConfig cohort;
  uint32_t rounds = 10;
  uint32_t local_epochs = 1;
  uint32_t batch_size = 64;
  float learning_rate = 0.05f;
  double test_fraction = 0.2;  // share of each school's pupils held out for evaluation
  std::filesystem::path out_dir = "cartable-out";
  std::filesystem::path executable;  // the `cartable` binary that runs `cartable node`
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
};

Status Validate(const ScenarioConfig& config);

// Runs the scenario; `on_round` sees each completed round (for progress lines). Returns the report.
StatusOr<nlohmann::json> RunMultiProcessScenario(
    const ScenarioConfig& config,
    const std::function<void(const coordinator::RoundRecord&)>& on_round);

}  // namespace cartable::simulations
