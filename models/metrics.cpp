#include "models/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace cartable::models {
namespace {

Status CheckSizes(std::span<const float> scores, std::span<const uint8_t> labels) {
  if (scores.size() != labels.size()) {
    return InvalidArgumentError(std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels");
  }
  if (scores.empty()) return InvalidArgumentError("no example to evaluate");
  return Status::Ok();
}

double Clamp(double p) { return std::clamp(p, 1e-7, 1.0 - 1e-7); }

}  // namespace

StatusOr<double> Auc(std::span<const float> scores, std::span<const uint8_t> labels) {
  CARTABLE_RETURN_IF_ERROR(CheckSizes(scores, labels));
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Rank-sum of positives with average ranks for ties.
  double positive_rank_sum = 0;
  uint64_t positives = 0;
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]]) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    i = j;
  }
  const uint64_t negatives = order.size() - positives;
  if (positives == 0 || negatives == 0) {
    return FailedPreconditionError("AUC is undefined when all labels are equal");
  }
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2.0) / (p * static_cast<double>(negatives));
}

StatusOr<double> LogLoss(std::span<const float> scores, std::span<const uint8_t> labels) {
  CARTABLE_RETURN_IF_ERROR(CheckSizes(scores, labels));
  double sum = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const double p = Clamp(scores[i]);
    sum -= labels[i] ? std::log(p) : std::log(1 - p);
  }
  return sum / static_cast<double>(scores.size());
}

StatusOr<double> Accuracy(std::span<const float> scores, std::span<const uint8_t> labels) {
  CARTABLE_RETURN_IF_ERROR(CheckSizes(scores, labels));
  size_t correct = 0;
  for (size_t i = 0; i < scores.size(); ++i) correct += (scores[i] >= 0.5f) == (labels[i] != 0);
  return static_cast<double>(correct) / static_cast<double>(scores.size());
}

StatusOr<double> Rmse(std::span<const float> scores, std::span<const uint8_t> labels) {
  CARTABLE_RETURN_IF_ERROR(CheckSizes(scores, labels));
  double sum = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const double error = static_cast<double>(scores[i]) - labels[i];
    sum += error * error;
  }
  return std::sqrt(sum / static_cast<double>(scores.size()));
}

SummableMetrics SummableMetrics::Empty(int bins) {
  SummableMetrics m;
  m.positive_histogram.assign(static_cast<size_t>(bins), 0);
  m.negative_histogram.assign(static_cast<size_t>(bins), 0);
  return m;
}

StatusOr<SummableMetrics> SummableMetrics::Of(std::span<const float> scores,
                                              std::span<const uint8_t> labels, int bins) {
  CARTABLE_RETURN_IF_ERROR(CheckSizes(scores, labels));
  if (bins < 2) return InvalidArgumentError("a score histogram needs at least 2 bins");
  SummableMetrics m = Empty(bins);
  for (size_t i = 0; i < scores.size(); ++i) {
    const double p = std::isfinite(scores[i]) ? std::clamp<double>(scores[i], 0.0, 1.0) : 0.5;
    const size_t bin =
        std::min<size_t>(static_cast<size_t>(p * bins), static_cast<size_t>(bins - 1));
    (labels[i] ? m.positive_histogram : m.negative_histogram)[bin] += 1;
    const double q = Clamp(p);
    m.log_loss_sum -= labels[i] ? std::log(q) : std::log(1 - q);
    m.correct += (p >= 0.5) == (labels[i] != 0);
    m.count += 1;
    m.squared_error_sum += (p - labels[i]) * (p - labels[i]);
  }
  return m;
}

namespace {

// The range of one example's log-loss and squared error when its score fell in bin b of `bins`.
struct BinBounds {
  double log_loss_low, log_loss_high, squared_low, squared_high;
};

BinBounds BoundsOf(size_t b, size_t bins, bool positive) {
  const double low = static_cast<double>(b) / bins;
  const double high = static_cast<double>(b + 1) / bins;
  // The loss of a positive falls as its score rises; a negative's rises.
  const double worst = positive ? low : high;
  const double best = positive ? high : low;
  auto loss = [positive](double p) {
    return positive ? -std::log(Clamp(p)) : -std::log(1 - Clamp(p));
  };
  auto squared = [positive](double p) {
    return (p - (positive ? 1.0 : 0.0)) * (p - (positive ? 1.0 : 0.0));
  };
  return {loss(best), loss(worst), squared(best), squared(worst)};
}

}  // namespace

