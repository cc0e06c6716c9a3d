#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/secagg/mask_expander.h"
#include "aggregation/secagg/quantizer.h"
#include "aggregation/secagg/secret_bytes.h"

namespace cartable::aggregation::secagg {
namespace {

Quantizer MakeQuantizer(double range, int contributors, int bits) {
  StatusOr<Quantizer> quantizer = Quantizer::Create(range, contributors, bits);
  EXPECT_TRUE(quantizer.ok()) << quantizer.status();
  return *quantizer;
}

std::vector<uint64_t> QuantizeOrDie(const Quantizer& quantizer, const std::vector<float>& values) {
  const SecretBytes seed = SecretBytes::Random(32);
  StatusOr<std::vector<uint64_t>> quantized = quantizer.Quantize(values, seed.span());
  EXPECT_TRUE(quantized.ok()) << quantized.status();
  return quantized.ok() ? *quantized : std::vector<uint64_t>();
}

TEST(QuantizerTest, LevelsLeaveHeadroomForTheFullSum) {
  const Quantizer quantizer = MakeQuantizer(1.0, 10, 16);
  EXPECT_EQ(quantizer.levels(), 6553u);  // floor(65535 / 10)
  EXPECT_LE(quantizer.levels() * 10, quantizer.modulus_mask());
  EXPECT_EQ(MakeQuantizer(1.0, 127, 8).levels(), 2u);
}

TEST(QuantizerTest, RefusesAModulusTooSmallForTheContributors) {
  for (auto [contributors, bits] : {std::pair{128, 8}, {200, 8}, {1 << 20, 20}}) {
    StatusOr<Quantizer> quantizer = Quantizer::Create(1.0, contributors, bits);
    ASSERT_FALSE(quantizer.ok());
    EXPECT_EQ(quantizer.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(
        quantizer.status().message().find("cannot hold the sum of " + std::to_string(contributors) +
                                          " contributions; use more bits or fewer contributors"),
        std::string::npos)
        << quantizer.status();
  }
}

TEST(QuantizerTest, RefusesBadParameters) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double range : {0.0, -1.0, nan, inf}) {
    EXPECT_EQ(Quantizer::Create(range, 10, 32).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Quantizer::Create(1.0, 0, 32).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Quantizer::Create(1.0, 10, 7).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Quantizer::Create(1.0, 10, 63).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Quantizer::Create(1.0, 1, 62).ok());
}

TEST(QuantizerTest, IsUnbiased) {
  constexpr int kDraws = 20'000;
  const Quantizer quantizer = MakeQuantizer(1.0, 1, 8);  // L = 255: coarse, so rounding matters
  for (float x : {0.3f, -0.77f, 0.999f, -0.0123f}) {
    const double t = (static_cast<double>(x) + 1.0) / 2.0 * 255.0;
    const double fraction = t - std::floor(t);
    const std::vector<uint64_t> q = QuantizeOrDie(quantizer, std::vector<float>(kDraws, x));
    double mean = 0;
    for (uint64_t value : q) {
      ASSERT_TRUE(value == static_cast<uint64_t>(std::floor(t)) ||
                  value == static_cast<uint64_t>(std::floor(t)) + 1);
      mean += static_cast<double>(value) / kDraws;
    }
    const double standard_error = std::sqrt(fraction * (1 - fraction) / kDraws);
    EXPECT_NEAR(mean, t, 4 * standard_error) << "x=" << x;
  }
}

TEST(QuantizerTest, ClipsAndIsReproducibleForAGivenSeed) {
  const Quantizer quantizer = MakeQuantizer(0.5, 4, 20);
  const std::vector<float> values = {-3.0f, -0.5f, 0.0f, 0.25f, 0.5f, 7.0f};
  const SecretBytes seed = SecretBytes::Random(32);
  StatusOr<std::vector<uint64_t>> first = quantizer.Quantize(values, seed.span());
  StatusOr<std::vector<uint64_t>> second = quantizer.Quantize(values, seed.span());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ((*first)[0], 0u);
  EXPECT_EQ((*first)[1], 0u);
  EXPECT_EQ((*first)[4], quantizer.levels());
  EXPECT_EQ((*first)[5], quantizer.levels());
}

TEST(QuantizerTest, SumOfQuantisedVectorsDequantisesToTheFloatSum) {
  constexpr int kContributors = 10;
  constexpr size_t kDimension = 2000;
  constexpr double kClip = 1.0;
  const Quantizer quantizer = MakeQuantizer(kClip, kContributors, 24);
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> value(-1.5f, 1.5f);  // some values get clamped

  for (int contributors : {kContributors, 3}) {
    std::vector<uint64_t> accumulator(kDimension, 0);
    std::vector<double> expected(kDimension, 0);
    for (int node = 0; node < contributors; ++node) {
      std::vector<float> update(kDimension);
      for (size_t i = 0; i < kDimension; ++i) {
        update[i] = value(rng);
        expected[i] += std::clamp(static_cast<double>(update[i]), -kClip, kClip);
      }
      ASSERT_TRUE(quantizer.AddModulo(accumulator, QuantizeOrDie(quantizer, update)).ok());
    }
    StatusOr<std::vector<double>> sum = quantizer.DequantizeSum(accumulator, contributors);
    ASSERT_TRUE(sum.ok()) << sum.status();
    const double tolerance = contributors * 2 * kClip / static_cast<double>(quantizer.levels());
    for (size_t i = 0; i < kDimension; ++i) ASSERT_NEAR((*sum)[i], expected[i], tolerance) << i;
  }
}

// What SecAgg+ does, minus the key exchange: every input is masked with a self mask and with
// pairwise masks (+ on one side, − on the other); the coordinator adds the masked inputs modulo
// 2^b, removes the self masks, and must land exactly on the plain integer sum although every step
// wrapped around.
TEST(QuantizerTest, MaskedSumsUnmaskExactlyDespiteWrapAround) {
  constexpr int kNodes = 5;
  constexpr size_t kDimension = 512;
  // A small modulus, so masked values wrap around constantly.
  const Quantizer quantizer = MakeQuantizer(1.0, kNodes, 12);
  const int bits = quantizer.modulus_bits();
  std::mt19937 rng(29);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);

