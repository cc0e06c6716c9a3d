#include "models/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <vector>

using ::cartable::StatusCode;
using ::cartable::models::Accuracy;
using ::cartable::models::Auc;
using ::cartable::models::LogLoss;
using ::cartable::models::SummableMetrics;
using ::testing::HasSubstr;

namespace {

uint64_t Sum(const std::vector<uint64_t>& v) {
  return std::accumulate(v.begin(), v.end(), uint64_t{0});
}

TEST(AucTest, MatchesAHandComputedValue) {
  // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: three of the four pairs are ranked right.
  const std::vector<float> scores = {0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<uint8_t> labels = {0, 0, 1, 1};
  auto auc = Auc(scores, labels);
  ASSERT_TRUE(auc.ok()) << auc.status();
  EXPECT_DOUBLE_EQ(*auc, 0.75);
}

TEST(AucTest, PerfectAndReversedRankings) {
  const std::vector<uint8_t> labels = {0, 1, 0, 1};
  auto perfect = Auc(std::vector<float>{0.1f, 0.9f, 0.2f, 0.8f}, labels);
  auto reversed = Auc(std::vector<float>{0.9f, 0.1f, 0.8f, 0.2f}, labels);
  ASSERT_TRUE(perfect.ok());
  ASSERT_TRUE(reversed.ok());
  EXPECT_DOUBLE_EQ(*perfect, 1.0);
  EXPECT_DOUBLE_EQ(*reversed, 0.0);
}

TEST(AucTest, TiesCountOneHalf) {
  auto all_equal =
      Auc(std::vector<float>{0.3f, 0.3f, 0.3f, 0.3f, 0.3f}, std::vector<uint8_t>{1, 0, 0, 1, 1});
  ASSERT_TRUE(all_equal.ok());
  EXPECT_DOUBLE_EQ(*all_equal, 0.5);
  // Positives 0.5, 0.9 against negatives 0.2, 0.5: 1 + 0.5 (tie) + 2 = 3.5 of 4 pairs.
  auto one_tie = Auc(std::vector<float>{0.2f, 0.5f, 0.5f, 0.9f}, std::vector<uint8_t>{0, 0, 1, 1});
  ASSERT_TRUE(one_tie.ok());
  EXPECT_DOUBLE_EQ(*one_tie, 0.875);
}

TEST(AucTest, ASingleClassIsAnError) {
  auto only_positives = Auc(std::vector<float>{0.1f, 0.7f}, std::vector<uint8_t>{1, 1});
  auto only_negatives = Auc(std::vector<float>{0.1f, 0.7f}, std::vector<uint8_t>{0, 0});
  EXPECT_FALSE(only_positives.ok());
  EXPECT_FALSE(only_negatives.ok());
  EXPECT_EQ(only_positives.status().code(), StatusCode::kFailedPrecondition);
}

TEST(AucTest, SizeMismatchAndEmptyInputAreErrors) {
  auto mismatch = Auc(std::vector<float>{0.1f, 0.7f, 0.3f}, std::vector<uint8_t>{0, 1});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Auc(std::vector<float>{}, std::vector<uint8_t>{}).ok());
}

TEST(LogLossTest, MatchesAHandComputedValue) {
  auto loss = LogLoss(std::vector<float>{0.5f, 0.25f, 0.8f}, std::vector<uint8_t>{1, 0, 1});
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_NEAR(*loss, -(std::log(0.5) + std::log(0.75) + std::log(0.8)) / 3.0, 1e-7);
}

TEST(LogLossTest, ClampsCertainScores) {
  auto wrong = LogLoss(std::vector<float>{0.0f}, std::vector<uint8_t>{1});
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(std::isfinite(*wrong));
  EXPECT_NEAR(*wrong, -std::log(1e-7), 1e-6);
  auto right = LogLoss(std::vector<float>{1.0f}, std::vector<uint8_t>{1});
  ASSERT_TRUE(right.ok());
  EXPECT_NEAR(*right, 0.0, 1e-6);
}

TEST(LogLossTest, SizeMismatchIsAnError) {
  EXPECT_FALSE(LogLoss(std::vector<float>{0.5f}, std::vector<uint8_t>{1, 0}).ok());
}

TEST(AccuracyTest, MatchesAHandComputedValue) {
  // 0.5 counts as a predicted 1: right; 0.49 wrong; 0.9 wrong; 0.1 right.
  auto accuracy =
      Accuracy(std::vector<float>{0.5f, 0.49f, 0.9f, 0.1f}, std::vector<uint8_t>{1, 1, 0, 0});
  ASSERT_TRUE(accuracy.ok());
  EXPECT_DOUBLE_EQ(*accuracy, 0.5);
  auto two_thirds = Accuracy(std::vector<float>{0.7f, 0.2f, 0.6f}, std::vector<uint8_t>{1, 0, 0});
  ASSERT_TRUE(two_thirds.ok());
  EXPECT_DOUBLE_EQ(*two_thirds, 2.0 / 3.0);
  EXPECT_FALSE(Accuracy(std::vector<float>{0.5f}, std::vector<uint8_t>{}).ok());
}

TEST(SummableMetricsTest, AucEqualsTheExactAucWhenEveryScoreHasItsOwnBin) {
  std::mt19937 rng(7);
  std::bernoulli_distribution coin(0.5);
  const int bins = 100;
  std::vector<float> scores;
  std::vector<uint8_t> labels;
  for (int b = 0; b < bins; ++b) {
    scores.push_back((static_cast<float>(b) + 0.5f) / bins);  // centre of bin b
    labels.push_back(coin(rng) ? 1 : 0);
  }
  std::shuffle(scores.begin(), scores.end(), rng);
  auto exact = Auc(scores, labels);
  auto summable = SummableMetrics::Of(scores, labels, bins);
  ASSERT_TRUE(exact.ok());
  ASSERT_TRUE(summable.ok()) << summable.status();
  auto binned = summable->Auc();
  ASSERT_TRUE(binned.ok());
  EXPECT_NEAR(*binned, *exact, 1e-12);
  EXPECT_NE(*exact, 0.5);  // the check is not vacuous

  auto exact_loss = LogLoss(scores, labels);
  auto exact_accuracy = Accuracy(scores, labels);
  ASSERT_TRUE(summable->LogLoss().ok());
  EXPECT_NEAR(*summable->LogLoss(), *exact_loss, 1e-6);
  EXPECT_DOUBLE_EQ(*summable->Accuracy(), *exact_accuracy);
}

// The stated bound holds, and is below 0.001 at 4,096 bins for scores spread like a model's: on
// many random samples, from well separated to barely better than chance, and with scores that
// crowd into a narrow band (where the bound, not the gap, grows).
TEST(SummableMetricsTest, TheHistogramsAucIsWithinItsBinningBoundOfTheExactAuc) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 40; ++trial) {
    const double separation = 0.05 * trial;
    const double spread = trial % 4 == 3 ? 0.01 : (trial % 2 == 0 ? 0.25 : 0.1);  // 1 in 4: crowded
    std::normal_distribution<double> noise(0, spread);
    std::bernoulli_distribution label(0.4);
    std::vector<float> scores;
    std::vector<uint8_t> labels;
    for (int i = 0; i < 5000; ++i) {
      const bool y = label(rng);
      const double s = 0.5 + (y ? separation : -separation) * spread + noise(rng);
      scores.push_back(static_cast<float>(std::clamp(s, 0.0, 1.0)));
      labels.push_back(y ? 1 : 0);
    }
    const auto m = SummableMetrics::Of(scores, labels).value();
    const double exact = Auc(scores, labels).value();
    const double bound = m.AucBinningBound().value();
    EXPECT_LE(std::abs(m.Auc().value() - exact), bound + 1e-12) << "trial " << trial;
    if (spread >= 0.1) EXPECT_LT(bound, 0.001) << "trial " << trial;
  }
}

