#pragma once

// FedAvg (McMahan et al., AISTATS 2017): the next model is the current one plus the
// example-weighted mean of the nodes' updates, scaled by a server learning rate (1 = plain FedAvg).

#include "aggregation/strategies/strategy.h"

namespace cartable::aggregation {

// Σ wᵢ·Δᵢ / Σ wᵢ, the pure kernel every averaging strategy starts from.
StatusOr<Eigen::VectorXd> WeightedMeanDelta(const UpdateSum& sum);

class FedAvg final : public Strategy {
 public:
  explicit FedAvg(double server_learning_rate = 1.0)
      : server_learning_rate_(server_learning_rate) {}
  std::string name() const override { return "fedavg"; }
  StatusOr<std::vector<float>> NextModel(std::span<const float> global,
                                         const UpdateSum& sum) override;

 private:
  double server_learning_rate_;
};

}  // namespace cartable::aggregation
