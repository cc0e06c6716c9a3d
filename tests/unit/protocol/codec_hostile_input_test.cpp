// Decode treats frames as hostile: every malformed frame below must be refused with a Status, never
// crash, throw, or allocate memory out of proportion to the bytes received.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages.h"

// Records the largest single allocation while tracking is on, to prove forged counts allocate
// nothing big. The replacement pair is malloc/free on both sides; GCC cannot see that once it
// inlines them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<bool> g_tracking{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

void* operator new(size_t size) {
  if (g_tracking.load(std::memory_order_relaxed)) {
    size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (size > seen && !g_largest_allocation.compare_exchange_weak(seen, size)) {
    }
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

using namespace cartable::protocol;  // NOLINT: test code
using ::testing::HasSubstr;

namespace {

void PutLe(std::string& frame, size_t offset, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) frame[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// Rewrites the header's payload length to match the frame.
void FixLength(std::string& frame) { PutLe(frame, 20, frame.size() - kHeaderBytes, 4); }

std::string SmallTrainResult() {
  return Encode(Envelope{42, 3, TrainResult{{0.5f, -2.0f, 10.0f, 0.25f}}});
}

std::vector<std::string> SmallFrames() {
  return {
      Encode(Envelope{0, 0, Hello{"school-1"}}),
      Encode(Envelope{42, 3, TrainRequest{{"logistic", 3}, {2, 32, 0.1f, 9}, {1.0f, 2.0f, 3.0f}}}),
      SmallTrainResult(),
      Encode(Envelope{42, 3, EvaluateRequest{{"logistic", 1}, {0.25f}}}),
      Encode(Envelope{42, 3, EvaluateResult{{{1, 2}, {3}, 0.5, 7, 9}}}),
      Encode(Envelope{42, 4, Shutdown{"done"}}),
      Encode(Envelope{42, 4, ErrorReply{3, "no data"}}),
      Encode(Envelope{42, 4, Heartbeat{}}),
  };
}

::testing::AssertionResult Refused(const std::string& frame, size_t max = kDefaultMaxPayloadBytes) {
  auto decoded = Decode(frame, max);
  if (decoded.ok())
    return ::testing::AssertionFailure() << "a frame of " << frame.size() << " bytes decoded";
  return ::testing::AssertionSuccess() << decoded.status();
}

TEST(CodecHostileInputTest, SmallFramesAreValidToBeginWith) {
  for (const std::string& frame : SmallFrames()) EXPECT_TRUE(Decode(frame).ok());
}

TEST(CodecHostileInputTest, EveryTruncationIsRefused) {
  for (const std::string& frame : SmallFrames()) {
    for (size_t length = 0; length < frame.size(); ++length) {
      EXPECT_TRUE(Refused(frame.substr(0, length))) << "prefix of " << length << " bytes";
    }
  }
}

TEST(CodecHostileInputTest, TruncatedPayloadIsRefusedEvenWithConsistentLength) {
  for (const std::string& frame : SmallFrames()) {
    for (size_t length = kHeaderBytes; length < frame.size(); ++length) {
      std::string truncated = frame.substr(0, length);
      FixLength(truncated);
      EXPECT_TRUE(Refused(truncated)) << "payload cut to " << length - kHeaderBytes << " bytes";
    }
  }
}

TEST(CodecHostileInputTest, WrongMagicIsRefused) {
  for (size_t i = 0; i < 4; ++i) {
    std::string frame = SmallTrainResult();
    frame[i] = static_cast<char>(frame[i] ^ 0x20);
    auto decoded = Decode(frame);
    ASSERT_FALSE(decoded.ok());
    EXPECT_THAT(decoded.status().message(), HasSubstr("magic"));
  }
}

TEST(CodecHostileInputTest, WrongVersionIsRefused) {
  for (int version : {0, 1, 2, 3, 4, 5, 6, 7, 9, 255}) {
    std::string frame = SmallTrainResult();
    frame[4] = static_cast<char>(version);
    auto decoded = Decode(frame);
    ASSERT_FALSE(decoded.ok()) << version;
    EXPECT_THAT(decoded.status().message(), HasSubstr("version " + std::to_string(version)));
  }
}

TEST(CodecHostileInputTest, UnknownTypeIsRefused) {
  for (int type : {0, 100, 200, 255}) {
    std::string frame = SmallTrainResult();
    frame[5] = static_cast<char>(type);
    auto decoded = Decode(frame);
    ASSERT_FALSE(decoded.ok()) << type;
    EXPECT_THAT(decoded.status().message(), HasSubstr("unknown message type"));
  }
}

TEST(CodecHostileInputTest, StageNotMatchingTypeIsRefused) {
  for (const std::string& valid : SmallFrames()) {
    for (int stage = 0; stage < 256; ++stage) {
      if (stage == static_cast<uint8_t>(valid[6])) continue;
      std::string frame = valid;
      frame[6] = static_cast<char>(stage);
      EXPECT_TRUE(Refused(frame)) << "type " << int(frame[5]) << " stage " << stage;
    }
  }
}

TEST(CodecHostileInputTest, TypeChangedWithinItsStageIsRefused) {
  // TrainResult (3) relabelled as TrainRequest (2): header is consistent, payload is not.
  std::string frame = SmallTrainResult();
  frame[5] = static_cast<char>(MessageType::kTrainRequest);
  EXPECT_TRUE(Refused(frame));
}

TEST(CodecHostileInputTest, NonZeroFlagsAreRefused) {
  for (int flags : {1, 2, 0x80, 0xff}) {
    std::string frame = SmallTrainResult();
    frame[7] = static_cast<char>(flags);
    auto decoded = Decode(frame);
    ASSERT_FALSE(decoded.ok()) << flags;
    EXPECT_THAT(decoded.status().message(), HasSubstr("flags"));
  }
}

TEST(CodecHostileInputTest, PayloadLengthMismatchIsRefused) {
  const std::string valid = SmallTrainResult();
  const uint64_t length = valid.size() - kHeaderBytes;
  for (uint64_t announced : {length - 1, length + 1, uint64_t{0}, uint64_t{0xffffffff}}) {
    std::string frame = valid;
    PutLe(frame, 20, announced, 4);
    EXPECT_TRUE(Refused(frame)) << "announced " << announced;
  }
  EXPECT_TRUE(Refused(valid + "x"));  // a byte more than announced
}

TEST(CodecHostileInputTest, PayloadAboveLimitIsRefused) {
  const std::string frame = SmallTrainResult();
  const size_t payload = frame.size() - kHeaderBytes;
  EXPECT_TRUE(Decode(frame, payload).ok());  // exactly at the limit
  auto decoded = Decode(frame, payload - 1);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), cartable::StatusCode::kOutOfRange);
  EXPECT_FALSE(DecodeHeader(frame, payload - 1).ok());
  EXPECT_TRUE(Refused(frame, 0));
}

TEST(CodecHostileInputTest, TrailingBytesAfterLastFieldAreRefused) {
  for (const std::string& valid : SmallFrames()) {
    std::string frame = valid + std::string("\0", 1);
    FixLength(frame);
    auto decoded = Decode(frame);
    ASSERT_FALSE(decoded.ok());
    EXPECT_THAT(decoded.status().message(), HasSubstr("trailing bytes"));
  }
}

// Splices `text` into a frame whose text field (empty) has its u64 count at `count_offset` of the
// payload. Built by hand so that the test does not depend on what Encode does with over-long text.
std::string WithText(const Body& body_with_empty_text, size_t count_offset,
                     const std::string& text) {
  std::string frame = Encode(Envelope{1, 1, body_with_empty_text});
  const size_t at = kHeaderBytes + count_offset;
  PutLe(frame, at, text.size(), 8);
  frame.insert(at + 8, text);
  FixLength(frame);
  return frame;
}

TEST(CodecHostileInputTest, TextLongerThanLimitIsRefused) {
  struct Case {
    Body body;
    size_t count_offset;  // after the endianness byte, and after ErrorReply's u32 code
  };
  const std::vector<Case> cases = {{Hello{}, 1},
                                   {Shutdown{}, 1},
                                   {ErrorReply{1, ""}, 5},
                                   {TrainRequest{{"", 1}, {}, {1.0f}}, 1},
                                   {EvaluateRequest{{"", 1}, {1.0f}}, 1}};
  for (const Case& c : cases) {
    const std::string type(MessageTypeName(TypeOf(c.body)));
    // The splice itself is sound: at the limit the frame decodes and carries the text.
    const std::string at_limit(kMaxTextBytes, 'a');
    auto accepted = Decode(WithText(c.body, c.count_offset, at_limit));
    ASSERT_TRUE(accepted.ok()) << type << ": " << accepted.status();
    EXPECT_EQ(Encode(*accepted), WithText(c.body, c.count_offset, at_limit)) << type;

    auto refused = Decode(WithText(c.body, c.count_offset, at_limit + "a"));
    ASSERT_FALSE(refused.ok()) << type;
    EXPECT_THAT(refused.status().message(), HasSubstr("4096")) << type;
  }
}

// Overwrites the u64 count that starts the payload (after the endianness byte) and measures
// allocations.
size_t LargestAllocationDecoding(std::string frame, uint64_t forged_count, bool* refused) {
  PutLe(frame, kHeaderBytes + 1, forged_count, 8);
  g_largest_allocation = 0;
  g_tracking = true;
  auto decoded = Decode(frame);
  g_tracking = false;
  *refused = !decoded.ok();
  return g_largest_allocation.load();
}

TEST(CodecHostileInputTest, ForgedCountsAllocateNothingBig) {
  constexpr size_t kLimit = size_t{1} << 20;  // one decoding chunk is 256-512 KiB
  const std::vector<std::string> frames = {
      SmallTrainResult(),                                           // vector<float> delta
      Encode(Envelope{1, 1, EvaluateResult{{{1}, {2}, 0, 0, 0}}}),  // vector<uint64_t>
      Encode(Envelope{1, 1, Hello{"n"}}),                           // text
      Encode(Envelope{1, 1, TrainRequest{{"m", 1}, {}, {1.0f}}}),   // text first, then a vector
  };
  for (const std::string& frame : frames) {
    for (uint64_t count : {uint64_t{1} << 60, uint64_t{1} << 32, uint64_t{1000000}, ~uint64_t{0}}) {
      bool refused = false;
      const size_t largest = LargestAllocationDecoding(frame, count, &refused);
      EXPECT_TRUE(refused) << "count " << count;
      EXPECT_LT(largest, kLimit) << "count " << count << " in a " << frame.size() << "-byte frame";
    }
  }
}

TEST(CodecHostileInputTest, AllocationTrackerSeesAnHonestLargeVector) {
  // Control for the two tests around it: the tracker does notice a real 4 MB vector.
  const std::string frame =
      Encode(Envelope{1, 1, TrainResult{std::vector<float>(1'000'000, 1.0f)}});
  g_largest_allocation = 0;
  g_tracking = true;
  auto decoded = Decode(frame);
  g_tracking = false;
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_GE(g_largest_allocation.load(), 1'000'000 * sizeof(float));
}

// The counts SecAgg+ messages added in version 2: a MaskedInput's list of members with unusable
// shares (capped at kMaxSecAggMembers before the bytes are even looked at) and the sealed shares of
// a ShareKeys, each now carrying two commitments.
TEST(CodecHostileInputTest, ForgedSecAggCountsAllocateNothingBig) {
  struct Case {
    std::string frame;
    size_t count_offset;  // in the payload
  };
  const std::vector<Case> cases = {
      // endianness, words32 (count 1, one u32), words64 (count 0), then unusable_from's count
      {Encode(Envelope{1, 1, MaskedInput{{7}, {}, {3}}}), 1 + 8 + 4 + 8},
      {Encode(Envelope{1, 1, ShareKeys{{SealedShare{1, 2, {}, {}, {9, 9}}}}}), 1},
      {Encode(Envelope{1, 1, ShareDelivery{{SealedShare{1, 2, {}, {}, {9, 9}}}}}), 1},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(Decode(c.frame).ok());
    for (uint64_t count :
         {uint64_t{1} << 60, uint64_t{1} << 32, uint64_t{65536}, uint64_t{1000000}, ~uint64_t{0}}) {
      std::string frame = c.frame;
      PutLe(frame, kHeaderBytes + c.count_offset, count, 8);
      g_largest_allocation = 0;
      g_tracking = true;
      auto decoded = Decode(frame);
      g_tracking = false;
      EXPECT_FALSE(decoded.ok()) << "type " << int(frame[5]) << ", count " << count;
      EXPECT_LT(g_largest_allocation.load(), size_t{1} << 20)
          << "type " << int(frame[5]) << ", count " << count;
    }
  }
}

TEST(CodecHostileInputTest, ForgedCountInsideASecondVectorIsRefused) {
  // EvaluateResult: endianness, count=1, one u64, then the second vector's count.
  std::string frame = Encode(Envelope{1, 1, EvaluateResult{{{5}, {6}, 0, 0, 0}}});
  PutLe(frame, kHeaderBytes + 1 + 8 + 8, uint64_t{1} << 60, 8);
  g_largest_allocation = 0;
  g_tracking = true;
  auto decoded = Decode(frame);
  g_tracking = false;
  EXPECT_FALSE(decoded.ok());
  EXPECT_LT(g_largest_allocation.load(), size_t{1} << 20);
}

TEST(CodecHostileInputTest, FlippingAnyByteNeverCrashes) {
  int still_valid = 0;
  for (const std::string& valid : SmallFrames()) {
    for (size_t i = 0; i < valid.size(); ++i) {
      for (uint8_t mask : {0x01, 0x80, 0xff}) {
        std::string frame = valid;
        frame[i] = static_cast<char>(frame[i] ^ mask);
        auto decoded = Decode(frame);
        // A frame that still decodes must be what it re-encodes to, except for the payload's
        // endianness byte, which changes how the rest is read.
        if (decoded.ok()) ++still_valid;
        if (decoded.ok() && i != kHeaderBytes) {
          EXPECT_EQ(Encode(*decoded), frame) << "byte " << i << " ^ " << int(mask);
        }
      }
    }
  }
  EXPECT_GT(still_valid, 0);  // run id and round bytes, at least, are free-form
}

TEST(CodecHostileInputTest, GarbageIsRefused) {
  EXPECT_TRUE(Refused(""));
  EXPECT_TRUE(Refused(std::string(kHeaderBytes, '\0')));
  EXPECT_TRUE(Refused(std::string(1000, '\xff')));
  std::string header_only = SmallTrainResult().substr(0, kHeaderBytes);
  FixLength(header_only);  // a zero-byte payload
  EXPECT_TRUE(Refused(header_only));
}

}  // namespace
