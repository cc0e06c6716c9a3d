#pragma once

// Checks, copies and error texts shared by the strategies. A checkpointed state is `blocks`
// vectors of model-size doubles laid end to end, or empty before the first round. Pure functions;
// thread safe.

#include <Eigen/Core>
#include <span>
#include <string>
#include <vector>

#include "core/number_text.h"
#include "core/status.h"

namespace cartable::aggregation::internal {

// Ok when `state_size` is 0 or blocks × model_size; else kInvalidArgument naming the strategy,
// the size expected and the size given.
Status CheckStateSize(const std::string& strategy, size_t state_size, size_t model_size,
                      size_t blocks);

// Ok when every value is finite (and ≥ 0 when `non_negative`); else kInvalidArgument naming the
// strategy, `what` and the first bad value's index.
Status CheckStateValues(const std::string& strategy, const std::string& what,
                        std::span<const double> values, bool non_negative);

// Ok when a state of `state_size` values per block is empty or was built for a model of
// `model_size` values; else kInvalidArgument naming both.
Status CheckModelMatchesState(const std::string& strategy, Eigen::Index state_size,
                              size_t model_size);

using ::cartable::NumberText;  // core/number_text.h

// Block `index` (of model_size values) of a checkpointed state.
std::span<const double> StateBlock(std::span<const double> state, size_t model_size, size_t index);
Eigen::VectorXd ToVector(std::span<const double> values);

// Appends `block` to a state being saved.
void AppendBlock(const Eigen::VectorXd& block, std::vector<double>& state);

}  // namespace cartable::aggregation::internal