  std::vector<uint64_t> plain_sum(kDimension, 0);
  std::vector<uint64_t> masked_sum(kDimension, 0);
  std::vector<SecretBytes> self_seeds;
  std::vector<std::vector<SecretBytes>> pair_seeds(kNodes);
  for (int i = 0; i < kNodes; ++i) {
    for (int j = 0; j < kNodes; ++j) pair_seeds[i].push_back(SecretBytes());
  }
  for (int i = 0; i < kNodes; ++i) {
    for (int j = i + 1; j < kNodes; ++j) {
      pair_seeds[i][j] = SecretBytes::Random(32);
      pair_seeds[j][i] = pair_seeds[i][j].Clone();
    }
  }
  bool wrapped = false;
  for (int node = 0; node < kNodes; ++node) {
    std::vector<float> update(kDimension);
    for (float& x : update) x = value(rng);
    std::vector<uint64_t> masked = QuantizeOrDie(quantizer, update);
    for (size_t k = 0; k < kDimension; ++k) plain_sum[k] += masked[k];

    self_seeds.push_back(SecretBytes::Random(32));
    StatusOr<std::vector<uint64_t>> self_mask =
        ExpandMask64(self_seeds.back().span(), kDimension, bits);
    ASSERT_TRUE(self_mask.ok());
    ASSERT_TRUE(quantizer.AddModulo(masked, *self_mask).ok());
    for (int peer = 0; peer < kNodes; ++peer) {
      if (peer == node) continue;
      StatusOr<std::vector<uint64_t>> pair_mask =
          ExpandMask64(pair_seeds[node][peer].span(), kDimension, bits);
      ASSERT_TRUE(pair_mask.ok());
      ASSERT_TRUE((node < peer ? quantizer.AddModulo(masked, *pair_mask)
                               : quantizer.SubtractModulo(masked, *pair_mask))
                      .ok());
    }
    const std::vector<uint64_t> before = masked_sum;
    ASSERT_TRUE(quantizer.AddModulo(masked_sum, masked).ok());
    for (size_t k = 0; k < kDimension; ++k) wrapped |= masked_sum[k] < before[k];
  }
  EXPECT_TRUE(wrapped);
  EXPECT_NE(masked_sum, plain_sum);

