#pragma once

// Model: a learning-analytics model behind a torch-free interface, so that nodes, the coordinator and the
// simulations never include torch. Parameters travel as one flat float vector in a fixed order (see
// parameter_layout()). Training is deterministic for a given seed and, by default, uses one torch thread:
// simulations run many trainings side by side and parallelise across nodes instead.
// A Model is not thread safe; give each thread its own.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/dataset.h"

namespace cartable::models {

struct ModelSpec {
  std::string name = "pfa";  // known: "pfa"
  uint32_t num_skills = 0;   // size of the skill space shared by the federation
  int torch_threads = 1;     // intra-op threads for this model's training and prediction
};

struct TrainOptions {
  int epochs = 1;
  int batch_size = 256;
  double learning_rate = 0.05;  // Adam step size
  uint64_t seed = 0;            // order of the examples in each epoch
  // Called after each epoch with its number (from 1) and mean loss: progress for long trainings.
  std::function<void(int epoch, double mean_loss)> on_epoch;
};

struct TrainReport {
  double mean_loss = 0;  // mean binary cross-entropy over the last epoch
  int64_t examples = 0;  // examples seen per epoch
};

struct ParameterBlock {
  std::string name;
  std::vector<int64_t> shape;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelSpec& spec() const = 0;
  virtual std::vector<ParameterBlock> parameter_layout() const = 0;
  virtual size_t num_parameters() const = 0;
  virtual std::vector<float> GetParameters() const = 0;
  // Fails on a vector of the wrong length or with non-finite values; the model is then unchanged.
  virtual Status SetParameters(std::span<const float> parameters) = 0;

  // Fails on an empty log or skills outside the model's skill space.
  virtual StatusOr<TrainReport> Train(const InteractionLog& log, const TrainOptions& options) = 0;
  // One probability of a correct answer per interaction, in the log's order.
  virtual StatusOr<std::vector<float>> Predict(const InteractionLog& log) const = 0;
};

// Builds a freshly initialised model. An unknown name or an empty skill space is an error.
StatusOr<std::unique_ptr<Model>> CreateModel(const ModelSpec& spec);

// The labels (0/1 answers) of a log, in its order, for the metrics.
std::vector<uint8_t> Labels(const InteractionLog& log);

}  // namespace cartable::models
