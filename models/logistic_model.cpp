// Logistic regression over pupil records: P(outcome) = σ(b + w·x). The weights read directly as
// each feature's log-odds effect on the scale the adapter gives it.

#include "models/internal/logistic_model.h"

#include "models/internal/mlp_model.h"
#include "models/model_options.h"

namespace cartable::models::internal {

StatusOr<std::unique_ptr<Model>> NewLogisticModel(const ModelSpec& spec) {
  ModelOptions options(spec);
  FeedForwardShape shape{"logistic"};
  CARTABLE_ASSIGN_OR_RETURN(shape.l2, options.Real("l2", 0.0, 0.0, 10.0));
  CARTABLE_RETURN_IF_ERROR(options.Finish());
  return NewFeedForwardModel(spec, shape);
}

}  // namespace cartable::models::internal
