#pragma once

// Factory of the PFA logistic model; the class itself lives in pfa_model.cpp, the only place that
// sees its torch tensors.

#include <memory>

#include "models/model.h"

namespace cartable::models::internal {

StatusOr<std::unique_ptr<Model>> NewPfaModel(const ModelSpec& spec);

}  // namespace cartable::models::internal
