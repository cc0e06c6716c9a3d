// NodePool: many node sessions served from one process on a few threads. Each member says Hello,
// follows its coordinator to the end of the run, gives up after its own silence, and the whole pool
// stops when asked; one member's end never ends another's.

#include "node/node_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include "protocol/codec.h"
#include "protocol/inprocess_transport.h"

namespace cartable::node {
namespace {

struct Pool {
  protocol::InProcessNetwork network;
  std::unique_ptr<protocol::ServerTransport> server = network.Serve().value();
  std::vector<std::unique_ptr<protocol::ClientTransport>> clients;
  std::vector<std::unique_ptr<NodeSession>> sessions;
  std::vector<PoolMember> members;

  explicit Pool(int n) {
    for (int i = 0; i < n; ++i) {
      clients.push_back(network.Connect());
      sessions.push_back(std::make_unique<NodeSession>("school-" + std::to_string(i),
                                                       models::PupilSplit{}, NodeSecurity{}));
      members.push_back({sessions.back().get(), clients.back().get()});
    }
  }
};

NodePoolOptions Quick(size_t workers) {
  NodePoolOptions options;
  options.workers = workers;
  options.agent.hello_interval = std::chrono::milliseconds(50);
  options.agent.heartbeat_interval = std::chrono::milliseconds(100);
  options.agent.idle_timeout = std::chrono::milliseconds(600);
  options.agent.poll_interval = std::chrono::milliseconds(1);
  return options;
}

// Receives what the members send until each of `n` peers has said Hello; returns who said it.
std::map<protocol::PeerId, int> Hellos(protocol::ServerTransport& server, size_t n) {
  std::map<protocol::PeerId, int> hellos;
  while (hellos.size() < n) {
    auto delivery = server.Receive(std::chrono::seconds(5)).value();
    if (!delivery) break;
    auto envelope = protocol::Decode(delivery->frame);
    if (envelope.ok() && std::holds_alternative<protocol::Hello>(envelope->body))
      hellos[delivery->peer] += 1;
  }
  return hellos;
}

TEST(NodePoolTest, EveryMemberSaysHelloAndEndsWhenItsCoordinatorEndsTheRun) {
  Pool pool(40);
  std::vector<Status> outcomes;
  std::thread serving([&] { outcomes = RunNodePool(pool.members, Quick(3)); });
  const auto hellos = Hellos(*pool.server, 40);
  ASSERT_EQ(hellos.size(), 40u) << "every member says Hello on its own connection";
  for (const auto& [peer, count] : hellos) {
    ASSERT_TRUE(
        pool.server->Send(peer, protocol::Encode({9, 0, protocol::Shutdown{"run over"}})).ok());
  }
  serving.join();
  ASSERT_EQ(outcomes.size(), 40u);
  for (const Status& s : outcomes) EXPECT_TRUE(s.ok()) << s;
  for (const auto& session : pool.sessions) {
    EXPECT_TRUE(session->finished());
    EXPECT_EQ(session->finish_reason(), "run over");
  }
}

TEST(NodePoolTest, OneMemberEndingLeavesTheOthersServedUntilTheirOwnSilenceEndsThem) {
  Pool pool(5);
  std::vector<Status> outcomes;
  std::thread serving([&] { outcomes = RunNodePool(pool.members, Quick(1)); });
  const auto hellos = Hellos(*pool.server, 5);
  ASSERT_EQ(hellos.size(), 5u);
  // Only the first member's run ends; the others hear nothing more and give up in their time.
  ASSERT_TRUE(
      pool.server
          ->Send(hellos.begin()->first, protocol::Encode({9, 0, protocol::Shutdown{"run over"}}))
          .ok());
  serving.join();
  int ended = 0, gave_up = 0;
  for (const Status& s : outcomes) {
    if (s.ok()) ++ended;
    if (s.code() == StatusCode::kDeadlineExceeded) ++gave_up;
  }
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(gave_up, 4);
  // Silent members kept saying Hello on their schedule while they waited.
  EXPECT_GT(Hellos(*pool.server, 4).size(), 0u);
}

TEST(NodePoolTest, StoppingThePoolCancelsEveryMemberStillServing) {
  Pool pool(8);
  std::atomic<bool> stop{false};
  NodePoolOptions options = Quick(2);
  options.agent.idle_timeout = std::chrono::hours(1);
  options.agent.should_stop = [&stop] { return stop.load(); };
  std::vector<Status> outcomes;
  std::thread serving([&] { outcomes = RunNodePool(pool.members, options); });
  ASSERT_EQ(Hellos(*pool.server, 8).size(), 8u);
  stop = true;
  serving.join();
  ASSERT_EQ(outcomes.size(), 8u);
  for (const Status& s : outcomes) EXPECT_EQ(s.code(), StatusCode::kCancelled) << s;
}

}  // namespace
}  // namespace cartable::node
