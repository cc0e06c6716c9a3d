#include "aggregation/strategies/fedavg.h"

#include <string>

#include "aggregation/strategies/internal/checks.h"

namespace cartable::aggregation {

StatusOr<Eigen::VectorXd> WeightedMeanDelta(const UpdateSum& sum) {
  if (sum.contributors == 0 || sum.total_weight <= 0) {
    return FailedPreconditionError("no update to average: the round has no contributor");
  }
  return Eigen::VectorXd(sum.weighted_delta / sum.total_weight);
}

StatusOr<Eigen::VectorXd> MeanDeltaFor(std::span<const float> global, const UpdateSum& sum) {
  if (static_cast<Eigen::Index>(global.size()) != sum.weighted_delta.size()) {
    return InvalidArgumentError("update sum has " + std::to_string(sum.weighted_delta.size()) +
                                " values, the model has " + std::to_string(global.size()));
  }
  return WeightedMeanDelta(sum);
}

std::vector<float> AddStep(std::span<const float> global, const Eigen::VectorXd& step) {
  CARTABLE_CHECK(static_cast<Eigen::Index>(global.size()) == step.size());
  std::vector<float> next(global.size());
  for (size_t i = 0; i < global.size(); ++i) {
    next[i] = static_cast<float>(global[i] + step[static_cast<Eigen::Index>(i)]);
  }
  return next;
}

StatusOr<std::vector<float>> FedAvg::NextModel(std::span<const float> global,
                                               const UpdateSum& sum) {
  CARTABLE_ASSIGN_OR_RETURN(Eigen::VectorXd mean, MeanDeltaFor(global, sum));
  return AddStep(global, server_learning_rate_ * mean);
}

Status FedAvg::RestoreState(std::span<const double> state, size_t model_size) {
  return internal::CheckStateSize(name(), state.size(), model_size, /*blocks=*/0);
}

}  // namespace cartable::aggregation
