// The SecAgg+ messages on the wire: round trips of every field, the byte layout docs/wire-format.md
// gives, and hostile frames (forged counts, a list of members beyond any cohort, another protocol
// version) refused with a Status before anything large is allocated.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages.h"

using namespace cartable::protocol;  // NOLINT: test code
using ::testing::HasSubstr;

namespace {

template <size_t N>
std::array<uint8_t, N> Filled(uint8_t value) {
  std::array<uint8_t, N> out{};
  out.fill(value);
  return out;
}

KeyAdvert SomeAdvert(uint32_t member) {
  return {member, Filled<32>(0x11), Filled<32>(0x22), Filled<32>(0x33), Filled<64>(0x44)};
}

SealedShare SomeShare(uint32_t from, uint32_t to) {
  return {from, to, Filled<32>(0x55), Filled<32>(0x66), {1, 2, 3, 4, 5}};
}

void ExpectSameAdvert(const KeyAdvert& a, const KeyAdvert& b) {
  EXPECT_EQ(a.member, b.member);
  EXPECT_EQ(a.mask_key, b.mask_key);
  EXPECT_EQ(a.share_key, b.share_key);
  EXPECT_EQ(a.seed_commitment, b.seed_commitment);
  EXPECT_EQ(a.signature, b.signature);
}

void ExpectSameShares(const std::vector<SealedShare>& a, const std::vector<SealedShare>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].from, b[i].from);
    EXPECT_EQ(a[i].to, b[i].to);
    EXPECT_EQ(a[i].self_seed_commitment, b[i].self_seed_commitment);
    EXPECT_EQ(a[i].mask_key_commitment, b[i].mask_key_commitment);
    EXPECT_EQ(a[i].ciphertext, b[i].ciphertext);
  }
}

// Encodes, decodes, checks the frame re-encodes to the same bytes, and returns the decoded body.
template <typename T>
T RoundTrip(const T& body) {
  const std::string frame = Encode(Envelope{9, 2, body});
  auto decoded = Decode(frame);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  if (!decoded.ok()) return T{};
  EXPECT_EQ(Encode(*decoded), frame);
  const T* back = std::get_if<T>(&decoded->body);
  EXPECT_NE(back, nullptr);
  return back ? *back : T{};
}

void PutLe(std::string& frame, size_t offset, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) frame[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t Le(const std::string& frame, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= uint64_t{static_cast<uint8_t>(frame[offset + i])} << (8 * i);
  return value;
}

TEST(SecAggMessagesTest, KeyAdvertAndKeyListCarryTheSeedCommitment) {
  ExpectSameAdvert(RoundTrip(SomeAdvert(7)), SomeAdvert(7));
  const KeyList list = RoundTrip(KeyList{{SomeAdvert(0), SomeAdvert(3)}});
  ASSERT_EQ(list.adverts.size(), 2u);
  ExpectSameAdvert(list.adverts[1], SomeAdvert(3));
}

TEST(SecAggMessagesTest, SealedSharesCarryBothCommitments) {
  const std::vector<SealedShare> shares = {SomeShare(1, 2), SomeShare(1, 5)};
  ExpectSameShares(RoundTrip(ShareKeys{shares}).shares, shares);
  ExpectSameShares(RoundTrip(ShareDelivery{shares}).shares, shares);
}

TEST(SecAggMessagesTest, MaskedInputCarriesTheUnusableReport) {
  const MaskedInput narrow = RoundTrip(MaskedInput{{1, 2, 3}, {}, {4, 9}});
  EXPECT_EQ(narrow.words32, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(narrow.unusable_from, (std::vector<uint32_t>{4, 9}));
  const MaskedInput wide = RoundTrip(MaskedInput{{}, {uint64_t{1} << 40}, {}});
  EXPECT_EQ(wide.words64, (std::vector<uint64_t>{uint64_t{1} << 40}));
  EXPECT_TRUE(wide.unusable_from.empty());
  std::vector<uint32_t> everyone(kMaxSecAggMembers);
  for (size_t i = 0; i < everyone.size(); ++i) everyone[i] = static_cast<uint32_t>(i);
  EXPECT_EQ(RoundTrip(MaskedInput{{0}, {}, everyone}).unusable_from.size(), kMaxSecAggMembers);
}

// docs/wire-format.md, "SecAgg+ messages byte by byte".
TEST(SecAggMessagesTest, KeyAdvertFrameIsLaidOutAsTheDocSays) {
  const std::string frame = Encode(Envelope{5, 3, SomeAdvert(0x01020304)});
  ASSERT_EQ(frame.size(), kHeaderBytes + 165);
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), 8);  // version
  const size_t p = kHeaderBytes;
  EXPECT_EQ(frame[p], 1);
  EXPECT_EQ(Le(frame, p + 1, 4), 0x01020304u);
  EXPECT_EQ(frame.substr(p + 5, 32), std::string(32, '\x11'));
  EXPECT_EQ(frame.substr(p + 37, 32), std::string(32, '\x22'));
  EXPECT_EQ(frame.substr(p + 69, 32), std::string(32, '\x33'));  // seed commitment
  EXPECT_EQ(frame.substr(p + 101, 64), std::string(64, '\x44'));
}

