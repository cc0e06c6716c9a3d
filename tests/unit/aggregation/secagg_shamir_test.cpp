#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "aggregation/secagg/internal/prime_field.h"
#include "aggregation/secagg/shamir.h"

namespace cartable::aggregation::secagg {
namespace {

using internal::FieldElement;
using internal::kFieldPrime;

// ---- GF(2^127 − 1) ----

// Schoolbook reference: a·b as a sum of doublings of a, using only FieldAdd.
FieldElement ReferenceMultiply(FieldElement a, FieldElement b) {
  FieldElement result = 0;
  for (int bit = 126; bit >= 0; --bit) {
    result = internal::FieldAdd(result, result);
    if ((b >> bit) & 1) result = internal::FieldAdd(result, a);
  }
  return result;
}

TEST(ShamirFieldTest, SpotChecks) {
  const FieldElement minus_one = kFieldPrime - 1;
  EXPECT_EQ(internal::FieldMultiply(minus_one, minus_one), FieldElement{1});
  EXPECT_EQ(internal::FieldMultiply(FieldElement{1} << 64, FieldElement{1} << 63), FieldElement{1});
  EXPECT_EQ(internal::FieldAdd(minus_one, 1), FieldElement{0});
  EXPECT_EQ(internal::FieldSubtract(0, 1), minus_one);
  EXPECT_EQ(internal::FieldMultiply(0, minus_one), FieldElement{0});
  EXPECT_EQ(internal::FieldInverse(2), (kFieldPrime + 1) / 2);
  EXPECT_EQ(internal::FieldInverse(minus_one), minus_one);
}

TEST(ShamirFieldTest, MultiplicationMatchesTheReferenceOnRandomAndEdgeValues) {
  std::vector<FieldElement> values = {0, 1, 2, kFieldPrime - 1, kFieldPrime - 2};
  for (int shift : {63, 64, 126}) values.push_back(FieldElement{1} << shift);
  values.push_back((FieldElement{1} << 64) - 1);
  for (int i = 0; i < 40; ++i) values.push_back(internal::RandomFieldElement());
  for (FieldElement a : values) {
    for (FieldElement b : values) {
      const FieldElement product = internal::FieldMultiply(a, b);
      ASSERT_LT(product, kFieldPrime);
      ASSERT_EQ(product, ReferenceMultiply(a, b));
    }
  }
}

TEST(ShamirFieldTest, InverseAndFermat) {
  for (int i = 0; i < 200; ++i) {
    FieldElement a = internal::RandomFieldElement();
    if (a == 0) continue;
    EXPECT_EQ(internal::FieldMultiply(a, internal::FieldInverse(a)), FieldElement{1});
    EXPECT_EQ(internal::FieldPower(a, kFieldPrime - 1), FieldElement{1});
    const FieldElement b = internal::RandomFieldElement();
    EXPECT_EQ(internal::FieldAdd(internal::FieldSubtract(a, b), b), a);
  }
}

TEST(ShamirFieldTest, RandomElementsAreReducedAndUseTheTopBit) {
  FieldElement combined = 0;
  for (int i = 0; i < 200; ++i) {
    const FieldElement value = internal::RandomFieldElement();
    ASSERT_LT(value, kFieldPrime);
    combined |= value;
  }
  EXPECT_EQ(combined, kFieldPrime);  // all 127 bits seen set at least once
}

// ---- Split / Combine ----

std::vector<uint8_t> RandomSecret(size_t length, std::mt19937& rng) {
  std::vector<uint8_t> secret(length);
  for (uint8_t& byte : secret) byte = static_cast<uint8_t>(rng());
  return secret;
}

std::vector<Share> CopyShares(const std::vector<Share>& all, const std::vector<size_t>& indices) {
  std::vector<Share> picked;
  for (size_t i : indices) picked.push_back(all[i]);
  return picked;
}

void ExpectRebuilds(const std::vector<Share>& shares, int threshold,
                    const std::vector<uint8_t>& secret) {
  StatusOr<SecretBytes> rebuilt = Combine(shares, threshold, secret.size());
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_TRUE(ConstantTimeEquals(rebuilt->span(), secret));
}

constexpr std::pair<int, int> kThresholds[] = {{1, 1}, {2, 3}, {3, 5}, {7, 10}};
constexpr size_t kLengths[] = {1, 15, 16, 32, 64};

TEST(ShamirTest, EverySubsetOfThresholdSizeRebuildsTheSecret) {
  std::mt19937 rng(7);
  for (auto [threshold, n] : kThresholds) {
    for (size_t length : kLengths) {
      SCOPED_TRACE(testing::Message() << "t=" << threshold << " n=" << n << " length=" << length);
      const std::vector<uint8_t> secret = RandomSecret(length, rng);
      StatusOr<std::vector<Share>> shares = Split(secret, threshold, n);
      ASSERT_TRUE(shares.ok()) << shares.status();
      ASSERT_EQ(shares->size(), static_cast<size_t>(n));
      for (unsigned subset = 0; subset < (1u << n); ++subset) {
        if (std::popcount(subset) != threshold) continue;
        std::vector<size_t> indices;
        for (int i = 0; i < n; ++i) {
          if (subset & (1u << i)) indices.push_back(static_cast<size_t>(i));
        }
        ExpectRebuilds(CopyShares(*shares, indices), threshold, secret);
      }
    }
  }
}

TEST(ShamirTest, RandomSubsetsInAnyOrderRebuildTheSecret) {
  std::mt19937 rng(11);
  for (auto [threshold, n] : {std::pair{2, 3}, {7, 10}, {20, 50}, {50, 100}}) {
    for (size_t length : kLengths) {
      const std::vector<uint8_t> secret = RandomSecret(length, rng);
      StatusOr<std::vector<Share>> shares = Split(secret, threshold, n);
      ASSERT_TRUE(shares.ok()) << shares.status();
      for (int trial = 0; trial < 10; ++trial) {
        std::vector<size_t> indices(static_cast<size_t>(n));
        std::iota(indices.begin(), indices.end(), size_t{0});
        std::shuffle(indices.begin(), indices.end(), rng);
        indices.resize(std::uniform_int_distribution<size_t>(threshold, n)(rng));
        ExpectRebuilds(CopyShares(*shares, indices), threshold, secret);
      }
    }
  }
}

TEST(ShamirTest, AcceptsTheLargestShareCount) {
  const std::vector<uint8_t> secret = {0x5a};
  StatusOr<std::vector<Share>> shares = Split(secret, 2, kShamirMaxShares);
  ASSERT_TRUE(shares.ok()) << shares.status();
  EXPECT_EQ(shares->back().x, 65535u);
  ExpectRebuilds({shares->back(), (*shares)[40000]}, 2, secret);
}

TEST(ShamirTest, FewerThanThresholdSharesDoNotRebuildTheSecret) {
  std::mt19937 rng(13);
  for (auto [threshold, n] : kThresholds) {
    if (threshold < 2) continue;
    for (size_t length : kLengths) {
      const std::vector<uint8_t> secret = RandomSecret(length, rng);
      StatusOr<std::vector<Share>> shares = Split(secret, threshold, n);
      ASSERT_TRUE(shares.ok());
      const std::vector<Share> too_few(shares->begin(), shares->begin() + (threshold - 1));
      // Interpolating a lower-degree polynomial: a uniformly random value at 0, nearly always out
      // of range (kDataLoss), and equal to the secret with probability about 2^-127 per chunk.
      StatusOr<SecretBytes> rebuilt = Combine(too_few, threshold - 1, length);
      EXPECT_TRUE(!rebuilt.ok() || !ConstantTimeEquals(rebuilt->span(), secret));
      EXPECT_EQ(Combine(too_few, threshold, length).status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ShamirTest, ReportsCorruptOrMixedSharesAsDataLoss) {
  std::mt19937 rng(17);
  const std::vector<uint8_t> secret = RandomSecret(32, rng);  // chunks of 15, 15 and 2 bytes
  StatusOr<std::vector<Share>> shares = Split(secret, 3, 5);
  StatusOr<std::vector<Share>> other = Split(RandomSecret(32, rng), 3, 5);
  ASSERT_TRUE(shares.ok() && other.ok());

  // A value overwritten with garbage shifts the rebuilt chunk by a uniformly random amount; the
  // 2-byte last chunk then lands in range with probability 2^-111.
  std::vector<Share> corrupt(shares->begin(), shares->begin() + 3);
  corrupt[1].y[2] = internal::RandomFieldElement();
  EXPECT_EQ(Combine(corrupt, 3, 32).status().code(), StatusCode::kDataLoss);

  // Not a MAC: a small deliberate change (here + 1) shifts the chunk by a small amount and goes
  // unseen. Authenticity comes from the share cipher and the commitments, as shamir.h says.
  std::vector<Share> nudged(shares->begin(), shares->begin() + 3);
  nudged[1].y[0] = internal::FieldAdd(nudged[1].y[0], 1);
  StatusOr<SecretBytes> wrong = Combine(nudged, 3, 32);
  EXPECT_TRUE(!wrong.ok() || !ConstantTimeEquals(wrong->span(), secret));

  const std::vector<Share> mixed = {(*shares)[0], (*shares)[1], (*other)[2]};
  EXPECT_EQ(Combine(mixed, 3, 32).status().code(), StatusCode::kDataLoss);
}

// SecAgg+ evaluates each holder's shares at its own x (cohort index + 1): any points, in any order.
TEST(ShamirTest, SharesAtChosenPointsRebuildTheSecretAndCarryTheirPoints) {
  std::mt19937 rng(19);
  const std::vector<uint8_t> secret = RandomSecret(32, rng);
  const std::vector<uint32_t> points = {65535, 3, 40, 1, 7, 1000};
  StatusOr<std::vector<Share>> shares = Split(secret, 4, points);
  ASSERT_TRUE(shares.ok()) << shares.status();
  ASSERT_EQ(shares->size(), points.size());
  for (size_t i = 0; i < points.size(); ++i) EXPECT_EQ((*shares)[i].x, points[i]);
  for (int trial = 0; trial < 10; ++trial) {
    std::vector<size_t> indices(points.size());
    std::iota(indices.begin(), indices.end(), size_t{0});
    std::shuffle(indices.begin(), indices.end(), rng);
    indices.resize(4);
    ExpectRebuilds(CopyShares(*shares, indices), 4, secret);
  }
}

TEST(ShamirTest, SplitRefusesRepeatedOrOutOfRangePoints) {
  const std::vector<uint8_t> secret(32, 1);
  const StatusOr<std::vector<Share>> repeated = Split(secret, 2, std::vector<uint32_t>{4, 9, 4});
  ASSERT_FALSE(repeated.ok());
  EXPECT_NE(repeated.status().message().find("x=4 is given twice"), std::string::npos)
      << repeated.status();
  EXPECT_EQ(Split(secret, 2, std::vector<uint32_t>{0, 1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, 2, std::vector<uint32_t>{1, 65536}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, 3, std::vector<uint32_t>{1, 2}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, 1, std::vector<uint32_t>{}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ShamirTest, SplitRefusesBadParameters) {
  const std::vector<uint8_t> secret(16, 1);
  EXPECT_EQ(Split({}, 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(std::vector<uint8_t>(65, 1), 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, 0, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, -1, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, 4, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, 1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Split(secret, 2, kShamirMaxShares + 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(ShamirTest, CombineRefusesMalformedShares) {
  const std::vector<uint8_t> secret(20, 7);  // two chunks
  StatusOr<std::vector<Share>> split = Split(secret, 2, 4);
  ASSERT_TRUE(split.ok());
  const std::vector<Share>& shares = *split;
  auto code = [](std::vector<Share> input, int threshold, size_t length) {
    return Combine(input, threshold, length).status().code();
  };
  EXPECT_EQ(code({shares[0]}, 2, 20), StatusCode::kInvalidArgument);             // too few
  EXPECT_EQ(code({shares[0], shares[0]}, 2, 20), StatusCode::kInvalidArgument);  // duplicate x
  EXPECT_EQ(code({shares[0], shares[1], shares[1]}, 2, 20), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({shares[0], shares[1]}, 0, 20), StatusCode::kInvalidArgument);  // threshold
  EXPECT_EQ(code({shares[0], shares[1]}, 2, 0), StatusCode::kInvalidArgument);   // length
  EXPECT_EQ(code({shares[0], shares[1]}, 2, 65), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({shares[0], shares[1]}, 2, 40), StatusCode::kInvalidArgument);  // 3 chunks needed
  Share out_of_range = shares[1];
  out_of_range.y[0] = kFieldPrime;
  EXPECT_EQ(code({shares[0], out_of_range}, 2, 20), StatusCode::kInvalidArgument);
  Share short_share = shares[1];
  short_share.y.pop_back();
  EXPECT_EQ(code({shares[0], short_share}, 2, 20), StatusCode::kInvalidArgument);
  Share at_zero = shares[1];
  at_zero.x = 0;
  EXPECT_EQ(code({shares[0], at_zero}, 2, 20), StatusCode::kInvalidArgument);
  Share too_far = shares[1];
  too_far.x = 65536;
  EXPECT_EQ(code({shares[0], too_far}, 2, 20), StatusCode::kInvalidArgument);
}

// ---- serialisation ----

TEST(ShamirTest, SerialisedSharesRoundTrip) {
  std::mt19937 rng(19);
  for (size_t length : kLengths) {
    const std::vector<uint8_t> secret = RandomSecret(length, rng);
    StatusOr<std::vector<Share>> shares = Split(secret, 3, 5);
    ASSERT_TRUE(shares.ok());
    std::vector<Share> parsed;
    for (const Share& share : *shares) {
      const SecretBytes bytes = SerializeShare(share);
      EXPECT_EQ(bytes.size(), kShamirShareHeaderSize + 16 * share.y.size());
      StatusOr<Share> back = ParseShare(bytes.span());
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(back->x, share.x);
      EXPECT_TRUE(back->y == share.y);
      parsed.push_back(std::move(back).value());
    }
    ExpectRebuilds({parsed[4], parsed[0], parsed[2]}, 3, secret);
  }
}

TEST(ShamirTest, SerialisedLayoutIsTheDocumentedOne) {
  Share share;
  share.x = 0x0102;
  share.y = {(FieldElement{0x1122334455667788} << 64) | 0x99aabbccddeeff00};
  const SecretBytes bytes = SerializeShare(share);
  const std::vector<uint8_t> expected = {1,    0x02, 0x01, 0x00, 0x00, 1,    0x00, 0xff,
                                         0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77,
                                         0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  EXPECT_EQ(std::vector<uint8_t>(bytes.span().begin(), bytes.span().end()), expected);
}

TEST(ShamirTest, ParseRefusesTruncatedOrMalformedBytes) {
  StatusOr<std::vector<Share>> shares = Split(std::vector<uint8_t>(32, 3), 2, 2);
  ASSERT_TRUE(shares.ok());
  const SecretBytes good = SerializeShare((*shares)[0]);
  const std::span<const uint8_t> bytes = good.span();
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_EQ(ParseShare(bytes.first(length)).status().code(), StatusCode::kDataLoss) << length;
  }
  std::vector<uint8_t> longer(bytes.begin(), bytes.end());
  longer.push_back(0);
  EXPECT_EQ(ParseShare(longer).status().code(), StatusCode::kDataLoss);

  auto with_byte = [&](size_t offset, uint8_t value) {
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    copy[offset] = value;
    return ParseShare(copy).status().code();
  };
  EXPECT_EQ(with_byte(0, 2), StatusCode::kDataLoss);          // unknown version
  EXPECT_EQ(with_byte(5, 0), StatusCode::kDataLoss);          // no chunks
  EXPECT_EQ(with_byte(5, 255), StatusCode::kDataLoss);        // more chunks than any secret has
  EXPECT_EQ(with_byte(1, 0), StatusCode::kDataLoss);          // x = 0 (the secret itself)
  EXPECT_EQ(with_byte(3, 1), StatusCode::kDataLoss);          // x = 65537
  EXPECT_EQ(with_byte(6 + 15, 0x80), StatusCode::kDataLoss);  // y ≥ 2^127
}

}  // namespace
}  // namespace cartable::aggregation::secagg
