// The discrete Gaussian sampler against the distribution it claims: coin frequencies, the
// probability of each value, the variance, and the variance of noise summed over a cohort of
// nodes that each add their share. Seeds are fixed, so each check is reproducible; the tolerances
// are five standard errors or more of the quantity checked.

#include "aggregation/privacy/discrete_gaussian.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

namespace cartable::aggregation::privacy {
namespace {

std::vector<uint8_t> Seed(uint8_t byte) { return std::vector<uint8_t>(32, byte); }

RandomWords Random(uint8_t byte) {
  auto random = RandomWords::Create(Seed(byte));
  EXPECT_TRUE(random.ok()) << random.status();
  return std::move(random).value();
}

// P[x] of N_Z(0, σ²) and its variance, by summing the series far into the tails.
struct Exact {
  std::map<int64_t, double> pmf;
  double variance = 0;
};
Exact ExactOf(double sigma_squared) {
  Exact exact;
  const auto reach = static_cast<int64_t>(40 * std::sqrt(sigma_squared) + 40);
  double total = 0;
  for (int64_t x = -reach; x <= reach; ++x) {
    const double w = std::exp(-static_cast<double>(x * x) / (2 * sigma_squared));
    exact.pmf[x] = w;
    total += w;
  }
  for (auto& [x, p] : exact.pmf) {
    p /= total;
    exact.variance += p * static_cast<double>(x * x);
  }
  return exact;
}

struct Moments {
  double mean = 0, variance = 0;
};
Moments MomentsOf(const std::vector<int64_t>& draws) {
  Moments m;
  for (int64_t x : draws) m.mean += static_cast<double>(x);
  m.mean /= static_cast<double>(draws.size());
  for (int64_t x : draws) m.variance += std::pow(static_cast<double>(x) - m.mean, 2);
  m.variance /= static_cast<double>(draws.size() - 1);
  return m;
}

TEST(DiscreteGaussianTest, BernoulliExpComesUpWithProbabilityExpMinusGamma) {
  RandomWords random = Random(1);
  constexpr int kTrials = 200000;
  for (const auto& [numerator, denominator] :
       std::vector<std::pair<int, int>>{{1, 4}, {1, 1}, {5, 2}, {0, 3}}) {
    int ones = 0;
    for (int i = 0; i < kTrials; ++i) ones += random.BernoulliExp(numerator, denominator) ? 1 : 0;
    const double p = std::exp(-static_cast<double>(numerator) / denominator);
    const double error = std::sqrt(p * (1 - p) / kTrials);
    EXPECT_NEAR(static_cast<double>(ones) / kTrials, p, 5 * error + 1e-9)
        << numerator << "/" << denominator;
  }
}

TEST(DiscreteGaussianTest, EachValueComesWithItsProbability) {
  constexpr size_t kDraws = 200000;
  const Variance variance{2, 1};
  auto draws = DiscreteGaussianNoise(kDraws, variance, Seed(2));
  ASSERT_TRUE(draws.ok()) << draws.status();
  std::map<int64_t, int> counts;
  for (int64_t x : *draws) ++counts[x];
  const Exact exact = ExactOf(2);
  for (int64_t x = -5; x <= 5; ++x) {
    const double p = exact.pmf.at(x);
    const double error = std::sqrt(p * (1 - p) / kDraws);
    EXPECT_NEAR(counts[x] / static_cast<double>(kDraws), p, 5 * error) << "x = " << x;
  }
  // Symmetric: as many draws above zero as below, within five standard errors.
  int above = 0, below = 0;
  for (int64_t x : *draws) {
    if (x > 0) ++above;
    if (x < 0) ++below;
  }
  EXPECT_NEAR(above - below, 0, 5 * std::sqrt(above + below));
}

TEST(DiscreteGaussianTest, TheVarianceIsTheDistributionsFromAQuarterToAMillion) {
  constexpr size_t kDraws = 100000;
  uint8_t seed = 10;
  for (double sigma_squared : {0.25, 1.0, 30.5, 1e6}) {
    auto variance = VarianceOf(sigma_squared);
    ASSERT_TRUE(variance.ok()) << variance.status();
    auto draws = DiscreteGaussianNoise(kDraws, *variance, Seed(seed++));
    ASSERT_TRUE(draws.ok()) << draws.status();
    const Moments m = MomentsOf(*draws);
    // Below σ = 1 the discrete Gaussian's variance is less than σ² (0.25 gives 0.0366): compare
    // with the series, not with σ².
    const double expected =
        sigma_squared < 100 ? ExactOf(variance->value()).variance : variance->value();
    EXPECT_NEAR(m.variance / expected, 1, 0.03) << "σ² = " << sigma_squared;
    EXPECT_NEAR(m.mean, 0, 5 * std::sqrt(expected / kDraws)) << "σ² = " << sigma_squared;
  }
}

// The distributed mechanism's premise: n nodes adding N_Z(0, σ²/n) each give a sum whose variance
// is σ² (here 12 nodes of σ² = 50, a cohort total of 600).
TEST(DiscreteGaussianTest, SharesSummedOverACohortHaveTheIntendedTotalVariance) {
  constexpr int kNodes = 12;
  constexpr size_t kTrials = 40000;
  const Variance share{50, 1};
  std::vector<int64_t> sums(kTrials, 0);
  for (int node = 0; node < kNodes; ++node) {
    auto noise = DiscreteGaussianNoise(kTrials, share, Seed(static_cast<uint8_t>(100 + node)));
    ASSERT_TRUE(noise.ok()) << noise.status();
    for (size_t i = 0; i < kTrials; ++i) sums[i] += (*noise)[i];
  }
  const Moments m = MomentsOf(sums);
  EXPECT_NEAR(m.variance / (kNodes * 50.0), 1, 0.04);  // 5 × √(2/40000) ≈ 0.035
  EXPECT_NEAR(m.mean, 0, 5 * std::sqrt(kNodes * 50.0 / kTrials));
}

TEST(DiscreteGaussianTest, TheSameSeedGivesTheSameNoiseAndAnotherSeedOther) {
  const Variance variance{1000, 1};
  auto a = DiscreteGaussianNoise(64, variance, Seed(7));
  auto b = DiscreteGaussianNoise(64, variance, Seed(7));
  auto c = DiscreteGaussianNoise(64, variance, Seed(8));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(DiscreteGaussianTest, TheDiscreteLaplaceHasItsVariance) {
  // P[x] ∝ exp(−|x|/t): variance 2·e^{−1/t}/(1 − e^{−1/t})², 2/(e − 1)²·e = 1.84 for t = 1.
  RandomWords random = Random(3);
  for (uint64_t scale : {1, 7}) {
    std::vector<int64_t> draws(100000);
    for (int64_t& x : draws) x = SampleDiscreteLaplace(scale, random);
    const double r = std::exp(-1.0 / static_cast<double>(scale));
    const double expected = 2 * r / ((1 - r) * (1 - r));
    EXPECT_NEAR(MomentsOf(draws).variance / expected, 1, 0.05) << "t = " << scale;
  }
}

TEST(DiscreteGaussianTest, RefusesVariancesOutOfRangeAndSeedsOfAnotherSize) {
  for (double bad : {0.0, -1.0, 1e-6, std::pow(2.0, 41), std::nan(""), double{INFINITY}}) {
    EXPECT_FALSE(VarianceOf(bad).ok()) << bad;
  }
  auto rounded = VarianceOf(0.1);
  ASSERT_TRUE(rounded.ok());
  EXPECT_GE(rounded->value(), 0.1);  // rounded up, never down
  EXPECT_LT(rounded->value(), 0.1 + 1.0 / 65536);
  EXPECT_FALSE(DiscreteGaussianNoise(4, Variance{0, 1}, Seed(1)).ok());
  EXPECT_FALSE(DiscreteGaussianNoise(4, Variance{1, uint64_t{1} << 17}, Seed(1)).ok());
  EXPECT_FALSE(DiscreteGaussianNoise(4, Variance{1, 1}, std::vector<uint8_t>(16, 1)).ok());
}

}  // namespace
}  // namespace cartable::aggregation::privacy
