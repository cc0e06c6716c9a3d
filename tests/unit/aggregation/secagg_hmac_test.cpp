#include <gtest/gtest.h>

#include <string>

#include "aggregation/secagg/hmac.h"
#include "hex.h"

namespace cartable::aggregation::secagg {
namespace {

std::string Hex(const HmacSha256Tag& tag) { return testing::ToHex(tag); }

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// RFC 4231 §4.2, test case 1.
TEST(HmacTest, Rfc4231TestCase1) {
  SecretBytes key = SecretBytes::CopyFrom(std::vector<uint8_t>(20, 0x0b));
  auto tag = HmacSha256(key, Bytes("Hi There"));
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(Hex(*tag), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231 §4.3, test case 2 (a key shorter than the block).
TEST(HmacTest, Rfc4231TestCase2) {
  const std::string jefe = "Jefe";
  SecretBytes key = SecretBytes::CopyFrom(Bytes(jefe));
  auto tag = HmacSha256(key, Bytes("what do ya want for nothing?"));
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(Hex(*tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, RefusesAnEmptyKey) { EXPECT_FALSE(HmacSha256(SecretBytes(), Bytes("x")).ok()); }

}  // namespace
}  // namespace cartable::aggregation::secagg
