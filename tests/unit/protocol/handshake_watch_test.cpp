// What a client makes of its handshake events: a refusal is an error, a cut or slow handshake is
// retried with a warning now and then, and a node that gives up is told the likely causes.

#include "protocol/internal/handshake_watch.h"

#include <gtest/gtest.h>
#include <zmq.h>

#include <cerrno>

namespace cartable::protocol::internal {
namespace {

using std::chrono::seconds;

constexpr const char* kServer = "tcp://10.0.0.5:7450";

class HandshakeWatchTest : public ::testing::Test {
 protected:
  HandshakeWatch::Verdict Event(uint16_t id, uint32_t value = 0) {
    return watch_.OnEvent(id, value, kServer, clock_.Now());
  }
  ManualClock clock_;
  HandshakeWatch watch_{kServer, seconds(30)};
};

// Regression: under load a correct key was reported as "pinned coordinator public key does not
// match" and the node stopped, although the coordinator had only been slow to answer.
TEST_F(HandshakeWatchTest, ACutHandshakeIsRetriedWithAWarningNamingBothPossibilities) {
  Event(ZMQ_EVENT_CONNECTED);
  auto first = Event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE);
  EXPECT_TRUE(first.error.ok()) << first.error;
  EXPECT_NE(first.warning.find("retrying"), std::string::npos) << first.warning;
  EXPECT_NE(first.warning.find("overloaded or slow"), std::string::npos) << first.warning;
  EXPECT_NE(first.warning.find("--coordinator-key"), std::string::npos) << first.warning;
  EXPECT_NE(first.warning.find(kServer), std::string::npos) << first.warning;

  clock_.Advance(seconds(10));
  auto second = Event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ETIMEDOUT);
  EXPECT_TRUE(second.error.ok());
  EXPECT_TRUE(second.warning.empty()) << "one warning per 30 s: " << second.warning;

  clock_.Advance(seconds(25));
  auto third = Event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE);
  EXPECT_TRUE(third.error.ok());
  EXPECT_NE(third.warning.find("3 failed attempt(s)"), std::string::npos) << third.warning;
  EXPECT_EQ(watch_.failed_attempts(), 3u);
  EXPECT_FALSE(watch_.ever_succeeded());
}

TEST_F(HandshakeWatchTest, GivingUpSaysTheHandshakeNeverSucceededAndWhy) {
  EXPECT_NE(watch_.Diagnosis().find("never reached"), std::string::npos) << watch_.Diagnosis();
  Event(ZMQ_EVENT_CONNECTED);
  EXPECT_NE(watch_.Diagnosis().find("never completed"), std::string::npos) << watch_.Diagnosis();
  Event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE);
  Event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE);
  const std::string why = watch_.Diagnosis();
  EXPECT_NE(why.find("never succeeded"), std::string::npos) << why;
  EXPECT_NE(why.find("2 attempt(s)"), std::string::npos) << why;
  EXPECT_NE(why.find("--coordinator-key"), std::string::npos) << why;
  EXPECT_NE(why.find("overloaded"), std::string::npos) << why;
}

TEST_F(HandshakeWatchTest, SuccessAfterFailuresIsReportedAndClearsTheDiagnosis) {
  Event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE);
  auto success = Event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
  EXPECT_TRUE(success.error.ok());
  EXPECT_NE(success.info.find("after 1 failed attempt(s)"), std::string::npos) << success.info;
  EXPECT_TRUE(watch_.ever_succeeded());
  EXPECT_EQ(watch_.failed_attempts(), 0u);
  EXPECT_EQ(watch_.Diagnosis(), "");
  // A later failure (the coordinator restarted) warns again at once.
  EXPECT_FALSE(Event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE).warning.empty());
}

TEST_F(HandshakeWatchTest, ARefusedKeyIsAnError) {
  auto refused = Event(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
  EXPECT_EQ(refused.error.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.error.message().find("refused this node's key"), std::string::npos)
      << refused.error;
}

// ZeroMQ does not reconnect after a protocol error, so waiting would wait for nothing.
TEST_F(HandshakeWatchTest, AServerWithoutCurveOrBreakingTheProtocolIsAnError) {
  auto mismatch =
      Event(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
  EXPECT_EQ(mismatch.error.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(mismatch.error.message().find("does not speak CURVE"), std::string::npos)
      << mismatch.error;
  auto garbled = Event(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
  EXPECT_EQ(garbled.error.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(garbled.error.message().find("protocol error 0x"), std::string::npos) << garbled.error;
}

TEST_F(HandshakeWatchTest, AHostileAddressIsPrintedEscaped) {
  auto verdict = watch_.OnEvent(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EPIPE, "tcp://x\n[forged]",
                                clock_.Now());
  EXPECT_EQ(verdict.warning.find('\n'), std::string::npos) << verdict.warning;
}

}  // namespace
}  // namespace cartable::protocol::internal