SummableMetrics::SumRange SummableMetrics::SumsAllowed() const {
  const size_t bins = std::min(positive_histogram.size(), negative_histogram.size());
  SumRange range;
  for (size_t b = 0; b < bins; ++b) {
    for (bool positive : {true, false}) {
      const auto n = static_cast<double>((positive ? positive_histogram : negative_histogram)[b]);
      const BinBounds bounds = BoundsOf(b, bins, positive);
      range.log_loss_low += n * bounds.log_loss_low;
      range.log_loss_high += n * bounds.log_loss_high;
      range.squared_low += n * bounds.squared_low;
      range.squared_high += n * bounds.squared_high;
    }
  }
  return range;
}

Status SummableMetrics::Check() const {
  const size_t bins = positive_histogram.size();
  if (bins < 2 || negative_histogram.size() != bins) {
    return InvalidArgumentError("score histograms of " + std::to_string(bins) + " and " +
                                std::to_string(negative_histogram.size()) + " bins");
  }
  if (count > kMaxSummableCount)
    return InvalidArgumentError("a count of " + std::to_string(count) + " answers");
  uint64_t total = 0;
  uint64_t implied_correct = 0;
  for (size_t b = 0; b < bins; ++b) {
    for (bool positive : {true, false}) {
      const uint64_t n = (positive ? positive_histogram : negative_histogram)[b];
      if (n > kMaxSummableCount - total)
        return InvalidArgumentError("the histograms hold more answers than the count");
      total += n;
      if ((b >= bins / 2) == positive) implied_correct += n;
    }
  }
  if (total != count) {
    return InvalidArgumentError("the histograms hold " + std::to_string(total) +
                                " answers, the count says " + std::to_string(count));
  }
  if (bins % 2 == 0 && correct != implied_correct) {
    return InvalidArgumentError(std::to_string(correct) +
                                " right predictions, where the histograms imply " +
                                std::to_string(implied_correct));
  }
  const auto [loss_low, loss_high, squared_low, squared_high] = SumsAllowed();
  // Sums of up to 2^40 terms in double: allow their rounding.
  const double slack = 1e-9 * static_cast<double>(count) + 1e-9;
  if (!std::isfinite(log_loss_sum) || log_loss_sum < loss_low * (1 - 1e-9) - slack ||
      log_loss_sum > loss_high * (1 + 1e-9) + slack) {
    return InvalidArgumentError("a log-loss sum of " + std::to_string(log_loss_sum) +
                                " is outside what the histograms allow");
  }
  if (!std::isfinite(squared_error_sum) || squared_error_sum < squared_low * (1 - 1e-9) - slack ||
      squared_error_sum > squared_high * (1 + 1e-9) + slack) {
    return InvalidArgumentError("a squared-error sum of " + std::to_string(squared_error_sum) +
                                " is outside what the histograms allow");
  }
  return Status::Ok();
}

Status SummableMetrics::Add(const SummableMetrics& other) {
  if (other.positive_histogram.size() != positive_histogram.size() ||
      other.negative_histogram.size() != negative_histogram.size()) {
    return InvalidArgumentError("cannot add metrics with " +
                                std::to_string(other.positive_histogram.size()) + " bins to " +
                                std::to_string(positive_histogram.size()) + " bins");
  }
  CARTABLE_RETURN_IF_ERROR(other.Check());
  if (other.count > kMaxSummableCount - count) {
    return InvalidArgumentError("the total would exceed " + std::to_string(kMaxSummableCount) +
                                " answers");
  }
  for (size_t b = 0; b < positive_histogram.size(); ++b) {
    positive_histogram[b] += other.positive_histogram[b];
    negative_histogram[b] += other.negative_histogram[b];
  }
  log_loss_sum += other.log_loss_sum;
  correct += other.correct;
  count += other.count;
  squared_error_sum += other.squared_error_sum;
  return Status::Ok();
}

