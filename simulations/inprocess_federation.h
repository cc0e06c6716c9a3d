#pragma once

// RunInProcess: a whole federation in one process — the coordinator's round loop on the calling
// thread, one node agent per school on a thread of its own — over the in-process network, with
// faults injected on every sender as `faults` says. The round logic is the deployment's (RoundLoop,
// NodeSession, their drivers); only the sockets and processes are left out. For tests of the
// protocol under lost, duplicated, delayed, reordered and corrupted frames, and for simulations
// with more schools than one process each would allow.

#include <string>
#include <vector>

#include "coordinator/round_loop.h"
#include "core/status.h"
#include "models/dataset.h"
#include "protocol/faulty_transport.h"

namespace cartable::simulations {

struct InProcessSchool {
  std::string name;
  models::PupilSplit split;  // the pupils it trains on and those it evaluates on
};

struct InProcessOutcome {
  Status status;  // the run's: OK when every round completed
  std::vector<coordinator::RoundRecord> records;
  std::vector<float> model;      // the final global parameters
  protocol::FaultCounts faults;  // summed over the coordinator's and every node's transport
};

// Nodes accept plain updates exactly when `run` turns secure aggregation off. Each sender's faults
// are drawn from its own seed, derived from faults.seed. Returns when the run ends, every node
// stopped.
InProcessOutcome RunInProcess(const coordinator::RunConfig& run,
                              std::vector<InProcessSchool> schools,
                              const protocol::FaultPlan& faults = {});

}  // namespace cartable::simulations
