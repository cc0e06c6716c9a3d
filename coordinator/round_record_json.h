#pragma once

// The JSON form of a RoundRecord: one definition for the run's `--out` file and the admin status.
// Metrics a round did not measure are null.

#include <nlohmann/json.hpp>

#include "coordinator/round_loop.h"

namespace cartable::coordinator {

nlohmann::json RoundRecordJson(const RoundRecord& record);
// The record RoundRecordJson gave (a run store's); kDataLoss naming what is missing or mistyped.
StatusOr<RoundRecord> RoundRecordFromJson(const nlohmann::json& json);

}  // namespace cartable::coordinator
