#pragma once

// Evaluation metrics for binary predictions (will the pupil answer right? is the pupil at risk?).
// Each metric exists twice: exact, from scores and labels; and from SummableMetrics, statistics
// that add up across establishments (per-label score histograms, sums and counts), so a
// federation's AUC can be computed from a (securely) summed total without any single school's
// predictions. Pure functions.

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace cartable::models {

// Exact ROC AUC (Mann-Whitney U); tied scores count one half. Fails when one class is absent.
StatusOr<double> Auc(std::span<const float> scores, std::span<const uint8_t> labels);
// Mean binary cross-entropy; scores are clamped to [1e-7, 1 − 1e-7].
StatusOr<double> LogLoss(std::span<const float> scores, std::span<const uint8_t> labels);
// Share of predictions on the right side of 0.5.
StatusOr<double> Accuracy(std::span<const float> scores, std::span<const uint8_t> labels);
// Root mean squared error between probabilities and 0/1 labels (the Brier score's square root).
StatusOr<double> Rmse(std::span<const float> scores, std::span<const uint8_t> labels);

// 4,096 bins: the AUC from them is within 0.001 of the exact AUC unless the scores crowd into a
// band narrower than about an eighth of [0, 1] (AucBinningBound), and 0.5 is a bin edge in binary.
inline constexpr int kDefaultHistogramBins = 4096;
// More answers than any federation evaluates; keeps every sum of counts far from overflow.
inline constexpr uint64_t kMaxSummableCount = uint64_t{1} << 40;

// Summable evaluation statistics. Two SummableMetrics with the same bin count add element by
// element.
struct SummableMetrics {
  std::vector<uint64_t>
      positive_histogram;  // scores of label-1 examples, bins of width 1/bins on [0, 1]
  std::vector<uint64_t> negative_histogram;
  double log_loss_sum = 0;
  uint64_t correct = 0;
  uint64_t count = 0;
  double squared_error_sum = 0;  // Σ (score − label)²

  static SummableMetrics Empty(int bins = kDefaultHistogramBins);
  static StatusOr<SummableMetrics> Of(std::span<const float> scores,
                                      std::span<const uint8_t> labels,
                                      int bins = kDefaultHistogramBins);
  // Refuses statistics that Of cannot produce from any scores, so a peer's numbers are checked
  // before they count: the histograms must add up to `count` (at most kMaxSummableCount), `correct`
  // must be what the histograms imply (with an even bin count), and the log-loss and squared-error
  // sums must lie within the bounds the scores' bins allow, all finite. kInvalidArgument names the
  // first breach.
  Status Check() const;
  // The values the log-loss and squared-error sums can take given the histograms: each answer's
  // term lies between its bin's best and worst score's.
  struct SumRange {
    double log_loss_low = 0, log_loss_high = 0, squared_low = 0, squared_high = 0;
  };
  SumRange SumsAllowed() const;
  // Adds `other` after checking it (Check) and that the total stays within kMaxSummableCount.
  Status Add(const SummableMetrics& other);

  // AUC with scores resolved to their bin (ties within a bin count one half).
  StatusOr<double> Auc() const;
  // How far Auc() can be from the exact AUC of the scores behind the histograms: only pairs of a
  // positive and a negative in the same bin are ranked differently (one half instead of 0 or 1),
  // so the gap is at most Σ_b pos_b·neg_b / (2·P·N). Computed from the histograms alone, so it can
  // be reported with the AUC; at 4,096 bins it is below 0.001 unless the scores crowd into a narrow
  // band (docs/evaluation.md). Fails as Auc() does.
  StatusOr<double> AucBinningBound() const;
  StatusOr<double> Accuracy() const;
  // Calibration over `groups` score intervals of (nearly) equal width, each the bins whose centre
  // falls in [g/groups, (g+1)/groups) (1 ≤ groups ≤ bins): for each interval holding answers, its
  // bins' edges, the mean predicted score (each answer at its bin's centre, off by at most half a
  // bin) and the observed share of label 1.
  struct CalibrationRow {
    double low = 0, high = 0;  // the score interval
    double predicted = 0;      // mean predicted score
    double observed = 0;       // share of label 1
    uint64_t count = 0;
  };
  StatusOr<std::vector<CalibrationRow>> Calibration(int groups = 10) const;
  // Expected calibration error: Σ count·|predicted − observed| / Σ count over Calibration(groups).
  StatusOr<double> CalibrationError(int groups = 10) const;
  StatusOr<double> LogLoss() const;
  StatusOr<double> Rmse() const;
};

}  // namespace cartable::models
