// A node and a coordinator of different protocol versions: each refuses the other's frames, says
// why, and answers a frame it cannot read with one Error, but never answers an Error it cannot read
// (before, a version-1 peer and a version-2 peer answered each other's refusals thousands of times
// a second).

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>

#include "coordinator/coordinator_service.h"
#include "core/subprocess.h"
#include "federation_fixtures.h"
#include "process_helpers.h"
#include "protocol/codec.h"
#include "protocol/zmq_transport.h"

namespace cartable {
namespace {

// `body` as a frame of protocol version `version` (its layout is this build's; only the byte
// differs).
// How this build refuses a frame of `version`.
std::string VersionRefusal(int version) {
  return "unsupported protocol version " + std::to_string(version) + " (this build speaks " +
         std::to_string(protocol::kProtocolVersion) + ")";
}

std::string FrameOfVersion(const protocol::Body& body, uint8_t version) {
  std::string frame = protocol::Encode({0, 0, body});
  frame[4] = static_cast<char>(version);
  return frame;
}

TEST(ProtocolVersionTest, TheCoordinatorAnswersAnUnreadableFrameButNotAnUnreadableError) {
  coordinator::RunConfig run;
  run.expected_nodes = 3;
  run.min_nodes = 3;
  run.model.num_skills = 4;
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  auto transport = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  auto client = protocol::ZmqClientTransport::Connect(transport->endpoint()).value();
  // An older node's refusal of our frames, then an older node's Hello: only the Hello is answered.
  ASSERT_TRUE(client->Send(FrameOfVersion(protocol::ErrorReply{9, "frame refused"}, 1)).ok());
  ASSERT_TRUE(
      client->Send(FrameOfVersion(protocol::Hello{"school"}, protocol::kProtocolVersion + 1)).ok());
  coordinator::ServeOptions options;
  int polls = 0;
  options.should_stop = [&] { return ++polls > 30; };  // about 3 s
  coordinator::ServeRun(*loop, *transport, options).IgnoreError();
  std::optional<std::string> reply;
  for (int i = 0; i < 50 && !reply; ++i)
    reply = client->Receive(std::chrono::milliseconds(100)).value();
  ASSERT_TRUE(reply.has_value()) << "the Hello of another version was not answered";
  const protocol::Envelope answer = protocol::Decode(*reply).value();
  const auto* error = std::get_if<protocol::ErrorReply>(&answer.body);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->message.find(VersionRefusal(protocol::kProtocolVersion + 1)), std::string::npos)
      << "the first answer is not the Hello's: " << error->message;
  EXPECT_FALSE(client->Receive(std::chrono::milliseconds(500)).value().has_value())
      << "a second answer";
}

TEST(ProtocolVersionTest, ANodeAnswersNoErrorItCannotRead) {
  testing::ScratchDir dir("cartable-version");
  const auto csvs = testing::WriteSmallSchools(dir.path(), 1);
  auto transport = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  auto node = ChildProcess::Spawn(
                  {CARTABLE_BINARY, "node", "--coordinator", transport->endpoint(), "--data",
                   "csv:" + csvs[0].string(), "--name", "school", "--insecure", "--pseudonym-key",
                   (dir.path() / "school.pseudonym").string(), "--idle-timeout", "60"},
                  dir.path() / "node.log")
                  .value();
  // What the node sends next, within a generous bound.
  auto next = [&]() -> std::optional<protocol::Delivery> {
    for (int i = 0; i < 300; ++i) {
      auto delivery = transport->Receive(std::chrono::milliseconds(100)).value();
      if (delivery) return delivery;
    }
    return std::nullopt;
  };
  auto hello = next();
  ASSERT_TRUE(hello.has_value()) << testing::Slurp(dir.path() / "node.log");
  ASSERT_TRUE(std::holds_alternative<protocol::Hello>(protocol::Decode(hello->frame).value().body));
  // A coordinator of version 1 refusing that Hello.
  ASSERT_TRUE(
      transport->Send(hello->peer, FrameOfVersion(protocol::ErrorReply{9, "frame refused"}, 1))
          .ok());
  // The node logs why it cannot read it, and says Hello again; it does not answer the Error.
  auto after = next();
  ASSERT_TRUE(after.has_value()) << testing::Slurp(dir.path() / "node.log");
  auto decoded = protocol::Decode(after->frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_FALSE(std::holds_alternative<protocol::ErrorReply>(decoded->body))
      << std::get<protocol::ErrorReply>(decoded->body).message;
  EXPECT_TRUE(
      testing::WaitForText(dir.path() / "node.log", VersionRefusal(1), std::chrono::seconds(10)))
      << testing::Slurp(dir.path() / "node.log");
  node->Signal(SIGTERM);
  ASSERT_TRUE(node->WaitFor(std::chrono::seconds(20)).has_value());
}

}  // namespace
}  // namespace cartable
