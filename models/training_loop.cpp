#include "models/internal/training_loop.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>
#include <string>

#include "core/check.h"
#include "models/internal/kt_sequences.h"

namespace cartable::models::internal {
namespace {

constexpr int64_t kPredictWindows = 256;  // windows per forward pass when predicting
constexpr uint64_t kDropoutStream = 0x64726f706f7574;

at::Generator DropoutGenerator(uint64_t seed) {
  return at::detail::createCPUGenerator(seed ^ kDropoutStream);
}

// A log's windows as tensors [windows, length] that view the windows' arrays.
struct WindowTensors {
  AnswerWindows windows;
  torch::Tensor token, skill, label, mask;
};

std::shared_ptr<const WindowTensors> MakeWindowTensors(const InteractionLog& log,
                                                       int64_t max_length) {
  auto t = std::make_shared<WindowTensors>();
  t->windows = CutIntoWindows(log, max_length);
  AnswerWindows& w = t->windows;
  const std::vector<int64_t> shape = {w.windows, w.length};
  t->skill = torch::from_blob(w.skill.data(), shape, torch::kLong);
  t->label = torch::from_blob(w.label.data(), shape);
  t->mask = torch::from_blob(w.mask.data(), shape);
  torch::Tensor answer = 1 + 2 * t->skill + torch::from_blob(w.correct.data(), shape, torch::kLong);
  t->token =
      torch::cat({torch::zeros({w.windows, 1}, torch::kLong), answer.slice(1, 0, w.length - 1)}, 1);
  return t;
}

}  // namespace

EpochBatches::EpochBatches(std::span<const uint32_t> pupils, int64_t batch_size, uint64_t seed)
    : pupils_(pupils),
      batch_size_(static_cast<size_t>(batch_size)),
      rng_(seed),
      order_(pupils.size()) {
  CARTABLE_CHECK(batch_size >= 1);
}

void EpochBatches::NextEpoch() {
  std::iota(order_.begin(), order_.end(), 0);
  std::shuffle(order_.begin(), order_.end(), rng_);
}

size_t EpochBatches::size() const { return (order_.size() + batch_size_ - 1) / batch_size_; }

Batch EpochBatches::operator[](size_t b) {
  CARTABLE_CHECK(b < size());
  const size_t first = b * batch_size_;
  const size_t count = std::min(batch_size_, order_.size() - first);
  std::span<const int64_t> examples(order_.data() + first, count);
  batch_pupils_.resize(count);
  for (size_t i = 0; i < count; ++i) batch_pupils_[i] = pupils_[static_cast<size_t>(examples[i])];
  return {examples, batch_pupils_};
}

at::Tensor Dropout(const at::Tensor& h, double p, at::Generator* dropout) {
  if (dropout == nullptr || p == 0) return h;
  const double keep = 1.0 - p;
  return h * torch::bernoulli(torch::full_like(h, keep), *dropout) / keep;
}

at::Tensor IndexOf(const Batch& batch) {
  return torch::from_blob(const_cast<int64_t*>(batch.examples.data()),
                          {static_cast<int64_t>(batch.examples.size())}, torch::kLong);
}

TrainingProblem PerExampleProblem(std::vector<uint32_t> pupils, const at::Tensor& labels,
                                  uint64_t seed, ExampleLogits logits,
                                  std::function<at::Tensor(const at::Tensor& loss)> regularise) {
  const auto examples = static_cast<int64_t>(pupils.size());
  return {std::move(pupils), examples,
          [labels, dropout = DropoutGenerator(seed), logits = std::move(logits),
           regularise = std::move(regularise)](const Batch& batch, at::Tensor* objective) mutable {
            torch::Tensor index = IndexOf(batch);
            torch::Tensor loss = torch::binary_cross_entropy_with_logits(
                logits(index, &dropout), labels.index_select(0, index));
            *objective = regularise ? regularise(loss) : loss;
            return loss.item<double>() * static_cast<double>(index.size(0));
          }};
}

TrainingProblem WindowProblem(const InteractionLog& log, int64_t max_length, uint64_t seed,
                              WindowLogits logits) {
  std::shared_ptr<const WindowTensors> t = MakeWindowTensors(log, max_length);
  return {t->windows.pupil, static_cast<int64_t>(log.size()),
          [t, dropout = DropoutGenerator(seed), logits = std::move(logits)](
              const Batch& batch, at::Tensor* objective) mutable {
            torch::Tensor rows = IndexOf(batch);
            const int64_t length = LongestWindow(t->windows, batch.examples);
            auto take = [&](const torch::Tensor& x) {
              return x.index_select(0, rows).slice(1, 0, length);
            };
            torch::Tensor mask = take(t->mask);
            torch::Tensor loss_total = torch::binary_cross_entropy_with_logits(
                logits(take(t->token), take(t->skill), &dropout), take(t->label), mask, {},
                at::Reduction::Sum);
            *objective = loss_total / mask.sum();
            return loss_total.item<double>();
          }};
}

at::Tensor PredictWindows(const InteractionLog& log, int64_t max_length,
                          const WindowLogits& logits) {
  std::shared_ptr<const WindowTensors> t = MakeWindowTensors(log, max_length);
  const int64_t windows = t->windows.windows;
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < windows; first += kPredictWindows) {
    const int64_t last = std::min(windows, first + kPredictWindows);
    parts.push_back(
        logits(t->token.slice(0, first, last), t->skill.slice(0, first, last), nullptr));
  }
  torch::Tensor position = torch::from_blob(const_cast<int64_t*>(t->windows.position.data()),
                                            {static_cast<int64_t>(log.size())}, torch::kLong);
  return torch::sigmoid(torch::cat(parts).flatten().index_select(0, position));
}

