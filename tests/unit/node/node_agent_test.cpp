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

// The trail hears each reply before it is sent, and each message the coordinator sent.
TEST(NodeAgentTest, RecordsWhatItSendsBeforeSendingIt) {
  ManualClock clock;
  std::deque<std::optional<protocol::Envelope>> script;
  script.push_back(
      protocol::Envelope{7, 0, protocol::ErrorReply{protocol::kErrorNotJoined, "say hello"}});
  script.push_back(protocol::Envelope{7, 0, protocol::Shutdown{"the run is over"}});
  JammedTransport transport(clock, std::move(script));
  NodeSession session("school-a", models::PupilSplit{}, NodeSecurity{});
  NodeAgentOptions options;
  std::vector<AuditNote> notes;
  size_t sends_when_recorded = 0;
  options.audit = [&](const AuditNote& note) {
    notes.push_back(note);
    if (note.event == "message_sent") sends_when_recorded = transport.attempted().size();
    return Status::Ok();
  };
  int polls = 0;
  options.should_stop = [&] { return ++polls > 1000; };

  ASSERT_TRUE(RunNodeAgent(session, transport, options, clock).ok());

  ASSERT_EQ(notes.size(), 2U);
  EXPECT_EQ(notes[0].event, "message_sent");
  EXPECT_EQ(notes[0].data["type"], "Hello");
  EXPECT_EQ(sends_when_recorded, 1U) << "only the first Hello had been sent when it was recorded";
  EXPECT_EQ(notes[1].event, "run_ended");
  EXPECT_EQ(notes[1].data["reason"], "the run is over");
}

TEST(NodeAgentTest, AnAuditLogThatCannotBeWrittenStopsTheAgent) {
  ManualClock clock;
  std::deque<std::optional<protocol::Envelope>> script;
  script.push_back(
      protocol::Envelope{7, 0, protocol::ErrorReply{protocol::kErrorNotJoined, "say hello"}});
  script.push_back(protocol::Envelope{7, 0, protocol::Shutdown{"the run is over"}});
  JammedTransport transport(clock, std::move(script));
  NodeSession session("school-a", models::PupilSplit{}, NodeSecurity{});
  NodeAgentOptions options;
  options.audit = [](const AuditNote&) { return UnavailableError("disk full"); };
  int polls = 0;
  options.should_stop = [&] { return ++polls > 1000; };

  Status outcome = RunNodeAgent(session, transport, options, clock);

  EXPECT_EQ(outcome.code(), StatusCode::kUnavailable);
  EXPECT_NE(outcome.message().find("audit log"), std::string::npos) << outcome;
  EXPECT_EQ(transport.attempted().size(), 1U) << "the unrecorded Hello was not sent";
}

}  // namespace
}  // namespace cartable::node
