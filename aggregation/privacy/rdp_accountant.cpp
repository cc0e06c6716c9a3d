#include "aggregation/privacy/rdp_accountant.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "core/number_text.h"

namespace cartable::aggregation::privacy {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)), exact for -inf.
double LogAdd(double a, double b) {
  const double high = std::max(a, b);
  const double low = std::min(a, b);
  if (low == -kInf) return high;
  return high + std::log1p(std::exp(low - high));
}

// log(erfc(x)), without underflow for large x: erfc(20) ≈ 5e-176 is still a double, beyond it the
// asymptotic series erfc(x) = exp(−x²)/(x√π)·(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + …), whose next
// term is below 1e-10 relative there.
double LogErfc(double x) {
  if (x < 20) return std::log(std::erfc(x));
  const double r = 1 / (x * x);
  return -x * x - std::log(x) - 0.5 * std::log(std::numbers::pi) +
         std::log1p(r * (-0.5 + r * (0.75 - 1.875 * r)));
}

// log A_α for an integer order: the binomial sum of section 3.3, term by term in logarithms.
double LogAInteger(double q, double sigma, int64_t alpha) {
  double log_a = -kInf;
  const double lq = std::log(q);
  const double l1q = std::log1p(-q);
  const auto a = static_cast<double>(alpha);
  for (int64_t k = 0; k <= alpha; ++k) {
    const auto i = static_cast<double>(k);
    const double log_binomial = std::lgamma(a + 1) - std::lgamma(i + 1) - std::lgamma(a - i + 1);
    const double term = log_binomial + i * lq + (a - i) * l1q + (i * i - i) / (2 * sigma * sigma);
    log_a = LogAdd(log_a, term);
  }
  return log_a;
}

// An upper bound on log A_α for a fractional order: the two series of section 3.3 with every term
// taken in absolute value. The binomial coefficients C(α, i) alternate in sign once i > α, so the
// signed sums are at most these; summing magnitudes never under-counts privacy loss, never has to
// subtract nearly equal logarithms, and gives the values dp_accounting publishes. Summed until the
// terms fall, and fall below e^-30 of unity.
StatusOr<double> LogAFractional(double q, double sigma, double alpha) {
  constexpr int kMaxTerms = 1000000;
  double log_a0 = -kInf;
  double log_a1 = -kInf;
  const double lq = std::log(q);
  const double l1q = std::log1p(-q);
  const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
  const double scale = std::numbers::sqrt2 * sigma;
  double log_coef = 0;  // log |C(α, i)|
  double last_s0 = -kInf;
  double last_s1 = -kInf;
  for (int n = 0; n < kMaxTerms; ++n) {
    const auto i = static_cast<double>(n);
    const double j = alpha - i;
    const double log_t0 = log_coef + i * lq + j * l1q;
    const double log_t1 = log_coef + j * lq + i * l1q;
    const double log_e0 = std::log(0.5) + LogErfc((i - z0) / scale);
    const double log_e1 = std::log(0.5) + LogErfc((z0 - j) / scale);
    const double log_s0 = log_t0 + (i * i - i) / (2 * sigma * sigma) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
    log_a0 = LogAdd(log_a0, log_s0);
    log_a1 = LogAdd(log_a1, log_s1);
    if (log_s0 < last_s0 && log_s1 < last_s1 && std::max(log_s0, log_s1) < -30) {
      return LogAdd(log_a0, log_a1);
    }
    last_s0 = log_s0;
    last_s1 = log_s1;
    // |C(α, i + 1)| = |C(α, i)|·|α − i|/(i + 1).
    log_coef += std::log(std::abs(alpha - i)) - std::log(i + 1);
  }
  return InternalError("the RDP series at order " + NumberText(alpha) + " did not converge (q = " +
                       NumberText(q) + ", noise multiplier = " + NumberText(sigma) + ")");
}

Status CheckMechanism(double sampling_rate, double noise_multiplier) {
  if (!(sampling_rate >= 0 && sampling_rate <= 1)) {
    return InvalidArgumentError("sampling rate " + NumberText(sampling_rate) +
                                " is out of range; allowed: [0, 1]");
  }
  if (!(noise_multiplier >= 0) || std::isinf(noise_multiplier)) {
    return InvalidArgumentError("noise multiplier " + NumberText(noise_multiplier) +
                                " is out of range; allowed: [0, inf)");
  }
  return Status::Ok();
}

Status CheckDelta(double delta) {
  if (!(delta > 0 && delta < 1)) {
    return InvalidArgumentError("delta " + NumberText(delta) + " is out of range; allowed: (0, 1)");
  }
  return Status::Ok();
}

}  // namespace

std::vector<double> DefaultOrders() {
  std::vector<double> orders;
  for (int x = 1; x < 100; ++x) orders.push_back(1 + x / 10.0);
  for (int x = 11; x < 64; ++x) orders.push_back(x);
  for (double x : {128.0, 256.0, 512.0, 1024.0}) orders.push_back(x);
  return orders;
}