double Backpropagate(const TrainingProblem& problem, const Batch& batch,
                     const std::vector<at::Tensor>& /*parameters*/) {
  torch::Tensor objective;
  const double summed_loss = problem.loss(batch, &objective);
  objective.backward();
  return summed_loss;
}

void AddProximalGradient(const std::vector<at::Tensor>& parameters,
                         const std::vector<at::Tensor>& anchors, double mu) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) {
    torch::Tensor pull = (parameters[i].detach() - anchors[i]) * mu;
    torch::Tensor& grad = parameters[i].mutable_grad();
    if (grad.defined()) {
      grad.add_(pull);
    } else {
      grad = pull;
    }
  }
}

StatusOr<TrainReport> RunTrainingLoop(std::vector<at::Tensor> parameters, int torch_threads,
                                      const TrainOptions& options,
                                      const std::function<TrainingProblem()>& make_problem,
                                      const GradientStep& step) {
  if (options.epochs < 1 || options.batch_size < 1 || !(options.learning_rate > 0)) {
    return InvalidArgumentError("training needs epochs ≥ 1, batch size ≥ 1 and a positive rate");
  }
  if (!(options.proximal_mu >= 0) || !std::isfinite(options.proximal_mu)) {
    return InvalidArgumentError("the proximal term's μ must be finite and at least 0");
  }
  if (const std::optional<PupilDp>& dp = options.dp) {
    if (!(dp->noise_multiplier >= 0) || !std::isfinite(dp->noise_multiplier) ||
        !(dp->clip_norm > 0) || !std::isfinite(dp->clip_norm) || !(dp->sampling_rate > 0) ||
        !(dp->sampling_rate <= 1)) {
      return InvalidArgumentError(
          "DP-SGD needs a finite noise multiplier ≥ 0, a finite clip norm > 0 and a sampling rate "
          "in (0, 1]");
    }
  }
  try {
    torch::set_num_threads(torch_threads);
    const TrainingProblem problem = make_problem();
    torch::optim::Adam optimiser(parameters, torch::optim::AdamOptions(options.learning_rate));
    std::vector<torch::Tensor> anchors;
    if (options.proximal_mu > 0) {
      for (const torch::Tensor& p : parameters) anchors.push_back(p.detach().clone());
    }
    if (options.dp) {
      return TrainPupilDp(
          parameters, options, problem, [&] { optimiser.zero_grad(); },
          [&] {
            if (!anchors.empty()) AddProximalGradient(parameters, anchors, options.proximal_mu);
            optimiser.step();
          });
    }
    EpochBatches batches(problem.pupils, options.batch_size, options.seed);
    TrainReport report;
    report.examples = problem.answers;
    report.steps = options.epochs * static_cast<int64_t>(batches.size());
    report.pupils = static_cast<int64_t>(
        std::set<uint32_t>(problem.pupils.begin(), problem.pupils.end()).size());
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      batches.NextEpoch();
      double loss_sum = 0;
      for (size_t b = 0; b < batches.size(); ++b) {
        optimiser.zero_grad();
        loss_sum += step(problem, batches[b], parameters);
        if (!anchors.empty()) AddProximalGradient(parameters, anchors, options.proximal_mu);
        optimiser.step();
      }
      report.mean_loss = loss_sum / static_cast<double>(problem.answers);
      if (options.on_epoch) options.on_epoch(epoch, report.mean_loss);
    }
    return report;
  } catch (const c10::Error& e) {
    return InternalError(std::string("torch failed while training: ") + e.what_without_backtrace());
  }
}

StatusOr<std::vector<float>> RunPrediction(int torch_threads,
                                           const std::function<at::Tensor()>& predict) {
  try {
    torch::set_num_threads(torch_threads);
    torch::NoGradGuard no_grad;
    torch::Tensor p = predict().contiguous();
    return std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  } catch (const c10::Error& e) {
    return InternalError(std::string("torch failed while predicting: ") +
                         e.what_without_backtrace());
  }
}

}  // namespace cartable::models::internal
