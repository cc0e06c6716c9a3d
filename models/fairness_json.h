#pragma once

// The JSON form of a fairness table (models/fairness.h), one definition for round records, reports
// and a node's own evaluation report: {min_group_pupils, rows: [{attribute, value, suppressed,
// pupils, answers, auc, auc_bound, calibration_error, true_positive_rate, flag_rate}], gaps:
// [{attribute, equal_opportunity, demographic_parity}]}; a suppressed row has only its attribute,
// value and suppressed: true; figures a subgroup does not define are null.

#include <nlohmann/json.hpp>

#include "models/fairness.h"

namespace cartable::models {

nlohmann::json FairnessTableJson(const FairnessTable& table);
// The table FairnessTableJson gave; throws nlohmann::json::exception on a missing or mistyped key
// (its callers read whole records and say which).
FairnessTable FairnessTableFromJson(const nlohmann::json& json);

}  // namespace cartable::models
