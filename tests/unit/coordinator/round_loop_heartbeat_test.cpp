// The coordinator's side of liveness: every joined node it has sent nothing to for a heartbeat
// interval gets a Heartbeat, so a node can tell a quiet coordinator from a gone one.

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "coordinator/round_loop.h"
#include "loop_messages.h"

namespace cartable::coordinator {
namespace {

using protocol::Envelope;
using std::chrono::seconds;

RunConfig QuietRun() {
  RunConfig config;
  config.run_id = 42;
  config.rounds = 1;
  config.expected_nodes = 3;
  config.min_nodes = 2;
  config.model.num_skills = 2;
  config.join_timeout = seconds(600);
  config.round_timeout = seconds(600);
  config.node_timeout = seconds(600);
  config.heartbeat_interval = seconds(5);
  config.secagg.enabled = false;
  return config;
}

// The peers that got a Heartbeat.
std::set<std::string> HeartbeatsTo(const std::vector<Outgoing>& out) {
  std::set<std::string> peers;
  for (const Outgoing& o : out) {
    if (std::holds_alternative<protocol::Heartbeat>(o.envelope->body)) peers.insert(o.peer);
  }
  return peers;
}

class RoundLoopHeartbeatTest : public ::testing::Test {
 protected:
  void Create(const RunConfig& config) { loop_ = RoundLoop::Create(config, clock_).value(); }
  std::vector<Outgoing> Join(const std::string& peer) {
    return loop_->OnMessage(peer, HelloFrom("school-" + peer));
  }
  ManualClock clock_;
  std::unique_ptr<RoundLoop> loop_;
};

TEST_F(RoundLoopHeartbeatTest, JoinedNodesGetAHeartbeatEveryIntervalAndNoOneElseDoes) {
  Create(QuietRun());
  loop_->OnMessage("stranger", Envelope{0, 0, protocol::Heartbeat{}});  // never joined
  Join("a");
  Join("b");
  // The first tick tells the new nodes they are registered.
  EXPECT_EQ(HeartbeatsTo(loop_->OnTick()), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(loop_->OnTick().empty());
  clock_.Advance(seconds(4));
  EXPECT_TRUE(loop_->OnTick().empty()) << "one interval has not passed";
  clock_.Advance(seconds(1));
  EXPECT_EQ(HeartbeatsTo(loop_->OnTick()), (std::set<std::string>{"a", "b"}));
  clock_.Advance(seconds(5));
  std::vector<Outgoing> again = loop_->OnTick();
  EXPECT_EQ(HeartbeatsTo(again), (std::set<std::string>{"a", "b"}));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].envelope.get(), again[1].envelope.get()) << "one envelope, encoded once";
  EXPECT_EQ(again[0].envelope->run_id, 42u);
}

TEST_F(RoundLoopHeartbeatTest, ANodeSentSomethingDuringTheIntervalGetsNoHeartbeat) {
  Create(QuietRun());
  Join("a");
  Join("b");
  loop_->OnTick();  // t = 0: both were sent a heartbeat
  clock_.Advance(seconds(3));
  // a's own heartbeat is answered at t = 3: that counts as sending to a.
  EXPECT_EQ(HeartbeatsTo(loop_->OnMessage("a", Envelope{0, 0, protocol::Heartbeat{}})),
            (std::set<std::string>{"a"}));
  clock_.Advance(seconds(2));  // t = 5
  EXPECT_EQ(HeartbeatsTo(loop_->OnTick()), (std::set<std::string>{"b"}));
  clock_.Advance(seconds(3));  // t = 8: a's interval is over
  EXPECT_EQ(HeartbeatsTo(loop_->OnTick()), (std::set<std::string>{"a"}));
}

TEST_F(RoundLoopHeartbeatTest, BusyNodesAreHeartbeatenThroughALongStageButNotTwice) {
  Create(QuietRun());
  Join("a");
  Join("b");
  std::vector<Outgoing> start = Join("c");  // the round starts: TrainRequest to all three
  EXPECT_TRUE(HeartbeatsTo(start).empty());
  EXPECT_TRUE(HeartbeatsTo(loop_->OnTick()).empty()) << "the TrainRequest was just sent";
  clock_.Advance(seconds(5));
  EXPECT_EQ(HeartbeatsTo(loop_->OnTick()), (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(RoundLoopHeartbeatTest, AFinishedRunSendsNoHeartbeat) {
  Create(QuietRun());
  Join("a");
  Join("b");
  EXPECT_EQ(loop_->Stop("test over").size(), 2u);
  clock_.Advance(seconds(60));
  EXPECT_TRUE(loop_->OnTick().empty());
}

TEST_F(RoundLoopHeartbeatTest, TheIntervalMustBePositive) {
  RunConfig config = QuietRun();
  config.heartbeat_interval = Duration::zero();
  EXPECT_EQ(RoundLoop::Create(config, clock_).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cartable::coordinator