TEST(SecAggMessagesTest, SealedShareAndMaskedInputFramesAreLaidOutAsTheDocSays) {
  const std::string shares = Encode(Envelope{5, 3, ShareKeys{{SomeShare(6, 7)}}});
  const size_t p = kHeaderBytes;
  ASSERT_EQ(shares.size(), p + 1 + 8 + 4 + 4 + 32 + 32 + 8 + 5);
  EXPECT_EQ(Le(shares, p + 1, 8), 1u);                            // one share
  EXPECT_EQ(Le(shares, p + 9, 4), 6u);                            // from
  EXPECT_EQ(Le(shares, p + 13, 4), 7u);                           // to
  EXPECT_EQ(shares.substr(p + 17, 32), std::string(32, '\x55'));  // self-seed share commitment
  EXPECT_EQ(shares.substr(p + 49, 32), std::string(32, '\x66'));  // mask-key share commitment
  EXPECT_EQ(Le(shares, p + 81, 8), 5u);                           // ciphertext length
  EXPECT_EQ(shares.substr(p + 89), std::string("\x01\x02\x03\x04\x05", 5));

  const std::string masked = Encode(Envelope{5, 3, MaskedInput{{0xaabbccdd}, {}, {2, 4}}});
  ASSERT_EQ(masked.size(), p + 1 + 8 + 4 + 8 + 8 + 8);
  EXPECT_EQ(Le(masked, p + 1, 8), 1u);
  EXPECT_EQ(Le(masked, p + 9, 4), 0xaabbccddu);
  EXPECT_EQ(Le(masked, p + 13, 8), 0u);  // no words64
  EXPECT_EQ(Le(masked, p + 21, 8), 2u);  // unusable_from: two members
  EXPECT_EQ(Le(masked, p + 29, 4), 2u);
  EXPECT_EQ(Le(masked, p + 33, 4), 4u);
}

TEST(SecAggMessagesTest, EveryTruncationOfASecAggFrameIsRefused) {
  const std::vector<std::string> frames = {
      Encode(Envelope{5, 3, SomeAdvert(1)}),
      Encode(Envelope{5, 3, ShareDelivery{{SomeShare(1, 2)}}}),
      Encode(Envelope{5, 3, MaskedInput{{1}, {}, {3}}}),
  };
  for (const std::string& frame : frames) {
    for (size_t length = kHeaderBytes; length < frame.size(); ++length) {
      std::string truncated = frame.substr(0, length);
      PutLe(truncated, 20, truncated.size() - kHeaderBytes, 4);
      EXPECT_FALSE(Decode(truncated).ok()) << "type " << int(frame[5]) << " cut to " << length;
    }
  }
}