TEST(SummableMetricsTest, TiesWithinABinCountOneHalf) {
  // Exact AUC is 1, but both scores fall in bin 5 of 10.
  auto m = SummableMetrics::Of(std::vector<float>{0.51f, 0.52f}, std::vector<uint8_t>{0, 1}, 10);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->positive_histogram[5], 1u);
  EXPECT_EQ(m->negative_histogram[5], 1u);
  EXPECT_DOUBLE_EQ(*m->Auc(), 0.5);
}

TEST(SummableMetricsTest, ExtremeScoresLandInTheEdgeBins) {
  auto m = SummableMetrics::Of(std::vector<float>{0.0f, 1.0f}, std::vector<uint8_t>{0, 1}, 10);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->positive_histogram.size(), 10u);
  EXPECT_EQ(m->negative_histogram[0], 1u);
  EXPECT_EQ(m->positive_histogram[9], 1u);
  EXPECT_EQ(m->count, 2u);
  EXPECT_EQ(m->correct, 2u);
}

TEST(SummableMetricsTest, AddOfTwoHalvesEqualsOfTheWhole) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::bernoulli_distribution coin(0.4);
  std::vector<float> scores(500);
  std::vector<uint8_t> labels(500);
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i] = uniform(rng);
    labels[i] = coin(rng) ? 1 : 0;
  }
  const std::span<const float> all_scores(scores);
  const std::span<const uint8_t> all_labels(labels);
  auto whole = SummableMetrics::Of(all_scores, all_labels, 50);
  auto first = SummableMetrics::Of(all_scores.subspan(0, 200), all_labels.subspan(0, 200), 50);
  auto second = SummableMetrics::Of(all_scores.subspan(200), all_labels.subspan(200), 50);
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  SummableMetrics sum = *first;
  ASSERT_TRUE(sum.Add(*second).ok());
  EXPECT_EQ(sum.positive_histogram, whole->positive_histogram);
  EXPECT_EQ(sum.negative_histogram, whole->negative_histogram);
  EXPECT_EQ(sum.count, whole->count);
  EXPECT_EQ(sum.count, 500u);
  EXPECT_EQ(sum.correct, whole->correct);
  EXPECT_NEAR(sum.log_loss_sum, whole->log_loss_sum, 1e-9 * whole->log_loss_sum);
  EXPECT_EQ(Sum(sum.positive_histogram) + Sum(sum.negative_histogram), 500u);
}