StatusOr<double> SampledGaussianRdp(double sampling_rate, double noise_multiplier, uint64_t steps,
                                    double order) {
  CARTABLE_RETURN_IF_ERROR(CheckMechanism(sampling_rate, noise_multiplier));
  if (!(order > 1) || std::isinf(order)) {
    return InvalidArgumentError("order " + NumberText(order) +
                                " is out of range; allowed: (1, inf)");
  }
  const double q = sampling_rate;
  const double sigma = noise_multiplier;
  if (q == 0 || steps == 0) return 0.0;
  if (sigma == 0) return kInf;
  double per_step = 0;
  if (q == 1) {
    per_step = order / (2 * sigma * sigma);
  } else if (order == std::floor(order) && order <= 1e6) {
    per_step = LogAInteger(q, sigma, static_cast<int64_t>(order)) / (order - 1);
  } else {
    CARTABLE_ASSIGN_OR_RETURN(double log_a, LogAFractional(q, sigma, order));
    per_step = log_a / (order - 1);
  }
  return per_step * static_cast<double>(steps);
}

StatusOr<Epsilon> EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                                 double delta) {
  CARTABLE_RETURN_IF_ERROR(CheckDelta(delta));
  if (orders.size() != rdp.size() || orders.empty()) {
    return InvalidArgumentError(std::to_string(orders.size()) + " orders and " +
                                std::to_string(rdp.size()) +
                                " RDP values: one value per order, at least one");
  }
  Epsilon best{kInf, orders[0]};
  for (size_t k = 0; k < orders.size(); ++k) {
    const double a = orders[k];
    const double r = rdp[k];
    if (!(a > 1)) return InvalidArgumentError("order " + NumberText(a) + " is not above 1");
    if (!(r >= 0)) return InvalidArgumentError("RDP " + NumberText(r) + " is negative or NaN");
    double epsilon = kInf;
    if (delta * delta + std::expm1(-r) > 0) {
      epsilon = 0;          // δ ≥ √(1 − e^−KL): the KL bound alone gives it
    } else if (a > 1.01) {  // the bound is not numerically stable as α → 1
      epsilon = r + std::log1p(-1 / a) - std::log(delta * a) / (a - 1);
    }
    if (epsilon < best.epsilon) best = {epsilon, a};
  }
  best.epsilon = std::max(0.0, best.epsilon);
  return best;
}

StatusOr<Epsilon> DpSgdEpsilon(double sampling_rate, double noise_multiplier, uint64_t steps,
                               double delta) {
  CARTABLE_RETURN_IF_ERROR(CheckDelta(delta));
  const std::vector<double> orders = DefaultOrders();
  std::vector<double> rdp;
  rdp.reserve(orders.size());
  for (double order : orders) {
    CARTABLE_ASSIGN_OR_RETURN(double r,
                              SampledGaussianRdp(sampling_rate, noise_multiplier, steps, order));
    rdp.push_back(r);
  }
  return EpsilonFromRdp(orders, rdp, delta);
}

StatusOr<NoiseForTarget> NoiseMultiplierFor(double target_epsilon, double sampling_rate,
                                            uint64_t steps, double delta) {
  if (!(target_epsilon > 0) || std::isinf(target_epsilon)) {
    return InvalidArgumentError("target epsilon " + NumberText(target_epsilon) +
                                " is out of range; allowed: (0, inf)");
  }
  constexpr double kLargest = 1e4;
  double high = kLargest;
  CARTABLE_ASSIGN_OR_RETURN(Epsilon at_high, DpSgdEpsilon(sampling_rate, high, steps, delta));
  if (at_high.epsilon > target_epsilon) {
    return OutOfRangeError("even a noise multiplier of " + NumberText(kLargest) +
                           " gives epsilon " + NumberText(at_high.epsilon) + " > " +
                           NumberText(target_epsilon));
  }
  double low = 1e-3;
  CARTABLE_ASSIGN_OR_RETURN(Epsilon at_low, DpSgdEpsilon(sampling_rate, low, steps, delta));
  if (at_low.epsilon <= target_epsilon) return NoiseForTarget{low, at_low};
  // ε falls as σ grows: bisect in log space, keeping ε(low) > target ≥ ε(high).
  while (high / low > 1 + 1e-4) {
    const double middle = std::sqrt(low * high);
    CARTABLE_ASSIGN_OR_RETURN(Epsilon at, DpSgdEpsilon(sampling_rate, middle, steps, delta));
    if (at.epsilon <= target_epsilon) {
      high = middle;
      at_high = at;
    } else {
      low = middle;
    }
  }
  return NoiseForTarget{high, at_high};
}

}  // namespace cartable::aggregation::privacy
