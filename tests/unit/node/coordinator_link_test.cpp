// When a node speaks to its coordinator and when it takes the coordinator for gone, from time
// points alone.

#include "node/coordinator_link.h"

#include <gtest/gtest.h>

namespace cartable::node {
namespace {

using Action = CoordinatorLink::Action;
using std::chrono::milliseconds;
using std::chrono::seconds;

CoordinatorLinkOptions Options() {
  CoordinatorLinkOptions options;
  options.hello_interval = seconds(3);
  options.heartbeat_interval = seconds(5);
  options.missed_heartbeats = 4;  // gone after 20 s
  options.idle_timeout = seconds(120);
  return options;
}

const TimePoint kStart{};

TEST(CoordinatorLinkTest, SaysHelloAgainUntilTheCoordinatorAnswers) {
  CoordinatorLink link(Options(), kStart);
  EXPECT_TRUE(link.waiting_for_answer());
  EXPECT_EQ(link.Next(kStart + seconds(2)), Action::kWait);
  EXPECT_EQ(link.Next(kStart + seconds(3)), Action::kSayHello);
  link.SaidHello(kStart + seconds(3));
  EXPECT_EQ(link.Next(kStart + seconds(5)), Action::kWait);
  link.Heard(kStart + seconds(5));
  EXPECT_FALSE(link.waiting_for_answer());
  EXPECT_EQ(link.Next(kStart + seconds(7)), Action::kWait);
}

TEST(CoordinatorLinkTest, SendsAHeartbeatAfterAnIntervalWithoutSending) {
  CoordinatorLink link(Options(), kStart);
  link.Heard(kStart + seconds(1));
  link.Sent(kStart + seconds(2));
  EXPECT_EQ(link.Next(kStart + seconds(6)), Action::kWait);
  EXPECT_EQ(link.Next(kStart + seconds(7)), Action::kSendHeartbeat);
}

TEST(CoordinatorLinkTest, TheCoordinatorIsGoneAfterTheMissedIntervalsAndNotBefore) {
  CoordinatorLink link(Options(), kStart);
  link.Heard(kStart);
  for (int s = 5; s < 20; s += 5) {
    EXPECT_EQ(link.Next(kStart + seconds(s)), Action::kSendHeartbeat) << s << " s";
    link.Sent(kStart + seconds(s));
  }
  EXPECT_NE(link.Next(kStart + seconds(20) - milliseconds(1)), Action::kRejoin);
  EXPECT_EQ(link.gone_after(), seconds(20));
  EXPECT_EQ(link.Next(kStart + seconds(20)), Action::kRejoin);
  EXPECT_EQ(link.silence(kStart + seconds(20)), seconds(20));
  // The driver says Hello again: the node waits for an answer as it did at the start, and does not
  // declare the same silence twice.
  link.SaidHello(kStart + seconds(20));
  EXPECT_TRUE(link.waiting_for_answer());
  EXPECT_EQ(link.Next(kStart + seconds(21)), Action::kWait);
  EXPECT_EQ(link.Next(kStart + seconds(23)), Action::kSayHello);
}

TEST(CoordinatorLinkTest, AnyMessageStartsTheCountAgain) {
  CoordinatorLink link(Options(), kStart);
  link.Heard(kStart);
  link.Heard(kStart + seconds(15));
  link.Sent(kStart + seconds(30));
  EXPECT_EQ(link.Next(kStart + seconds(34)), Action::kWait);
  EXPECT_EQ(link.Next(kStart + seconds(35)), Action::kRejoin);
}

TEST(CoordinatorLinkTest, SilenceCountsOnlyWhileTheNodeListens) {
  CoordinatorLink link(Options(), kStart);
  link.Heard(kStart);  // a TrainRequest; the node then trains for a minute
  link.Sent(kStart + seconds(60));
  link.ResumedListening(kStart + seconds(60));
  EXPECT_EQ(link.Next(kStart + seconds(61)), Action::kWait);
  EXPECT_EQ(link.Next(kStart + seconds(80)), Action::kRejoin);
}

TEST(CoordinatorLinkTest, WhatArrivedBeforeAHelloDoesNotAnswerIt) {
  CoordinatorLink link(Options(), kStart);
  link.Heard(kStart + seconds(1));
  link.SaidHello(kStart + seconds(30));
  link.Heard(kStart + seconds(1));  // the same old activity, reported again
  EXPECT_TRUE(link.waiting_for_answer());
}

TEST(CoordinatorLinkTest, GivesUpAfterTheIdleTimeoutEvenWhileRejoining) {
  CoordinatorLink link(Options(), kStart);
  link.Heard(kStart);
  EXPECT_EQ(link.Next(kStart + seconds(20)), Action::kRejoin);
  link.SaidHello(kStart + seconds(20));
  EXPECT_EQ(link.Next(kStart + seconds(119)), Action::kSayHello);
  link.SaidHello(kStart + seconds(119));
  EXPECT_EQ(link.Next(kStart + seconds(120)), Action::kGiveUp);
}

}  // namespace
}  // namespace cartable::node
