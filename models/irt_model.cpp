// Item response theory for pupils the model has never seen.
//   1PL: P(correct) = σ(θ − b_j)        2PL: P(correct) = σ(a_j · (θ − b_j)),  a_j = softplus(α_j)
//   > 0
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

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "models/internal/kt_sequences.h"
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

  std::vector<float> GetParameters() const override {
    std::vector<float> flat;
    flat.reserve(num_parameters());
    for (const torch::Tensor* t : {&difficulty_, &discrimination_, &ability_}) {
      flat.insert(flat.end(), t->data_ptr<float>(), t->data_ptr<float>() + t->numel());
    }
    return flat;
  }

  Status SetParameters(std::span<const float> parameters) override {
    if (parameters.size() != num_parameters()) {
      return InvalidArgumentError("the " + spec_.name + " model has " +
                                  std::to_string(num_parameters()) + " parameters, got " +
                                  std::to_string(parameters.size()));
    }
    if (!std::all_of(parameters.begin(), parameters.end(),
                     [](float v) { return std::isfinite(v); })) {
      return InvalidArgumentError("parameters contain NaN or infinite values");
    }
    torch::NoGradGuard no_grad;
    size_t offset = 0;
    for (torch::Tensor* t : {&difficulty_, &discrimination_, &ability_}) {
      std::copy_n(parameters.data() + offset, t->numel(), t->data_ptr<float>());
      offset += static_cast<size_t>(t->numel());
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
      const int64_t n = in.index.size(0);
      std::vector<torch::Tensor> params = {difficulty_, ability_};
      if (two_parameters_) params.push_back(discrimination_);
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
          torch::Tensor idx =
              perm.slice(0, start, std::min<int64_t>(n, start + options.batch_size));
          torch::Tensor loss = torch::binary_cross_entropy_with_logits(
              Logits(in.index.index_select(0, idx), in.counts.index_select(0, idx)),
              in.labels.index_select(0, idx));
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
      return InternalError(std::string("torch failed while training: ") +
                           e.what_without_backtrace());
    }
  }

  StatusOr<std::vector<float>> Predict(const InteractionLog& log) const override {
    CARTABLE_RETURN_IF_ERROR(CheckLog(log));
    try {
      torch::set_num_threads(spec_.torch_threads);
      torch::NoGradGuard no_grad;
      const Inputs in = MakeInputs(log);
      torch::Tensor p = torch::sigmoid(Logits(in.index, in.counts)).contiguous();
      return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    } catch (const c10::Error& e) {
      return InternalError(std::string("torch failed while predicting: ") +
                           e.what_without_backtrace());
    }
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