TEST(SummableMetricsTest, AddToEmptyIsIdentity) {
  auto m =
      SummableMetrics::Of(std::vector<float>{0.2f, 0.7f, 0.9f}, std::vector<uint8_t>{0, 1, 0}, 20);
  ASSERT_TRUE(m.ok());
  SummableMetrics empty = SummableMetrics::Empty(20);
  ASSERT_TRUE(empty.Add(*m).ok());
  EXPECT_EQ(empty.positive_histogram, m->positive_histogram);
  EXPECT_EQ(empty.negative_histogram, m->negative_histogram);
  EXPECT_EQ(empty.count, 3u);
  EXPECT_DOUBLE_EQ(empty.log_loss_sum, m->log_loss_sum);
}

TEST(SummableMetricsTest, AddWithADifferentBinCountIsRefused) {
  auto ten = SummableMetrics::Of(std::vector<float>{0.2f, 0.7f}, std::vector<uint8_t>{0, 1}, 10);
  auto twenty = SummableMetrics::Of(std::vector<float>{0.2f, 0.7f}, std::vector<uint8_t>{0, 1}, 20);
  ASSERT_TRUE(ten.ok());
  ASSERT_TRUE(twenty.ok());
  SummableMetrics target = *ten;
  cartable::Status status = target.Add(*twenty);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bins"));
  EXPECT_EQ(target.count, 2u);  // unchanged
  EXPECT_EQ(target.positive_histogram, ten->positive_histogram);
}

TEST(SummableMetricsTest, InvalidInputsAndEmptyStatisticsAreErrors) {
  EXPECT_FALSE(SummableMetrics::Of(std::vector<float>{0.5f}, std::vector<uint8_t>{1, 0}).ok());
  EXPECT_FALSE(SummableMetrics::Of(std::vector<float>{0.5f}, std::vector<uint8_t>{1}, 1).ok());
  const SummableMetrics empty = SummableMetrics::Empty(10);
  EXPECT_FALSE(empty.Auc().ok());
  EXPECT_FALSE(empty.Accuracy().ok());
  EXPECT_FALSE(empty.LogLoss().ok());
  auto one_class =
      SummableMetrics::Of(std::vector<float>{0.1f, 0.9f}, std::vector<uint8_t>{1, 1}, 10);
  ASSERT_TRUE(one_class.ok());
  EXPECT_FALSE(one_class->Auc().ok());
  EXPECT_TRUE(one_class->Accuracy().ok());
}

}  // namespace

