#pragma once

// The evaluation statistics as they travel under secure aggregation: one node's
// EvaluationStatistics (models/fairness.h: its SummableMetrics and pupil count for all held-out
// answers, then the same for each subgroup) as one vector of floats that SecAgg+ masks, and the
// unmasked sum back. The vector is 1 + g blocks (g subgroups), each laid out, for b histogram bins:
//
//     index 0 .. b−1      positive_histogram   (counts)
//     index b .. 2b−1     negative_histogram   (counts)
//     index 2b            correct              (count)
//     index 2b+1          count
//     index 2b+2          log_loss_sum
//     index 2b+3          squared_error_sum
//     index 2b+4          pupils               (count)
//
// The quantiser of a secure evaluation has unit levels: range c = kEvaluationRange and L = 2c
// levels, so t = (x + c)/(2c)·L = x + c, and an integer x (every count, exact in a float up to
// 2^24) is quantised to itself with no rounding at all. The two sums of real numbers are rounded
// stochastically to a neighbouring integer, off by less than 1 each, unbiased. So the counts of the
// sum, and the AUC, accuracy and calibration computed from them, are exact; the log-loss and
// squared-error sums are within one unit per contributor.
//
// Under SecAgg+ nobody sees a node's vector, so UnpackEvaluationSum checks what a sum of k honest
// vectors must satisfy (counts whole and non-negative, at most k·kMaxEvaluatedPerSchool answers,
// histograms adding up to the count, the right predictions those the histograms imply, sums within
// the bounds the histograms allow, up to the rounding; no more pupils than answers; no subgroup,
// nor the subgroups of one attribute together, with more answers or pupils than all) and refuses
// any other. A node can still
// send consistent made-up statistics of up to kMaxEvaluatedPerSchool answers: secure aggregation
// hides inputs, it cannot prove them (docs/evaluation.md). Pure functions, thread safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/secagg/round_messages.h"
#include "core/status.h"
#include "models/fairness.h"
#include "models/metrics.h"

namespace cartable::exchange {

inline constexpr double kEvaluationRange = double(uint64_t{1} << 30);
// Held-out answers one node evaluates at most (every count stays exact in a float).
inline constexpr uint64_t kMaxEvaluatedPerSchool = uint64_t{1} << 24;

size_t EvaluationVectorSize(size_t subgroups = 0, int bins = models::kDefaultHistogramBins);

// One node's vector. Refuses statistics Check refuses and more than kMaxEvaluatedPerSchool answers.
StatusOr<std::vector<float>> PackEvaluation(const models::EvaluationStatistics& statistics);

// The quantiser of a secure evaluation among `cohort` members: `params` gets the unit-level range
// and levels, and the fewest modulus bits that hold the sum of the cohort's vectors.
void UseEvaluationQuantizer(size_t cohort, aggregation::secagg::RoundParameters& params);

// The statistics of `contributors` nodes, evaluated by `attributes`' subgroups, from the unmasked
// sum of their vectors; kFailedPrecondition names the first bound the sum breaks (at least one node
// sent what no evaluation gives).
StatusOr<models::EvaluationStatistics> UnpackEvaluationSum(
    std::span<const double> sum, int contributors,
    std::span<const models::Attribute> attributes = {}, int bins = models::kDefaultHistogramBins);

}  // namespace cartable::exchange
