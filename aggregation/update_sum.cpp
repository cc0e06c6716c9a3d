#include "aggregation/update_sum.h"

#include <cmath>
#include <string>

namespace cartable::aggregation {

UpdateAccumulator::UpdateAccumulator(size_t dimension) {
  sum_.weighted_delta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dimension));
}

Status UpdateAccumulator::Add(std::span<const float> delta, double weight) {
  if (delta.size() != static_cast<size_t>(sum_.weighted_delta.size())) {
    return InvalidArgumentError("update has " + std::to_string(delta.size()) + " values, the model has " +
                                std::to_string(sum_.weighted_delta.size()));
  }
  if (!std::isfinite(weight) || weight <= 0) {
    return InvalidArgumentError("update weight must be positive and finite, got " +
                                std::to_string(weight));
  }
  Eigen::Map<const Eigen::VectorXf> values(delta.data(), static_cast<Eigen::Index>(delta.size()));
  if (!values.allFinite()) return InvalidArgumentError("update contains NaN or infinite values");
  sum_.weighted_delta += weight * values.cast<double>();
  sum_.total_weight += weight;
  sum_.contributors += 1;
  return Status::Ok();
}

}  // namespace cartable::aggregation