TEST(SummableMetricsTest, CalibrationComparesTheMeanScoreWithTheObservedShareInEachInterval) {
  // Interval [0.1, 0.2): scores 0.15 ×4, one positive; interval [0.8, 0.9): 0.85 ×2, both positive.
  const std::vector<float> scores = {0.15f, 0.15f, 0.15f, 0.15f, 0.85f, 0.85f};
  const std::vector<uint8_t> labels = {1, 0, 0, 0, 1, 1};
  const auto m = SummableMetrics::Of(scores, labels).value();
  const auto rows = m.Calibration(10).value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NEAR(rows[0].low, 0.1, 1.0 / ::cartable::models::kDefaultHistogramBins);
  EXPECT_NEAR(rows[0].high, 0.2, 1.0 / ::cartable::models::kDefaultHistogramBins);
  EXPECT_EQ(rows[0].count, 4u);
  EXPECT_NEAR(rows[0].predicted, 0.15, 0.5 / ::cartable::models::kDefaultHistogramBins);
  EXPECT_DOUBLE_EQ(rows[0].observed, 0.25);
  EXPECT_EQ(rows[1].count, 2u);
  EXPECT_DOUBLE_EQ(rows[1].observed, 1.0);
  // ECE = (4·|0.15 − 0.25| + 2·|0.85 − 1|) / 6 = (0.4 + 0.3) / 6.
  EXPECT_NEAR(m.CalibrationError(10).value(), 0.7 / 6, 1e-3);
  EXPECT_EQ(m.Calibration(7).value().size(), 2u);
  EXPECT_FALSE(m.Calibration(0).ok());
  EXPECT_FALSE(m.Calibration(5000).ok()) << "more intervals than bins";
  EXPECT_FALSE(SummableMetrics::Empty().Calibration(10).ok()) << "nothing evaluated";
}

TEST(RmseTest, HandComputedAndSummable) {
  const std::vector<float> p = {0.9f, 0.2f, 0.6f, 0.4f};
  const std::vector<uint8_t> y = {1, 0, 0, 1};
  // errors 0.1, 0.2, 0.6, 0.6 → mean square (0.01 + 0.04 + 0.36 + 0.36) / 4 = 0.1925
  auto exact = cartable::models::Rmse(p, y);
  ASSERT_TRUE(exact.ok());
  EXPECT_NEAR(*exact, std::sqrt(0.1925), 1e-6);
  auto half1 =
      cartable::models::SummableMetrics::Of(std::span(p).first(2), std::span(y).first(2)).value();
  auto half2 =
      cartable::models::SummableMetrics::Of(std::span(p).last(2), std::span(y).last(2)).value();
  ASSERT_TRUE(half1.Add(half2).ok());
  EXPECT_NEAR(half1.Rmse().value(), *exact, 1e-6);
  EXPECT_FALSE(cartable::models::Rmse({}, {}).ok());
}

namespace cartable::models {
namespace {

SummableMetrics Honest() {
  std::vector<float> scores;
  std::vector<uint8_t> labels;
  for (int i = 0; i < 200; ++i) {
    scores.push_back(static_cast<float>((i * 37 % 101) / 100.0));
    labels.push_back(static_cast<uint8_t>(i % 3 == 0));
  }
  return SummableMetrics::Of(scores, labels).value();
}

TEST(SummableMetricsCheckTest, WhatOfProducesPasses) {
  EXPECT_TRUE(Honest().Check().ok());
  EXPECT_TRUE(SummableMetrics::Empty().Check().ok());
  SummableMetrics nan_scores = SummableMetrics::Of(std::vector<float>{std::nanf(""), 1.0f, 0.0f},
                                                   std::vector<uint8_t>{1, 1, 0})
                                   .value();
  EXPECT_TRUE(nan_scores.Check().ok());
}

// Regression: a node reported AUC 1.0 with a log-loss of −2.6e296, and the federation's metrics
// took it.
TEST(SummableMetricsCheckTest, RefusesStatisticsNoScoresCanGive) {
  SummableMetrics forged = Honest();
  forged.log_loss_sum = -2.6e296;
  EXPECT_THAT(forged.Check().message(), HasSubstr("log-loss"));
  forged = Honest();
  forged.log_loss_sum = std::nan("");
  EXPECT_FALSE(forged.Check().ok());
  forged = Honest();
  forged.count += 1;
  EXPECT_THAT(forged.Check().message(), HasSubstr("count"));
  forged = Honest();
  forged.correct = forged.count;
  EXPECT_THAT(forged.Check().message(), HasSubstr("right predictions"));
  forged = Honest();
  forged.squared_error_sum = 1e12;
  EXPECT_THAT(forged.Check().message(), HasSubstr("squared-error"));
  forged = Honest();
  forged.positive_histogram[3] = kMaxSummableCount;
  EXPECT_FALSE(forged.Check().ok());
}

TEST(SummableMetricsCheckTest, AddRefusesForgedStatisticsAndKeepsTheTotal) {
  SummableMetrics total = SummableMetrics::Empty();
  ASSERT_TRUE(total.Add(Honest()).ok());
  SummableMetrics forged = Honest();
  forged.log_loss_sum = -1;
  EXPECT_FALSE(total.Add(forged).ok());
  EXPECT_EQ(total.count, Honest().count);
  EXPECT_DOUBLE_EQ(total.log_loss_sum, Honest().log_loss_sum);
}

}  // namespace
}  // namespace cartable::models
