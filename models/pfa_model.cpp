// PFA logistic model: P(correct) = σ(b + β_k + γ_k·log1p(s_k) + ρ_k·log1p(f_k) + a₁·log1p(S) +
// a₂·log1p(F)) for skill k, with s_k, f_k the pupil's earlier successes and failures on k, and S, F
// on all skills. Parameters (flat order): pfa.beta[K], pfa.gamma[K], pfa.rho[K], pfa.ability[2],
// pfa.bias[1].

#include "models/internal/pfa_model.h"

#include <torch/torch.h>

#include <memory>

#include "models/internal/kt_sequences.h"
#include "models/internal/tensor_parameters.h"
#include "models/internal/training_loop.h"
#include "models/model_options.h"
#include "models/pfa_features.h"

namespace cartable::models::internal {
namespace {

class PfaModel final : public Model {
 public:
  explicit PfaModel(const ModelSpec& spec) : spec_(spec) {
    const int64_t k = spec.num_skills;
    beta_ = torch::zeros({k}).requires_grad_();
    gamma_ = torch::zeros({k}).requires_grad_();
    rho_ = torch::zeros({k}).requires_grad_();
    ability_ = torch::zeros({2}).requires_grad_();
    bias_ = torch::zeros({1}).requires_grad_();
  }

  const ModelSpec& spec() const override { return spec_; }

  std::vector<ParameterBlock> parameter_layout() const override {
    const int64_t k = spec_.num_skills;
    return {{"pfa.beta", {k}},
            {"pfa.gamma", {k}},
            {"pfa.rho", {k}},
            {"pfa.ability", {2}},
            {"pfa.bias", {1}}};
  }

  size_t num_parameters() const override { return 3 * static_cast<size_t>(spec_.num_skills) + 3; }

  std::vector<float> GetParameters() const override { return FlattenParameters(Parameters()); }
  Status SetParameters(std::span<const float> parameters) override {
    std::vector<torch::Tensor> tensors = Parameters();
    return LoadParameters(tensors, parameters,
                          "the pfa model over " + std::to_string(spec_.num_skills) + " skills");
  }

  StatusOr<TrainReport> Train(const InteractionLog& log, const TrainOptions& options) override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    return RunTrainingLoop(Parameters(), spec_.torch_threads, options, [&] {
      const Inputs in = MakeInputs(log);
      return PerExampleProblem(AnswerPupils(log), in.labels, options.seed,
                               [this, in](const torch::Tensor& idx, at::Generator* /*no dropout*/) {
                                 return Logits(in.skill.index_select(0, idx),
                                               in.values.index_select(0, idx));
                               });
    });
  }

  StatusOr<std::vector<float>> Predict(const InteractionLog& log) const override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    return RunPrediction(spec_.torch_threads, [&] {
      const Inputs in = MakeInputs(log);
      return torch::sigmoid(Logits(in.skill, in.values));
    });
  }

 private:
  struct Inputs {
    torch::Tensor skill;   // [n] long
    torch::Tensor values;  // [n, 4] float
    torch::Tensor labels;  // [n] float
  };

  Status CheckLog(const InteractionLog& log) const {
    if (log.size() == 0) return InvalidArgumentError("no interaction to learn from or predict");
    if (log.num_skills > spec_.num_skills) {
      return InvalidArgumentError("the data use " + std::to_string(log.num_skills) +
                                  " skills but the model knows " +
                                  std::to_string(spec_.num_skills));
    }
    return Status::Ok();
  }

  static Inputs MakeInputs(const InteractionLog& log) {
    PfaFeatures f = ComputePfaFeatures(log);
    const int64_t n = static_cast<int64_t>(log.size());
    std::vector<float> labels(log.size());
    for (size_t i = 0; i < log.size(); ++i) labels[i] = log.interactions[i].correct;
    return {torch::from_blob(f.skill.data(), {n}, torch::kLong).clone(),
            torch::from_blob(f.values.data(), {n, PfaFeatures::kValues}).clone(),
            torch::from_blob(labels.data(), {n}).clone()};
  }

  torch::Tensor Logits(const torch::Tensor& skill, const torch::Tensor& values) const {
    return bias_ + beta_.index_select(0, skill) +
           gamma_.index_select(0, skill) * values.select(1, 0) +
           rho_.index_select(0, skill) * values.select(1, 1) +
           values.slice(1, 2, 4).matmul(ability_);
  }

  // Handles sharing the members' storage, in layout order.
  std::vector<torch::Tensor> Parameters() const { return {beta_, gamma_, rho_, ability_, bias_}; }

  ModelSpec spec_;
  torch::Tensor beta_, gamma_, rho_, ability_, bias_;
};

}  // namespace

StatusOr<std::unique_ptr<Model>> NewPfaModel(const ModelSpec& spec) {
  CARTABLE_RETURN_IF_ERROR(ModelOptions(spec).Finish());  // pfa has no hyperparameters
  return std::unique_ptr<Model>(std::make_unique<PfaModel>(spec));
}

}  // namespace cartable::models::internal
