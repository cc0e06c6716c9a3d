#pragma once

// RunInProcesses: a federation of virtual schools as a deployment runs it — one `cartable node`
// process per school reading its own file, and the coordinator's round loop in this process, over
// ZeroMQ on loopback with CURVE and fresh keys (as an academy enrols its schools with `cartable
// keygen`). The join deadline starts once every node process has been started, so the time spent
// making keys and spawning processes never counts against the schools. Node processes are reaped
// on every return path; their logs go to OUT/logs/.
//
// With `pools` > 0, the schools are hosted by that many `cartable node pool` processes instead,
// each serving its share of them over one connection per school (node/node_pool.h), as a simulation
// spread over machines runs: the coordinator listens on `bind`, writes OUT/pool.json
// (simulations/pool_manifest.h) and, unless `external_pools`, starts the pools itself; external
// pools are started by a scheduler from the manifest (docs/simulation-guide.md).

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "coordinator/run_config.h"
#include "simulations/virtual_school.h"

namespace cartable::simulations {

struct ProcessFederationOptions {
  std::filesystem::path executable;  // the `cartable` binary that runs `cartable node`
  std::filesystem::path out_dir;     // keys/ and logs/ are made here
  std::string log_level = "info";    // of the node processes
  bool curve = true;                 // false only to measure what security costs
  double test_fraction = 0.2;        // how each node splits its file, as the simulation did
  uint64_t split_seed = 1;
  RoundObserver on_round;
  std::function<bool()> should_stop = [] { return false; };
  size_t pools = 0;  // 0: one node process per school
  size_t pool_workers = 2;
  bool external_pools = false;
  std::string bind = "tcp://127.0.0.1:*";
};

FederationResult RunInProcesses(const coordinator::RunConfig& run,
                                const std::vector<VirtualSchool>& schools,
                                const ProcessFederationOptions& options);

}  // namespace cartable::simulations
