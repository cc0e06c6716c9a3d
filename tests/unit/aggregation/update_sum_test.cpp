#include "aggregation/update_sum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using ::cartable::Status;
using ::cartable::StatusCode;
using ::cartable::aggregation::UpdateAccumulator;
using ::cartable::aggregation::UpdateSum;
using ::testing::HasSubstr;

namespace {

std::vector<double> ToVector(const Eigen::VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

// Snapshot of a sum, to check that a refused update left it untouched.
struct Snapshot {
  std::vector<double> weighted_delta;
  double total_weight;
  int contributors;
  bool operator==(const Snapshot&) const = default;
};
Snapshot Snap(const UpdateSum& sum) {
  return {ToVector(sum.weighted_delta), sum.total_weight, sum.contributors};
}

TEST(UpdateAccumulatorTest, StartsEmpty) {
  UpdateAccumulator accumulator(4);
  EXPECT_EQ(accumulator.sum().weighted_delta.size(), 4);
  EXPECT_EQ(ToVector(accumulator.sum().weighted_delta), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(accumulator.sum().total_weight, 0);
  EXPECT_EQ(accumulator.sum().contributors, 0);
}

TEST(UpdateAccumulatorTest, SumsWeightedDeltas) {
  UpdateAccumulator accumulator(3);
  const std::vector<float> d1 = {1, 2, -3}, d2 = {4, 0, 3}, d3 = {-2, 6, 0};
  ASSERT_TRUE(accumulator.Add(d1, 1).ok());
  ASSERT_TRUE(accumulator.Add(d2, 2).ok());
  ASSERT_TRUE(accumulator.Add(d3, 5).ok());
  // By hand: 1·(1,2,-3) + 2·(4,0,3) + 5·(-2,6,0) = (-1, 32, 3); weights 1+2+5 = 8.
  EXPECT_EQ(ToVector(accumulator.sum().weighted_delta), (std::vector<double>{-1, 32, 3}));
  EXPECT_EQ(accumulator.sum().total_weight, 8);
  EXPECT_EQ(accumulator.sum().contributors, 3);
}

TEST(UpdateAccumulatorTest, OrderOfArrivalDoesNotMatter) {
  const std::vector<float> a = {0.1f, 1e7f}, b = {0.7f, -3.3f}, c = {1e-6f, 0.25f};
  UpdateAccumulator forward(2), backward(2);
  ASSERT_TRUE(forward.Add(a, 3).ok());
  ASSERT_TRUE(forward.Add(b, 11).ok());
  ASSERT_TRUE(forward.Add(c, 7).ok());
  ASSERT_TRUE(backward.Add(c, 7).ok());
  ASSERT_TRUE(backward.Add(b, 11).ok());
  ASSERT_TRUE(backward.Add(a, 3).ok());
  for (int i = 0; i < 2; ++i) {
    EXPECT_DOUBLE_EQ(forward.sum().weighted_delta[i], backward.sum().weighted_delta[i]);
  }
  EXPECT_EQ(forward.sum().total_weight, backward.sum().total_weight);
}

TEST(UpdateAccumulatorTest, AccumulatesInDoublePrecision) {
  // 1e8 + 1 is not representable in float, but the sum is kept in double.
  UpdateAccumulator accumulator(1);
  const std::vector<float> big = {1e8f}, one = {1.0f};
  ASSERT_TRUE(accumulator.Add(big, 1).ok());
  ASSERT_TRUE(accumulator.Add(one, 1).ok());
  EXPECT_EQ(accumulator.sum().weighted_delta[0], 100000001.0);
}

TEST(UpdateAccumulatorTest, RefusesNonPositiveOrNonFiniteWeights) {
  UpdateAccumulator accumulator(2);
  const std::vector<float> delta = {1, 2};
  ASSERT_TRUE(accumulator.Add(delta, 3).ok());
  const Snapshot before = Snap(accumulator.sum());
  for (double weight : {0.0, -0.0, -1.0, -1e-300, std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    Status status = accumulator.Add(delta, weight);
    EXPECT_FALSE(status.ok()) << "weight " << weight;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("positive and finite"));
    EXPECT_EQ(Snap(accumulator.sum()), before) << "weight " << weight;
  }
  EXPECT_TRUE(accumulator.Add(delta, 1e-300).ok());  // tiny but positive is fine
}

TEST(UpdateAccumulatorTest, RefusesNonFiniteDeltasAndKeepsSum) {
  UpdateAccumulator accumulator(3);
  const std::vector<float> good = {1, 1, 1};
  ASSERT_TRUE(accumulator.Add(good, 2).ok());
  const Snapshot before = Snap(accumulator.sum());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const std::vector<float>& bad : std::vector<std::vector<float>>{
           {nan, 0, 0}, {0, 0, nan}, {0, inf, 0}, {-inf, 0, 0}, {nan, nan, nan}}) {
    Status status = accumulator.Add(bad, 1);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("NaN"));
    EXPECT_EQ(Snap(accumulator.sum()), before);
  }
  // A refused update does not poison later ones.
  ASSERT_TRUE(accumulator.Add(good, 1).ok());
  EXPECT_EQ(ToVector(accumulator.sum().weighted_delta), (std::vector<double>{3, 3, 3}));
  EXPECT_EQ(accumulator.sum().contributors, 2);
}

TEST(UpdateAccumulatorTest, RefusesDimensionMismatch) {
  UpdateAccumulator accumulator(3);
  const std::vector<float> shorter = {1, 2}, longer = {1, 2, 3, 4}, empty = {};
  for (const std::vector<float>* delta : {&shorter, &longer, &empty}) {
    Status status = accumulator.Add(*delta, 1);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("the model has 3"));
  }
  EXPECT_EQ(accumulator.sum().contributors, 0);
  EXPECT_EQ(accumulator.sum().total_weight, 0);
}

TEST(UpdateAccumulatorTest, ZeroDimensionalModel) {
  UpdateAccumulator accumulator(0);
  EXPECT_TRUE(accumulator.Add({}, 2).ok());
  EXPECT_EQ(accumulator.sum().contributors, 1);
  EXPECT_EQ(accumulator.sum().total_weight, 2);
}

}  // namespace
