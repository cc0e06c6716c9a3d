// Self-Attentive Knowledge Tracing (Pandey & Karypis, 2019). For answer t the query is the
// embedding of the current skill; keys and values are the embeddings of the earlier answers (skill,
// right or wrong) plus a position embedding, with a start token at position 0 so that the first
// answer has something to attend to. Key position s holds answer s − 1 and the causal mask lets
// query t see positions ≤ t, so the prediction for answer t depends only on the answers before t.
// Multi-head attention, residual with the query and layer norm, a two-layer ReLU feed-forward block
// with residual and layer norm, then one logit. Windows and padding as for dkt (kt_sequences.h):
// padding sits after the real answers of a window, where the causal mask keeps it out of their
// attention, and is masked out of the loss. Parameters (flat order): sakt.interaction[2K + 1, d],
// sakt.exercise[K, d], sakt.position[L, d], sakt.attention.{query,key,value,output}.{weight[d, d],
// bias[d]}, sakt.norm1.{weight, bias}[d], sakt.ffn.layer1.{weight[d, d], bias[d]},
// sakt.ffn.layer2.{weight[d, d], bias[d]}, sakt.norm2.{weight, bias}[d], sakt.output.weight[1, d],
// sakt.output.bias[1].

#include "models/internal/sakt_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "models/internal/kt_sequences.h"
#include "models/internal/tensor_parameters.h"
#include "models/internal/training_loop.h"
#include "models/model_options.h"

namespace cartable::models::internal {
namespace {

constexpr uint64_t kInitSeed =
    0x6361727461626c65;  // "cartable": the same initial model on every node

struct SaktShape {
  int64_t embedding_size = 64;
  int64_t heads = 2;
  int64_t max_length = 100;
  double dropout = 0.2;
};

// Indices into tensors_, in layout order.
enum Block : size_t {
  kInteraction,
  kExercise,
  kPosition,
  kQueryW,
  kQueryB,
  kKeyW,
  kKeyB,
  kValueW,
  kValueB,
  kOutW,
  kOutB,
  kNorm1W,
  kNorm1B,
  kFfn1W,
  kFfn1B,
  kFfn2W,
  kFfn2B,
  kNorm2W,
  kNorm2B,
  kLogitW,
  kLogitB
};

class SaktModel final : public Model {
 public:
  SaktModel(const ModelSpec& spec, const SaktShape& shape) : spec_(spec), shape_(shape) {
    const int64_t d = shape.embedding_size;
    const int64_t k = spec.num_skills;
    Add("sakt.interaction", {2 * k + 1, d}, 1.0f);
    Add("sakt.exercise", {k, d}, 1.0f);
    Add("sakt.position", {shape.max_length, d}, 1.0f);
    const float fan = 1.0f / std::sqrt(static_cast<float>(d));
    for (const char* name : {"query", "key", "value", "output"}) {
      Add(std::string("sakt.attention.") + name + ".weight", {d, d}, fan);
      Add(std::string("sakt.attention.") + name + ".bias", {d}, 0.0f);
    }
    Add("sakt.norm1.weight", {d}, 0.0f, 1.0f);
    Add("sakt.norm1.bias", {d}, 0.0f);
    for (const char* name : {"layer1", "layer2"}) {
      Add(std::string("sakt.ffn.") + name + ".weight", {d, d}, fan);
      Add(std::string("sakt.ffn.") + name + ".bias", {d}, fan);
    }
    Add("sakt.norm2.weight", {d}, 0.0f, 1.0f);
    Add("sakt.norm2.bias", {d}, 0.0f);
    Add("sakt.output.weight", {1, d}, fan);
    Add("sakt.output.bias", {1}, 0.0f);
  }

  const ModelSpec& spec() const override { return spec_; }
  std::vector<ParameterBlock> parameter_layout() const override { return blocks_; }

