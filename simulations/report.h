#pragma once

// The simulation report's JSON pieces, and its crash-safe writing. The layout of report.json is
// described in docs/simulation-guide.md; keys are stable so scripts can read them.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "coordinator/round_loop.h"
#include "core/status.h"
#include "simulations/baselines.h"
#include "simulations/scenario.h"
#include "simulations/school_faults.h"
#include "simulations/virtual_school.h"

namespace cartable::simulations {

nlohmann::json ToJson(const Scores& scores);
// Who took part, summed over the completed rounds: the schools simulated, the most that had joined
// when a round started (or, when no round completed, `joined`: the schools that joined at all, if
// known), those that never did, how many were asked and answered, and drops by reason (late,
// refused, unusable, declined).
nlohmann::json Participation(size_t schools, const std::vector<coordinator::RoundRecord>& records,
                             std::optional<size_t> joined = std::nullopt);
nlohmann::json ToJson(const ScenarioConfig& config);
// The faults a simulation injected: the dropout plan and every dropout it made (who, which round
// and attempt, which stage) with counts by stage, the straggler plan with every delay it made, the
// crash plan with every crash (who, where, how long down), and the Byzantine schools; null without
// any plan.
nlohmann::json Faults(const ScenarioConfig& config, const FederationResult& federation);

// Writes `report` to path atomically (never a half-written file).
Status WriteReport(const nlohmann::json& report, const std::filesystem::path& path);

}  // namespace cartable::simulations