// The count of unusable_from is checked against its cap before the bytes are looked at: a frame
// carrying 65,536 members' worth of bytes is refused as such, not read.
TEST(SecAggMessagesTest, AnUnusableListBeyondAnyCohortIsRefused) {
  std::vector<uint32_t> too_many(kMaxSecAggMembers + 1, 1);
  const std::string frame = Encode(Envelope{5, 3, MaskedInput{{0}, {}, too_many}});
  auto decoded = Decode(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("65536 members"));
  EXPECT_THAT(decoded.status().message(), HasSubstr("65535"));

  // A forged count with few bytes behind it: refused by the cap, and by the bytes present below it.
  std::string forged = Encode(Envelope{5, 3, MaskedInput{{0}, {}, {1}}});
  const size_t count_at = kHeaderBytes + 1 + 8 + 4 + 8;
  for (uint64_t count :
       {~uint64_t{0}, uint64_t{1} << 40, uint64_t{kMaxSecAggMembers + 1}, uint64_t{1000}}) {
    PutLe(forged, count_at, count, 8);
    auto refused = Decode(forged);
    EXPECT_FALSE(refused.ok()) << count;
  }
}

TEST(SecAggMessagesTest, AForgedShareCountIsRefused) {
  std::string frame = Encode(Envelope{5, 3, ShareKeys{{SomeShare(1, 2)}}});
  for (uint64_t count : {~uint64_t{0}, uint64_t{1} << 40, uint64_t{2}}) {
    PutLe(frame, kHeaderBytes + 1, count, 8);
    auto decoded = Decode(frame);
    ASSERT_FALSE(decoded.ok()) << count;
    EXPECT_EQ(decoded.status().code(), cartable::StatusCode::kDataLoss) << decoded.status();
  }
}

// A node and a coordinator of different protocol versions refuse each other's frames, saying which
// versions they are.
TEST(SecAggMessagesTest, AFrameOfTheFormerVersionIsRefusedNamingBothVersions) {
  std::string frame = Encode(Envelope{5, 3, SomeAdvert(1)});
  frame[4] = 3;
  auto decoded = Decode(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), cartable::StatusCode::kFailedPrecondition);
  EXPECT_THAT(decoded.status().message(), HasSubstr("unsupported protocol version 3"));
  EXPECT_THAT(decoded.status().message(), HasSubstr("this build speaks 8"));
}

// Peers never answer an Error frame they cannot read, so they must know one whatever its version.
TEST(SecAggMessagesTest, AnErrorFrameIsKnownWhateverItsVersion) {
  for (uint8_t version : {1, 2, 3, 4, 5, 255}) {
    std::string error = Encode(Envelope{5, 3, ErrorReply{9, "frame refused"}});
    error[4] = static_cast<char>(version);
    EXPECT_TRUE(IsErrorFrame(error)) << int(version);
    std::string hello = Encode(Envelope{0, 0, Hello{"school"}});
    hello[4] = static_cast<char>(version);
    EXPECT_FALSE(IsErrorFrame(hello)) << int(version);
  }
  EXPECT_FALSE(IsErrorFrame(""));
  EXPECT_FALSE(IsErrorFrame("CRTB\x02"));
  EXPECT_FALSE(IsErrorFrame(std::string("XRTB\x02\x07", 6)));
}

// A node pool answers heartbeats at once, by their header alone; anything else waits its turn.
TEST(SecAggMessagesTest, AHeartbeatFrameIsKnownByItsHeader) {
  const std::string heartbeat = Encode(Envelope{0, 0, Heartbeat{}});
  EXPECT_TRUE(IsHeartbeatFrame(heartbeat));
  EXPECT_FALSE(IsHeartbeatFrame(Encode(Envelope{0, 0, Hello{"school"}})));
  EXPECT_FALSE(IsHeartbeatFrame(Encode(Envelope{5, 3, ErrorReply{9, "frame refused"}})));
  std::string old = heartbeat;
  old[4] = static_cast<char>(3);  // another version is not this version's heartbeat
  EXPECT_FALSE(IsHeartbeatFrame(old));
  EXPECT_FALSE(IsHeartbeatFrame(heartbeat.substr(0, 5)));
  EXPECT_FALSE(IsHeartbeatFrame(""));
}

}  // namespace
