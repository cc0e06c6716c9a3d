// SaveState / RestoreState: a coordinator killed and restarted from a checkpoint continues exactly
// where it stopped.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "aggregation/strategies/strategy.h"
#include "update_sums.h"

using ::cartable::Status;
using ::cartable::StatusCode;
using ::cartable::aggregation::CreateStrategy;
using ::cartable::aggregation::Strategy;
using ::cartable::aggregation::StrategyParameters;
using ::cartable::aggregation::testing::SumWithMean;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

constexpr const char* kStateful[] = {"fedavgm", "fedadagrad", "fedadam", "fedyogi"};

std::unique_ptr<Strategy> Make(const std::string& name) {
  auto strategy = CreateStrategy(name);
  EXPECT_TRUE(strategy.ok()) << strategy.status();
  return std::move(strategy).value();
}

// Deltas with no short binary expansion, so any lost bit of state would show in the models.
std::vector<double> RoundDelta(int round) {
  return {0.1 * round - 0.37, std::sin(round) * 1e-3, 1.0 / (round + 3), -2.5e-5 * round};
}

std::vector<float> Advance(Strategy& strategy, const std::vector<float>& global, int round) {
  auto next = strategy.NextModel(global, SumWithMean(RoundDelta(round)));
  EXPECT_TRUE(next.ok()) << next.status();
  return next.ok() ? *next : global;
}

TEST(StrategyStateTest, RestoredStrategyContinuesBitIdentically) {
  const std::vector<float> initial = {0.5f, -1.25f, 3.0f, 0.001f};
  for (const char* name : kStateful) {
    std::unique_ptr<Strategy> uninterrupted = Make(name);
    std::unique_ptr<Strategy> killed = Make(name);
    std::vector<float> model = initial;
    std::vector<float> other = initial;
    for (int round = 1; round <= 3; ++round) {
      model = Advance(*uninterrupted, model, round);
      other = Advance(*killed, other, round);
    }
    const std::vector<double> checkpoint = killed->SaveState();
    killed.reset();
    std::unique_ptr<Strategy> restarted = Make(name);
    ASSERT_TRUE(restarted->RestoreState(checkpoint, other.size()).ok()) << name;
    for (int round = 4; round <= 8; ++round) {
      model = Advance(*uninterrupted, model, round);
      other = Advance(*restarted, other, round);
      EXPECT_EQ(other, model) << name << " round " << round;
    }
    EXPECT_EQ(restarted->SaveState(), uninterrupted->SaveState()) << name;
  }
}

TEST(StrategyStateTest, LayoutIsMomentsEndToEnd) {
  auto adagrad = CreateStrategy(StrategyParameters{
      "fedadagrad", {{"beta1", 0.5}, {"tau", 0.75}, {"server_learning_rate", 1}}});
  ASSERT_TRUE(adagrad.ok()) << adagrad.status();
  // Δ = (1, -1): m = 0.5·Δ, v = τ² + Δ² = 0.5625 + 1.
  ASSERT_TRUE((*adagrad)->NextModel(std::vector<float>{0, 0}, SumWithMean({1, -1})).ok());
  EXPECT_THAT((*adagrad)->SaveState(), ElementsAre(0.5, -0.5, 1.5625, 1.5625));

  auto fedavgm = CreateStrategy("fedavgm");
  ASSERT_TRUE(fedavgm.ok());
  ASSERT_TRUE((*fedavgm)->NextModel(std::vector<float>{0, 0}, SumWithMean({1, -1})).ok());
  EXPECT_THAT((*fedavgm)->SaveState(), ElementsAre(1.0, -1.0));  // m = 0.9·0 + Δ
}

TEST(StrategyStateTest, EmptyBeforeTheFirstRoundAndForFedAvg) {
  for (const char* name : {"fedavg", "fedavgm", "fedadagrad", "fedadam", "fedyogi"}) {
    std::unique_ptr<Strategy> fresh = Make(name);
    EXPECT_TRUE(fresh->SaveState().empty()) << name;
    std::unique_ptr<Strategy> restored = Make(name);
    ASSERT_TRUE(restored->RestoreState({}, 4).ok()) << name;
    EXPECT_EQ(Advance(*restored, {1, 2, 3, 4}, 1), Advance(*fresh, {1, 2, 3, 4}, 1)) << name;
  }
  std::unique_ptr<Strategy> fedavg = Make("fedavg");
  Advance(*fedavg, {1, 2, 3, 4}, 1);
  EXPECT_TRUE(fedavg->SaveState().empty());
}

TEST(StrategyStateTest, WrongSizeIsAnErrorNamingBothSizes) {
  std::unique_ptr<Strategy> adam = Make("fedadam");
  const std::vector<double> five(5, 0.25);
  Status status = adam->RestoreState(five, 3);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("fedadam"));
  EXPECT_THAT(status.message(), HasSubstr("has 5 values, expected 6"));
  EXPECT_TRUE(adam->SaveState().empty());  // unchanged

  std::unique_ptr<Strategy> fedavgm = Make("fedavgm");
  status = fedavgm->RestoreState(std::vector<double>(6, 0.0), 3);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("has 6 values, expected 3"));

  std::unique_ptr<Strategy> fedavg = Make("fedavg");
  status = fedavg->RestoreState(std::vector<double>(3, 0.0), 3);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("keeps no state, but was given 3 values"));
}

TEST(StrategyStateTest, ValuesNoRoundProducesAreAnError) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::unique_ptr<Strategy> yogi = Make("fedyogi");
  Status status = yogi->RestoreState(std::vector<double>{0, 0, 1, -1}, 2);  // v[1] < 0
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("v[1] = -1"));
  status = yogi->RestoreState(std::vector<double>{0, nan, 1, 1}, 2);
  EXPECT_THAT(status.message(), HasSubstr("m[1] = nan"));
  EXPECT_TRUE(yogi->SaveState().empty());  // unchanged

  std::unique_ptr<Strategy> fedavgm = Make("fedavgm");
  status =
      fedavgm->RestoreState(std::vector<double>{1, -std::numeric_limits<double>::infinity()}, 2);
  EXPECT_THAT(status.message(), HasSubstr("m[1] = -inf"));
}

TEST(StrategyStateTest, RestoredStateFixesTheModelSize) {
  std::unique_ptr<Strategy> adam = Make("fedadam");
  ASSERT_TRUE(adam->RestoreState(std::vector<double>{0, 0, 1, 1}, 2).ok());
  auto next = adam->NextModel(std::vector<float>{1, 2, 3}, SumWithMean({1, 1, 1}));
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), HasSubstr("model of 2 values, the model has 3"));
}

}  // namespace
