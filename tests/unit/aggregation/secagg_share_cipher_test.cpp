#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aggregation/secagg/share_cipher.h"

namespace cartable::aggregation::secagg {
namespace {

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

class ShareCipherTest : public ::testing::Test {
 protected:
  const SecretBytes key_ = SecretBytes::Random(kShareCipherKeySize);
  const std::vector<uint8_t> plaintext_ = Bytes("share of node 12 for node 31, chunk values...");
  const std::vector<uint8_t> associated_ = Bytes("run=r1|round=4|stage=share-keys|from=12|to=31");

  std::vector<uint8_t> SealOrDie() {
    StatusOr<std::vector<uint8_t>> sealed = Seal(key_, plaintext_, associated_);
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return sealed.ok() ? *sealed : std::vector<uint8_t>();
  }
};

TEST_F(ShareCipherTest, RoundTripsAndHasTheDocumentedLayout) {
  const std::vector<uint8_t> sealed = SealOrDie();
  EXPECT_EQ(sealed.size(), kShareCipherNonceSize + plaintext_.size() + kShareCipherTagSize);
  StatusOr<SecretBytes> opened = Open(key_, sealed, associated_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(ConstantTimeEquals(opened->span(), plaintext_));
}

TEST_F(ShareCipherTest, RoundTripsEmptyPlaintextAndEmptyAssociatedData) {
  StatusOr<std::vector<uint8_t>> sealed = Seal(key_, {}, {});
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), kShareCipherOverhead);
  StatusOr<SecretBytes> opened = Open(key_, *sealed, {});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->empty());
  EXPECT_EQ(Open(key_, *sealed, associated_).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ShareCipherTest, TwoSealsOfTheSamePlaintextDiffer) {
  const std::vector<uint8_t> first = SealOrDie();
  const std::vector<uint8_t> second = SealOrDie();
  EXPECT_NE(first, second);
  EXPECT_NE(std::vector<uint8_t>(first.begin(), first.begin() + kShareCipherNonceSize),
            std::vector<uint8_t>(second.begin(), second.begin() + kShareCipherNonceSize));
}

TEST_F(ShareCipherTest, RefusesAFlippedBitInEveryRegion) {
  const std::vector<uint8_t> sealed = SealOrDie();
  const size_t ciphertext_start = kShareCipherNonceSize;
  const size_t tag_start = sealed.size() - kShareCipherTagSize;
  // First and last byte of the nonce, the ciphertext and the tag.
  for (size_t position : {size_t{0}, ciphertext_start - 1, ciphertext_start, tag_start - 1,
                          tag_start, sealed.size() - 1}) {
    std::vector<uint8_t> tampered = sealed;
    tampered[position] ^= 0x80;
    EXPECT_EQ(Open(key_, tampered, associated_).status().code(), StatusCode::kPermissionDenied)
        << "byte " << position;
  }
}

TEST_F(ShareCipherTest, RefusesOtherAssociatedData) {
  const std::vector<uint8_t> sealed = SealOrDie();
  // A share replayed into another round, or re-addressed to another node.
  for (const std::string& other :
       {std::string("run=r1|round=5|stage=share-keys|from=12|to=31"),
        std::string("run=r1|round=4|stage=share-keys|from=12|to=32"), std::string("")}) {
    StatusOr<SecretBytes> opened = Open(key_, sealed, Bytes(other));
    EXPECT_EQ(opened.status().code(), StatusCode::kPermissionDenied) << other;
  }
}

TEST_F(ShareCipherTest, RefusesTheWrongKey) {
  const std::vector<uint8_t> sealed = SealOrDie();
  StatusOr<SecretBytes> opened = Open(SecretBytes::Random(32), sealed, associated_);
  EXPECT_EQ(opened.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(opened.status().message().find("associated data"), std::string::npos);
}

TEST_F(ShareCipherTest, RefusesTruncatedInput) {
  const std::vector<uint8_t> sealed = SealOrDie();
  for (size_t length : {size_t{0}, size_t{12}, kShareCipherOverhead - 1}) {
    const std::vector<uint8_t> truncated(sealed.begin(), sealed.begin() + length);
    EXPECT_EQ(Open(key_, truncated, associated_).status().code(), StatusCode::kDataLoss) << length;
  }
  // Long enough to parse, but the tag no longer matches.
  const std::vector<uint8_t> shortened(sealed.begin(), sealed.end() - 1);
  EXPECT_EQ(Open(key_, shortened, associated_).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ShareCipherTest, RefusesKeysOfTheWrongLength) {
  EXPECT_EQ(Seal(SecretBytes::Random(16), plaintext_, associated_).status().code(),
            StatusCode::kInvalidArgument);
  const std::vector<uint8_t> sealed = SealOrDie();
  EXPECT_EQ(Open(SecretBytes::Random(31), sealed, associated_).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cartable::aggregation::secagg
