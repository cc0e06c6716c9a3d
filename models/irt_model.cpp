// Item response theory for pupils the model has never seen.
//   1PL: P(correct) = σ(θ − b_j)
//   2PL: P(correct) = σ(a_j · (θ − b_j)),  a_j = softplus(α_j) > 0
// j is the item, or the skill when the model has no items (spec.num_items == 0).
// Classical IRT fits one ability θ per pupil. Here pupils stay on their node and test pupils are
// unseen, so θ cannot be a parameter: it is read from the pupil's own answers before the current
// one,
//   θ = w_s · log(1 + S) + w_f · log(1 + F),
// with S and F the pupil's earlier successes and failures over all skills and w learned (w_s = −w_f
// gives the log-odds of the pupil's smoothed success rate). θ is 0 at a pupil's first answer, so
// b_j is the difficulty for a pupil of whom nothing is known yet; no current or later answer enters
// θ. Parameters (flat order): irt.difficulty[J] (b), irt.discrimination[J] (α, 2PL only),
// irt.ability[2] (w).

#include "models/internal/irt_model.h"

#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "models/internal/kt_sequences.h"
#include "models/internal/tensor_parameters.h"
#include "models/internal/training_loop.h"
#include "models/model_options.h"

namespace cartable::models::internal {
namespace {

const float kUnitDiscrimination = std::log(std::exp(1.0f) - 1.0f);  // softplus(α) = 1

class IrtModel final : public Model {
 public:
  IrtModel(const ModelSpec& spec, bool two_parameters)
      : spec_(spec), two_parameters_(two_parameters) {
    const int64_t j = spec.num_items > 0 ? spec.num_items : spec.num_skills;
    difficulty_ = torch::zeros({j}).requires_grad_();
    discrimination_ = torch::full({two_parameters ? j : 0}, kUnitDiscrimination).requires_grad_();
    ability_ = torch::zeros({2}).requires_grad_();
  }

  const ModelSpec& spec() const override { return spec_; }

  std::vector<ParameterBlock> parameter_layout() const override {
    std::vector<ParameterBlock> blocks = {{"irt.difficulty", {difficulty_.size(0)}}};
    if (two_parameters_) blocks.push_back({"irt.discrimination", {discrimination_.size(0)}});
    blocks.push_back({"irt.ability", {2}});
    return blocks;
  }

  size_t num_parameters() const override {
    return static_cast<size_t>(difficulty_.numel() + discrimination_.numel() + ability_.numel());
  }

  std::vector<float> GetParameters() const override { return FlattenParameters(Parameters()); }
  Status SetParameters(std::span<const float> parameters) override {
    std::vector<torch::Tensor> tensors = Parameters();
    return LoadParameters(tensors, parameters, "the " + spec_.name + " model");
  }

  StatusOr<TrainReport> Train(const InteractionLog& log, const TrainOptions& options) override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    std::vector<torch::Tensor> trained = {difficulty_, ability_};
    if (two_parameters_) trained.push_back(discrimination_);
    return RunTrainingLoop(trained, spec_.torch_threads, options, [&] {
      const Inputs in = MakeInputs(log);
      return PerExampleProblem(AnswerPupils(log), in.labels, options.seed,
                               [this, in](const torch::Tensor& idx, at::Generator* /*no dropout*/) {
                                 return Logits(in.index.index_select(0, idx),
                                               in.counts.index_select(0, idx));
                               });
    });
  }

  StatusOr<std::vector<float>> Predict(const InteractionLog& log) const override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    return RunPrediction(spec_.torch_threads, [&] {
      const Inputs in = MakeInputs(log);
      return torch::sigmoid(Logits(in.index, in.counts));
    });
  }

 private:
  struct Inputs {
    torch::Tensor index;   // [n] long: item, or skill
    torch::Tensor counts;  // [n, 2] float: log1p(earlier successes), log1p(earlier failures)
    torch::Tensor labels;  // [n] float
  };

  bool uses_items() const { return spec_.num_items > 0; }

  Status CheckLog(const InteractionLog& log) const {
    CARTABLE_RETURN_IF_ERROR(CheckAnswers(log, spec_, uses_items()));
    if (uses_items() && log.num_items == 0) {
      return InvalidArgumentError(
          "the " + spec_.name + " model is over " + std::to_string(spec_.num_items) +
          " items but the data carry no item ids (build it with num_items 0)");
    }
    return Status::Ok();
  }

  Inputs MakeInputs(const InteractionLog& log) const {
    const int64_t n = static_cast<int64_t>(log.size());
    std::vector<int64_t> index(log.size());
    std::vector<float> counts(2 * log.size());
    std::vector<float> labels(log.size());
    uint32_t successes = 0, failures = 0;
    for (size_t i = 0; i < log.size(); ++i) {
      const Interaction& x = log.interactions[i];
      if (i == 0 || log.interactions[i - 1].pupil != x.pupil) successes = failures = 0;
      index[i] = uses_items() ? x.item : x.skill;
      counts[2 * i] = std::log1p(static_cast<float>(successes));
      counts[2 * i + 1] = std::log1p(static_cast<float>(failures));
      labels[i] = x.correct;
      ++(x.correct ? successes : failures);
    }
    return {torch::from_blob(index.data(), {n}, torch::kLong).clone(),
            torch::from_blob(counts.data(), {n, 2}).clone(),
            torch::from_blob(labels.data(), {n}).clone()};
  }

  torch::Tensor Logits(const torch::Tensor& index, const torch::Tensor& counts) const {
    torch::Tensor gap = counts.matmul(ability_) - difficulty_.index_select(0, index);
    if (!two_parameters_) return gap;
    return torch::softplus(discrimination_.index_select(0, index)) * gap;
  }

  // Handles sharing the members' storage, in layout order (discrimination is empty for 1PL).
  std::vector<torch::Tensor> Parameters() const { return {difficulty_, discrimination_, ability_}; }

  ModelSpec spec_;
  bool two_parameters_;
  torch::Tensor difficulty_, discrimination_, ability_;
};

StatusOr<std::unique_ptr<Model>> NewIrtModel(const ModelSpec& spec, bool two_parameters) {
  CARTABLE_RETURN_IF_ERROR(ModelOptions(spec).Finish());  // no hyperparameters
  return std::unique_ptr<Model>(std::make_unique<IrtModel>(spec, two_parameters));
}

}  // namespace

StatusOr<std::unique_ptr<Model>> NewIrt1plModel(const ModelSpec& spec) {
  return NewIrtModel(spec, false);
}
StatusOr<std::unique_ptr<Model>> NewIrt2plModel(const ModelSpec& spec) {
  return NewIrtModel(spec, true);
}

}  // namespace cartable::models::internal