  size_t num_parameters() const override { return CountParameters(tensors_); }
  std::vector<float> GetParameters() const override { return FlattenParameters(tensors_); }
  Status SetParameters(std::span<const float> parameters) override {
    return LoadParameters(tensors_, parameters,
                          "the sakt model over " + std::to_string(spec_.num_skills) + " skills");
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
  // A tensor of `shape` drawn U(±bound) from the fixed init stream, plus `offset`.
  void Add(const std::string& name, std::vector<int64_t> shape, float bound, float offset = 0.0f) {
    torch::Tensor t = torch::full(shape, offset);
    std::uniform_real_distribution<float> draw(-bound, bound);
    if (bound > 0) {
      std::generate_n(t.data_ptr<float>(), t.numel(), [&] { return offset + draw(init_rng_); });
    }
    blocks_.push_back({name, shape});
    tensors_.push_back(t.requires_grad_());
  }

  const torch::Tensor& T(Block b) const { return tensors_[b]; }

  WindowLogits LogitsOfWindows() const {
    return [this](const torch::Tensor& token, const torch::Tensor& skill, at::Generator* dropout) {
      return Logits(token, skill, dropout);
    };
  }

  // Logits [B, T] of the answers at `skill` [B, T] given the earlier answers `token` [B, T];
  // dropout when a generator is given (training).
  torch::Tensor Logits(const torch::Tensor& token, const torch::Tensor& skill,
                       at::Generator* rng) const {
    const int64_t b = token.size(0), t = token.size(1), d = shape_.embedding_size,
                  heads = shape_.heads;
    const int64_t dh = d / heads;
    torch::Tensor query = torch::embedding(T(kExercise), skill);  // [B, T, d]
    torch::Tensor memory = torch::embedding(T(kInteraction), token) + T(kPosition).slice(0, 0, t);
    auto split = [&](const torch::Tensor& x) { return x.view({b, t, heads, dh}).transpose(1, 2); };
    torch::Tensor q = split(torch::linear(query, T(kQueryW), T(kQueryB)));  // [B, h, T, dh]
    torch::Tensor k = split(torch::linear(memory, T(kKeyW), T(kKeyB)));
    torch::Tensor v = split(torch::linear(memory, T(kValueW), T(kValueB)));
    torch::Tensor future =
        torch::ones({t, t}, torch::kBool).triu(1);  // key position > query position
    torch::Tensor scores = q.matmul(k.transpose(2, 3)) / std::sqrt(static_cast<double>(dh));
    torch::Tensor attention =
        Dropout(torch::softmax(scores.masked_fill(future, -1e9), -1), shape_.dropout, rng);
    torch::Tensor mixed = attention.matmul(v).transpose(1, 2).reshape({b, t, d});
    torch::Tensor h = torch::layer_norm(
        query + Dropout(torch::linear(mixed, T(kOutW), T(kOutB)), shape_.dropout, rng), {d},
        T(kNorm1W), T(kNorm1B));
    torch::Tensor ffn =
        torch::linear(torch::relu(torch::linear(h, T(kFfn1W), T(kFfn1B))), T(kFfn2W), T(kFfn2B));
    h = torch::layer_norm(h + Dropout(ffn, shape_.dropout, rng), {d}, T(kNorm2W), T(kNorm2B));
    return torch::linear(h, T(kLogitW), T(kLogitB)).squeeze(2);
  }

  ModelSpec spec_;
  SaktShape shape_;
  std::mt19937_64 init_rng_{kInitSeed};
  std::vector<ParameterBlock> blocks_;
  std::vector<torch::Tensor> tensors_;  // in layout order (see Block)
};

}  // namespace

StatusOr<std::unique_ptr<Model>> NewSaktModel(const ModelSpec& spec) {
  ModelOptions options(spec);
  SaktShape shape;
  CARTABLE_ASSIGN_OR_RETURN(shape.embedding_size, options.Integer("embedding_size", 64, 2, 1024));
  CARTABLE_ASSIGN_OR_RETURN(shape.heads, options.Integer("heads", 2, 1, 16));
  CARTABLE_ASSIGN_OR_RETURN(shape.max_length, options.Integer("max_length", 100, 2, 10000));
  CARTABLE_ASSIGN_OR_RETURN(shape.dropout, options.Real("dropout", 0.2, 0.0, 0.9));
  CARTABLE_RETURN_IF_ERROR(options.Finish());
  if (shape.embedding_size % shape.heads != 0) {
    return InvalidArgumentError("model 'sakt': embedding_size " +
                                std::to_string(shape.embedding_size) +
                                " is not a multiple of heads " + std::to_string(shape.heads));
  }
  return std::unique_ptr<Model>(std::make_unique<SaktModel>(spec, shape));
}

}  // namespace cartable::models::internal
