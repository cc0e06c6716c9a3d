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

size_t EvaluationVectorSize(size_t subgroups, int bins) {
  return (1 + subgroups) * (2 * static_cast<size_t>(bins) + 5);
}

StatusOr<std::vector<float>> PackEvaluation(const models::EvaluationStatistics& statistics) {
  const size_t bins = statistics.all.metrics.positive_histogram.size();
  std::vector<float> packed;
  packed.reserve(EvaluationVectorSize(statistics.subgroups.size(), static_cast<int>(bins)));
  auto pack = [&](const models::GroupStatistics& g) -> Status {
    const models::SummableMetrics& m = g.metrics;
    CARTABLE_RETURN_IF_ERROR(m.Check());
    if (m.positive_histogram.size() != bins) {
      return InvalidArgumentError("subgroup statistics with " +
                                  std::to_string(m.positive_histogram.size()) + " bins, not " +
                                  std::to_string(bins));
    }
    if (m.count > kMaxEvaluatedPerSchool) {
      return FailedPreconditionError("this node holds " + std::to_string(m.count) +
                                     " held-out answers; a secure evaluation takes at most " +
                                     std::to_string(kMaxEvaluatedPerSchool) + " per node");
    }
    if (g.pupils > m.count) {
      return InvalidArgumentError(std::to_string(g.pupils) + " pupils for " +
                                  std::to_string(m.count) + " answers");
    }
    for (uint64_t n : m.positive_histogram) packed.push_back(static_cast<float>(n));
    for (uint64_t n : m.negative_histogram) packed.push_back(static_cast<float>(n));
    packed.push_back(static_cast<float>(m.correct));
    packed.push_back(static_cast<float>(m.count));
    packed.push_back(static_cast<float>(m.log_loss_sum));
    packed.push_back(static_cast<float>(m.squared_error_sum));
    packed.push_back(static_cast<float>(g.pupils));
    return Status::Ok();
  };
  CARTABLE_RETURN_IF_ERROR(pack(statistics.all));
  for (const models::GroupStatistics& g : statistics.subgroups) CARTABLE_RETURN_IF_ERROR(pack(g));
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

namespace {

// One block of the sum (see the header's layout) from `contributors` nodes.
StatusOr<models::GroupStatistics> UnpackBlock(std::span<const double> sum, int contributors,
                                              int bins) {
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
  models::GroupStatistics g{models::SummableMetrics::Empty(bins), 0};
  models::SummableMetrics& m = g.metrics;
  for (size_t i = 0; i < b; ++i) {
    CARTABLE_RETURN_IF_ERROR(count_at(i, m.positive_histogram[i]));
    CARTABLE_RETURN_IF_ERROR(count_at(b + i, m.negative_histogram[i]));
  }
  CARTABLE_RETURN_IF_ERROR(count_at(2 * b, m.correct));
  CARTABLE_RETURN_IF_ERROR(count_at(2 * b + 1, m.count));
  CARTABLE_RETURN_IF_ERROR(count_at(2 * b + 4, g.pupils));
  if (g.pupils > m.count || (m.count > 0 && g.pupils == 0)) {
    return NotFromEvaluations(std::to_string(g.pupils) + " pupils for " + std::to_string(m.count) +
                              " answers");
  }
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
  return g;
}

}  // namespace

StatusOr<models::EvaluationStatistics> UnpackEvaluationSum(
    std::span<const double> sum, int contributors, std::span<const models::Attribute> attributes,
    int bins) {
  const size_t subgroups = models::SubgroupCount(attributes);
  if (sum.size() != EvaluationVectorSize(subgroups, bins)) {
    return InvalidArgumentError("a sum of " + std::to_string(sum.size()) +
                                " evaluation values, not " +
                                std::to_string(EvaluationVectorSize(subgroups, bins)));
  }
  if (contributors < 1) return FailedPreconditionError("no evaluation to unpack");
  const size_t block = EvaluationVectorSize(0, bins);
  models::EvaluationStatistics s;
  CARTABLE_ASSIGN_OR_RETURN(s.all, UnpackBlock(sum.first(block), contributors, bins));
  size_t next = 1;
  for (const models::Attribute& attribute : attributes) {
    uint64_t answers = 0, pupils = 0;
    for (const std::string& value : attribute.values) {
      CARTABLE_ASSIGN_OR_RETURN(
          models::GroupStatistics g,
          UnpackBlock(sum.subspan(next++ * block, block), contributors, bins));
      answers += g.metrics.count;
      pupils += g.pupils;
      s.subgroups.push_back(std::move(g));
    }
    // A pupil has one value of an attribute, so its subgroups together hold at most everyone.
    if (answers > s.all.metrics.count || pupils > s.all.pupils) {
      return NotFromEvaluations("subgroups of '" + attribute.name + "' with " +
                                std::to_string(answers) + " answers of " + std::to_string(pupils) +
                                " pupils, more than all (" + std::to_string(s.all.metrics.count) +
                                " of " + std::to_string(s.all.pupils) + ")");
    }
  }
  return s;
}

}  // namespace cartable::exchange
