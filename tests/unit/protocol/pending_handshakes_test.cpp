// Which connections still in their handshake a server cuts: the oldest beyond the cap, some more
// when it runs out of file descriptors, never one that completed its handshake or is gone.

#include "protocol/internal/pending_handshakes.h"

#include <gtest/gtest.h>

#include <set>

namespace cartable::protocol::internal {
namespace {

using std::chrono::seconds;

PendingHandshakes::Connection Conn(int fd) {
  return {fd, "tcp://192.0.2.1:" + std::to_string(40000 + fd)};
}

// The kernel's view, as the test sets it: every connection handshaking unless listed.
struct Kernel {
  std::set<int> established;
  std::set<int> gone;
  ConnectionState operator()(const PendingHandshakes::Connection& c) const {
    if (gone.count(c.fd)) return ConnectionState::kGone;
    return established.count(c.fd) ? ConnectionState::kEstablished : ConnectionState::kHandshaking;
  }
};

std::vector<int> Fds(const std::vector<PendingHandshakes::Connection>& victims) {
  std::vector<int> fds;
  for (const auto& v : victims) fds.push_back(v.fd);
  return fds;
}

TEST(PendingHandshakesTest, TheOldestBeyondTheCapAreCut) {
  ManualClock clock;
  Kernel kernel;
  PendingHandshakes pending(3, seconds(60));
  for (int fd = 100; fd < 105; ++fd) pending.Accepted(Conn(fd), clock.Now());
  auto victims = pending.TakeVictims(clock.Now(), kernel);
  EXPECT_EQ(Fds(victims), (std::vector<int>{100, 101}));
  EXPECT_EQ(victims[0].peer, Conn(100).peer);
  EXPECT_EQ(pending.size(), 3u);
  EXPECT_TRUE(pending.TakeVictims(clock.Now(), kernel).empty());
}

TEST(PendingHandshakesTest, AConnectionThatCompletedItsHandshakeIsNeverCut) {
  ManualClock clock;
  Kernel kernel;
  PendingHandshakes pending(2, seconds(60));
  pending.Accepted(Conn(10), clock.Now());  // an honest node, the oldest
  kernel.established.insert(10);
  for (int fd = 11; fd <= 14; ++fd) pending.Accepted(Conn(fd), clock.Now());
  EXPECT_EQ(Fds(pending.TakeVictims(clock.Now(), kernel)), (std::vector<int>{11, 12}));
  EXPECT_EQ(pending.size(), 2u);
}

TEST(PendingHandshakesTest, EndedAndVanishedConnectionsAreForgottenNotCut) {
  ManualClock clock;
  Kernel kernel;
  PendingHandshakes pending(1, seconds(60));
  for (int fd = 1; fd <= 3; ++fd) pending.Accepted(Conn(fd), clock.Now());
  pending.Ended(1);
  pending.Ended(99);      // unknown: ignored
  kernel.gone.insert(2);  // its descriptor now belongs to something else
  EXPECT_TRUE(pending.TakeVictims(clock.Now(), kernel).empty());
  EXPECT_EQ(pending.size(), 1u);
}

TEST(PendingHandshakesTest, RunningOutOfDescriptorsCutsAQuarterAtLeastOne) {
  ManualClock clock;
  Kernel kernel;
  PendingHandshakes pending(100, seconds(60));
  for (int fd = 0; fd < 8; ++fd) pending.Accepted(Conn(fd), clock.Now());
  pending.OutOfDescriptors();
  EXPECT_EQ(Fds(pending.TakeVictims(clock.Now(), kernel)), (std::vector<int>{0, 1}));
  EXPECT_TRUE(pending.TakeVictims(clock.Now(), kernel).empty());  // once per report
  PendingHandshakes few(100, seconds(60));
  few.Accepted(Conn(7), clock.Now());
  few.OutOfDescriptors();
  EXPECT_EQ(Fds(few.TakeVictims(clock.Now(), kernel)), (std::vector<int>{7}));
  few.OutOfDescriptors();
  EXPECT_TRUE(few.TakeVictims(clock.Now(), kernel).empty());  // nothing left to cut
}

// A descriptor accepted again was closed in between, and an entry whose end the monitor never
// reported is forgotten rather than acted on.
TEST(PendingHandshakesTest, ReusedDescriptorsAndLostEventsAreForgotten) {
  ManualClock clock;
  Kernel kernel;
  PendingHandshakes pending(1, seconds(20));
  pending.Accepted({5, "tcp://192.0.2.1:1"}, clock.Now());
  pending.Accepted({5, "tcp://192.0.2.1:2"}, clock.Now());
  EXPECT_EQ(pending.size(), 1u);
  clock.Advance(seconds(21));
  pending.Accepted(Conn(6), clock.Now());
  EXPECT_TRUE(
      pending.TakeVictims(clock.Now(), kernel).empty());  // the stale one is forgotten, not cut
  EXPECT_EQ(pending.size(), 1u);
}

}  // namespace
}  // namespace cartable::protocol::internal
