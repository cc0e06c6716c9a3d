#include "exchange/evaluation_vector.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "core/number_text.h"

namespace cartable::exchange {
namespace {

// The unit-level quantiser's levels: L = 2c.
constexpr uint64_t kEvaluationLevels = uint64_t{2} << 30;
static_assert(static_cast<double>(kEvaluationLevels) == 2 * kEvaluationRange);

Status NotFromEvaluations(const std::string& what) {
  return FailedPreconditionError("the summed evaluation statistics hold " + what +
                                 ": at least one node sent statistics no evaluation gives");
}

}  // namespace

size_t EvaluationVectorSize(int bins) { return 2 * static_cast<size_t>(bins) + 4; }

StatusOr<std::vector<float>> PackEvaluation(const models::SummableMetrics& m) {
  CARTABLE_RETURN_IF_ERROR(m.Check());
  if (m.count > kMaxEvaluatedPerSchool) {
    return FailedPreconditionError("this node holds " + std::to_string(m.count) +
                                   " held-out answers; a secure evaluation takes at most " +
                                   std::to_string(kMaxEvaluatedPerSchool) + " per node");
  }
  std::vector<float> packed;
  packed.reserve(EvaluationVectorSize(static_cast<int>(m.positive_histogram.size())));
  for (uint64_t n : m.positive_histogram) packed.push_back(static_cast<float>(n));
  for (uint64_t n : m.negative_histogram) packed.push_back(static_cast<float>(n));
  packed.push_back(static_cast<float>(m.correct));
  packed.push_back(static_cast<float>(m.count));
  packed.push_back(static_cast<float>(m.log_loss_sum));
  packed.push_back(static_cast<float>(m.squared_error_sum));
  return packed;
}

void UseEvaluationQuantizer(size_t cohort, aggregation::secagg::RoundParameters& params) {
  params.value_range = kEvaluationRange;
  params.levels = kEvaluationLevels;
  params.noise_bound = 0;
  // The sum of n vectors is at most n·L < 2^bit_width(n·L).
  const uint64_t most = std::max<uint64_t>(cohort, 1) * kEvaluationLevels;
  params.modulus_bits = std::min(62, static_cast<int>(std::bit_width(most)));
}

StatusOr<models::SummableMetrics> UnpackEvaluationSum(std::span<const double> sum, int contributors,
                                                      int bins) {
  if (sum.size() != EvaluationVectorSize(bins)) {
    return InvalidArgumentError("a sum of " + std::to_string(sum.size()) +
                                " evaluation values, not " +
                                std::to_string(EvaluationVectorSize(bins)));
  }
  if (contributors < 1) return FailedPreconditionError("no evaluation to unpack");
  const double k = contributors;
  const double most = k * static_cast<double>(kMaxEvaluatedPerSchool);
  const size_t b = static_cast<size_t>(bins);
  // Counts: whole (unit levels quantise integers exactly), non-negative, at most k nodes' worth.
  auto count_at = [&](size_t i, uint64_t& out) -> Status {
    const double v = sum[i];
    if (!std::isfinite(v) || v != std::round(v) || v < 0 || v > most)
      return NotFromEvaluations("a count of " + NumberText(v) + " (value " + std::to_string(i) +
                                ")");
    out = static_cast<uint64_t>(v);
    return Status::Ok();
  };
  models::SummableMetrics m = models::SummableMetrics::Empty(bins);
  for (size_t i = 0; i < b; ++i) {
    CARTABLE_RETURN_IF_ERROR(count_at(i, m.positive_histogram[i]));
    CARTABLE_RETURN_IF_ERROR(count_at(b + i, m.negative_histogram[i]));
  }
  CARTABLE_RETURN_IF_ERROR(count_at(2 * b, m.correct));
  CARTABLE_RETURN_IF_ERROR(count_at(2 * b + 1, m.count));
  // The real sums: each contribution was rounded to a neighbouring integer (and to a float before),
  // so each may sit up to k units (and a relative 1e-6) beyond what the histograms allow; within
  // that, it is brought back inside.
  const models::SummableMetrics::SumRange range = m.SumsAllowed();
  auto real_at = [&](size_t i, double low, double high, const char* what, double& out) -> Status {
    const double v = sum[i];
    if (!std::isfinite(v) || v < low * (1 - 1e-6) - k || v > high * (1 + 1e-6) + k) {
      return NotFromEvaluations(std::string("a ") + what + " sum of " + NumberText(v) +
                                " outside what the histograms allow [" + NumberText(low) + ", " +
                                NumberText(high) + "]");
    }
    out = std::clamp(v, low, high);
    return Status::Ok();
  };
  CARTABLE_RETURN_IF_ERROR(
      real_at(2 * b + 2, range.log_loss_low, range.log_loss_high, "log-loss", m.log_loss_sum));
  CARTABLE_RETURN_IF_ERROR(real_at(2 * b + 3, range.squared_low, range.squared_high,
                                   "squared-error", m.squared_error_sum));
  if (Status checked = m.Check(); !checked.ok()) return NotFromEvaluations(checked.message());
  return m;
}

}  // namespace cartable::exchange
