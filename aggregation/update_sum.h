#pragma once

// UpdateSum: Σ wᵢ·Δᵢ and Σ wᵢ over a round's contributors — everything a Strategy is allowed to
// learn about the nodes' updates. The coordinator unpacks it from the sum of the nodes'
// contributions (exchange/contribution.h), made in the clear for comparison runs or unmasked by
// secure aggregation, so strategies never see an individual update either way.

#include <Eigen/Core>

namespace cartable::aggregation {

struct UpdateSum {
  Eigen::VectorXd weighted_delta;  // Σ wᵢ·Δᵢ
  double total_weight = 0;         // Σ wᵢ
  int contributors = 0;
};

}  // namespace cartable::aggregation
