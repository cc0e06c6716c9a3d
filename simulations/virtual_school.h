#pragma once

// What a simulation knows of each virtual school, whichever way its federation runs: its name, the
// file its node reads (in processes mode), its pseudonym key, and the split by pupil its node
// trains and evaluates on (read back through the node's own adapter, so baselines see exactly
// what the nodes see).

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/round_loop.h"
#include "core/status.h"
#include "models/dataset.h"
#include "models/fairness.h"
#include "simulations/school_faults.h"

namespace cartable::simulations {

struct VirtualSchool {
  std::string name;
  std::filesystem::path file;           // its data, as its node process reads them (`format`)
  std::filesystem::path pseudonym_key;  // the school's own; the simulation holds every school's
  models::PupilSplit split;
  // Its pupils' attributes for fairness by subgroup (null: none); shared by the schools of one
  // dataset, whose pupil keys never collide.
  std::shared_ptr<const models::PupilAttributes> attributes;
  std::string format = "csv";  // of `file`: csv (answers) or records (pupil records)
};

// Hears each completed round with the global model it produced.
using RoundObserver = std::function<void(const coordinator::RoundRecord& record,
                                         const std::vector<float>& global_model)>;

// How a federation of virtual schools ended: OK when every round completed.
struct FederationResult {
  Status status;
  std::vector<coordinator::RoundRecord> records;
  std::vector<float> model;               // the final global parameters
  std::vector<InjectedDropout> dropouts;  // in process with a dropout plan: who dropped where
  std::vector<InjectedDelay> delays;      // in process with stragglers: who was slow, how much
  std::vector<InjectedCrash> crashes;     // in process with crashes: who crashed, where, how long
  std::vector<std::string> byzantine;     // in process: the Byzantine schools
  size_t tampered = 0;                    // the updates they tampered with
  std::optional<size_t> joined;           // in process: the schools that joined at all
};

}  // namespace cartable::simulations
