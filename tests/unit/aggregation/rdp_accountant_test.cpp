// The RDP accountant against published values (Google's dp_accounting tests), against its own
// formulas worked by hand, and for the properties a privacy budget relies on.

#include "aggregation/privacy/rdp_accountant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace cartable::aggregation::privacy {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// dp_accounting's rdp_privacy_accountant_test: q = 0.01, σ = 2.5, 50 steps, at integer and
// fractional orders.
TEST(RdpAccountantTest, MatchesPublishedValuesAtIntegerAndFractionalOrders) {
  const std::vector<std::pair<double, double>> published = {{1.5, 6.70579741e-04},
                                                            {2.5, 1.08548710e-03},
                                                            {5, 2.18075656e-03},
                                                            {50, 2.38460375e-02},
                                                            {100, 1.67416308e+02}};
  for (const auto& [order, rdp] : published) {
    auto computed = SampledGaussianRdp(0.01, 2.5, 50, order);
    ASSERT_TRUE(computed.ok()) << computed.status();
    EXPECT_NEAR(*computed, rdp, rdp * 1e-7) << "order " << order;
  }
}

TEST(RdpAccountantTest, NoSamplingIsTheGaussianMechanismAndNoDataCostsNothing) {
  // q = 1: α/(2σ²) per step.
  EXPECT_DOUBLE_EQ(SampledGaussianRdp(1, 10, 1, 20).value(), 0.1);
  EXPECT_DOUBLE_EQ(SampledGaussianRdp(1, 2, 3, 4.5).value(), 3 * 4.5 / 8);
  EXPECT_EQ(SampledGaussianRdp(0, 1, 100, 10).value(), 0);
  EXPECT_EQ(SampledGaussianRdp(0.5, 1, 0, 10).value(), 0);
  EXPECT_EQ(SampledGaussianRdp(0.5, 0, 1, 10).value(), kInf) << "no noise: no privacy";
}

// The fractional series converges to the integer sum as the order approaches an integer.
TEST(RdpAccountantTest, TheFractionalSeriesMeetsTheIntegerSum) {
  for (double order : {2.0, 3.0, 8.0, 32.0}) {
    const double integer = SampledGaussianRdp(0.05, 1.3, 1, order).value();
    const double near = SampledGaussianRdp(0.05, 1.3, 1, order + 1e-9).value();
    EXPECT_NEAR(near, integer, integer * 1e-6) << "order " << order;
  }
}

// Proposition 12 of Balle et al. (2020), worked by hand at one order: RDP 0.5 at α = 10 and
// δ = 1e-5 give 0.5 + log(0.9) − log(1e-4)/9 = 0.5 − 0.1053605 + 1.0233712 = 1.4180106.
TEST(RdpAccountantTest, ConvertsToEpsilonDeltaWithTheImprovedBound) {
  const std::vector<double> orders = {10};
  const std::vector<double> rdp = {0.5};
  const Epsilon e = EpsilonFromRdp(orders, rdp, 1e-5).value();
  EXPECT_NEAR(e.epsilon, 0.5 + std::log(0.9) - std::log(1e-4) / 9, 1e-12);
  EXPECT_NEAR(e.epsilon, 1.4180106, 1e-7);
  EXPECT_EQ(e.order, 10);
  // The best order wins; a tiny RDP under a large δ is ε = 0 by the KL bound.
  const std::vector<double> two_orders = {2, 10};
  const std::vector<double> two_rdp = {5, 0.5};
  EXPECT_EQ(EpsilonFromRdp(two_orders, two_rdp, 1e-5).value().order, 10);
  const std::vector<double> tiny = {1e-12, 1e-12};
  EXPECT_EQ(EpsilonFromRdp(two_orders, tiny, 0.1).value().epsilon, 0);
}

TEST(RdpAccountantTest, EpsilonGrowsWithStepsAndSamplingAndFallsWithNoise) {
  const double base = DpSgdEpsilon(0.01, 1.1, 1000, 1e-5).value().epsilon;
  EXPECT_GT(base, 0);
  EXPECT_LT(base, DpSgdEpsilon(0.01, 1.1, 2000, 1e-5).value().epsilon);
  EXPECT_LT(base, DpSgdEpsilon(0.02, 1.1, 1000, 1e-5).value().epsilon);
  EXPECT_GT(base, DpSgdEpsilon(0.01, 2.2, 1000, 1e-5).value().epsilon);
  EXPECT_GT(base, DpSgdEpsilon(0.01, 1.1, 1000, 1e-3).value().epsilon);
}

TEST(RdpAccountantTest, FindsTheSmallestNoiseMultiplierForATargetEpsilon) {
  const NoiseForTarget found = NoiseMultiplierFor(2.0, 0.01, 1000, 1e-5).value();
  EXPECT_LE(found.reached.epsilon, 2.0);
  EXPECT_DOUBLE_EQ(DpSgdEpsilon(0.01, found.noise_multiplier, 1000, 1e-5).value().epsilon,
                   found.reached.epsilon);
  EXPECT_GT(DpSgdEpsilon(0.01, found.noise_multiplier * (1 - 2e-4), 1000, 1e-5).value().epsilon,
            2.0)
      << "a noticeably smaller multiplier still met the target";
  EXPECT_EQ(NoiseMultiplierFor(1e-9, 1, 1000000, 1e-9).status().code(), StatusCode::kOutOfRange);
}

TEST(RdpAccountantTest, RefusesArgumentsOutOfRangeNamingThem) {
  EXPECT_NE(SampledGaussianRdp(1.5, 1, 1, 2).status().message().find("sampling rate 1.5"),
            std::string::npos);
  EXPECT_EQ(SampledGaussianRdp(0.1, -1, 1, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SampledGaussianRdp(0.1, std::nan(""), 1, 2).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_NE(SampledGaussianRdp(0.1, 1, 1, 1).status().message().find("order 1 "),
            std::string::npos);
  EXPECT_NE(DpSgdEpsilon(0.1, 1, 1, 0).status().message().find("delta 0 "), std::string::npos);
  EXPECT_EQ(DpSgdEpsilon(0.1, 1, 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NoiseMultiplierFor(-1, 0.1, 1, 1e-5).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cartable::aggregation::privacy
