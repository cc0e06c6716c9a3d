// The robust aggregators' maths against values worked out by hand, their refusals, and the
// strategies built on them.

#include "aggregation/strategies/robust.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "update_sums.h"

using ::cartable::StatusCode;
using ::cartable::aggregation::CheckKrumCount;
using ::cartable::aggregation::CheckUpdateCount;
using ::cartable::aggregation::CoordinateMedian;
using ::cartable::aggregation::CreateStrategy;
using ::cartable::aggregation::KrumScores;
using ::cartable::aggregation::MultiKrum;
using ::cartable::aggregation::StrategyParameters;
using ::cartable::aggregation::TrimmedMean;
using ::cartable::aggregation::testing::SumWithMean;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

using Updates = std::vector<Eigen::VectorXd>;

Eigen::VectorXd V(std::initializer_list<double> values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double value : values) v[i++] = value;
  return v;
}

std::vector<double> Values(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

// One value per update: the 1-D examples below.
Updates Scalars(std::initializer_list<double> values) {
  Updates updates;
  for (double value : values) updates.push_back(V({value}));
  return updates;
}

TEST(CoordinateMedianTest, OddCountTakesTheMiddleValueOfEachCoordinate) {
  const Updates updates = {V({1, 5, -2}), V({3, 4, 0}), V({2, -7, 10})};
  auto median = CoordinateMedian(updates);
  ASSERT_TRUE(median.ok()) << median.status();
  EXPECT_THAT(Values(*median), ElementsAre(2, 4, 0));
}

TEST(CoordinateMedianTest, EvenCountAveragesTheTwoMiddleValues) {
  // Sorted: {1, 2, 3, 10}, {-7, 0, 4, 5}, {-2, 0, 1, 10}.
  const Updates updates = {V({1, 5, -2}), V({3, 4, 0}), V({2, -7, 10}), V({10, 0, 1})};
  auto median = CoordinateMedian(updates);
  ASSERT_TRUE(median.ok()) << median.status();
  EXPECT_THAT(Values(*median), ElementsAre(2.5, 2, 0.5));
}

TEST(CoordinateMedianTest, OneUpdateIsItsOwnMedianAndOrderDoesNotMatter) {
  auto one = CoordinateMedian(Updates{V({0.25, -3})});
  ASSERT_TRUE(one.ok());
  EXPECT_THAT(Values(*one), ElementsAre(0.25, -3));
  auto forward = CoordinateMedian(Scalars({0.1, 0.7, 0.3, 0.9}));
  auto backward = CoordinateMedian(Scalars({0.9, 0.3, 0.7, 0.1}));
  ASSERT_TRUE(forward.ok() && backward.ok());
  EXPECT_EQ((*forward)[0], (*backward)[0]);  // the same bits
}

TEST(TrimmedMeanTest, DropsFloorOfBetaTimesNFromEachSide) {
  // n = 5, β = 0.2: k = 1. {1, 2, 3, 4, 100} → (2 + 3 + 4) / 3; {-50, 0, 1, 2, 3} → (0 + 1 + 2)
  // / 3.
  const Updates updates = {V({100, 0}), V({2, -50}), V({4, 3}), V({1, 1}), V({3, 2})};
  auto trimmed = TrimmedMean(updates, 0.2);
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_THAT(Values(*trimmed), ElementsAre(3, 1));
  // β = 0.39 still drops ⌊1.95⌋ = 1 per side; β = 0.4 drops 2, leaving the median.
  EXPECT_THAT(Values(TrimmedMean(updates, 0.39).value()), ElementsAre(3, 1));
  EXPECT_THAT(Values(TrimmedMean(updates, 0.4).value()), ElementsAre(3, 1));
}

TEST(TrimmedMeanTest, ADecimalBetaDropsExactlyKPerSide) {
  const Updates updates = Scalars({-100, -90, -80, 4, 5, 6, 7, 80, 90, 100});
  // 0.3 · 10 = 3 per side: (4 + 5 + 6 + 7) / 4.
  EXPECT_EQ(TrimmedMean(updates, 0.3).value()[0], 5.5);
  // 0.29 · 10 → 2 per side: (−80 + 4 + 5 + 6 + 7 + 80) / 6.
  EXPECT_DOUBLE_EQ(TrimmedMean(updates, 0.29).value()[0], 22.0 / 6);
  // β = 0 is the plain mean: 22 / 10 (the outliers cancel).
  EXPECT_DOUBLE_EQ(TrimmedMean(updates, 0).value()[0], 2.2);
}

TEST(TrimmedMeanTest, RefusesABetaOutOfRange) {
  for (double beta : {0.5, -0.1, std::nan("")}) {
    auto trimmed = TrimmedMean(Scalars({1, 2, 3}), beta);
    ASSERT_FALSE(trimmed.ok()) << beta;
    EXPECT_EQ(trimmed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(trimmed.status().message(), HasSubstr("[0, 0.5)"));
  }
}

// 0, 1, 2, 3 and an outlier at 100; f = 1, so each score sums the 2 smallest squared distances:
//   0: {1, 4, 9, 10000} → 5      1: {1, 1, 4, 9801} → 2      2: {4, 1, 1, 9604} → 2
//   3: {9, 4, 1, 9409} → 5       100: {10000, 9801, 9604, 9409} → 19013
TEST(KrumTest, ScoresAreTheSumsOfTheNearestSquaredDistances) {
  auto scores = KrumScores(Scalars({0, 1, 2, 3, 100}), 1);
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_THAT(*scores, ElementsAre(5, 2, 2, 5, 19013));
}

TEST(KrumTest, ATieGoesToTheLowerIndex) {
  // Updates 1 and 2 both score 2: Krum takes update 1 (value 1), whichever value it holds.
  EXPECT_EQ(MultiKrum(Scalars({0, 1, 2, 3, 100}), 1, 1).value()[0], 1);
  EXPECT_EQ(MultiKrum(Scalars({0, 2, 1, 3, 100}), 1, 1).value()[0], 2);
}

TEST(KrumTest, PicksAnHonestUpdateOverAnOutlier) {
  // f = 1, 2 neighbours. Squared distances: AB .02, AC .02, AD .0025, BC .08, BD .0325, CD .0125,
  // E far from all. Scores: A .0225, B .0525, C .0325, D .015: D wins.
  const Updates updates = {V({1, 1}), V({1.1, 0.9}), V({0.9, 1.1}), V({1, 1.05}), V({4, -4})};
  auto chosen = MultiKrum(updates, 1, 1);
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_THAT(Values(*chosen), ElementsAre(1, 1.05));
}

TEST(KrumTest, MultiKrumAveragesTheBestScored) {
  const Updates updates = Scalars({0, 1, 2, 3, 100});
  // By score, then index: 1, 2, 0, 3, 4.
  EXPECT_EQ(MultiKrum(updates, 1, 2).value()[0], 1.5);  // (1 + 2) / 2
  EXPECT_EQ(MultiKrum(updates, 1, 3).value()[0], 1);    // (0 + 1 + 2) / 3
  EXPECT_EQ(MultiKrum(updates, 1, 4).value()[0], 1.5);  // (0 + 1 + 2 + 3) / 4, n − f = 4
  auto too_many = MultiKrum(updates, 1, 5);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(too_many.status().message(), HasSubstr("n − f = 4"));
}

TEST(KrumTest, TooFewUpdatesFailNamingNAndF) {
  auto krum = MultiKrum(Scalars({0, 1, 2, 3}), 1, 1);
  ASSERT_FALSE(krum.ok());
  EXPECT_EQ(krum.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(krum.status().message(), HasSubstr("f = 1"));
  EXPECT_THAT(krum.status().message(), HasSubstr("n > 2f + 2 = 4"));
  EXPECT_THAT(krum.status().message(), HasSubstr("n = 4"));
  // f = 0 needs 3: each score then sums the single nearest distance.
  EXPECT_TRUE(CheckKrumCount(3, 0, 1).ok());
  EXPECT_FALSE(CheckKrumCount(2, 0, 1).ok());
  EXPECT_EQ(KrumScores(Scalars({0, 1, 3}), 0).value(), (std::vector<double>{1, 1, 4}));
}

TEST(RobustKernelsTest, RefuseNoUpdateMismatchedLengthsAndNonFiniteValues) {
  const Updates none;
  EXPECT_EQ(CoordinateMedian(none).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(TrimmedMean(none, 0.1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(MultiKrum(none, 0, 1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(CoordinateMedian(none).status().message(), HasSubstr("no contributor"));

  const Updates mismatched = {V({1, 2}), V({1, 2}), V({1, 2, 3}), V({1, 2})};
  for (const auto& status :
       {CoordinateMedian(mismatched).status(), TrimmedMean(mismatched, 0.1).status(),
        MultiKrum(mismatched, 0, 1).status()}) {
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("update 2 has 3 values, update 0 has 2"));
  }
  const Updates nan = {V({1}), V({std::numeric_limits<double>::quiet_NaN()}), V({2})};
  EXPECT_EQ(CoordinateMedian(nan).status().code(), StatusCode::kInvalidArgument);
}

TEST(RobustStrategyTest, NextModelIsTheModelPlusTheAggregatedDelta) {
  const std::vector<float> global = {10, 20, 30};
  const Updates updates = {V({1, 5, -2}), V({3, 4, 0}), V({2, -7, 10})};
  auto median = CreateStrategy("median").value();
  EXPECT_THAT(median->NextModelFromUpdates(global, updates).value(), ElementsAre(12, 24, 30));
  auto halved =
      CreateStrategy(StrategyParameters{"median", {{"server_learning_rate", 0.5}}}).value();
  EXPECT_THAT(halved->NextModelFromUpdates(global, updates).value(), ElementsAre(11, 22, 30));
  // β = 0.1 of 3 drops nothing: the plain mean (2, 2/3, 8/3).
  auto trimmed = CreateStrategy("trimmed_mean").value();
  auto next = trimmed->NextModelFromUpdates(global, updates).value();
  EXPECT_THAT(next,
              ElementsAre(12, static_cast<float>(20 + 2.0 / 3), static_cast<float>(30 + 8.0 / 3)));
  auto krum = CreateStrategy(StrategyParameters{"krum", {{"byzantine", 0}}}).value();
  // f = 0: each score is the nearest squared distance: 9 (to 1), 9 (to 0), 222; the tie: update 0.
  EXPECT_THAT(krum->NextModelFromUpdates(global, updates).value(), ElementsAre(11, 25, 28));
}

TEST(RobustStrategyTest, RefusesTheSumAModelOfAnotherSizeAndTooFewUpdates) {
  auto median = CreateStrategy("median").value();
  auto from_sum = median->NextModel(std::vector<float>{0}, SumWithMean({1}));
  ASSERT_FALSE(from_sum.ok());
  EXPECT_EQ(from_sum.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(from_sum.status().message(), HasSubstr("each node's own update"));

  auto wrong_size = median->NextModelFromUpdates(std::vector<float>{0, 0}, Scalars({1, 2, 3}));
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_EQ(wrong_size.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_size.status().message(), HasSubstr("the model has 2"));

  auto krum = CreateStrategy("krum").value();  // f = 1 by default
  auto few = krum->NextModelFromUpdates(std::vector<float>{0}, Scalars({1, 2, 3}));
  ASSERT_FALSE(few.ok());
  EXPECT_EQ(few.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(few.status().message(), HasSubstr("n = 3"));

  // The averaging strategies decide from the sum only.
  auto fedavg = CreateStrategy("fedavg").value();
  EXPECT_EQ(fedavg->NextModelFromUpdates(std::vector<float>{0}, Scalars({1})).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(RobustStrategyTest, KeepsNoStateAndRestoresOnlyAnEmptyOne) {
  for (const char* name : {"median", "trimmed_mean", "krum"}) {
    auto strategy = CreateStrategy(name).value();
    EXPECT_EQ(strategy->name(), name);
    EXPECT_TRUE(strategy->SaveState().empty()) << name;
    EXPECT_TRUE(strategy->RestoreState({}, 3).ok()) << name;
    const std::vector<double> state = {1, 2, 3};
    EXPECT_EQ(strategy->RestoreState(state, 3).code(), StatusCode::kInvalidArgument) << name;
  }
}

TEST(RobustStrategyTest, CheckUpdateCountHoldsKrumToMoreThanTwoFPlusTwo) {
  EXPECT_TRUE(CheckUpdateCount(StrategyParameters{"krum", {}}, 5).ok());
  EXPECT_EQ(CheckUpdateCount(StrategyParameters{"krum", {}}, 4).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckUpdateCount(StrategyParameters{"krum", {{"byzantine", 2}}}, 7).ok());
  EXPECT_FALSE(CheckUpdateCount(StrategyParameters{"krum", {{"byzantine", 2}}}, 6).ok());
  EXPECT_FALSE(CheckUpdateCount(StrategyParameters{"krum", {{"selected", 5}}}, 5).ok());
  EXPECT_TRUE(CheckUpdateCount(StrategyParameters{"median", {}}, 1).ok());
  EXPECT_TRUE(CheckUpdateCount(StrategyParameters{"fedavg", {}}, 1).ok());
  EXPECT_EQ(CheckUpdateCount(StrategyParameters{"krum", {{"byzantine", -1}}}, 9).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
