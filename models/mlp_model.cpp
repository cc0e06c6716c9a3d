// Feed-forward early-warning models over pupil records: `layers` hidden layers of `hidden_size`
// ReLU units (with optional dropout), then one logit. With no hidden layer it is logistic
// regression. Parameters (flat order), per hidden layer l = 1..L: PREFIX.layerL.weight[H, in],
// PREFIX.layerL.bias[H]; then PREFIX.output.weight[1, in], PREFIX.output.bias[1] (PREFIX.weight,
// PREFIX.bias when L = 0).

#include "models/internal/mlp_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "models/internal/tensor_parameters.h"
#include "models/internal/training_loop.h"
#include "models/model_options.h"

namespace cartable::models::internal {
namespace {

constexpr uint64_t kInitSeed =
    0x6361727461626c65;  // "cartable": the same initial model on every node

class FeedForwardModel final : public Model {
 public:
  FeedForwardModel(const ModelSpec& spec, const FeedForwardShape& shape)
      : spec_(spec), shape_(shape) {
    std::mt19937_64 rng(kInitSeed);
    int64_t in = spec.num_features;
    for (int64_t l = 0; l <= shape.layers; ++l) {
      const int64_t out = l < shape.layers ? shape.hidden_size : 1;
      const std::string name = l < shape.layers   ? shape.prefix + ".layer" + std::to_string(l + 1)
                               : shape.layers > 0 ? shape.prefix + ".output"
                                                  : shape.prefix;
      const float bound = shape.layers == 0 ? 0.0f : 1.0f / std::sqrt(static_cast<float>(in));
      blocks_.push_back({name + ".weight", {out, in}});
      blocks_.push_back({name + ".bias", {out}});
      tensors_.push_back(Uniform({out, in}, bound, rng));
      tensors_.push_back(Uniform({out}, bound, rng));
      in = out;
    }
  }

  const ModelSpec& spec() const override { return spec_; }
  ModelInput input() const override { return ModelInput::kPupilRecords; }
  std::vector<ParameterBlock> parameter_layout() const override { return blocks_; }

  size_t num_parameters() const override { return CountParameters(tensors_); }
  std::vector<float> GetParameters() const override { return FlattenParameters(tensors_); }
  Status SetParameters(std::span<const float> parameters) override {
    return LoadParameters(
        tensors_, parameters,
        "the " + spec_.name + " model over " + std::to_string(spec_.num_features) + " features");
  }

  StatusOr<TrainReport> Train(const InteractionLog& log, const TrainOptions& options) override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    return RunTrainingLoop(tensors_, spec_.torch_threads, options, [&] {
      auto [x, y] = Inputs(log);
      std::function<torch::Tensor(const torch::Tensor&)> regularise;
      if (shape_.l2 > 0) regularise = [this](const torch::Tensor& loss) { return WithL2(loss); };
      return PerExampleProblem(
          log.records.pupil, y, options.seed,
          [this, x = x](const torch::Tensor& idx, at::Generator* dropout) {
            return Logits(x.index_select(0, idx), dropout);
          },
          regularise);
    });
  }

  StatusOr<std::vector<float>> Predict(const InteractionLog& log) const override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    return RunPrediction(spec_.torch_threads,
                         [&] { return torch::sigmoid(Logits(Inputs(log).first, nullptr)); });
  }

 private:
  static torch::Tensor Uniform(std::vector<int64_t> shape, float bound, std::mt19937_64& rng) {
    torch::Tensor t = torch::zeros(shape);
    std::uniform_real_distribution<float> draw(-bound, bound);
    if (bound > 0) std::generate_n(t.data_ptr<float>(), t.numel(), [&] { return draw(rng); });
    return t.requires_grad_();
  }

  Status CheckLog(const InteractionLog& log) const {
    if (log.records.size() == 0)
      return InvalidArgumentError("no pupil record to learn from or predict");
    if (log.records.num_features() != spec_.num_features) {
      return InvalidArgumentError("the data's pupil records have " +
                                  std::to_string(log.records.num_features()) + " columns but the " +
                                  spec_.name + " model expects " +
                                  std::to_string(spec_.num_features));
    }
    return Status::Ok();
  }

  static std::pair<torch::Tensor, torch::Tensor> Inputs(const InteractionLog& log) {
    const PupilRecords& r = log.records;
    const int64_t n = static_cast<int64_t>(r.size());
    std::vector<float> labels(r.outcome.begin(), r.outcome.end());
    torch::Tensor x = torch::from_blob(const_cast<float*>(r.features.data()),
                                       {n, static_cast<int64_t>(r.num_features())})
                          .clone();
    return {x, torch::from_blob(labels.data(), {n}).clone()};
  }

  // loss + ½·l2·‖W‖² over the weight matrices (the biases are not penalised).
  torch::Tensor WithL2(const torch::Tensor& loss) const {
    torch::Tensor objective = loss;
    for (size_t i = 0; i < tensors_.size(); i += 2) {
      objective = objective + 0.5 * shape_.l2 * tensors_[i].pow(2).sum();
    }
    return objective;
  }

  // Dropout applies when a generator is given (training).
  torch::Tensor Logits(torch::Tensor h, at::Generator* dropout_rng) const {
    for (int64_t l = 0; l < shape_.layers; ++l) {
      h = torch::relu(torch::addmm(tensors_[2 * l + 1], h, tensors_[2 * l].t()));
      h = Dropout(h, shape_.dropout, dropout_rng);
    }
    const size_t out = 2 * static_cast<size_t>(shape_.layers);
    return torch::addmm(tensors_[out + 1], h, tensors_[out].t()).squeeze(1);
  }

  ModelSpec spec_;
  FeedForwardShape shape_;
  std::vector<ParameterBlock> blocks_;
  std::vector<torch::Tensor> tensors_;  // weight, bias of each layer, in layout order
};

}  // namespace

StatusOr<std::unique_ptr<Model>> NewFeedForwardModel(const ModelSpec& spec,
                                                     const FeedForwardShape& shape) {
  return std::unique_ptr<Model>(std::make_unique<FeedForwardModel>(spec, shape));
}

StatusOr<std::unique_ptr<Model>> NewMlpModel(const ModelSpec& spec) {
  ModelOptions options(spec);
  FeedForwardShape shape{"mlp"};
  CARTABLE_ASSIGN_OR_RETURN(shape.hidden_size, options.Integer("hidden_size", 32, 1, 4096));
  CARTABLE_ASSIGN_OR_RETURN(shape.layers, options.Integer("layers", 1, 1, 8));
  CARTABLE_ASSIGN_OR_RETURN(shape.dropout, options.Real("dropout", 0.0, 0.0, 0.9));
  CARTABLE_ASSIGN_OR_RETURN(shape.l2, options.Real("l2", 0.0, 0.0, 10.0));
  CARTABLE_RETURN_IF_ERROR(options.Finish());
  return NewFeedForwardModel(spec, shape);
}

}  // namespace cartable::models::internal
