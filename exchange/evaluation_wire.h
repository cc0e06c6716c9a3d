#pragma once

// Evaluation statistics and the subgroups they are asked for, as they travel without secure
// aggregation (EvaluateRequest's groups, EvaluateResult; protocol/messages.h) and back. A peer's
// result is checked (models::SummableMetrics::Check, pupils, subgroup count) before it counts.

#include <vector>

#include "core/status.h"
#include "models/fairness.h"
#include "protocol/messages.h"

namespace cartable::exchange {

std::vector<protocol::WireAttribute> ToWire(const std::vector<models::Attribute>& attributes);
std::vector<models::Attribute> AttributesOf(const std::vector<protocol::WireAttribute>& groups);

protocol::EvaluateResult ToWire(models::EvaluationStatistics statistics);
// The statistics a node sent for `subgroups` subgroups; kInvalidArgument names what no evaluation
// gives.
StatusOr<models::EvaluationStatistics> StatisticsOf(const protocol::EvaluateResult& result,
                                                    size_t subgroups);

}  // namespace cartable::exchange