  for (const SecretBytes& seed : self_seeds) {
    StatusOr<std::vector<uint64_t>> self_mask = ExpandMask64(seed.span(), kDimension, bits);
    ASSERT_TRUE(self_mask.ok());
    ASSERT_TRUE(quantizer.SubtractModulo(masked_sum, *self_mask).ok());
  }
  EXPECT_EQ(masked_sum, plain_sum);
  EXPECT_TRUE(quantizer.DequantizeSum(masked_sum, kNodes).ok());
}

TEST(QuantizerTest, DequantizeRefusesImpossibleSums) {
  const Quantizer quantizer = MakeQuantizer(1.0, 4, 16);
  const std::vector<uint64_t> fine = {0, quantizer.levels() * 2};
  EXPECT_TRUE(quantizer.DequantizeSum(fine, 2).ok());
  EXPECT_EQ(quantizer.DequantizeSum(fine, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(quantizer.DequantizeSum(fine, 5).status().code(), StatusCode::kInvalidArgument);
  const std::vector<uint64_t> too_large = {quantizer.levels() * 2 + 1};
  EXPECT_EQ(quantizer.DequantizeSum(too_large, 2).status().code(), StatusCode::kDataLoss);
}

TEST(QuantizerTest, RefusesBadInputs) {
  const Quantizer quantizer = MakeQuantizer(1.0, 4, 16);
  const std::vector<float> values = {0.1f, std::numeric_limits<float>::quiet_NaN()};
  const SecretBytes seed = SecretBytes::Random(32);
  EXPECT_EQ(quantizer.Quantize(values, seed.span()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(quantizer.Quantize({values.data(), 1}, std::vector<uint8_t>(16)).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<uint64_t> accumulator(3);
  EXPECT_EQ(quantizer.AddModulo(accumulator, std::vector<uint64_t>(2)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(quantizer.SubtractModulo(accumulator, std::vector<uint64_t>(4)).code(),
            StatusCode::kInvalidArgument);
}

// With distributed noise: 3 contributors of 100 levels, summed noise within ±50. A sum below
// zero wraps to the top of the modulus and reads back negative; one beyond the noise bound on
// either side is refused.
TEST(QuantizerTest, NoisySumsReadBackSignedWithinTheNoiseBound) {
  auto created = Quantizer::Create(1.0, 3, 16, 100, 50);
  ASSERT_TRUE(created.ok()) << created.status();
  const Quantizer& quantizer = *created;
  EXPECT_EQ(quantizer.levels(), 100u);
  EXPECT_EQ(quantizer.noise_bound(), 50u);
  std::vector<uint64_t> sum(3, 0);
  for (int member = 0; member < 3; ++member) {
    std::vector<uint64_t> quantized = {0, 100, 50};  // −1, +1, 0 exactly
    const std::vector<int64_t> noise = {-10, 10, member == 0 ? -50 : 20};
    ASSERT_TRUE(quantizer.AddNoise(quantized, noise).ok());
    ASSERT_TRUE(quantizer.AddModulo(sum, quantized).ok());
  }
  auto values = quantizer.DequantizeSum(sum, 3);
  ASSERT_TRUE(values.ok()) << values.status();
  const double step = 2.0 / 100;
  EXPECT_NEAR((*values)[0], -3 - 30 * step, 1e-12);  // a word of 2^16 − 30
  EXPECT_NEAR((*values)[1], 3 + 30 * step, 1e-12);   // 300 + 30, beyond k·L
  EXPECT_NEAR((*values)[2], 0 - 10 * step, 1e-12);
  const uint64_t top = quantizer.modulus_mask();
  EXPECT_TRUE(quantizer.DequantizeSum(std::vector<uint64_t>{top - 49, 350}, 3).ok());
  EXPECT_EQ(quantizer.DequantizeSum(std::vector<uint64_t>{top - 50}, 3).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(quantizer.DequantizeSum(std::vector<uint64_t>{351}, 3).status().code(),
            StatusCode::kDataLoss);
  std::vector<uint64_t> quantized = {0};
  EXPECT_EQ(quantizer.AddNoise(quantized, std::vector<int64_t>{51}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(quantizer.AddNoise(quantized, std::vector<int64_t>{1, 2}).code(),
            StatusCode::kInvalidArgument);
}

TEST(QuantizerTest, RefusesANoisySumTheModulusCannotHold) {
  EXPECT_FALSE(Quantizer::Create(1.0, 3, 16, 20000, 2768).ok());  // 60,000 + 5,536 > 65,535
  EXPECT_TRUE(Quantizer::Create(1.0, 3, 16, 20000, 2767).ok());
  EXPECT_FALSE(Quantizer::Create(1.0, 3, 16, 0, 10).ok());  // noise needs its levels
  EXPECT_FALSE(Quantizer::Create(1.0, 3, 16, 1, 0).ok());   // fewer than 2 levels
  // Without noise nothing changes: the default levels and no noise allowed.
  auto plain = Quantizer::Create(1.0, 3, 16);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->noise_bound(), 0u);
  std::vector<uint64_t> quantized = {0};
  EXPECT_FALSE(plain->AddNoise(quantized, std::vector<int64_t>{1}).ok());
  EXPECT_TRUE(plain->AddNoise(quantized, std::vector<int64_t>{0}).ok());
}

}  // namespace
}  // namespace cartable::aggregation::secagg
