#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "aggregation/secagg/hkdf.h"
#include "hex.h"

namespace cartable::aggregation::secagg {
namespace {

using testing::FromHex;

// first, first + 1, ..., `count` bytes: how RFC 5869 A.2 writes its inputs.
std::vector<uint8_t> Ascending(uint8_t first, size_t count) {
  std::vector<uint8_t> bytes(count);
  std::iota(bytes.begin(), bytes.end(), first);
  return bytes;
}

void ExpectOkm(const std::vector<uint8_t>& ikm, const std::vector<uint8_t>& salt,
               const std::vector<uint8_t>& info, std::string_view okm) {
  const std::vector<uint8_t> expected = FromHex(okm);
  StatusOr<SecretBytes> output = HkdfSha256(ikm, salt, info, expected.size());
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_EQ(std::vector<uint8_t>(output->span().begin(), output->span().end()), expected);
}

TEST(HkdfTest, Rfc5869A1Basic) {
  ExpectOkm(std::vector<uint8_t>(22, 0x0b), Ascending(0x00, 13), Ascending(0xf0, 10),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfTest, Rfc5869A2LongerInputsAndOutput) {
  ExpectOkm(
      Ascending(0x00, 80), Ascending(0x60, 80), Ascending(0xb0, 80),
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
      "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(HkdfTest, Rfc5869A3EmptySaltAndInfo) {
  ExpectOkm(std::vector<uint8_t>(22, 0x0b), {}, {},
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, DifferentInfoGivesIndependentKeys) {
  const std::vector<uint8_t> ikm(32, 0x42);
  const std::vector<uint8_t> mask_info = {'m', 'a', 's', 'k'};
  const std::vector<uint8_t> share_info = {'s', 'h', 'a', 'r', 'e'};
  StatusOr<SecretBytes> a = HkdfSha256(ikm, {}, mask_info, 32);
  StatusOr<SecretBytes> b = HkdfSha256(ikm, {}, share_info, 32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(ConstantTimeEquals(a->span(), b->span()));
}

TEST(HkdfTest, AcceptsTheMaximumLengthAndRefusesBeyond) {
  const std::vector<uint8_t> ikm(32, 1);
  StatusOr<SecretBytes> longest = HkdfSha256(ikm, {}, {}, kHkdfSha256MaxLength);
  ASSERT_TRUE(longest.ok()) << longest.status();
  EXPECT_EQ(longest->size(), 8160u);
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, kHkdfSha256MaxLength + 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256({}, {}, {}, 32).status().code(), StatusCode::kInvalidArgument);
}

TEST(HkdfTest, AcceptsInfoUpToTheCapAndRefusesLonger) {
  const std::vector<uint8_t> ikm(32, 1);
  EXPECT_TRUE(HkdfSha256(ikm, {}, std::vector<uint8_t>(kHkdfMaxInfoLength, 'i'), 32).ok());
  EXPECT_EQ(
      HkdfSha256(ikm, {}, std::vector<uint8_t>(kHkdfMaxInfoLength + 1, 'i'), 32).status().code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cartable::aggregation::secagg
