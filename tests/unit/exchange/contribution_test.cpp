#include "exchange/contribution.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace cartable::exchange {
namespace {

using ::testing::HasSubstr;

ContributionLayout Layout(size_t dimension = 3) {
  return ContributionLayout::Create(dimension, 4.0, 100).value();
}

std::vector<double> SumOf(const std::vector<std::vector<float>>& packed) {
  std::vector<double> sum(packed.front().size(), 0.0);
  for (const auto& p : packed) {
    for (size_t i = 0; i < p.size(); ++i) sum[i] += p[i];
  }
  return sum;
}

TEST(ContributionLayoutTest, PacksTheWeightedClampedDeltaAndMapsWeightAndLossIntoTheRange) {
  const ContributionLayout layout = Layout();
  size_t clamped = 0;
  auto packed = layout.Pack({{1.0f, -9.0f, 0.5f}, 25, 0.7}, &clamped);
  ASSERT_TRUE(packed.ok()) << packed.status();
  ASSERT_EQ(packed->size(), 5u);
  EXPECT_FLOAT_EQ((*packed)[0], 0.25f);  // ω = 25/100
  EXPECT_FLOAT_EQ((*packed)[1], -1.0f);  // −9 clamped to −4, then weighted
  EXPECT_FLOAT_EQ((*packed)[2], 0.125f);
  EXPECT_FLOAT_EQ((*packed)[3], 0.25f);
  EXPECT_FLOAT_EQ((*packed)[4], 0.25f * 0.7f);
  EXPECT_EQ(clamped, 1u);
  for (float v : *packed) EXPECT_LE(std::abs(v), 4.0f);
  EXPECT_TRUE(layout.CheckPacked(*packed).ok());
}

TEST(ContributionLayoutTest, WeightIsCappedAtOne) {
  const ContributionLayout layout = Layout();
  EXPECT_DOUBLE_EQ(layout.WeightOf(1e9), 1.0);
  EXPECT_DOUBLE_EQ(layout.WeightOf(50), 0.5);
}

TEST(ContributionLayoutTest, PackRefusesWhatNoTrainingGives) {
  const ContributionLayout layout = Layout();
  EXPECT_FALSE(layout.Pack({{1, 2}, 10, 0.5}).ok()) << "wrong length";
  EXPECT_FALSE(layout.Pack({{1, 2, 3}, 0, 0.5}).ok()) << "no example";
  EXPECT_FALSE(layout.Pack({{1, 2, 3}, -5, 0.5}).ok()) << "negative examples";
  EXPECT_FALSE(layout.Pack({{1, 2, 3}, 10, std::nan("")}).ok()) << "NaN loss";
  EXPECT_FALSE(layout.Pack({{1, std::numeric_limits<float>::infinity(), 3}, 10, 0.5}).ok());
}

TEST(ContributionLayoutTest, CheckPackedNamesTheValueOutsideTheRange) {
  const ContributionLayout layout = Layout();
  std::vector<float> packed = layout.Pack({{1, 2, 3}, 10, 0.5}).value();
  packed[1] = 1e30f;
  Status refused = layout.CheckPacked(packed);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("value 1"));
  packed[1] = std::nanf("");
  EXPECT_FALSE(layout.CheckPacked(packed).ok());
}

// A node of tiny weight sent values at the range's edge: divided by its weight, as the robust
// strategies of plain runs unpack each vector, its delta would have been up to R·weight_cap.
TEST(ContributionLayoutTest, AWeightedDeltaBeyondTheRangeTimesTheWeightIsRefused) {
  const ContributionLayout layout = Layout();
  std::vector<float> packed = layout.Pack({{1, 2, 3}, 10, 0.5}).value();  // ω = 0.1
  packed[2] = 0.5f;                                                       // within ±4, but Δ = 5
  Status refused = layout.CheckPacked(packed);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("value 2"));
  EXPECT_THAT(refused.message(), HasSubstr("times its weight"));
  packed[2] = 0.4f;  // Δ = 4, the edge itself
  EXPECT_TRUE(layout.CheckPacked(packed).ok());
}

