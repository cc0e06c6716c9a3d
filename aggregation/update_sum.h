#pragma once

// UpdateSum: Σ wᵢ·Δᵢ and Σ wᵢ over a round's contributors — everything secure aggregation lets a
// Strategy learn about the nodes' updates. The coordinator unpacks it from the sum of the nodes'
// contributions (exchange/contribution.h), made in the clear for comparison runs or unmasked by
// secure aggregation, so the averaging strategies never see an individual update either way (only
// the robust strategies of plain runs do: Strategy::NextModelFromUpdates).

#include <Eigen/Core>

namespace cartable::aggregation {

struct UpdateSum {
  Eigen::VectorXd weighted_delta;  // Σ wᵢ·Δᵢ
  double total_weight = 0;         // Σ wᵢ
  int contributors = 0;
};

}  // namespace cartable::aggregation
