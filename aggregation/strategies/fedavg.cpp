#include "aggregation/strategies/fedavg.h"

#include <string>

namespace cartable::aggregation {

StatusOr<Eigen::VectorXd> WeightedMeanDelta(const UpdateSum& sum) {
  if (sum.contributors == 0 || sum.total_weight <= 0) {
    return FailedPreconditionError("no update to average: the round has no contributor");
  }
  return Eigen::VectorXd(sum.weighted_delta / sum.total_weight);
}

StatusOr<std::vector<float>> FedAvg::NextModel(std::span<const float> global,
                                               const UpdateSum& sum) {
  if (static_cast<Eigen::Index>(global.size()) != sum.weighted_delta.size()) {
    return InvalidArgumentError("update sum has " + std::to_string(sum.weighted_delta.size()) +
                                " values, the model has " + std::to_string(global.size()));
  }
  CARTABLE_ASSIGN_OR_RETURN(Eigen::VectorXd mean, WeightedMeanDelta(sum));
  std::vector<float> next(global.size());
  for (size_t i = 0; i < global.size(); ++i) {
    next[i] =
        static_cast<float>(global[i] + server_learning_rate_ * mean[static_cast<Eigen::Index>(i)]);
  }
  return next;
}

StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const std::string& name) {
  if (name == "fedavg") return std::unique_ptr<Strategy>(std::make_unique<FedAvg>());
  return InvalidArgumentError("unknown strategy '" + name + "' (known: fedavg)");
}

}  // namespace cartable::aggregation