TEST(ContributionLayoutTest, UnpackDeltaGivesBackTheClampedDelta) {
  const ContributionLayout layout = Layout();
  const std::vector<float> packed = layout.Pack({{1.0f, -9.0f, 0.5f}, 25, 0.7}).value();
  const Eigen::VectorXd delta = layout.UnpackDelta(packed);
  ASSERT_EQ(delta.size(), 3);
  EXPECT_DOUBLE_EQ(delta[0], 1.0);  // ω = 0.25: every product and quotient is exact
  EXPECT_DOUBLE_EQ(delta[1], -4.0);
  EXPECT_DOUBLE_EQ(delta[2], 0.5);
}

// Regression: a node claimed a negative number of examples; the weights summed to almost nothing
// and FedAvg's division blew the model up.
TEST(ContributionLayoutTest, NoWellFormedVectorCarriesANegativeWeight) {
  const ContributionLayout layout = Layout();
  std::vector<float> packed = layout.Pack({{1, 2, 3}, 10, 0.5}).value();
  packed[3] = -0.5f;
  EXPECT_THAT(layout.CheckPacked(packed).message(), HasSubstr("weight"));
  packed[3] = 0;  // below one example
  EXPECT_THAT(layout.CheckPacked(packed).message(), HasSubstr("weight"));
  packed[3] = 0.1f;
  packed[4] = -1;
  EXPECT_THAT(layout.CheckPacked(packed).message(), HasSubstr("loss"));
}

TEST(ContributionLayoutTest, UnpackRecoversTheWeightedSums) {
  const ContributionLayout layout = Layout();
  auto a = layout.Pack({{1, 2, -3}, 10, 0.5}).value();
  auto b = layout.Pack({{-1, 0, 1}, 30, 0.25}).value();
  auto sum = layout.Unpack(SumOf({a, b}), 2, 1e-5);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->update.contributors, 2);
  EXPECT_NEAR(sum->update.total_weight, 0.4, 1e-6);
  EXPECT_NEAR(sum->update.weighted_delta[0], 0.1 - 0.3, 1e-6);
  EXPECT_NEAR(sum->update.weighted_delta[1], 0.2, 1e-6);
  EXPECT_NEAR(sum->update.weighted_delta[2], -0.3 + 0.3, 1e-6);
  EXPECT_NEAR(sum->loss_sum, 0.1 * 0.5 + 0.3 * 0.25, 1e-6);
}

// A malicious node under secure aggregation can put anything in its slots; the sum gives it away.
TEST(ContributionLayoutTest, UnpackRefusesASumWhoseWeightsNoCohortGives) {
  const ContributionLayout layout = Layout();
  auto honest = layout.Pack({{1, 1, 1}, 10, 0.5}).value();
  std::vector<float> attacker = honest;
  attacker[3] = -0.0999f;  // cancels the honest weight but 1e-4
  auto sum = layout.Unpack(SumOf({honest, attacker}), 2, 1e-5);
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(sum.status().message(), HasSubstr("weights"));
}

TEST(ContributionLayoutTest, UnpackRefusesADeltaBeyondTheRangeTimesTheWeight) {
  const ContributionLayout layout = Layout();
  auto honest = layout.Pack({{1, 1, 1}, 10, 0.5}).value();
  std::vector<float> attacker = layout.Pack({{0, 0, 0}, 1, 0.5}).value();
  attacker[2] = 3.9f;  // in range for one vector, but the attacker's weight is 0.01: ω·Δ ≤ 0.04
  auto sum = layout.Unpack(SumOf({honest, attacker}), 2, 1e-5);
  ASSERT_FALSE(sum.ok());
  EXPECT_THAT(sum.status().message(), HasSubstr("value 2"));
}

TEST(ContributionLayoutTest, UnpackRefusesALossOutsideWhatTheWeightsAllow) {
  const ContributionLayout layout = Layout();
  auto honest = layout.Pack({{1, 1, 1}, 10, 0.5}).value();
  std::vector<float> attacker = layout.Pack({{0, 0, 0}, 10, 0.5}).value();
  attacker[4] = 4.0f;  // a loss of 4/0.1 = 40 per example, far beyond the range 4
  EXPECT_FALSE(layout.Unpack(SumOf({honest, attacker}), 2, 1e-5).ok());
}

TEST(ContributionLayoutTest, CreateRefusesUnusableParameters) {
  EXPECT_FALSE(ContributionLayout::Create(0, 4, 100).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 0, 100).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 0.5, 100).ok()) << "a weight of 1 would not fit";
  EXPECT_FALSE(ContributionLayout::Create(3, std::nan(""), 100).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 4, 0.5).ok());
}

}  // namespace
}  // namespace cartable::exchange
