#include "aggregation/strategies/fedavg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "aggregation/update_sum.h"

using ::cartable::StatusCode;
using ::cartable::aggregation::CreateStrategy;
using ::cartable::aggregation::FedAvg;
using ::cartable::aggregation::UpdateSum;
using ::cartable::aggregation::WeightedMeanDelta;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// Builds Σ wᵢΔᵢ and Σ wᵢ as the coordinator hands them to a strategy.
class UpdateAccumulator {
 public:
  explicit UpdateAccumulator(size_t dimension) {
    sum_.weighted_delta = Eigen::VectorXd::Zero(dimension);
  }
  ::cartable::Status Add(const std::vector<float>& delta, double weight) {
    for (size_t i = 0; i < delta.size(); ++i)
      sum_.weighted_delta[static_cast<Eigen::Index>(i)] += weight * delta[i];
    sum_.total_weight += weight;
    sum_.contributors += 1;
    return ::cartable::Status::Ok();
  }
  const UpdateSum& sum() const { return sum_; }

 private:
  UpdateSum sum_;
};

// Three updates whose weighted mean is (-1, 32, 3) / 8 = (-0.125, 4, 0.375), exact in binary.
UpdateSum ThreeUpdates() {
  UpdateAccumulator accumulator(3);
  EXPECT_TRUE(accumulator.Add(std::vector<float>{1, 2, -3}, 1).ok());
  EXPECT_TRUE(accumulator.Add(std::vector<float>{4, 0, 3}, 2).ok());
  EXPECT_TRUE(accumulator.Add(std::vector<float>{-2, 6, 0}, 5).ok());
  return accumulator.sum();
}

TEST(WeightedMeanDeltaTest, IsTheWeightedMean) {
  auto mean = WeightedMeanDelta(ThreeUpdates());
  ASSERT_TRUE(mean.ok()) << mean.status();
  ASSERT_EQ(mean->size(), 3);
  EXPECT_DOUBLE_EQ((*mean)[0], -0.125);
  EXPECT_DOUBLE_EQ((*mean)[1], 4.0);
  EXPECT_DOUBLE_EQ((*mean)[2], 0.375);
}

TEST(WeightedMeanDeltaTest, EqualWeightsGiveThePlainMean) {
  UpdateAccumulator accumulator(2);
  ASSERT_TRUE(accumulator.Add(std::vector<float>{1, 10}, 4).ok());
  ASSERT_TRUE(accumulator.Add(std::vector<float>{3, 20}, 4).ok());
  auto mean = WeightedMeanDelta(accumulator.sum());
  ASSERT_TRUE(mean.ok());
  EXPECT_DOUBLE_EQ((*mean)[0], 2.0);
  EXPECT_DOUBLE_EQ((*mean)[1], 15.0);
}

TEST(WeightedMeanDeltaTest, EmptySumIsAnError) {
  UpdateAccumulator accumulator(3);
  auto mean = WeightedMeanDelta(accumulator.sum());
  ASSERT_FALSE(mean.ok());
  EXPECT_EQ(mean.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(mean.status().message(), HasSubstr("no contributor"));
}

TEST(FedAvgTest, AddsTheWeightedMeanDelta) {
  FedAvg fedavg;  // server learning rate 1
  EXPECT_EQ(fedavg.name(), "fedavg");
  const std::vector<float> global = {10, 20, 30};
  auto next = fedavg.NextModel(global, ThreeUpdates());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(*next, ElementsAre(9.875f, 24.0f, 30.375f));
}

TEST(FedAvgTest, ServerLearningRateScalesTheStep) {
  FedAvg half(0.5);
  const std::vector<float> global = {10, 20, 30};
  auto next = half.NextModel(global, ThreeUpdates());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(*next, ElementsAre(9.9375f, 22.0f, 30.1875f));

  FedAvg frozen(0.0);
  auto same = frozen.NextModel(global, ThreeUpdates());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, global);
}

TEST(FedAvgTest, SingleUpdateIsAppliedWhole) {
  UpdateAccumulator accumulator(2);
  ASSERT_TRUE(accumulator.Add(std::vector<float>{0.5f, -0.25f}, 123).ok());
  FedAvg fedavg;
  auto next = fedavg.NextModel(std::vector<float>{1, 1}, accumulator.sum());
  ASSERT_TRUE(next.ok());
  EXPECT_THAT(*next, ElementsAre(1.5f, 0.75f));
}

TEST(FedAvgTest, EmptySumIsAnError) {
  FedAvg fedavg;
  UpdateAccumulator accumulator(3);
  auto next = fedavg.NextModel(std::vector<float>{1, 2, 3}, accumulator.sum());
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kFailedPrecondition);
}

TEST(FedAvgTest, DimensionMismatchIsAnError) {
  FedAvg fedavg;
  auto next = fedavg.NextModel(std::vector<float>{1, 2}, ThreeUpdates());
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(next.status().message(), HasSubstr("3"));
  EXPECT_THAT(next.status().message(), HasSubstr("2"));
}

TEST(CreateStrategyTest, CreatesFedAvg) {
  auto strategy = CreateStrategy("fedavg");
  ASSERT_TRUE(strategy.ok()) << strategy.status();
  ASSERT_NE(*strategy, nullptr);
  EXPECT_EQ((*strategy)->name(), "fedavg");
  auto next = (*strategy)->NextModel(std::vector<float>{10, 20, 30}, ThreeUpdates());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(*next, ElementsAre(9.875f, 24.0f, 30.375f));
}

TEST(CreateStrategyTest, UnknownNameListsKnownOnes) {
  for (const std::string name : {"bulyan", "", "FedAvg"}) {
    auto strategy = CreateStrategy(name);
    ASSERT_FALSE(strategy.ok()) << name;
    EXPECT_EQ(strategy.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(strategy.status().message(), HasSubstr("'" + name + "'"));
    EXPECT_THAT(strategy.status().message(), HasSubstr("known: fedavg"));
  }
}

}  // namespace
