#pragma once

// Model: a learning-analytics model behind a torch-free interface, so that nodes, the coordinator
// and the simulations never include torch. Parameters travel as one flat float vector in a fixed
// order (see parameter_layout()). Training is deterministic for a given seed and, by default, uses
// one torch thread: simulations run many trainings side by side and parallelise across nodes
// instead. A Model is not thread safe; give each thread its own.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/dataset.h"

namespace cartable::models {

struct ModelSpec {
  std::string name = "pfa";   // see KnownModels()
  uint32_t num_skills = 0;    // size of the skill space shared by the federation
  uint32_t num_items = 0;     // size of the item space; 0 when the data carry no item ids
  uint32_t num_features = 0;  // columns of PupilRecords, for models that read them
  // Hyperparameters by name, as text ("hidden_size" → "64", "cell" → "gru"); each model parses and
  // checks its own, and refuses names it does not know. They travel to the nodes with the model's
  // name.
  std::map<std::string, std::string> options;
  int torch_threads = 1;  // intra-op threads for this model's training and prediction
};

// What a model reads and predicts: the answers of an InteractionLog (knowledge tracing: one
// probability of a right answer per interaction) or its PupilRecords (early warning: one
// probability of the outcome per record).
enum class ModelInput { kAnswers, kPupilRecords };

// DP-SGD with the pupil as the unit (Abadi et al., CCS 2016; all of one pupil's answers or records
// count as one): each step draws every pupil with probability `sampling_rate` (Poisson sampling),
// takes the gradient of each drawn pupil's mean loss, clips it to L2 norm `clip_norm` (all
// parameters together), sums them, adds Gaussian noise of standard deviation noise_multiplier ×
// clip_norm to every coordinate, and divides by the expected batch, sampling_rate × pupils. A
// training of E epochs takes ceil(E / sampling_rate) steps. The draws and the noise must be secret
// from whoever sees the result: `secret_seed` 0 (the default) seeds them from the OS; tests pass
// another to repeat a training.
struct PupilDp {
  double noise_multiplier = 0;
  double clip_norm = 1;
  double sampling_rate = 0.01;
  uint64_t secret_seed = 0;
};

// The steps of a DP-SGD training of `epochs` epochs at `sampling_rate`: ceil(epochs / rate).
int64_t PupilDpSteps(int epochs, double sampling_rate);

struct TrainOptions {
  int epochs = 1;
  int batch_size = 256;
  double learning_rate = 0.05;  // Adam step size
  uint64_t seed = 0;            // order of the examples in each epoch
  // FedProx (Li et al., MLSys 2020): above 0, each step's objective gains μ/2·‖w − w₀‖², w₀ the
  // parameters training started from, which keeps a school's model near the federation's.
  double proximal_mu = 0;
  // Set: DP-SGD per pupil instead of shuffled batches (batch_size is then unused).
  std::optional<PupilDp> dp;
  // Called after each epoch with its number (from 1) and mean loss: progress for long trainings.
  std::function<void(int epoch, double mean_loss)> on_epoch;
};

struct TrainReport {
  // Mean binary cross-entropy over the last epoch; with DP-SGD, the summed loss of every pupil
  // drawn divided by the answers expected to be drawn.
  double mean_loss = 0;
  int64_t examples = 0;  // examples seen per epoch
  int64_t steps = 0;     // optimiser steps taken
  int64_t pupils = 0;    // distinct pupils trained on
};

struct ParameterBlock {
  std::string name;
  std::vector<int64_t> shape;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelSpec& spec() const = 0;
  virtual ModelInput input() const { return ModelInput::kAnswers; }
  virtual std::vector<ParameterBlock> parameter_layout() const = 0;
  virtual size_t num_parameters() const = 0;
  virtual std::vector<float> GetParameters() const = 0;
  // Fails on a vector of the wrong length or with non-finite values; the model is then unchanged.
  virtual Status SetParameters(std::span<const float> parameters) = 0;

  // Fails on an empty log (no interactions, or no records for a records model), or skills, items or
  // features outside the model's spaces.
  virtual StatusOr<TrainReport> Train(const InteractionLog& log, const TrainOptions& options) = 0;
  // One probability per interaction (kAnswers) or per record (kPupilRecords), in the log's order.
  virtual StatusOr<std::vector<float>> Predict(const InteractionLog& log) const = 0;
};

// Builds a freshly initialised model. An unknown name, an empty skill space (answer models) or
// feature space (records models), or an option the model does not know or cannot parse is an error
// naming it.
StatusOr<std::unique_ptr<Model>> CreateModel(const ModelSpec& spec);

// The model names CreateModel knows, with a one-line description each, for --help and error
// messages.
std::vector<std::pair<std::string, std::string>> KnownModels();

// What the model of this name reads; kInvalidArgument for an unknown name.
StatusOr<ModelInput> InputOf(const std::string& model_name);

// The labels a model of this input kind is scored against, in the log's order: the 0/1 answers, or
// the records' outcomes.
std::vector<uint8_t> Labels(const InteractionLog& log, ModelInput input = ModelInput::kAnswers);

}  // namespace cartable::models
