// The fast paths behind SecAgg+'s speed give exactly what the plain definitions give: the
// small-factor field product, Lagrange weights batched over many shares, and masks streamed block
// by block (regression guard for the optimisations measured in docs/benchmarks.md).

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "aggregation/secagg/internal/prime_field.h"
#include "aggregation/secagg/mask_expander.h"
#include "aggregation/secagg/secret_bytes.h"
#include "aggregation/secagg/shamir.h"

namespace cartable::aggregation::secagg {
namespace {

using internal::FieldElement;
using internal::kFieldPrime;

TEST(SecAggFastPathsTest, SmallFactorProductMatchesTheGeneralOne) {
  std::mt19937_64 rng(11);
  const FieldElement edges[] = {0,
                                1,
                                2,
                                kFieldPrime - 1,
                                kFieldPrime - 2,
                                FieldElement{1} << 126,
                                (FieldElement{1} << 127) - 3,
                                ~uint64_t{0}};
  const uint64_t factors[] = {0, 1, 2, 65535, 65534ULL * 65533 * 65532 * 65531, ~uint64_t{0}};
  for (FieldElement a : edges) {
    for (uint64_t s : factors) {
      EXPECT_TRUE(internal::FieldMultiplySmall(a, s) == internal::FieldMultiply(a, s));
    }
  }
  for (int i = 0; i < 20000; ++i) {
    const FieldElement a = ((FieldElement{rng()} << 64) | rng()) % kFieldPrime;
    const uint64_t s = i % 2 ? rng() : rng() >> 48;
    ASSERT_TRUE(internal::FieldMultiplySmall(a, s) == internal::FieldMultiply(a, s)) << i;
  }
}

// Many shares with scattered x's (as after dropouts): the batched weights still rebuild the secret,
// from any threshold-sized subset, and a share off by one no longer does.
TEST(SecAggFastPathsTest, CombineWithManyScatteredSharesRebuildsTheSecret) {
  const SecretBytes secret = SecretBytes::Random(32);
  auto shares = Split(secret.span(), 150, 499);
  ASSERT_TRUE(shares.ok()) << shares.status();
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<Share> subset(shares->begin(), shares->end());
    std::shuffle(subset.begin(), subset.end(), rng);
    subset.resize(150);
    auto rebuilt = Combine(subset, 150, 32);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
    EXPECT_TRUE(ConstantTimeEquals(rebuilt->span(), secret.span()));
    subset[0].y[0] = internal::FieldAdd(subset[0].y[0], 1);
    auto wrong = Combine(subset, 150, 32);
    EXPECT_FALSE(wrong.ok() && ConstantTimeEquals(wrong->span(), secret.span()));
  }
}

TEST(SecAggFastPathsTest, StreamedMaskEqualsTheWholeExpansion) {
  const SecretBytes seed = SecretBytes::Random(kMaskSeedSize);
  for (int bits : {8, 32, 62, 64}) {
    auto whole = ExpandMask64(seed.span(), 70'001, bits);
    auto expander = MaskExpander::Create(seed.span(), bits);
    ASSERT_TRUE(whole.ok() && expander.ok());
    std::vector<uint64_t> streamed(whole->size());
    // Uneven pieces, some across the 64 KiB chunk boundary inside the expander.
    size_t at = 0;
    for (size_t piece : {1u, 7u, 8191u, 8192u, 20000u}) {
      ASSERT_TRUE(expander->Next(std::span<uint64_t>(streamed).subspan(at, piece)).ok());
      at += piece;
    }
    ASSERT_TRUE(expander->Next(std::span<uint64_t>(streamed).subspan(at)).ok());
    EXPECT_EQ(streamed, *whole) << "bits=" << bits;
  }
  EXPECT_FALSE(MaskExpander::Create(std::vector<uint8_t>(31), 32).ok());
  EXPECT_FALSE(MaskExpander::Create(seed.span(), 0).ok());
  EXPECT_FALSE(MaskExpander::Create(seed.span(), 65).ok());
}

}  // namespace
}  // namespace cartable::aggregation::secagg
