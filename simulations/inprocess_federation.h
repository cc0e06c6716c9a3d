#pragma once

// RunInProcess: a whole federation in one process — the coordinator's round loop on the calling
// thread, every school's node session in a NodePool (node/node_pool.h) on a few threads — over the
// in-process network, with
// faults injected on every sender as `faults` says. The round logic is the deployment's (RoundLoop,
// NodeSession, their drivers); only the sockets and processes are left out. For tests of the
// protocol under lost, duplicated, delayed, reordered and corrupted frames, and for simulations
// with more schools than one process each would allow.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aggregation/secagg/signing.h"
#include "coordinator/round_loop.h"
#include "core/status.h"
#include "models/dataset.h"
#include "protocol/faulty_transport.h"
#include "simulations/school_faults.h"
#include "simulations/virtual_school.h"

namespace cartable::simulations {

struct InProcessSchool {
  std::string name;
  models::PupilSplit split;  // the pupils it trains on and those it evaluates on
  // Its identity key, which also seeds its quantiser's rounding coins: a simulation that derives
  // it from its seed gets the same sums, bit for bit, from run to run. Null: a fresh key.
  std::shared_ptr<const aggregation::secagg::SigningKey> identity;
  // Its pupils' attributes, for evaluation by subgroup (null: none; may be shared by schools).
  std::shared_ptr<const models::PupilAttributes> attributes;
};

struct InProcessOutcome {
  Status status;  // the run's: OK when every round completed
  std::vector<coordinator::RoundRecord> records;
  std::vector<float> model;      // the final global parameters
  protocol::FaultCounts faults;  // summed over the coordinator's and every node's transport
  std::vector<InjectedDropout> dropouts;  // as options.dropout made them, by attempt then school
  std::vector<InjectedDelay> delays;      // as options.stragglers made them
  std::vector<InjectedCrash> crashes;     // as options.crashes made them
  std::vector<std::string> byzantine;     // the schools options.byzantine made Byzantine
  size_t tampered = 0;                    // updates they tampered with
  size_t joined = 0;                      // schools that joined the run at all
};

struct InProcessOptions {
  size_t workers = 2;  // threads that run the schools' work
  // How often a node says Hello while unanswered and sends a Heartbeat while it has nothing to say
  // (a node takes its coordinator for gone after 4 heartbeat intervals of silence). Short, so that
  // tests of lost frames recover fast; a federation of many schools, whose coordinator may be busy
  // for seconds, needs the deployment's (3 s and 5 s).
  Duration hello_interval = std::chrono::milliseconds(300);
  Duration heartbeat_interval = std::chrono::milliseconds(500);
  Duration idle_timeout = std::chrono::seconds(60);  // a node gives up after this much silence
  RoundObserver on_round;
  // Every frame the coordinator receives, as it receives it: what the coordinator learns, for an
  // auditor (or a test) to read. Called on the coordinator's thread.
  std::function<void(const protocol::Delivery&)> coordinator_transcript;
  std::function<bool()> should_stop = [] { return false; };  // e.g. a signal arrived
  // Schools dropping out part way through rounds, and slow schools (simulations/school_faults.h);
  // rate 0: none.
  DropoutPlan dropout;
  StragglerPlan stragglers;
  CrashPlan crashes;        // rate 0: none
  ByzantinePlan byzantine;  // fraction 0: none
};

// Nodes accept plain updates exactly when `run` turns secure aggregation off. Each sender's faults
// are drawn from its own seed, derived from faults.seed. Returns when the run ends, every node
// stopped.
InProcessOutcome RunInProcess(const coordinator::RunConfig& run,
                              std::vector<InProcessSchool> schools,
                              const protocol::FaultPlan& faults = {},
                              const InProcessOptions& options = {});

}  // namespace cartable::simulations
