#include "aggregation/privacy/distributed_gaussian.h"

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "core/number_text.h"

namespace cartable::aggregation::privacy {
namespace {

// σ of each establishment's noise, in integer units, that sizing aims at: fine steps against the
// noise (the rounding term √d of the sensitivity is then small against Δ/γ), within the sampler's
// range (σ² ≤ 2^40).
constexpr double kTargetSigma = 262144;  // 2^18
// The summed noise stays within this many standard deviations on every coordinate.
constexpr double kTailSigmas = 20;

Status CheckPlan(const DistributedGaussianPlan& plan) {
  const auto bad = [](const std::string& what, double value, const std::string& allowed) {
    return InvalidArgumentError("distributed noise: " + what + " " + NumberText(value) +
                                " is out of range; allowed: " + allowed);
  };
  if (!(plan.noise_multiplier >= 0.01 && plan.noise_multiplier <= 1000))
    return bad("noise multiplier", plan.noise_multiplier, "[0.01, 1000]");
  if (!(plan.l2_sensitivity > 0) || !std::isfinite(plan.l2_sensitivity))
    return bad("L2 sensitivity", plan.l2_sensitivity, "positive and finite");
  if (!(plan.range > 0) || !std::isfinite(plan.range))
    return bad("value range", plan.range, "positive and finite");
  if (plan.min_contributors < 1 || plan.min_contributors > plan.max_contributors) {
    return InvalidArgumentError("distributed noise: at least " +
                                std::to_string(plan.min_contributors) + " of " +
                                std::to_string(plan.max_contributors) +
                                " establishments must add noise; allowed: 1 to the cohort");
  }
  if (plan.dimension == 0) return InvalidArgumentError("distributed noise: an empty vector");
  if (plan.modulus_bits < 8 || plan.modulus_bits > 62)
    return bad("modulus bits", plan.modulus_bits, "[8, 62]");
  return Status::Ok();
}

}  // namespace

StatusOr<DistributedGaussian> PlanDistributedGaussian(const DistributedGaussianPlan& plan) {
  CARTABLE_RETURN_IF_ERROR(CheckPlan(plan));
  const double total = plan.noise_multiplier * plan.l2_sensitivity;  // z·Δ, real units
  const double root_min = std::sqrt(static_cast<double>(plan.min_contributors));
  const double aimed_step = total / (kTargetSigma * root_min);
  const double levels = std::floor(2 * plan.range / aimed_step);
  if (levels < 2) {
    return InvalidArgumentError("distributed noise: a noise multiplier of " +
                                NumberText(plan.noise_multiplier) + " drowns the value range ±" +
                                NumberText(plan.range));
  }
  if (levels > 1e15) {
    return InvalidArgumentError("distributed noise: a noise multiplier of " +
                                NumberText(plan.noise_multiplier) +
                                " is too small against the value range ±" + NumberText(plan.range));
  }
  DistributedGaussian out;
  out.levels = static_cast<uint64_t>(levels);
  out.step = 2 * plan.range / levels;
  const double sigma = total / out.step / root_min;
  if (sigma < 1) {
    return InvalidArgumentError("distributed noise: each establishment's share of noise would be " +
                                NumberText(sigma) + " steps, below 1");
  }
  CARTABLE_ASSIGN_OR_RETURN(out.variance, VarianceOf(sigma * sigma));
  out.noise_bound = static_cast<uint64_t>(std::ceil(
      kTailSigmas * std::sqrt(out.variance.value() * static_cast<double>(plan.max_contributors))));
  const unsigned __int128 needed =
      static_cast<unsigned __int128>(plan.max_contributors) * out.levels +
      2 * static_cast<unsigned __int128>(out.noise_bound);
  int bits = 1;
  while (bits < 127 && (static_cast<unsigned __int128>(1) << bits) - 1 < needed) ++bits;
  out.modulus_bits = bits;
  if (bits > plan.modulus_bits) {
    return OutOfRangeError("distributed noise: the noisy sum of " +
                           std::to_string(plan.max_contributors) + " establishments needs a " +
                           "modulus of at least " + std::to_string(bits) + " bits, not " +
                           std::to_string(plan.modulus_bits));
  }
  return out;
}

StatusOr<double> DistributedGaussianRdp(const DistributedGaussianPlan& plan,
                                        const DistributedGaussian& mechanism, double order) {
  CARTABLE_RETURN_IF_ERROR(CheckPlan(plan));
  if (!(order >= 1) || std::isinf(order))
    return InvalidArgumentError("order " + NumberText(order) + " is not at least 1");
  const double variance = mechanism.variance.value();
  if (!(mechanism.step > 0) || !(variance >= 0.25)) {
    return InvalidArgumentError("distributed noise: a step of " + NumberText(mechanism.step) +
                                " and a variance of " + NumberText(variance) +
                                " (at least 1/4) describe no mechanism");
  }
  const double d = static_cast<double>(plan.dimension);
  const double sensitivity = plan.l2_sensitivity / mechanism.step + std::sqrt(d);
  const double s = sensitivity / std::sqrt(plan.min_contributors * variance);
  double tau = 0;
  for (int k = 1; k < plan.max_contributors; ++k) {
    const double term = std::exp(-2 * std::numbers::pi * std::numbers::pi * variance * k / (k + 1));
    if (term == 0) break;  // the terms fall with k
    tau += term;
  }
  tau *= 10;
  const double first = order * s * s / 2 + tau * d;
  const double root = s + std::sqrt(d) * tau;
  return std::min(first, order / 2 * root * root);
}

StatusOr<Epsilon> DistributedGaussianEpsilon(const DistributedGaussianPlan& plan, uint32_t rounds,
                                             double delta) {
  CARTABLE_ASSIGN_OR_RETURN(DistributedGaussian mechanism, PlanDistributedGaussian(plan));
  const std::vector<double> orders = DefaultOrders();
  std::vector<double> rdp;
  rdp.reserve(orders.size());
  for (double order : orders) {
    CARTABLE_ASSIGN_OR_RETURN(double one, DistributedGaussianRdp(plan, mechanism, order));
    rdp.push_back(one * rounds);
  }
  return EpsilonFromRdp(orders, rdp, delta);
}

}  // namespace cartable::aggregation::privacy
