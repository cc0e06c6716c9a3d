#pragma once

// Factories of the item-response-theory models (irt1pl, irt2pl); the class lives in irt_model.cpp,
// the only place that sees its torch tensors. Neither has options.

#include <memory>

#include "models/model.h"

namespace cartable::models::internal {

StatusOr<std::unique_ptr<Model>> NewIrt1plModel(const ModelSpec& spec);
StatusOr<std::unique_ptr<Model>> NewIrt2plModel(const ModelSpec& spec);

}  // namespace cartable::models::internal
