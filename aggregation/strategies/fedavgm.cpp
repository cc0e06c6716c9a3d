#include "aggregation/strategies/fedavgm.h"

#include <cmath>

#include "aggregation/strategies/fedavg.h"
#include "aggregation/strategies/internal/checks.h"

namespace cartable::aggregation {

FedAvgM::FedAvgM(double server_learning_rate, double momentum)
    : server_learning_rate_(server_learning_rate), momentum_(momentum) {
  CARTABLE_CHECK(std::isfinite(server_learning_rate) && server_learning_rate > 0)
      << server_learning_rate;
  CARTABLE_CHECK(momentum >= 0 && momentum < 1) << momentum;
}

StatusOr<std::vector<float>> FedAvgM::NextModel(std::span<const float> global,
                                                const UpdateSum& sum) {
  CARTABLE_ASSIGN_OR_RETURN(Eigen::VectorXd delta, MeanDeltaFor(global, sum));
  CARTABLE_RETURN_IF_ERROR(
      internal::CheckModelMatchesState(name(), velocity_.size(), global.size()));
  if (velocity_.size() == 0) velocity_ = Eigen::VectorXd::Zero(delta.size());
  velocity_ = momentum_ * velocity_ + delta;
  return AddStep(global, server_learning_rate_ * velocity_);
}

std::vector<double> FedAvgM::SaveState() const {
  std::vector<double> state;
  internal::AppendBlock(velocity_, state);
  return state;
}

Status FedAvgM::RestoreState(std::span<const double> state, size_t model_size) {
  CARTABLE_RETURN_IF_ERROR(internal::CheckStateSize(name(), state.size(), model_size, 1));
  CARTABLE_RETURN_IF_ERROR(internal::CheckStateValues(name(), "m", state, false));
  velocity_ = internal::ToVector(state);
  return Status::Ok();
}

}  // namespace cartable::aggregation
