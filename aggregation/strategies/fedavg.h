#pragma once

// FedAvg (McMahan et al., AISTATS 2017): the next model is the current one plus the
// example-weighted mean of the nodes' updates, scaled by a server learning rate (1 = plain FedAvg).
// Stateless, so SaveState() is empty. Also the pure kernels every averaging strategy starts from.
// Not thread safe (Strategy); the free functions are.

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/strategies/strategy.h"

namespace cartable::aggregation {

// Σ wᵢ·Δᵢ / Σ wᵢ. kFailedPrecondition when the round has no contributor.
StatusOr<Eigen::VectorXd> WeightedMeanDelta(const UpdateSum& sum);

// WeightedMeanDelta, after checking the sum has the model's dimension (kInvalidArgument naming
// both): what each strategy's NextModel starts from.
StatusOr<Eigen::VectorXd> MeanDeltaFor(std::span<const float> global, const UpdateSum& sum);

// global + step, computed in double and rounded once to float: the next model. Same sizes.
std::vector<float> AddStep(std::span<const float> global, const Eigen::VectorXd& step);

class FedAvg final : public Strategy {
 public:
  // `name` says which catalog entry it is: FedProx averages as FedAvg does.
  explicit FedAvg(double server_learning_rate = 1.0, std::string name = "fedavg")
      : server_learning_rate_(server_learning_rate), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  StatusOr<std::vector<float>> NextModel(std::span<const float> global,
                                         const UpdateSum& sum) override;
  std::vector<double> SaveState() const override { return {}; }
  Status RestoreState(std::span<const double> state, size_t model_size) override;

 private:
  double server_learning_rate_;
  std::string name_;
};

}  // namespace cartable::aggregation
