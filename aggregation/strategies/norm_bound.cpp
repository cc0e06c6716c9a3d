#include "aggregation/strategies/norm_bound.h"

#include <cmath>
#include <string>

#include "aggregation/strategies/internal/checks.h"

namespace cartable::aggregation {
namespace {

void Scale(std::span<float> values, double factor) {
  for (float& value : values) value = static_cast<float>(value * factor);
}

}  // namespace

double L2Norm(std::span<const float> values) {
  double squares = 0;
  for (float value : values) squares += static_cast<double>(value) * value;
  return std::sqrt(squares);
}

StatusOr<double> BoundNorm(std::span<float> delta, double max_norm) {
  if (!std::isfinite(max_norm) || max_norm <= 0) {
    return InvalidArgumentError("max_norm = " + internal::NumberText(max_norm) +
                                " is out of range; allowed: (0, inf)");
  }
  const double norm = L2Norm(delta);
  if (!std::isfinite(norm)) {
    return InvalidArgumentError("the update to bound holds a value that is not finite");
  }
  if (norm <= max_norm) return norm;
  Scale(delta, max_norm / norm);
  // Rounding to float may leave the norm a few ulps above the bound: shave until it holds. Each
  // pass lowers every value of magnitude above 2^-126 by an ulp at least, so few passes are needed.
  constexpr double kShave = 1.0 - 0x1p-23;
  for (int pass = 0; pass < 64 && L2Norm(delta) > max_norm; ++pass) Scale(delta, kShave);
  return norm;
}

}  // namespace cartable::aggregation
