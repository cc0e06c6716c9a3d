#pragma once

// Factory of the Deep Knowledge Tracing model; the class lives in dkt_model.cpp, the only place
// that sees its torch modules.

#include <memory>

#include "models/model.h"

namespace cartable::models::internal {

// Options: cell (lstm or gru, default lstm), hidden_size (default 64, in [1, 1024]), layers
// (default 1, in [1, 4]), dropout (default 0, in [0, 0.9]), max_length (default 200, in [2, 10000]:
// longer pupil sequences are cut into windows of this many answers).
StatusOr<std::unique_ptr<Model>> NewDktModel(const ModelSpec& spec);

}  // namespace cartable::models::internal
