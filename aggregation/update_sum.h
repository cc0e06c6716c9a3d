#pragma once

// UpdateSum: Σ wᵢ·Δᵢ and Σ wᵢ over a round's cohort — everything the coordinator is allowed to learn about
// the nodes' updates. Without secure aggregation an UpdateAccumulator adds the updates in the clear; with
// it, the unmasked sum arrives in this same shape, so strategies never see an individual update.
// Accumulation is in double precision so the order of arrival does not change the result in float.

#include <Eigen/Core>
#include <span>

#include "core/status.h"

namespace cartable::aggregation {

struct UpdateSum {
  Eigen::VectorXd weighted_delta;  // Σ wᵢ·Δᵢ
  double total_weight = 0;         // Σ wᵢ
  int contributors = 0;
};

class UpdateAccumulator {
 public:
  explicit UpdateAccumulator(size_t dimension);

  // Refuses (and leaves the sum unchanged) a delta of the wrong dimension, a non-finite value, or a weight
  // that is not positive and finite.
  Status Add(std::span<const float> delta, double weight);

  const UpdateSum& sum() const { return sum_; }

 private:
  UpdateSum sum_;
};

}  // namespace cartable::aggregation
