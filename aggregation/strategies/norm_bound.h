#pragma once

// Norm bounding (Sun et al., "Can You Really Backdoor Federated Learning?", 2019): each node
// scales its own update down to an L2 norm of at most max_norm before packing (and masking) its
// contribution, so no single node can dominate the sum, and the bound holds under secure
// aggregation, where the server never sees an individual update to clip. A pure function on a
// borrowed vector, which it modifies in place; thread safe on distinct vectors.

#include <span>

#include "core/status.h"

namespace cartable::aggregation {

// ‖values‖₂, summed in double over the floats: the norm BoundNorm bounds.
double L2Norm(std::span<const float> values);

// Scales `delta` by max_norm / ‖delta‖₂ when its norm exceeds max_norm, leaving it untouched
// otherwise, and returns its norm BEFORE scaling (compare it with max_norm to know whether, and by
// how much, it was clipped). Afterwards ‖delta‖₂ ≤ max_norm holds exactly (computed in double over
// the floats, for any max_norm above float's subnormal range), and a clipped delta's norm is
// max_norm to within a float's rounding. kInvalidArgument, leaving `delta` untouched, when
// max_norm is not finite and > 0 or when delta holds a value that is not finite.
StatusOr<double> BoundNorm(std::span<float> delta, double max_norm);

}  // namespace cartable::aggregation
