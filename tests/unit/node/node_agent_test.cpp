// The node agent's loop against a transport whose sends all fail (a coordinator that stopped
// reading): the agent keeps going, keeps trying on the link's schedule, and still ends as the
// coordinator says.

#include "node/node_agent.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>

#include "protocol/codec.h"

namespace cartable::node {
namespace {

// Every send fails as a full queue would; receives play a script, one entry per call, advancing a
// manual clock so the link's rules see time pass.
class JammedTransport final : public protocol::ClientTransport {
 public:
  JammedTransport(ManualClock& clock, std::deque<std::optional<protocol::Envelope>> script)
      : clock_(clock), script_(std::move(script)) {}

  Status Send(std::string_view frame) override {
    auto decoded = protocol::Decode(frame);
    if (decoded.ok()) attempted_.push_back(protocol::TypeOf(decoded->body));
    return ResourceExhaustedError("the coordinator is not reading");
  }
  StatusOr<std::optional<protocol::Frame>> Receive(Duration) override {
    clock_.Advance(std::chrono::seconds(2));
    if (script_.empty()) return std::optional<protocol::Frame>();
    std::optional<protocol::Envelope> next = std::move(script_.front());
    script_.pop_front();
    if (!next) return std::optional<protocol::Frame>();
    return std::optional<protocol::Frame>(protocol::Frame(protocol::Encode(*next)));
  }

  const std::vector<protocol::MessageType>& attempted() const { return attempted_; }
  bool script_done() const { return script_.empty(); }

 private:
  ManualClock& clock_;
  std::deque<std::optional<protocol::Envelope>> script_;
  std::vector<protocol::MessageType> attempted_;
};

TEST(NodeAgentTest, SendsThatFailDoNotEndTheAgent) {
  ManualClock clock;
  std::deque<std::optional<protocol::Envelope>> script;
  for (int i = 0; i < 6; ++i)
    script.push_back(std::nullopt);  // 12 s of quiet: Hellos are due again
  // The coordinator does not know this node: the session answers with a Hello, which fails too.
  script.push_back(
      protocol::Envelope{7, 0, protocol::ErrorReply{protocol::kErrorNotJoined, "say hello"}});
  for (int i = 0; i < 4; ++i) script.push_back(std::nullopt);  // 8 s more: a Heartbeat is due
  script.push_back(protocol::Envelope{7, 0, protocol::Shutdown{"the run is over"}});
  JammedTransport transport(clock, std::move(script));
  NodeSession session("school-a", models::PupilSplit{}, NodeSecurity{});
  NodeAgentOptions options;
  int polls = 0;
  options.should_stop = [&] { return ++polls > 1000; };  // bounds the test if the agent never ends

  Status outcome = RunNodeAgent(session, transport, options, clock);

  EXPECT_TRUE(outcome.ok()) << outcome;
  EXPECT_TRUE(transport.script_done());
  EXPECT_TRUE(session.finished());
  // The first Hello, the Hellos the link asked for while unanswered, the reply, and a Heartbeat.
  int hellos = 0;
  int heartbeats = 0;
  for (protocol::MessageType type : transport.attempted()) {
    hellos += type == protocol::MessageType::kHello;
    heartbeats += type == protocol::MessageType::kHeartbeat;
  }
  EXPECT_GE(hellos, 3);
  EXPECT_GE(heartbeats, 1);
}

}  // namespace
}  // namespace cartable::node
