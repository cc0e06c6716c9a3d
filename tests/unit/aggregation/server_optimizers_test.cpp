// FedAvgM, FedAdagrad, FedAdam and FedYogi against numbers worked out by hand. Most cases use
// β = 0.5 and τ = 0.75 = 3/4 with deltas chosen from Pythagorean triples, so that √v is exact and
// every expected value is exact in binary.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "aggregation/strategies/fedavgm.h"
#include "aggregation/strategies/fedopt.h"
#include "update_sums.h"

using ::cartable::StatusCode;
using ::cartable::aggregation::CreateStrategy;
using ::cartable::aggregation::FedAvgM;
using ::cartable::aggregation::FedOpt;
using ::cartable::aggregation::FedOptOptions;
using ::cartable::aggregation::Strategy;
using ::cartable::aggregation::testing::EmptySum;
using ::cartable::aggregation::testing::SumWithMean;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;

namespace {

std::vector<float> Step(Strategy& strategy, const std::vector<float>& global,
                        const std::vector<double>& mean) {
  auto next = strategy.NextModel(global, SumWithMean(mean));
  EXPECT_TRUE(next.ok()) << next.status();
  return next.ok() ? *next : std::vector<float>{};
}

FedOptOptions HandOptions(double learning_rate, double beta2) {
  return {.server_learning_rate = learning_rate, .beta1 = 0.5, .beta2 = beta2, .tau = 0.75};
}

TEST(ServerOptimizerTest, FedAvgMTwoRounds) {
  FedAvgM fedavgm(/*server_learning_rate=*/2, /*momentum=*/0.5);
  EXPECT_EQ(fedavgm.name(), "fedavgm");
  // m1 = 0.5·0 + (0.5, -1) = (0.5, -1); x1 = (1, 2) + 2·m1 = (2, 0).
  const std::vector<float> x1 = Step(fedavgm, {1, 2}, {0.5, -1});
  EXPECT_THAT(x1, ElementsAre(2.0f, 0.0f));
  // m2 = 0.5·(0.5, -1) + (1, 1) = (1.25, 0.5); x2 = (2, 0) + 2·m2 = (4.5, 1).
  EXPECT_THAT(Step(fedavgm, x1, {1, 1}), ElementsAre(4.5f, 1.0f));
}

TEST(ServerOptimizerTest, FedAvgMDefaults) {
  auto fedavgm = CreateStrategy("fedavgm");  // η = 1, β = 0.9
  ASSERT_TRUE(fedavgm.ok()) << fedavgm.status();
  // m1 = 1, x1 = 0 + 1 = 1; m2 = 0.9·1 + 1 = 1.9, x2 = 1 + 1.9 = 2.9.
  const std::vector<float> x1 = Step(**fedavgm, {0}, {1});
  EXPECT_THAT(x1, ElementsAre(1.0f));
  EXPECT_THAT(Step(**fedavgm, x1, {1}), ElementsAre(FloatNear(2.9f, 1e-6f)));
}

TEST(ServerOptimizerTest, FedAdagradTwoRounds) {
  FedOpt adagrad(FedOpt::Variant::kAdagrad, HandOptions(/*learning_rate=*/1, /*beta2=*/0.99));
  EXPECT_EQ(adagrad.name(), "fedadagrad");
  // v0 = τ² = 0.5625. Δ1 = (1, -1, 0): m1 = 0.5·Δ1 = (0.5, -0.5, 0);
  // v1 = 0.5625 + (1, 1, 0) = (1.5625, 1.5625, 0.5625), √v1 + τ = (1.25, 1.25, 0.75) + 0.75 =
  // (2, 2, 1.5); x1 = (1, 1, 1) + (0.5/2, -0.5/2, 0/1.5) = (1.25, 0.75, 1).
  const std::vector<float> x1 = Step(adagrad, {1, 1, 1}, {1, -1, 0});
  EXPECT_THAT(x1, ElementsAre(1.25f, 0.75f, 1.0f));
  // Δ2 = (3, 0, 1): m2 = 0.5·(0.5, -0.5, 0) + 0.5·(3, 0, 1) = (1.75, -0.25, 0.5);
  // v2 = v1 + (9, 0, 1) = (10.5625, 1.5625, 1.5625), √v2 + τ = (3.25, 1.25, 1.25) + 0.75 =
  // (4, 2, 2); x2 = x1 + (1.75/4, -0.25/2, 0.5/2) = (1.6875, 0.625, 1.25).
  EXPECT_THAT(Step(adagrad, x1, {3, 0, 1}), ElementsAre(1.6875f, 0.625f, 1.25f));
}

TEST(ServerOptimizerTest, FedAdamTwoRounds) {
  FedOpt adam(FedOpt::Variant::kAdam, HandOptions(/*learning_rate=*/1.5, /*beta2=*/0.5));
  EXPECT_EQ(adam.name(), "fedadam");
  // v0 = 0.5625. Δ1 = (0.75, -5.25): m1 = 0.5·Δ1 = (0.375, -2.625);
  // v1 = 0.5·0.5625 + 0.5·(0.5625, 27.5625) = (0.5625, 14.0625), √v1 + τ = (1.5, 4.5);
  // x1 = (1, 1) + 1.5·(0.375/1.5, -2.625/4.5) = (1, 1) + (0.375, -0.875) = (1.375, 0.125).
  const std::vector<float> x1 = Step(adam, {1, 1}, {0.75, -5.25});
  EXPECT_THAT(x1, ElementsAre(1.375f, 0.125f));
  // Δ2 = (5.25, 3.75): m2 = 0.5·(0.375, -2.625) + 0.5·(5.25, 3.75) = (2.8125, 0.5625);
  // v2 = 0.5·(0.5625, 14.0625) + 0.5·(27.5625, 14.0625) = (14.0625, 14.0625), √v2 + τ = 4.5;
  // x2 = x1 + 1.5·(2.8125/4.5, 0.5625/4.5) = x1 + (0.9375, 0.1875) = (2.3125, 0.3125).
  EXPECT_THAT(Step(adam, x1, {5.25, 3.75}), ElementsAre(2.3125f, 0.3125f));
}

TEST(ServerOptimizerTest, FedYogiTwoRounds) {
  FedOpt yogi(FedOpt::Variant::kYogi, HandOptions(/*learning_rate=*/1, /*beta2=*/0.75));
  EXPECT_EQ(yogi.name(), "fedyogi");
  // v0 = 0.5625, 1 − β₂ = 0.25. Δ1 = (2, 0.5, 0.75), Δ1² = (4, 0.25, 0.5625):
  // m1 = 0.5·Δ1 = (1, 0.25, 0.375);
  // v1 = (0.5625 + 0.25·4, 0.5625 − 0.25·0.25, 0.5625 − 0) = (1.5625, 0.5, 0.5625);
  // √v1 + τ = (2, 0.70710678 + 0.75, 1.5); x1 = (1/2, 0.25/1.45710678, 0.375/1.5)
  //         = (0.5, 0.17157288, 0.25).
  const std::vector<float> x1 = Step(yogi, {0, 0, 0}, {2, 0.5, 0.75});
  EXPECT_THAT(x1, ElementsAre(0.5f, FloatNear(0.17157288f, 1e-7f), 0.25f));
  // Δ2 = (1, 2, 0), Δ2² = (1, 4, 0): m2 = 0.5·m1 + 0.5·Δ2 = (1, 1.125, 0.1875);
  // v2 = (1.5625 − 0.25·1, 0.5 + 0.25·4, 0.5625 − 0) = (1.3125, 1.5, 0.5625);
  // √v2 + τ = (1.14564392 + 0.75, 1.22474487 + 0.75, 1.5) = (1.89564392, 1.97474487, 1.5);
  // x2 = x1 + (1/1.89564392, 1.125/1.97474487, 0.1875/1.5)
  //    = (0.5 + 0.52752523, 0.17157288 + 0.56969384, 0.25 + 0.125) = (1.02752523, 0.74126672,
  //    0.375).
  EXPECT_THAT(Step(yogi, x1, {1, 2, 0}),
              ElementsAre(FloatNear(1.02752523f, 1e-6f), FloatNear(0.74126672f, 1e-6f), 0.375f));
}

TEST(ServerOptimizerTest, FedYogiMovesVTowardsDeltaSquaredByAFixedAmount) {
  FedOpt yogi(FedOpt::Variant::kYogi, HandOptions(/*learning_rate=*/1, /*beta2=*/0.75));
  FedOpt adam(FedOpt::Variant::kAdam, HandOptions(/*learning_rate=*/1, /*beta2=*/0.75));
  // v0 = 0.5625; Δ² = (4, 0.25, 0.5625): below, above and equal to v0.
  Step(yogi, {0, 0, 0}, {-2, 0.5, 0.75});
  Step(adam, {0, 0, 0}, {-2, 0.5, 0.75});
  // State is m then v. Yogi: v < Δ² grows by 0.25·4 = 1; v > Δ² shrinks by 0.25·0.25; v = Δ²
  // stays. Adam instead mixes: 0.75·0.5625 + 0.25·Δ² = (1.421875, 0.484375, 0.5625).
  const std::vector<double> yogi_state = yogi.SaveState();
  ASSERT_EQ(yogi_state.size(), 6u);
  EXPECT_THAT(std::vector<double>(yogi_state.begin() + 3, yogi_state.end()),
              ElementsAre(1.5625, 0.5, 0.5625));
  const std::vector<double> adam_state = adam.SaveState();
  ASSERT_EQ(adam_state.size(), 6u);
  EXPECT_THAT(std::vector<double>(adam_state.begin() + 3, adam_state.end()),
              ElementsAre(1.421875, 0.484375, 0.5625));
}

TEST(ServerOptimizerTest, PaperDefaultsFirstRound) {
  // η = 0.01, β₁ = 0.9, β₂ = 0.99, τ = 0.001, Δ = 1: m1 = 0.1 for all three.
  // Adagrad: v1 = 1e-6 + 1 = 1.000001, x1 = 0.01·0.1/(1.0000005 + 0.001) = 0.000999000.
  // Adam: v1 = 0.99·1e-6 + 0.01 = 0.01000099, x1 = 0.001/(0.10000495 + 0.001) = 0.00990050.
  // Yogi: v0 < Δ², so v1 = 1e-6 + 0.01 = 0.010001, x1 = 0.001/(0.10000500 + 0.001) = 0.00990050.
  const struct {
    const char* name;
    float expected;
  } cases[] = {{"fedadagrad", 0.0009990005f}, {"fedadam", 0.0099005049f}, {"fedyogi", 0.0099005f}};
  for (const auto& c : cases) {
    auto strategy = CreateStrategy(c.name);
    ASSERT_TRUE(strategy.ok()) << strategy.status();
    EXPECT_THAT(Step(**strategy, {0}, {1}), ElementsAre(FloatNear(c.expected, 1e-8f))) << c.name;
  }
}

TEST(ServerOptimizerTest, DimensionMismatchIsAnErrorAndKeepsTheState) {
  for (const char* name : {"fedavg", "fedavgm", "fedadagrad", "fedadam", "fedyogi"}) {
    auto strategy = CreateStrategy(name);
    ASSERT_TRUE(strategy.ok());
    Step(**strategy, {1, 2, 3}, {0.5, 0.25, -1});
    const std::vector<double> before = (*strategy)->SaveState();
    auto next = (*strategy)->NextModel(std::vector<float>{1, 2}, SumWithMean({1, 2, 3}));
    ASSERT_FALSE(next.ok()) << name;
    EXPECT_EQ(next.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(next.status().message(), HasSubstr("3 values, the model has 2")) << name;
    EXPECT_EQ((*strategy)->SaveState(), before) << name;
  }
}

TEST(ServerOptimizerTest, ModelOfAnotherSizeThanTheStateIsAnError) {
  for (const char* name : {"fedavgm", "fedadagrad", "fedadam", "fedyogi"}) {
    auto strategy = CreateStrategy(name);
    ASSERT_TRUE(strategy.ok());
    Step(**strategy, {1, 2, 3}, {0.5, 0.25, -1});
    auto next = (*strategy)->NextModel(std::vector<float>{1, 2}, SumWithMean({1, 2}));
    ASSERT_FALSE(next.ok()) << name;
    EXPECT_EQ(next.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(next.status().message(), HasSubstr("model of 3 values, the model has 2")) << name;
  }
}

TEST(ServerOptimizerTest, EmptySumIsAnErrorAndKeepsTheState) {
  for (const char* name : {"fedavg", "fedavgm", "fedadagrad", "fedadam", "fedyogi"}) {
    auto strategy = CreateStrategy(name);
    ASSERT_TRUE(strategy.ok());
    auto next = (*strategy)->NextModel(std::vector<float>{1, 2, 3}, EmptySum(3));
    ASSERT_FALSE(next.ok()) << name;
    EXPECT_EQ(next.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(next.status().message(), HasSubstr("no contributor")) << name;
    EXPECT_TRUE((*strategy)->SaveState().empty()) << name;
  }
}

}  // namespace
