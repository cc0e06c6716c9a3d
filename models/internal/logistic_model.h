#pragma once

// Factory of the logistic-regression early-warning model (pupil records → P(outcome)); the network
// itself is the feed-forward model of mlp_model.cpp with no hidden layer.

#include <memory>

#include "models/model.h"

namespace cartable::models::internal {

// Options: l2 (default 0, in [0, 10]): weight of ½‖w‖² added to the loss (the bias is not
// penalised).
StatusOr<std::unique_ptr<Model>> NewLogisticModel(const ModelSpec& spec);

}  // namespace cartable::models::internal
