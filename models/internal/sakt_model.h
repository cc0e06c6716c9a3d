#pragma once

// Factory of the Self-Attentive Knowledge Tracing model; the class lives in sakt_model.cpp, the
// only place that sees its torch tensors.

#include <memory>

#include "models/model.h"

namespace cartable::models::internal {

// Options: embedding_size (default 64, in [2, 1024]), heads (default 2, in [1, 16], dividing
// embedding_size), max_length (default 100, in [2, 10000]: longer pupil sequences are cut into
// windows of this many answers), dropout (default 0.2 as in the paper, in [0, 0.9]).
StatusOr<std::unique_ptr<Model>> NewSaktModel(const ModelSpec& spec);

}  // namespace cartable::models::internal
