#pragma once

// FedAvgM, FedAvg with server momentum (Hsu et al., 2019; Reddi et al., ICLR 2021): with Δ the
// weighted mean delta of the round, m ← β·m + Δ and x ← x + η·m, m starting at 0. β = 0 is FedAvg.
// State (SaveState): m, one double per model value. Owns its momentum; not thread safe.

#include <span>
#include <string>
#include <vector>

#include "aggregation/strategies/strategy.h"

namespace cartable::aggregation {

class FedAvgM final : public Strategy {
 public:
  // η > 0 and finite, β in [0, 1): CreateStrategy checks them, the constructor aborts otherwise.
  explicit FedAvgM(double server_learning_rate = 1.0, double momentum = 0.9);

  std::string name() const override { return "fedavgm"; }
  StatusOr<std::vector<float>> NextModel(std::span<const float> global,
                                         const UpdateSum& sum) override;
  std::vector<double> SaveState() const override;
  Status RestoreState(std::span<const double> state, size_t model_size) override;

 private:
  double server_learning_rate_;  // η
  double momentum_;              // β
  Eigen::VectorXd velocity_;     // m; empty until the first round
};

}  // namespace cartable::aggregation
