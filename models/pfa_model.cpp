// PFA logistic model: P(correct) = σ(b + β_k + γ_k·log1p(s_k) + ρ_k·log1p(f_k) + a₁·log1p(S) + a₂·log1p(F))
// for skill k, with s_k, f_k the pupil's earlier successes and failures on k, and S, F on all skills.
// Parameters (flat order): pfa.beta[K], pfa.gamma[K], pfa.rho[K], pfa.ability[2], pfa.bias[1].

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "models/internal/pfa_model.h"
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
    return {{"pfa.beta", {k}}, {"pfa.gamma", {k}}, {"pfa.rho", {k}}, {"pfa.ability", {2}},
            {"pfa.bias", {1}}};
  }

  size_t num_parameters() const override { return 3 * static_cast<size_t>(spec_.num_skills) + 3; }

  std::vector<float> GetParameters() const override {
    torch::NoGradGuard no_grad;
    torch::Tensor flat = torch::cat({beta_, gamma_, rho_, ability_, bias_}).contiguous();
    return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  }

  Status SetParameters(std::span<const float> parameters) override {
    if (parameters.size() != num_parameters()) {
      return InvalidArgumentError("the pfa model over " + std::to_string(spec_.num_skills) +
                                  " skills has " + std::to_string(num_parameters()) +
                                  " parameters, got " + std::to_string(parameters.size()));
    }
    if (!std::all_of(parameters.begin(), parameters.end(), [](float v) { return std::isfinite(v); })) {
      return InvalidArgumentError("parameters contain NaN or infinite values");
    }
    torch::NoGradGuard no_grad;
    size_t offset = 0;
    for (torch::Tensor* t : Tensors()) {
      const int64_t n = t->numel();
      std::copy_n(parameters.data() + offset, n, t->data_ptr<float>());
      offset += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  StatusOr<TrainReport> Train(const InteractionLog& log, const TrainOptions& options) override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    if (options.epochs < 1 || options.batch_size < 1 || !(options.learning_rate > 0)) {
      return InvalidArgumentError("training needs epochs ≥ 1, batch size ≥ 1 and a positive rate");
    }
    try {
      torch::set_num_threads(spec_.torch_threads);
      const Inputs in = MakeInputs(log);
      const int64_t n = in.skill.size(0);
      std::vector<torch::Tensor> params;
      for (torch::Tensor* t : Tensors()) params.push_back(*t);
      torch::optim::Adam optimiser(params, torch::optim::AdamOptions(options.learning_rate));
      std::mt19937_64 rng(options.seed);
      std::vector<int64_t> order(static_cast<size_t>(n));
      TrainReport report;
      report.examples = n;
      for (int epoch = 0; epoch < options.epochs; ++epoch) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        torch::Tensor perm = torch::from_blob(order.data(), {n}, torch::kLong);
        double loss_sum = 0;
        for (int64_t start = 0; start < n; start += options.batch_size) {
          torch::Tensor idx = perm.slice(0, start, std::min<int64_t>(n, start + options.batch_size));
          torch::Tensor logits = Logits(in.skill.index_select(0, idx), in.values.index_select(0, idx));
          torch::Tensor loss = torch::binary_cross_entropy_with_logits(
              logits, in.labels.index_select(0, idx));
          optimiser.zero_grad();
          loss.backward();
          optimiser.step();
          loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
        }
        report.mean_loss = loss_sum / static_cast<double>(n);
        if (options.on_epoch) options.on_epoch(epoch + 1, report.mean_loss);
      }
      return report;
    } catch (const c10::Error& e) {
      return InternalError(std::string("torch failed while training: ") + e.what_without_backtrace());
    }
  }

  StatusOr<std::vector<float>> Predict(const InteractionLog& log) const override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    try {
      torch::set_num_threads(spec_.torch_threads);
      torch::NoGradGuard no_grad;
      const Inputs in = MakeInputs(log);
      torch::Tensor p = torch::sigmoid(Logits(in.skill, in.values)).contiguous();
      return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    } catch (const c10::Error& e) {
      return InternalError(std::string("torch failed while predicting: ") +
                           e.what_without_backtrace());
    }
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
                                  " skills but the model knows " + std::to_string(spec_.num_skills));
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

  std::vector<torch::Tensor*> Tensors() { return {&beta_, &gamma_, &rho_, &ability_, &bias_}; }

  ModelSpec spec_;
  torch::Tensor beta_, gamma_, rho_, ability_, bias_;
};

}  // namespace

StatusOr<std::unique_ptr<Model>> NewPfaModel(const ModelSpec& spec) {
  CARTABLE_RETURN_IF_ERROR(ModelOptions(spec).Finish());  // pfa has no hyperparameters
  return std::unique_ptr<Model>(std::make_unique<PfaModel>(spec));
}

}  // namespace cartable::models::internal
