// Deep Knowledge Tracing (Piech et al., 2015). At step t the recurrent cell reads the pupil's
// previous answer — an embedding of (skill, right or wrong) of answer t − 1, or of a start token at
// t = 0 — and its state after step t gives one logit per skill, read at the skill of answer t. The
// prediction for answer t therefore depends only on the answers before t. The embedding stands for
// DKT's one-hot input times the cell's input weights (the same function with fewer parameters for
// large skill spaces). Each pupil's answers are cut into windows of at most max_length answers
// (kt_sequences.h); the state starts from zero in each window, in training and prediction alike.
// Windows are padded into batches of TrainOptions::batch_size windows and run through the cell in
// one call per layer, padding masked out of the loss (right padding cannot reach earlier steps of a
// causal cell). The LSTM cell is SequenceLstm (sequence_lstm.h: torch::nn::LSTM's function and
// parameters with a leaner backward pass); the GRU cell is torch::nn::GRU. Parameters (flat order):
// dkt.embedding[2K + 1, H]; per layer l: dkt.CELLl.weight_ih[G·H, H], dkt.CELLl.weight_hh[G·H, H],
// dkt.CELLl.bias_ih[G·H], dkt.CELLl.bias_hh[G·H] (G = 4 for lstm, 3 for gru); dkt.output.weight[K,
// H], dkt.output.bias[K].

#include "models/internal/dkt_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "models/internal/kt_sequences.h"
#include "models/internal/sequence_lstm.h"
#include "models/internal/tensor_parameters.h"
#include "models/internal/training_loop.h"
#include "models/model_options.h"

namespace cartable::models::internal {
namespace {

constexpr uint64_t kInitSeed =
    0x6361727461626c65;  // "cartable": the same initial model on every node

struct DktShape {
  bool gru = false;
  int64_t hidden_size = 64;
  int64_t layers = 1;
  double dropout = 0;
  int64_t max_length = 200;
};

class DktModel final : public Model {
 public:
  DktModel(const ModelSpec& spec, const DktShape& shape) : spec_(spec), shape_(shape) {
    torch::NoGradGuard no_grad;
    const int64_t h = shape.hidden_size;
    const int64_t k = spec.num_skills;
    Add("dkt.embedding", torch::zeros({2 * k + 1, h}));
    for (int64_t l = 0; l < shape.layers; ++l) {
      const std::string prefix =
          std::string(shape.gru ? "dkt.gru" : "dkt.lstm") + std::to_string(l + 1);
      if (!shape.gru) {  // SequenceLstm reads the four tensors directly
        for (const char* name : {"weight_ih", "weight_hh"})
          Add(prefix + "." + name, torch::zeros({4 * h, h}));
        for (const char* name : {"bias_ih", "bias_hh"})
          Add(prefix + "." + name, torch::zeros({4 * h}));
        continue;
      }
      torch::nn::GRU gru = gru_.emplace_back(torch::nn::GRUOptions(h, h).batch_first(true));
      for (const auto& p : gru->named_parameters()) {
        const std::string name =
            p.key().substr(0, p.key().rfind("_l0"));  // weight_ih_l0 → weight_ih
        Add(prefix + "." + name, p.value());
      }
    }
    Add("dkt.output.weight", torch::zeros({k, h}));
    Add("dkt.output.bias", torch::zeros({k}));
    // PyTorch's RNN initialisation, U(±1/√H), drawn from a fixed seed; embedding rows U(±1).
    std::mt19937_64 rng(kInitSeed);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const float bound = i == 0 ? 1.0f : 1.0f / std::sqrt(static_cast<float>(h));
      std::uniform_real_distribution<float> draw(-bound, bound);
      std::generate_n(tensors_[i].data_ptr<float>(), tensors_[i].numel(),
                      [&] { return draw(rng); });
    }
  }

  const ModelSpec& spec() const override { return spec_; }
  std::vector<ParameterBlock> parameter_layout() const override { return blocks_; }