StatusOr<double> SummableMetrics::Auc() const {
  double pairs_ranked_right = 0;
  double negatives_below = 0;
  double positives = 0;
  for (size_t b = 0; b < positive_histogram.size(); ++b) {
    const double pos = static_cast<double>(positive_histogram[b]);
    const double neg = static_cast<double>(negative_histogram[b]);
    pairs_ranked_right += pos * (negatives_below + 0.5 * neg);
    negatives_below += neg;
    positives += pos;
  }
  if (positives == 0 || negatives_below == 0) {
    return FailedPreconditionError("AUC is undefined when all labels are equal");
  }
  return pairs_ranked_right / (positives * negatives_below);
}

StatusOr<double> SummableMetrics::AucBinningBound() const {
  double tied_pairs = 0, positives = 0, negatives = 0;
  for (size_t b = 0; b < positive_histogram.size(); ++b) {
    const double pos = static_cast<double>(positive_histogram[b]);
    const double neg = static_cast<double>(negative_histogram[b]);
    tied_pairs += pos * neg;
    positives += pos;
    negatives += neg;
  }
  if (positives == 0 || negatives == 0) {
    return FailedPreconditionError("AUC is undefined when all labels are equal");
  }
  return 0.5 * tied_pairs / (positives * negatives);
}

StatusOr<std::vector<SummableMetrics::CalibrationRow>> SummableMetrics::Calibration(
    int groups) const {
  const size_t bins = positive_histogram.size();
  if (groups < 1 || static_cast<size_t>(groups) > bins || negative_histogram.size() != bins) {
    return InvalidArgumentError(std::to_string(groups) + " calibration intervals over " +
                                std::to_string(bins) + " bins");
  }
  if (count == 0) return FailedPreconditionError("no example was evaluated");
  std::vector<CalibrationRow> rows;
  size_t first = 0;  // the interval's first bin: each bin goes to the interval holding its centre
  for (size_t g = 0; g < static_cast<size_t>(groups); ++g) {
    size_t end = first;
    while (end < bins && (2 * end + 1) * static_cast<size_t>(groups) < 2 * bins * (g + 1)) ++end;
    double predicted = 0, positives = 0, answers = 0;
    for (size_t b = first; b < end; ++b) {
      const double pos = static_cast<double>(positive_histogram[b]);
      const double n = pos + static_cast<double>(negative_histogram[b]);
      predicted += n * (static_cast<double>(b) + 0.5) / static_cast<double>(bins);
      positives += pos;
      answers += n;
    }
    if (answers > 0) {
      rows.push_back({static_cast<double>(first) / static_cast<double>(bins),
                      static_cast<double>(end) / static_cast<double>(bins), predicted / answers,
                      positives / answers, static_cast<uint64_t>(answers)});
    }
    first = end;
  }
  return rows;
}

StatusOr<double> SummableMetrics::CalibrationError(int groups) const {
  CARTABLE_ASSIGN_OR_RETURN(std::vector<CalibrationRow> rows, Calibration(groups));
  double gap = 0, answers = 0;
  for (const CalibrationRow& row : rows) {
    gap += static_cast<double>(row.count) * std::abs(row.predicted - row.observed);
    answers += static_cast<double>(row.count);
  }
  return gap / answers;
}

StatusOr<double> SummableMetrics::Accuracy() const {
  if (count == 0) return FailedPreconditionError("no example was evaluated");
  return static_cast<double>(correct) / static_cast<double>(count);
}

StatusOr<double> SummableMetrics::Rmse() const {
  if (count == 0) return FailedPreconditionError("no example was evaluated");
  return std::sqrt(squared_error_sum / static_cast<double>(count));
}

StatusOr<double> SummableMetrics::LogLoss() const {
  if (count == 0) return FailedPreconditionError("no example was evaluated");
  return log_loss_sum / static_cast<double>(count);
}

}  // namespace cartable::models
