#pragma once

// Evaluation statistics and the subgroups they are asked for, as they travel without secure
// aggregation (EvaluateRequest's groups, EvaluateResult; protocol/messages.h) and back. A peer's
// result is checked (models::SummableMetrics::Check, pupils, subgroup count) before it counts.

#include <span>
#include <vector>

#include "core/status.h"
#include "models/fairness.h"
#include "protocol/messages.h"

namespace cartable::exchange {

std::vector<protocol::WireAttribute> ToWire(const std::vector<models::Attribute>& attributes);
std::vector<models::Attribute> AttributesOf(const std::vector<protocol::WireAttribute>& groups);

protocol::EvaluateResult ToWire(models::EvaluationStatistics statistics);
// The statistics a node sent for the subgroups of `attributes`; kInvalidArgument names what no
// evaluation gives (among it: one attribute's subgroups together holding more answers or pupils
// than all).
StatusOr<models::EvaluationStatistics> StatisticsOf(const protocol::EvaluateResult& result,
                                                    std::span<const models::Attribute> attributes);

}  // namespace cartable::exchange
