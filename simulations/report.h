#pragma once

// The simulation report's JSON pieces, and its crash-safe writing. The layout of report.json is
// described in docs/simulation-guide.md; keys are stable so scripts can read them.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "coordinator/round_loop.h"
#include "core/status.h"
#include "simulations/baselines.h"
#include "simulations/scenario.h"

namespace cartable::simulations {

nlohmann::json ToJson(const Scores& scores);
nlohmann::json ToJson(const coordinator::RoundRecord& record);
nlohmann::json ToJson(const ScenarioConfig& config);

// Writes `report` to path atomically (never a half-written file).
Status WriteReport(const nlohmann::json& report, const std::filesystem::path& path);

}  // namespace cartable::simulations
