#include "aggregation/strategies/fedopt.h"

#include <cmath>

#include "aggregation/strategies/fedavg.h"
#include "aggregation/strategies/internal/checks.h"

namespace cartable::aggregation {

FedOpt::FedOpt(Variant variant, const FedOptOptions& options)
    : variant_(variant), options_(options) {
  CARTABLE_CHECK(std::isfinite(options.server_learning_rate) && options.server_learning_rate > 0)
      << options.server_learning_rate;
  CARTABLE_CHECK(options.beta1 >= 0 && options.beta1 < 1) << options.beta1;
  CARTABLE_CHECK(options.beta2 >= 0 && options.beta2 < 1) << options.beta2;
  CARTABLE_CHECK(std::isfinite(options.tau) && options.tau > 0) << options.tau;
}

std::string FedOpt::name() const {
  switch (variant_) {
    case Variant::kAdagrad:
      return "fedadagrad";
    case Variant::kAdam:
      return "fedadam";
    case Variant::kYogi:
      return "fedyogi";
  }
  return "fedopt";
}

Eigen::VectorXd FedOpt::NextSecondMoment(const Eigen::VectorXd& delta) const {
  const Eigen::ArrayXd v = second_moment_.array();
  const Eigen::ArrayXd squared = delta.array().square();
  const double beta2 = options_.beta2;
  switch (variant_) {
    case Variant::kAdagrad:
      return v + squared;
    case Variant::kAdam:
      return beta2 * v + (1 - beta2) * squared;
    case Variant::kYogi:
      return v - (1 - beta2) * squared * (v - squared).sign();
  }
  return v;
}

StatusOr<std::vector<float>> FedOpt::NextModel(std::span<const float> global,
                                               const UpdateSum& sum) {
  CARTABLE_ASSIGN_OR_RETURN(Eigen::VectorXd delta, MeanDeltaFor(global, sum));
  CARTABLE_RETURN_IF_ERROR(
      internal::CheckModelMatchesState(name(), first_moment_.size(), global.size()));
  if (first_moment_.size() == 0) {
    first_moment_ = Eigen::VectorXd::Zero(delta.size());
    second_moment_ = Eigen::VectorXd::Constant(delta.size(), options_.tau * options_.tau);
  }
  first_moment_ = options_.beta1 * first_moment_ + (1 - options_.beta1) * delta;
  second_moment_ = NextSecondMoment(delta);
  const Eigen::VectorXd step = options_.server_learning_rate * first_moment_.array() /
                               (second_moment_.array().sqrt() + options_.tau);
  return AddStep(global, step);
}

std::vector<double> FedOpt::SaveState() const {
  std::vector<double> state;
  internal::AppendBlock(first_moment_, state);
  internal::AppendBlock(second_moment_, state);
  return state;
}

Status FedOpt::RestoreState(std::span<const double> state, size_t model_size) {
  CARTABLE_RETURN_IF_ERROR(internal::CheckStateSize(name(), state.size(), model_size, 2));
  if (state.empty()) {
    first_moment_.resize(0);
    second_moment_.resize(0);
    return Status::Ok();
  }
  const std::span<const double> m = internal::StateBlock(state, model_size, 0);
  const std::span<const double> v = internal::StateBlock(state, model_size, 1);
  CARTABLE_RETURN_IF_ERROR(internal::CheckStateValues(name(), "m", m, false));
  CARTABLE_RETURN_IF_ERROR(internal::CheckStateValues(name(), "v", v, true));
  first_moment_ = internal::ToVector(m);
  second_moment_ = internal::ToVector(v);
  return Status::Ok();
}

}  // namespace cartable::aggregation
