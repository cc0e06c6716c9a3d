// SHA-256, whole and in parts: the model hash every advert signs, and the commitments to secrets
// and shares, which are hashed in parts so that no unwiped copy of a secret is made.

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "aggregation/secagg/digest.h"
#include "hex.h"

namespace cartable::aggregation::secagg {
namespace {

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// FIPS 180-2, appendix B.1 and B.2.
TEST(DigestTest, KnownAnswers) {
  const Sha256Digest abc = Sha256(Bytes("abc"));
  EXPECT_EQ(std::vector<uint8_t>(abc.begin(), abc.end()),
            testing::FromHex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  const Sha256Digest two_blocks =
      Sha256(Bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
  EXPECT_EQ(std::vector<uint8_t>(two_blocks.begin(), two_blocks.end()),
            testing::FromHex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

TEST(DigestTest, PartsHashAsTheirConcatenation) {
  const std::string_view text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(
      Sha256OfParts({Bytes(text.substr(0, 1)), Bytes(text.substr(1, 40)), Bytes(text.substr(41))}),
      Sha256(Bytes(text)));
  EXPECT_EQ(Sha256OfParts({Bytes("ab"), {}, Bytes("c")}), Sha256(Bytes("abc")));
  EXPECT_EQ(Sha256OfParts({}), Sha256({}));
  EXPECT_NE(Sha256OfParts({Bytes("ab"), Bytes("c")}), Sha256OfParts({Bytes("a"), Bytes("bd")}));
}

}  // namespace
}  // namespace cartable::aggregation::secagg
