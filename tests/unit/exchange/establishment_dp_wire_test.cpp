// Establishment-level DP as both sides derive it from the plan: the sensitivity of a packed
// contribution, the mechanism written into a round's parameters, a modulus that grows with the
// cohort, and the refusals of values no plan gives.

#include "exchange/establishment_dp_wire.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace cartable::exchange {
namespace {

protocol::WireEstablishmentDp On() { return {1, 1.0, 3, 1e-5, 10}; }

ContributionLayout Layout(double range, double cap, double norm) {
  auto layout = ContributionLayout::Create(100, range, cap, norm);
  EXPECT_TRUE(layout.ok()) << layout.status();
  return *layout;
}

aggregation::secagg::RoundParameters Round(size_t cohort, int bits) {
  aggregation::secagg::RoundParameters params;
  params.modulus_bits = bits;
  params.value_range = 2;
  for (size_t i = 0; i < cohort; ++i) params.cohort.push_back({"school-" + std::to_string(i), {}});
  return params;
}

TEST(EstablishmentDpWireTest, TheSensitivityCoversTheWholePackedVector) {
  auto sensitivity = EstablishmentSensitivity(Layout(2, 1, 0.5));
  ASSERT_TRUE(sensitivity.ok());
  EXPECT_DOUBLE_EQ(*sensitivity, std::sqrt(0.25 + 1 + 4));
  EXPECT_FALSE(EstablishmentSensitivity(Layout(2, 1, 0)).ok());     // no norm bound
  EXPECT_FALSE(EstablishmentSensitivity(Layout(2, 50, 0.5)).ok());  // weights differ
}

TEST(EstablishmentDpWireTest, BothSidesWriteTheSameMechanismIntoTheRound) {
  const ContributionLayout layout = Layout(2, 1, 0.5);
  auto coordinator_side = Round(5, 48);
  auto node_side = Round(5, 48);
  auto a = ApplyEstablishmentDp(On(), layout, coordinator_side);
  auto b = ApplyEstablishmentDp(On(), layout, node_side);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_EQ(coordinator_side.levels, a->levels);
  EXPECT_EQ(coordinator_side.noise_bound, a->noise_bound);
  EXPECT_EQ(node_side.levels, coordinator_side.levels);
  EXPECT_EQ(node_side.noise_bound, coordinator_side.noise_bound);
  EXPECT_EQ(a->variance.numerator, b->variance.numerator);
  EXPECT_DOUBLE_EQ(a->step, 2.0 * 2 / static_cast<double>(a->levels));
}

TEST(EstablishmentDpWireTest, TheModulusGrowsWithTheCohortAndNeverShrinks) {
  const ContributionLayout layout = Layout(2, 1, 0.5);
  auto small = EstablishmentModulusBits(On(), layout, 3, 8);
  auto large = EstablishmentModulusBits(On(), layout, 100000, 8);
  ASSERT_TRUE(small.ok() && large.ok()) << small.status() << large.status();
  EXPECT_GT(*large, *small);
  EXPECT_EQ(*EstablishmentModulusBits(On(), layout, 3, 62), 62);
  auto narrow = Round(5, *small - 1);
  EXPECT_EQ(ApplyEstablishmentDp(On(), layout, narrow).status().code(), StatusCode::kOutOfRange);
  auto wide = Round(3, *small);
  EXPECT_TRUE(ApplyEstablishmentDp(On(), layout, wide).ok());
}

TEST(EstablishmentDpWireTest, RefusesValuesNoPlanGivesAndCohortsTooSmallForTheNoise) {
  const ContributionLayout layout = Layout(2, 1, 0.5);
  for (auto change : std::vector<void (*)(protocol::WireEstablishmentDp&)>{
           [](auto& dp) { dp.enabled = 2; }, [](auto& dp) { dp.noise_multiplier = 0.01; },
           [](auto& dp) { dp.noise_multiplier = NAN; }, [](auto& dp) { dp.min_contributors = 1; },
           [](auto& dp) { dp.delta = 0.5; }, [](auto& dp) { dp.rounds = 0; }}) {
    protocol::WireEstablishmentDp dp = On();
    change(dp);
    EXPECT_FALSE(CheckEstablishmentDp(dp).ok());
    auto params = Round(5, 48);
    EXPECT_FALSE(ApplyEstablishmentDp(dp, layout, params).ok());
  }
  EXPECT_TRUE(CheckEstablishmentDp(protocol::WireEstablishmentDp{}).ok());  // off
  auto two = Round(2, 48);
  EXPECT_EQ(ApplyEstablishmentDp(On(), layout, two).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(EstablishmentDpWireTest, EpsilonFallsWithNoiseAndGrowsWithRounds) {
  const ContributionLayout layout = Layout(2, 1, 0.5);
  protocol::WireEstablishmentDp noisier = On();
  noisier.noise_multiplier = 3;
  auto base = EstablishmentEpsilon(On(), layout, 5);
  auto quieter = EstablishmentEpsilon(noisier, layout, 5);
  auto longer = EstablishmentEpsilon(On(), layout, 5, 40);
  ASSERT_TRUE(base.ok() && quieter.ok() && longer.ok());
  EXPECT_LT(quieter->epsilon, base->epsilon);
  EXPECT_GT(longer->epsilon, base->epsilon);
  const nlohmann::json report = EstablishmentDpReport(On(), 1.5, *base);
  EXPECT_EQ(report["epsilon"], base->epsilon);
  EXPECT_EQ(report["min_contributors"], 3);
  EXPECT_FALSE(EstablishmentDpReport(On(), 1.5, std::nullopt).contains("epsilon"));
}

}  // namespace
}  // namespace cartable::exchange
