#pragma once

// Baselines a federated result is read against: the same model trained on the pooled data (what a
// single central warehouse would get — the ceiling federation aims for) and each school training
// alone (the floor it must beat). Both evaluate on the held-out pupils of the same split the nodes
// use.

#include <span>
#include <vector>

#include "core/status.h"
#include "models/dataset.h"
#include "models/model.h"

namespace cartable::simulations {

struct Scores {
  double auc = 0;
  double accuracy = 0;
  double log_loss = 0;
  double rmse = 0;
  uint64_t answers = 0;
};

// Scores probabilities against labels.
StatusOr<Scores> ScoresOf(std::span<const float> probabilities, std::span<const uint8_t> labels);

// Scores `model` as it stands on `test`.
StatusOr<Scores> Evaluate(const models::Model& model, const models::InteractionLog& test);

// Scores parameters of the model described by `spec` (e.g. a federation's final global model).
StatusOr<Scores> EvaluateParameters(const models::ModelSpec& spec,
                                    const std::vector<float>& parameters,
                                    const models::InteractionLog& test);

// Trains a fresh model on `train` and scores it on `test`.
StatusOr<Scores> TrainAndEvaluate(const models::ModelSpec& spec,
                                  const models::TrainOptions& options,
                                  const models::InteractionLog& train,
                                  const models::InteractionLog& test);

}  // namespace cartable::simulations