  size_t num_parameters() const override { return CountParameters(tensors_); }
  std::vector<float> GetParameters() const override { return FlattenParameters(tensors_); }
  Status SetParameters(std::span<const float> parameters) override {
    return LoadParameters(tensors_, parameters,
                          "the dkt model over " + std::to_string(spec_.num_skills) + " skills");
  }

  StatusOr<TrainReport> Train(const InteractionLog& log, const TrainOptions& options) override {
    CARTABLE_RETURN_IF_ERROR(CheckAnswers(log, spec_, /*uses_items=*/false));
    return RunTrainingLoop(tensors_, spec_.torch_threads, options, [&] {
      return WindowProblem(log, shape_.max_length, options.seed, LogitsOfWindows());
    });
  }

  StatusOr<std::vector<float>> Predict(const InteractionLog& log) const override {
    CARTABLE_RETURN_IF_ERROR(CheckAnswers(log, spec_, /*uses_items=*/false));
    return RunPrediction(spec_.torch_threads,
                         [&] { return PredictWindows(log, shape_.max_length, LogitsOfWindows()); });
  }

 private:
  void Add(const std::string& name, torch::Tensor t) {
    blocks_.push_back({name, t.sizes().vec()});
    tensors_.push_back(t.requires_grad_());
  }

  WindowLogits LogitsOfWindows() const {
    return [this](const torch::Tensor& token, const torch::Tensor& skill, at::Generator* dropout) {
      return Logits(token, skill, dropout);
    };
  }

  // Logits [B, T] of the answers at `skill` [B, T] given the previous answers `token` [B, T];
  // dropout after each layer when a generator is given (training).
  torch::Tensor Logits(const torch::Tensor& token, const torch::Tensor& skill,
                       at::Generator* rng) const {
    torch::Tensor h = torch::embedding(tensors_[0], token);
    for (int64_t l = 0; l < shape_.layers; ++l) {
      if (shape_.gru) {
        torch::nn::GRU cell = gru_[static_cast<size_t>(l)];  // a handle: forward() is not const
        h = std::get<0>(cell->forward(h));
      } else {
        const size_t first =
            1 + 4 * static_cast<size_t>(l);  // weight_ih, weight_hh, bias_ih, bias_hh
        h = SequenceLstm(h, tensors_[first], tensors_[first + 1], tensors_[first + 2],
                         tensors_[first + 3]);
      }
      h = Dropout(h, shape_.dropout, rng);
    }
    // Only the current skill's logit is needed: gather its output row instead of computing all K.
    const torch::Tensor& weight = tensors_[tensors_.size() - 2];
    const torch::Tensor& bias = tensors_.back();
    return (h * torch::embedding(weight, skill)).sum(2) +
           bias.index_select(0, skill.flatten()).view_as(skill);
  }

  ModelSpec spec_;
  DktShape shape_;
  std::vector<torch::nn::GRU> gru_;  // cell=gru only; cell=lstm runs SequenceLstm on tensors_
  std::vector<ParameterBlock> blocks_;
  std::vector<torch::Tensor>
      tensors_;  // in layout order; the GRU entries share their modules' storage
};

}  // namespace

StatusOr<std::unique_ptr<Model>> NewDktModel(const ModelSpec& spec) {
  ModelOptions options(spec);
  DktShape shape;
  CARTABLE_ASSIGN_OR_RETURN(const std::string cell,
                            options.Choice("cell", "lstm", {"lstm", "gru"}));
  shape.gru = cell == "gru";
  CARTABLE_ASSIGN_OR_RETURN(shape.hidden_size, options.Integer("hidden_size", 64, 1, 1024));
  CARTABLE_ASSIGN_OR_RETURN(shape.layers, options.Integer("layers", 1, 1, 4));
  CARTABLE_ASSIGN_OR_RETURN(shape.dropout, options.Real("dropout", 0.0, 0.0, 0.9));
  CARTABLE_ASSIGN_OR_RETURN(shape.max_length, options.Integer("max_length", 200, 2, 10000));
  CARTABLE_RETURN_IF_ERROR(options.Finish());
  return std::unique_ptr<Model>(std::make_unique<DktModel>(spec, shape));
}

}  // namespace cartable::models::internal
