#pragma once

// FedAdagrad, FedAdam and FedYogi: the adaptive server optimisers of Reddi et al., "Adaptive
// Federated Optimization" (ICLR 2021), Algorithm 2. The round's weighted mean delta Δ is the
// pseudo-gradient; it points downhill, hence the + in the step:
//   m ← β₁·m + (1 − β₁)·Δ
//   Adagrad  v ← v + Δ²
//   Adam     v ← β₂·v + (1 − β₂)·Δ²
//   Yogi     v ← v − (1 − β₂)·Δ²·sign(v − Δ²)
//   x ← x + η·m / (√v + τ)
// element-wise, in double, from m₀ = 0 and v₀ = τ², without bias correction (as in the paper).
// State (SaveState): m then v, each one double per model value. Owns its moments; not thread safe.

#include <span>
#include <string>
#include <vector>

#include "aggregation/strategies/strategy.h"

namespace cartable::aggregation {

struct FedOptOptions {
  double server_learning_rate = 0.01;  // η, > 0
  double beta1 = 0.9;                  // β₁ in [0, 1): the first moment's decay
  double beta2 = 0.99;                 // β₂ in [0, 1): the second moment's (Adam, Yogi)
  double tau = 1e-3;                   // τ > 0: how adaptive the step is (smaller is more)
};

class FedOpt final : public Strategy {
 public:
  enum class Variant { kAdagrad, kAdam, kYogi };

  // Options in range: CreateStrategy checks them, the constructor aborts otherwise.
  explicit FedOpt(Variant variant, const FedOptOptions& options = {});

  std::string name() const override;  // "fedadagrad", "fedadam" or "fedyogi"
  StatusOr<std::vector<float>> NextModel(std::span<const float> global,
                                         const UpdateSum& sum) override;
  std::vector<double> SaveState() const override;
  Status RestoreState(std::span<const double> state, size_t model_size) override;

 private:
  Eigen::VectorXd NextSecondMoment(const Eigen::VectorXd& delta) const;

  Variant variant_;
  FedOptOptions options_;
  Eigen::VectorXd first_moment_;   // m; empty until the first round
  Eigen::VectorXd second_moment_;  // v; empty until the first round
};

}  // namespace cartable::aggregation
