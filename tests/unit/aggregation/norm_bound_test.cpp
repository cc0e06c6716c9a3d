#include "aggregation/strategies/norm_bound.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using ::cartable::StatusCode;
using ::cartable::aggregation::BoundNorm;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

double Norm(const std::vector<float>& values) {
  double squares = 0;
  for (float value : values) squares += static_cast<double>(value) * value;
  return std::sqrt(squares);
}

TEST(BoundNormTest, ShortVectorIsLeftAlone) {
  std::vector<float> delta = {0.75f, -1.0f};  // norm 1.25
  auto norm = BoundNorm(delta, 2.0);
  ASSERT_TRUE(norm.ok()) << norm.status();
  EXPECT_EQ(*norm, 1.25);
  EXPECT_THAT(delta, ElementsAre(0.75f, -1.0f));

  std::vector<float> at_bound = {3, 4};  // norm exactly 5
  auto same = BoundNorm(at_bound, 5.0);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, 5.0);
  EXPECT_THAT(at_bound, ElementsAre(3.0f, 4.0f));

  std::vector<float> empty;
  auto zero = BoundNorm(empty, 1.0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, 0.0);
}

TEST(BoundNormTest, LongVectorIsScaledToTheBound) {
  std::vector<float> delta = {3, -4};  // norm 5, bounded to 1: (0.6, -0.8)
  auto norm = BoundNorm(delta, 1.0);
  ASSERT_TRUE(norm.ok()) << norm.status();
  EXPECT_EQ(*norm, 5.0);  // the norm before scaling
  EXPECT_NEAR(delta[0], 0.6, 1e-6);
  EXPECT_NEAR(delta[1], -0.8, 1e-6);
  EXPECT_LE(Norm(delta), 1.0);
  EXPECT_NEAR(Norm(delta), 1.0, 1e-6);
}

TEST(BoundNormTest, ManyValuesEndExactlyWithinTheBound) {
  for (const double max_norm : {0.1, 1.0, 3.3, 1e-3, 50.5}) {
    std::vector<float> delta(1000);  // norm about 112
    for (size_t i = 0; i < delta.size(); ++i) delta[i] = static_cast<float>(std::sin(i * 0.7) * 5);
    const double before = Norm(delta);
    const float first = delta[1];
    auto norm = BoundNorm(delta, max_norm);
    ASSERT_TRUE(norm.ok());
    EXPECT_DOUBLE_EQ(*norm, before);
    EXPECT_LE(Norm(delta), max_norm) << max_norm;
    EXPECT_NEAR(Norm(delta) / max_norm, 1.0, 1e-6) << max_norm;
    EXPECT_NEAR(delta[1] / first, max_norm / before, 1e-6 * max_norm / before);  // same direction
  }
}

// Scaling by max_norm / norm and rounding to float overshoots the bound by an ulp or so in about
// half of these cases; BoundNorm must shave those back under it.
TEST(BoundNormTest, RoundingNeverLeavesTheNormAboveTheBound) {
  for (int step = 0; step < 500; ++step) {
    const double max_norm = 0.001 + step * 0.0137;
    std::vector<float> delta(10);
    for (size_t i = 0; i < delta.size(); ++i) delta[i] = static_cast<float>(std::sin(i + step) * 9);
    ASSERT_TRUE(BoundNorm(delta, max_norm).ok());
    ASSERT_LE(Norm(delta), max_norm) << max_norm;
    ASSERT_GE(Norm(delta), max_norm * (1 - 1e-6)) << max_norm;
  }
}

TEST(BoundNormTest, MaxNormMustBePositiveAndFinite) {
  for (const double max_norm : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                                std::numeric_limits<double>::infinity()}) {
    std::vector<float> delta = {3, 4};
    auto norm = BoundNorm(delta, max_norm);
    ASSERT_FALSE(norm.ok()) << max_norm;
    EXPECT_EQ(norm.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(norm.status().message(), HasSubstr("max_norm"));
    EXPECT_THAT(norm.status().message(), HasSubstr("(0, inf)"));
    EXPECT_THAT(delta, ElementsAre(3.0f, 4.0f));
  }
}

TEST(BoundNormTest, NonFiniteDeltaIsAnError) {
  std::vector<float> delta = {1, std::numeric_limits<float>::quiet_NaN()};
  auto norm = BoundNorm(delta, 1.0);
  ASSERT_FALSE(norm.ok());
  EXPECT_EQ(norm.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(norm.status().message(), HasSubstr("not finite"));
}

}  // namespace
