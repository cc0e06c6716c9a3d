#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "aggregation/secagg/key_agreement.h"
#include "hex.h"

namespace cartable::aggregation::secagg {
namespace {

using testing::FromHex;

X25519PublicKey PublicFromHex(std::string_view hex) {
  const std::vector<uint8_t> bytes = FromHex(hex);
  X25519PublicKey key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

X25519PrivateKey PrivateFromHex(std::string_view hex) {
  StatusOr<X25519PrivateKey> key = X25519PrivateKey::FromBytes(SecretBytes::CopyFrom(FromHex(hex)));
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(key).value();
}

void ExpectAgreement(std::string_view scalar, std::string_view u, std::string_view expected) {
  StatusOr<SecretBytes> shared = PrivateFromHex(scalar).Agree(PublicFromHex(u));
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_EQ(std::vector<uint8_t>(shared->span().begin(), shared->span().end()), FromHex(expected));
}

// RFC 7748 §5.2, the two single scalar multiplications.
TEST(X25519Test, Rfc7748Section5_2FirstVector) {
  ExpectAgreement("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

TEST(X25519Test, Rfc7748Section5_2SecondVectorMasksTheTopBitOfU) {
  ExpectAgreement("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

// RFC 7748 §6.1: both public keys, and the same secret from both sides.
TEST(X25519Test, Rfc7748Section6_1AliceAndBob) {
  const X25519PrivateKey alice =
      PrivateFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const X25519PrivateKey bob =
      PrivateFromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  EXPECT_EQ(alice.PublicKey(),
            PublicFromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  EXPECT_EQ(bob.PublicKey(),
            PublicFromHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
  const std::vector<uint8_t> expected =
      FromHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  StatusOr<SecretBytes> alice_side = alice.Agree(bob.PublicKey());
  StatusOr<SecretBytes> bob_side = bob.Agree(alice.PublicKey());
  ASSERT_TRUE(alice_side.ok()) << alice_side.status();
  ASSERT_TRUE(bob_side.ok()) << bob_side.status();
  EXPECT_TRUE(ConstantTimeEquals(alice_side->span(), expected));
  EXPECT_TRUE(ConstantTimeEquals(bob_side->span(), expected));
}

TEST(X25519Test, GeneratedKeysAgree) {
  StatusOr<X25519PrivateKey> a = X25519PrivateKey::Generate();
  StatusOr<X25519PrivateKey> b = X25519PrivateKey::Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->PublicKey(), b->PublicKey());
  StatusOr<SecretBytes> ab = a->Agree(b->PublicKey());
  StatusOr<SecretBytes> ba = b->Agree(a->PublicKey());
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_TRUE(ConstantTimeEquals(ab->span(), ba->span()));
}

TEST(X25519Test, ExportedBytesRebuildTheSameKey) {
  StatusOr<X25519PrivateKey> key = X25519PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  StatusOr<X25519PrivateKey> rebuilt = X25519PrivateKey::FromBytes(key->ExportPrivateBytes());
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->PublicKey(), key->PublicKey());
}

// u = 0 and u = 1 are low-order points: any private key gives the all-zero secret (RFC 7748 §6.1).
TEST(X25519Test, RefusesLowOrderPeerKeysThatGiveAnAllZeroSecret) {
  StatusOr<X25519PrivateKey> key = X25519PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  X25519PublicKey zero{};
  StatusOr<SecretBytes> shared = key->Agree(zero);
  EXPECT_FALSE(shared.ok());
  EXPECT_EQ(shared.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(shared.status().message().find("low-order"), std::string::npos);

  X25519PublicKey one{};
  one[0] = 1;
  EXPECT_FALSE(key->Agree(one).ok());
}

TEST(X25519Test, RefusesPrivateKeysOfTheWrongLength) {
  for (size_t size : {0u, 31u, 33u, 64u}) {
    StatusOr<X25519PrivateKey> key = X25519PrivateKey::FromBytes(SecretBytes::Random(size));
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << size;
  }
}

}  // namespace
}  // namespace cartable::aggregation::secagg
