// Regression test for protocol/codec.cpp: Encode once wrote text longer than Decode accepts, so a
// node's long error message reached the coordinator as a malformed frame and the round waited for
// its deadline.

#include <gtest/gtest.h>

#include <string>

#include "protocol/codec.h"
#include "protocol/messages.h"

using namespace cartable::protocol;  // NOLINT: test code

namespace {

// Bug: Encode writes text fields of any length, but Decode refuses text longer than kMaxTextBytes.
// So a frame this build produces can be refused by this same build. In practice
// node/node_session.cpp sends `reply.status().message()` in an ErrorReply unbounded; a long error
// (chained context, paths, a library's exception text) makes the coordinator drop the Error frame
// as malformed, and it only notices the node's failure at the round timeout. Fix
// (protocol/codec.cpp, Writer's std::string branch): write at most kMaxTextBytes bytes, cut back to
// a UTF-8 boundary (and mark the cut, e.g. end with "..."), so that Decode(Encode(x)) always
// succeeds.
TEST(CodecRegressionTest, EncodedLongErrorMessageIsDecodable) {
  const std::string long_message(kMaxTextBytes + 500, 'e');
  auto decoded = Decode(Encode(Envelope{7, 2, ErrorReply{13, long_message}}));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto* error = std::get_if<ErrorReply>(&decoded->body);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, 13u);
  EXPECT_LE(error->message.size(), kMaxTextBytes);
  EXPECT_EQ(error->message.substr(0, 100), long_message.substr(0, 100));
}

}  // namespace

// Found by frame_decode_fuzzer: a payload whose byte-order marker was not 1 decoded as if it were,
// so two different byte strings meant the same message.
TEST(CodecRegressionTest, PayloadByteOrderMarkerMustBeLittleEndian) {
  std::string frame = cartable::protocol::Encode({0, 0, cartable::protocol::Heartbeat{}});
  ASSERT_EQ(frame.size(), cartable::protocol::kHeaderBytes + 1);
  EXPECT_TRUE(cartable::protocol::Decode(frame).ok());
  frame[cartable::protocol::kHeaderBytes] = 'A';
  auto decoded = cartable::protocol::Decode(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("little-endian marker"), std::string::npos);
}
