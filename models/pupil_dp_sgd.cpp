// DP-SGD with the pupil as the unit: Poisson sampling of pupils, one backward pass per pupil drawn,
// per-pupil clipping, Gaussian noise on the sum (model.h's PupilDp).

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <unordered_map>

#include "core/check.h"
#include "models/internal/training_loop.h"

namespace cartable::models::internal {
namespace {

constexpr uint64_t kNoiseStream = 0x6e6f697365;

uint64_t SecretSeed(uint64_t given) {
  if (given != 0) return given;
  std::random_device os;  // /dev/urandom (or the CPU's generator) on Linux
  return (static_cast<uint64_t>(os()) << 32) ^ os();
}

}  // namespace
}  // namespace cartable::models::internal

namespace cartable::models {

int64_t PupilDpSteps(int epochs, double sampling_rate) {
  return static_cast<int64_t>(std::ceil(epochs / sampling_rate - 1e-9));
}

}  // namespace cartable::models

namespace cartable::models::internal {

PoissonPupils::PoissonPupils(std::span<const uint32_t> pupils, double rate, uint64_t seed)
    : draw_(rate), rng_(seed) {
  CARTABLE_CHECK(rate > 0 && rate <= 1);
  std::unordered_map<uint32_t, size_t> index;
  for (size_t e = 0; e < pupils.size(); ++e) {
    auto [it, added] = index.try_emplace(pupils[e], examples_.size());
    if (added) {
      examples_.emplace_back();
      owners_.emplace_back();
    }
    examples_[it->second].push_back(static_cast<int64_t>(e));
    owners_[it->second].push_back(pupils[e]);
  }
}

const std::vector<Batch>& PoissonPupils::Next() {
  drawn_.clear();
  for (size_t p = 0; p < examples_.size(); ++p) {
    if (draw_(rng_)) drawn_.push_back({examples_[p], owners_[p]});
  }
  return drawn_;
}

double AddClipped(const std::vector<at::Tensor>& grads, double clip, std::vector<at::Tensor>& sum) {
  torch::NoGradGuard no_grad;
  double squared = 0;
  for (const at::Tensor& g : grads) {
    if (g.defined()) squared += g.pow(2).sum().item<double>();
  }
  const double norm = std::sqrt(squared);
  const double scale = norm > clip ? clip / norm : 1.0;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].defined()) sum[i].add_(grads[i], scale);
  }
  return norm;
}

TrainReport TrainPupilDp(const std::vector<at::Tensor>& parameters, const TrainOptions& options,
                         const TrainingProblem& problem, const std::function<void()>& zero,
                         const std::function<void()>& apply) {
  const PupilDp& dp = *options.dp;
  const uint64_t secret = SecretSeed(dp.secret_seed);
  PoissonPupils sampler(problem.pupils, dp.sampling_rate, secret);
  at::Generator noise = at::detail::createCPUGenerator(secret ^ kNoiseStream);
  const double expected_pupils = dp.sampling_rate * static_cast<double>(sampler.pupils());
  const int64_t steps = PupilDpSteps(options.epochs, dp.sampling_rate);
  std::vector<at::Tensor> sum;
  for (const at::Tensor& p : parameters) sum.push_back(torch::zeros_like(p));
  double loss_sum = 0;
  // Progress as for plain training: an "epoch" ends after ceil(e / rate) steps in all.
  int epoch = 1;
  int64_t epoch_start = 0;
  double epoch_loss = 0;
  for (int64_t step = 0; step < steps; ++step) {
    for (at::Tensor& s : sum) s.zero_();
    for (const Batch& pupil : sampler.Next()) {
      zero();
      torch::Tensor objective;
      loss_sum += problem.loss(pupil, &objective);
      objective.backward();
      std::vector<at::Tensor> grads;
      for (const at::Tensor& p : parameters) grads.push_back(p.grad());
      AddClipped(grads, dp.clip_norm, sum);
    }
    zero();
    {
      torch::NoGradGuard no_grad;
      const double sigma = dp.noise_multiplier * dp.clip_norm;
      for (size_t i = 0; i < parameters.size(); ++i) {
        at::Tensor g = sum[i];
        if (sigma > 0) g = g + at::normal(0.0, sigma, sum[i].sizes(), noise);
        parameters[i].mutable_grad() = g / expected_pupils;
      }
    }
    apply();
    if (step + 1 == PupilDpSteps(epoch, dp.sampling_rate)) {
      if (options.on_epoch) {
        const double expected = static_cast<double>(step + 1 - epoch_start) * dp.sampling_rate *
                                static_cast<double>(problem.answers);
        options.on_epoch(epoch, (loss_sum - epoch_loss) / expected);
      }
      ++epoch;
      epoch_start = step + 1;
      epoch_loss = loss_sum;
    }
  }
  TrainReport report;
  report.examples = problem.answers;
  report.steps = steps;
  report.pupils = static_cast<int64_t>(sampler.pupils());
  const double expected_answers =
      static_cast<double>(steps) * dp.sampling_rate * static_cast<double>(problem.answers);
  report.mean_loss = loss_sum / expected_answers;
  return report;
}

}  // namespace cartable::models::internal
