#pragma once

// UpdateSums for the strategy tests, built so that the weighted mean a strategy computes from them
// is exactly the values a test writes down.

#include <Eigen/Core>
#include <initializer_list>
#include <vector>

#include "aggregation/update_sum.h"

namespace cartable::aggregation::testing {

// Two contributors of weight 2 each whose weighted mean delta is `mean`: Σ wᵢΔᵢ = 4·mean, Σ wᵢ =
// 4, so the division is exact.
inline UpdateSum SumWithMean(const std::vector<double>& mean) {
  UpdateSum sum;
  sum.weighted_delta =
      4 * Eigen::Map<const Eigen::VectorXd>(mean.data(), static_cast<Eigen::Index>(mean.size()));
  sum.total_weight = 4;
  sum.contributors = 2;
  return sum;
}

// A round nobody contributed to.
inline UpdateSum EmptySum(size_t dimension) {
  UpdateSum sum;
  sum.weighted_delta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(dimension));
  return sum;
}

}  // namespace cartable::aggregation::testing
