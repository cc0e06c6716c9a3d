#pragma once

// Factories of the feed-forward early-warning models over pupil records. The class lives in
// mlp_model.cpp, the only place that sees its torch tensors. Features are used as the adapter
// scaled them (documented per format, most in [0, 1] and none far beyond 3): the model does not
// standardise, so its parameters stay one flat vector that federates with nothing else to agree on.

#include <memory>
#include <string>

#include "models/model.h"

namespace cartable::models::internal {

struct FeedForwardShape {
  std::string prefix;       // parameter block names start with it ("logistic", "mlp")
  int64_t hidden_size = 0;  // units per hidden layer
  int64_t layers = 0;       // hidden layers; 0 is logistic regression
  double dropout = 0;       // drop probability after each hidden ReLU, in training only
  double l2 = 0;            // weight of ½‖W‖² over the weight matrices, added to the loss
};

// A model of this shape over spec.num_features inputs. Weights start from a fixed-seed uniform draw
// (±1/√fan-in; zero for logistic regression), so every node builds the same initial model.
StatusOr<std::unique_ptr<Model>> NewFeedForwardModel(const ModelSpec& spec,
                                                     const FeedForwardShape& shape);

// Options: hidden_size (default 32, in [1, 4096]), layers (default 1, in [1, 8]), dropout (default
// 0, in [0, 0.9]), l2 (default 0, in [0, 10]).
StatusOr<std::unique_ptr<Model>> NewMlpModel(const ModelSpec& spec);

}  // namespace cartable::models::internal
