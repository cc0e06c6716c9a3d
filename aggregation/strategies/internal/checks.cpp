#include "aggregation/strategies/internal/checks.h"

#include <charconv>
#include <cmath>

namespace cartable::aggregation::internal {

Status CheckStateSize(const std::string& strategy, size_t state_size, size_t model_size,
                      size_t blocks) {
  const size_t expected = blocks * model_size;
  if (state_size == 0 || state_size == expected) return Status::Ok();
  if (blocks == 0) {
    return InvalidArgumentError("strategy '" + strategy + "' keeps no state, but was given " +
                                std::to_string(state_size) + " values to restore");
  }
  return InvalidArgumentError(
      "strategy '" + strategy + "': the state to restore has " + std::to_string(state_size) +
      " values, expected " + std::to_string(expected) + " (" + std::to_string(blocks) +
      " blocks of the model's " + std::to_string(model_size) + ") or 0 (before the first round)");
}

Status CheckStateValues(const std::string& strategy, const std::string& what,
                        std::span<const double> values, bool non_negative) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || (non_negative && values[i] < 0)) {
      std::string message = "strategy '";
      message += strategy;
      message += "': the state to restore has ";
      message += what;
      message += "[" + std::to_string(i) + "] = ";
      message += NumberText(values[i]);
      message += ", which no round can produce";
      return InvalidArgumentError(message);
    }
  }
  return Status::Ok();
}

Status CheckModelMatchesState(const std::string& strategy, Eigen::Index state_size,
                              size_t model_size) {
  if (state_size == 0 || static_cast<size_t>(state_size) == model_size) return Status::Ok();
  return InvalidArgumentError("strategy '" + strategy + "' keeps state for a model of " +
                              std::to_string(state_size) + " values, the model has " +
                              std::to_string(model_size) + " (one strategy serves one run)");
}

std::span<const double> StateBlock(std::span<const double> state, size_t model_size, size_t index) {
  return state.subspan(index * model_size, model_size);
}

Eigen::VectorXd ToVector(std::span<const double> values) {
  return Eigen::Map<const Eigen::VectorXd>(values.data(), static_cast<Eigen::Index>(values.size()));
}

void AppendBlock(const Eigen::VectorXd& block, std::vector<double>& state) {
  state.insert(state.end(), block.data(), block.data() + block.size());
}

}  // namespace cartable::aggregation::internal
