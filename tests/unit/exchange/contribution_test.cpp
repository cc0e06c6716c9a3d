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
  PackNotes notes;
  auto packed = layout.Pack({{1.0f, -9.0f, 0.5f}, 25, 0.7}, &notes);
  ASSERT_TRUE(packed.ok()) << packed.status();
  ASSERT_EQ(packed->size(), 5u);
  EXPECT_FLOAT_EQ((*packed)[0], 0.25f);  // ω = 25/100
  EXPECT_FLOAT_EQ((*packed)[1], -1.0f);  // −9 clamped to −4, then weighted
  EXPECT_FLOAT_EQ((*packed)[2], 0.125f);
  EXPECT_FLOAT_EQ((*packed)[3], 0.25f);
  EXPECT_FLOAT_EQ((*packed)[4], 0.25f * 0.7f);
  EXPECT_EQ(notes.clamped, 1u);
  EXPECT_NEAR(notes.norm, std::sqrt(1 + 16 + 0.25), 1e-6);
  EXPECT_FALSE(notes.norm_bounded);
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

// Δ = (3, 4, 0) has norm 5; with b = 1 it is sent as (0.6, 0.8, 0), then weighted by ω = 0.5.
TEST(ContributionLayoutTest, NormBoundScalesTheClampedDeltaBeforeWeighting) {
  const ContributionLayout layout = ContributionLayout::Create(3, 4.0, 100, 1.0).value();
  EXPECT_DOUBLE_EQ(layout.max_norm(), 1.0);
  PackNotes notes;
  auto packed = layout.Pack({{3, 4, 0}, 50, 0.5}, &notes);
  ASSERT_TRUE(packed.ok()) << packed.status();
  EXPECT_NEAR((*packed)[0], 0.5 * 0.6, 1e-6);
  EXPECT_NEAR((*packed)[1], 0.5 * 0.8, 1e-6);
  EXPECT_FLOAT_EQ((*packed)[2], 0.0f);
  EXPECT_FLOAT_EQ((*packed)[3], 0.5f);
  EXPECT_NEAR(notes.norm, 5.0, 1e-6);
  EXPECT_TRUE(notes.norm_bounded);
  EXPECT_TRUE(layout.CheckPacked(*packed).ok());

  // Clamping comes first: (9, 0, 0) is clamped to (4, 0, 0), whose norm 4 is then bounded to 1.
  auto clamped = layout.Pack({{9, 0, 0}, 100, 0.5}, &notes).value();
  EXPECT_EQ(notes.clamped, 1u);
  EXPECT_NEAR(notes.norm, 4.0, 1e-6);
  EXPECT_NEAR(clamped[0], 1.0, 1e-6);

  // A delta inside the bound is left as it is.
  auto inside = layout.Pack({{0.3f, 0.4f, 0}, 100, 0.5}, &notes).value();
  EXPECT_FALSE(notes.norm_bounded);
  EXPECT_FLOAT_EQ(inside[0], 0.3f);
}

TEST(ContributionLayoutTest, CheckPackedRefusesAWeightedDeltaLongerThanTheBound) {
  const ContributionLayout layout = ContributionLayout::Create(3, 4.0, 100, 1.0).value();
  std::vector<float> packed = layout.Pack({{3, 4, 0}, 50, 0.5}).value();
  packed[2] = 0.3f;  // ‖(0.3, 0.4, 0.3)‖ ≈ 0.58 > ω·b = 0.5, every value in range
  Status refused = layout.CheckPacked(packed);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("norm"));
}

// Under SecAgg+ the coordinator sees only the sum: ‖Σ ωΔ‖ ≤ b·Σω by the triangle inequality, so a
// node sending an unbounded (but in-range) delta breaks it once it outweighs the others' slack.
TEST(ContributionLayoutTest, UnpackRefusesASumLongerThanTheBoundTimesTheWeights) {
  const ContributionLayout layout = ContributionLayout::Create(3, 4.0, 100, 1.0).value();
  auto honest = layout.Pack({{1, 0, 0}, 100, 0.5}).value();
  std::vector<float> attacker = layout.Pack({{1, 0, 0}, 100, 0.5}).value();
  attacker[1] = 3.0f;  // ω = 1, ‖ωΔ‖ = √10 > 1
  auto sum = layout.Unpack(SumOf({honest, attacker}), 2, 1e-5);
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(sum.status().message(), HasSubstr("norm"));
  EXPECT_TRUE(layout.Unpack(SumOf({honest, honest}), 2, 1e-5).ok());
}

TEST(ContributionLayoutTest, ForReadsTheRoundsWireSettings) {
  protocol::WireContribution wire;
  wire.value_range = 8;
  wire.weight_cap = 50;
  wire.max_norm = 2;
  auto layout = ContributionLayout::For(4, wire);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->size(), 6u);
  EXPECT_DOUBLE_EQ(layout->value_range(), 8);
  EXPECT_DOUBLE_EQ(layout->weight_cap(), 50);
  EXPECT_DOUBLE_EQ(layout->max_norm(), 2);
  wire.max_norm = -1;
  EXPECT_THAT(ContributionLayout::For(4, wire).status().message(), HasSubstr("norm bound"));
}

TEST(ContributionLayoutTest, CreateRefusesUnusableParameters) {
  EXPECT_FALSE(ContributionLayout::Create(0, 4, 100).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 0, 100).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 0.5, 100).ok()) << "a weight of 1 would not fit";
  EXPECT_FALSE(ContributionLayout::Create(3, std::nan(""), 100).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 4, 0.5).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 4, 100, -1).ok());
  EXPECT_FALSE(ContributionLayout::Create(3, 4, 100, std::numeric_limits<double>::infinity()).ok());
}

}  // namespace
}  // namespace cartable::exchange
