// The distributed discrete Gaussian's sizing and accountant: the integers it derives fit the
// modulus and give the summed noise the plan asks for, its RDP is Theorem 1 of Kairouz, Liu and
// Steinke (values worked by hand below), and with fine steps its ε is the Gaussian mechanism's.

#include "aggregation/privacy/distributed_gaussian.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "aggregation/privacy/discrete_gaussian.h"
#include "aggregation/privacy/rdp_accountant.h"

namespace cartable::aggregation::privacy {
namespace {

DistributedGaussianPlan TypicalPlan() {
  DistributedGaussianPlan plan;
  plan.noise_multiplier = 1;
  plan.l2_sensitivity = std::sqrt(3.0);  // a norm bound of 1, the weight, a loss within ±1
  plan.range = 1;
  plan.min_contributors = 3;
  plan.max_contributors = 10;
  plan.dimension = 1000;
  plan.modulus_bits = 48;
  return plan;
}

TEST(DistributedGaussianTest, SizesTheQuantiserAndTheNoiseToFitTheModulus) {
  const DistributedGaussianPlan plan = TypicalPlan();
  auto mechanism = PlanDistributedGaussian(plan);
  ASSERT_TRUE(mechanism.ok()) << mechanism.status();
  EXPECT_DOUBLE_EQ(mechanism->step, 2 * plan.range / static_cast<double>(mechanism->levels));
  // n_min shares of σ² make z·Δ in real units; σ near 2^18, never above it.
  const double sigma = std::sqrt(mechanism->variance.value());
  EXPECT_LE(sigma, 262144 * (1 + 1e-9));
  EXPECT_GT(sigma, 262144 * 0.99);
  EXPECT_NEAR(sigma * mechanism->step * std::sqrt(3.0), plan.noise_multiplier * plan.l2_sensitivity,
              1e-6);
  EXPECT_EQ(mechanism->noise_bound, static_cast<uint64_t>(std::ceil(20 * sigma * std::sqrt(10.0))));
  const long double needed = 10.0L * mechanism->levels + 2.0L * mechanism->noise_bound;
  EXPECT_LT(needed, std::ldexp(1.0L, plan.modulus_bits));
}

TEST(DistributedGaussianTest, AModulusTooNarrowForTheNoisySumSaysHowManyBitsWouldDo) {
  DistributedGaussianPlan plan = TypicalPlan();
  plan.modulus_bits = 24;
  auto mechanism = PlanDistributedGaussian(plan);
  ASSERT_EQ(mechanism.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(mechanism.status().message().find("at least 2"), std::string::npos)
      << mechanism.status();
  EXPECT_NE(mechanism.status().message().find("not 24"), std::string::npos);
}

TEST(DistributedGaussianTest, RefusesPlansThatDescribeNoMechanism) {
  const auto refused = [](auto change) {
    DistributedGaussianPlan plan = TypicalPlan();
    change(plan);
    return PlanDistributedGaussian(plan).status().code();
  };
  EXPECT_EQ(refused([](auto& p) { p.noise_multiplier = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& p) { p.noise_multiplier = NAN; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& p) { p.l2_sensitivity = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& p) { p.range = INFINITY; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& p) { p.min_contributors = 11; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& p) { p.min_contributors = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& p) { p.dimension = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& p) { p.modulus_bits = 63; }), StatusCode::kInvalidArgument);
  // So much noise that no two levels fit the range.
  EXPECT_EQ(refused([](auto& p) {
              p.noise_multiplier = 1000;
              p.l2_sensitivity = 1e6;
            }),
            StatusCode::kInvalidArgument);
}

// Theorem 1 worked by hand for a coarse mechanism, where τ matters: Δ/γ = 2/0.5 = 4, d = 9, so
// the integer sensitivity is 4 + 3 = 7; n_min = 2, n_max = 5.
TEST(DistributedGaussianTest, RdpIsTheoremOneOfKairouzLiuSteinke) {
  DistributedGaussianPlan plan;
  plan.l2_sensitivity = 2;
  plan.min_contributors = 2;
  plan.max_contributors = 5;
  plan.dimension = 9;
  DistributedGaussian mechanism;
  mechanism.step = 0.5;
  // σ² = 1/4: τ = 10·Σ_{k=1}^{4} exp(−π²k/(2(k+1))) = 1.66056342414119, s = 7/√0.5.
  mechanism.variance = {1, 4};
  auto at2 = DistributedGaussianRdp(plan, mechanism, 2);
  auto at8 = DistributedGaussianRdp(plan, mechanism, 8);
  ASSERT_TRUE(at2.ok() && at8.ok()) << at2.status() << at8.status();
  EXPECT_NEAR(*at2, 112.94507081727072, 1e-9);
  EXPECT_NEAR(*at8, 406.94507081727073, 1e-9);
  // σ² = 4: τ ≈ 7e-17, the bound is the Gaussian's α·s²/2 with s = 7/√8.
  mechanism.variance = {4, 1};
  auto wide = DistributedGaussianRdp(plan, mechanism, 8);
  ASSERT_TRUE(wide.ok());
  EXPECT_NEAR(*wide, 24.5, 1e-9);
  EXPECT_FALSE(DistributedGaussianRdp(plan, mechanism, 0.5).ok());
  mechanism.variance = {1, 8};  // σ² below 1/4: outside the theorem
  EXPECT_FALSE(DistributedGaussianRdp(plan, mechanism, 2).ok());
}

TEST(DistributedGaussianTest, WithFineStepsEpsilonIsTheGaussianMechanisms) {
  const DistributedGaussianPlan plan = TypicalPlan();
  for (uint32_t rounds : {1u, 10u, 100u}) {
    auto distributed = DistributedGaussianEpsilon(plan, rounds, 1e-5);
    auto gaussian = DpSgdEpsilon(1.0, plan.noise_multiplier, rounds, 1e-5);
    ASSERT_TRUE(distributed.ok() && gaussian.ok()) << distributed.status() << gaussian.status();
    // Never below the Gaussian mechanism's; above it by the rounding term √d·γ/Δ alone (~0.2%).
    EXPECT_GE(distributed->epsilon, gaussian->epsilon * (1 - 1e-9)) << rounds;
    EXPECT_LE(distributed->epsilon, gaussian->epsilon * 1.01) << rounds;
  }
  DistributedGaussianPlan noisier = plan;
  noisier.noise_multiplier = 2;
  EXPECT_LT(DistributedGaussianEpsilon(noisier, 10, 1e-5)->epsilon,
            DistributedGaussianEpsilon(plan, 10, 1e-5)->epsilon / 1.5);
  EXPECT_EQ(DistributedGaussianEpsilon(plan, 0, 1e-5)->epsilon, 0);
}

// What each establishment adds, summed over n_min of them and brought back to real units, has the
// variance (z·Δ)² the plan asks for: 20,000 coordinates, a standard error of 1% on the variance.
TEST(DistributedGaussianTest, NMinSharesSumToTheIntendedNoise) {
  const DistributedGaussianPlan plan = TypicalPlan();
  auto mechanism = PlanDistributedGaussian(plan);
  ASSERT_TRUE(mechanism.ok());
  constexpr size_t kCoordinates = 20000;
  std::vector<double> sum(kCoordinates, 0.0);
  for (int member = 0; member < plan.min_contributors; ++member) {
    auto noise = DiscreteGaussianNoise(kCoordinates, mechanism->variance,
                                       std::vector<uint8_t>(32, static_cast<uint8_t>(member + 1)));
    ASSERT_TRUE(noise.ok());
    for (size_t i = 0; i < kCoordinates; ++i) sum[i] += static_cast<double>((*noise)[i]);
  }
  double squares = 0;
  for (double v : sum) squares += (v * mechanism->step) * (v * mechanism->step);
  const double intended = plan.noise_multiplier * plan.l2_sensitivity;
  EXPECT_NEAR(squares / kCoordinates, intended * intended, 0.05 * intended * intended);
}

}  // namespace
}  // namespace cartable::aggregation::privacy
