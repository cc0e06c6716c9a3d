#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "aggregation/secagg/signing.h"
#include "hex.h"

namespace cartable::aggregation::secagg {
namespace {

using testing::FromHex;

template <size_t N>
std::array<uint8_t, N> ArrayFromHex(std::string_view hex) {
  const std::vector<uint8_t> bytes = FromHex(hex);
  std::array<uint8_t, N> array{};
  std::copy(bytes.begin(), bytes.end(), array.begin());
  return array;
}

struct Rfc8032Vector {
  std::string_view secret_key;
  std::string_view public_key;
  std::string_view message;
  std::string_view signature;
};

// RFC 8032 §7.1, TEST 1 (empty message), TEST 2 (one byte), TEST 3 (two bytes).
constexpr Rfc8032Vector kVectors[] = {
    {.secret_key = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     .public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     .message = "",
     .signature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {.secret_key = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     .public_key = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     .message = "72",
     .signature = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {.secret_key = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     .public_key = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     .message = "af82",
     .signature = "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, Rfc8032Section7_1Tests1To3) {
  for (const Rfc8032Vector& vector : kVectors) {
    SCOPED_TRACE(vector.public_key);
    StatusOr<SigningKey> key =
        SigningKey::FromSeed(SecretBytes::CopyFrom(FromHex(vector.secret_key)));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->PublicKey(), ArrayFromHex<32>(vector.public_key));
    const std::vector<uint8_t> message = FromHex(vector.message);
    StatusOr<Ed25519Signature> signature = key->Sign(message);
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_EQ(*signature, ArrayFromHex<64>(vector.signature));
    EXPECT_TRUE(VerifySignature(key->PublicKey(), message, *signature).ok());
  }
}

TEST(Ed25519Test, RefusesASignatureWithAnyOneBitFlipped) {
  const Rfc8032Vector& vector = kVectors[2];
  const Ed25519PublicKey public_key = ArrayFromHex<32>(vector.public_key);
  const std::vector<uint8_t> message = FromHex(vector.message);
  const Ed25519Signature good = ArrayFromHex<64>(vector.signature);
  for (size_t byte = 0; byte < good.size(); byte += 7) {
    Ed25519Signature bad = good;
    bad[byte] ^= 0x01;
    const Status status = VerifySignature(public_key, message, bad);
    EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << "byte " << byte;
    EXPECT_NE(status.message().find("does not verify"), std::string::npos);
  }
}

TEST(Ed25519Test, RefusesAnAlteredMessageOrAnotherKey) {
  StatusOr<SigningKey> key = SigningKey::Generate();
  StatusOr<SigningKey> other = SigningKey::Generate();
  ASSERT_TRUE(key.ok() && other.ok());
  std::vector<uint8_t> message = {'r', 'o', 'u', 'n', 'd', ' ', '7'};
  StatusOr<Ed25519Signature> signature = key->Sign(message);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(VerifySignature(key->PublicKey(), message, *signature).ok());
  EXPECT_FALSE(VerifySignature(other->PublicKey(), message, *signature).ok());
  message.back() = '8';
  EXPECT_FALSE(VerifySignature(key->PublicKey(), message, *signature).ok());
}

// A process remembers the signatures that verified (members hosted together check the same ones):
// what it remembers vouches for that very key, message and signature, never for a neighbour of it.
TEST(Ed25519Test, ARememberedSignatureVouchesForNothingElse) {
  RememberVerifiedSignatures();
  StatusOr<SigningKey> key = SigningKey::Generate();
  StatusOr<SigningKey> other = SigningKey::Generate();
  ASSERT_TRUE(key.ok() && other.ok());
  std::vector<uint8_t> message(40000, 7);  // as long as a survivor set of 10,000 members
  StatusOr<Ed25519Signature> signature = key->Sign(message);
  ASSERT_TRUE(signature.ok());
  for (int again = 0; again < 3; ++again) {
    EXPECT_TRUE(VerifySignature(key->PublicKey(), message, *signature).ok()) << again;
  }
  for (size_t byte = 0; byte < signature->size(); byte += 5) {
    Ed25519Signature bad = *signature;
    bad[byte] ^= 0x80;
    EXPECT_EQ(VerifySignature(key->PublicKey(), message, bad).code(), StatusCode::kPermissionDenied)
        << "byte " << byte;
  }
  EXPECT_FALSE(VerifySignature(other->PublicKey(), message, *signature).ok());
  std::vector<uint8_t> altered = message;
  altered[39999] = 8;
  EXPECT_FALSE(VerifySignature(key->PublicKey(), altered, *signature).ok());
  altered.pop_back();
  EXPECT_FALSE(VerifySignature(key->PublicKey(), altered, *signature).ok());
  EXPECT_TRUE(VerifySignature(key->PublicKey(), message, *signature).ok());
  RememberVerifiedSignatures(false);  // the other tests check each signature afresh
}

TEST(Ed25519Test, RefusesSeedsOfTheWrongLength) {
  for (size_t size : {0u, 31u, 33u, 64u}) {
    EXPECT_EQ(SigningKey::FromSeed(SecretBytes::Random(size)).status().code(),
              StatusCode::kInvalidArgument)
        << size;
  }
}

}  // namespace
}  // namespace cartable::aggregation::secagg
