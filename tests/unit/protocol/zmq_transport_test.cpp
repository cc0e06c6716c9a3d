#include "protocol/zmq_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>

#include "protocol/codec.h"

using namespace cartable::protocol;  // NOLINT: test code
using ::cartable::StatusCode;
using ::testing::HasSubstr;

namespace {

// Only a bound on waiting for loopback delivery when something is broken; never asserted as a
// duration.
constexpr auto kPatience = std::chrono::seconds(10);

ZmqOptions FastClose() {
  ZmqOptions options;
  options.linger_ms = 0;
  return options;
}

std::unique_ptr<ZmqServerTransport> BindLoopback() {
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", FastClose());
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(server).value() : nullptr;
}

std::unique_ptr<ZmqClientTransport> ConnectTo(const std::string& endpoint) {
  auto client = ZmqClientTransport::Connect(endpoint, FastClose());
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(client).value() : nullptr;
}

int PortOf(const std::string& endpoint) {
  std::smatch match;
  if (!std::regex_match(endpoint, match, std::regex(R"(tcp://127\.0\.0\.1:(\d+))"))) return -1;
  return std::stoi(match[1]);
}

TEST(ZmqTransportTest, BindResolvesTheEphemeralPort) {
  auto server = BindLoopback();
  ASSERT_NE(server, nullptr);
  const int port = PortOf(server->endpoint());
  EXPECT_GT(port, 0) << server->endpoint();
  EXPECT_LT(port, 65536);
  EXPECT_THAT(server->endpoint(), ::testing::Not(HasSubstr("*")));
}

TEST(ZmqTransportTest, FramesTravelBothWays) {
  auto server = BindLoopback();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(server->endpoint());
  ASSERT_NE(client, nullptr);

  const std::string hello = Encode(Envelope{0, 0, Hello{"school-7"}});
  ASSERT_TRUE(client->Send(hello).ok());
  auto delivery = server->Receive(kPatience);
  ASSERT_TRUE(delivery.ok()) << delivery.status();
  ASSERT_TRUE(delivery->has_value()) << "nothing arrived at the server";
  EXPECT_EQ((*delivery)->frame, hello);
  EXPECT_FALSE((*delivery)->peer.empty());

  // Reply to whoever spoke, with a frame carrying binary data (NULs) and some size.
  const std::string request =
      Encode(Envelope{42, 1, TrainRequest{{"m", 3}, {}, std::vector<float>(5000, 0.0f)}});
  ASSERT_TRUE(server->Send((*delivery)->peer, request).ok());
  auto reply = client->Receive(kPatience);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_TRUE(reply->has_value()) << "nothing arrived at the client";
  EXPECT_EQ(**reply, request);
  auto decoded = Decode(**reply);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->run_id, 42u);
}

TEST(ZmqTransportTest, PeersAreToldApart) {
  auto server = BindLoopback();
  ASSERT_NE(server, nullptr);
  auto a = ConnectTo(server->endpoint());
  auto b = ConnectTo(server->endpoint());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->Send("from a").ok());
  ASSERT_TRUE(b->Send("from b").ok());

  std::map<std::string, PeerId> peer_of;
  for (int i = 0; i < 2; ++i) {
    auto delivery = server->Receive(kPatience);
    ASSERT_TRUE(delivery.ok() && delivery->has_value());
    peer_of[std::string((*delivery)->frame.bytes())] = (*delivery)->peer;
  }
  ASSERT_EQ(peer_of.size(), 2u);
  EXPECT_NE(peer_of["from a"], peer_of["from b"]);

  ASSERT_TRUE(server->Send(peer_of["from b"], "to b").ok());
  ASSERT_TRUE(server->Send(peer_of["from a"], "to a").ok());
  auto at_a = a->Receive(kPatience);
  auto at_b = b->Receive(kPatience);
  ASSERT_TRUE(at_a.ok() && at_a->has_value());
  ASSERT_TRUE(at_b.ok() && at_b->has_value());
  EXPECT_EQ(**at_a, "to a");
  EXPECT_EQ(**at_b, "to b");
}

TEST(ZmqTransportTest, ReceiveOnIdleSocketTimesOutEmpty) {
  auto server = BindLoopback();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(server->endpoint());
  ASSERT_NE(client, nullptr);

  auto at_server = server->Receive(std::chrono::milliseconds(50));
  ASSERT_TRUE(at_server.ok()) << at_server.status();
  EXPECT_FALSE(at_server->has_value());

  auto at_client = client->Receive(std::chrono::milliseconds(50));
  ASSERT_TRUE(at_client.ok()) << at_client.status();
  EXPECT_FALSE(at_client->has_value());
}

TEST(ZmqTransportTest, ZeroAndNegativeTimeoutsPoll) {
  auto server = BindLoopback();
  ASSERT_NE(server, nullptr);
  auto zero = server->Receive(cartable::Duration::zero());
  ASSERT_TRUE(zero.ok());
  EXPECT_FALSE(zero->has_value());
  auto negative = server->Receive(-std::chrono::seconds(1));
  ASSERT_TRUE(negative.ok());
  EXPECT_FALSE(negative->has_value());
}

TEST(ZmqTransportTest, SendToUnknownPeerFails) {
  auto server = BindLoopback();
  ASSERT_NE(server, nullptr);
  cartable::Status status = server->Send("no-such-peer", "frame");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
}

TEST(ZmqTransportTest, BindingAnInvalidEndpointNamesIt) {
  for (const std::string endpoint :
       {"not-an-endpoint", "tcp://no.such.host.invalid:7450", "bogus://127.0.0.1:1"}) {
    auto server = ZmqServerTransport::Bind(endpoint, FastClose());
    ASSERT_FALSE(server.ok()) << endpoint;
    EXPECT_THAT(server.status().message(), HasSubstr(endpoint));
  }
}

TEST(ZmqTransportTest, BindingATakenPortFails) {
  auto first = BindLoopback();
  ASSERT_NE(first, nullptr);
  auto second = ZmqServerTransport::Bind(first->endpoint(), FastClose());
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr(first->endpoint()));
}

TEST(ZmqTransportTest, ConnectingToAnInvalidEndpointNamesIt) {
  auto client = ZmqClientTransport::Connect("bogus://nowhere", FastClose());
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("bogus://nowhere"));
}

TEST(ZmqTransportTest, OversizedFramesAreDroppedByZeroMq) {
  ZmqOptions small = FastClose();
  small.max_frame_bytes = 1000;
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*", small);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = ConnectTo((*server)->endpoint());
  ASSERT_NE(client, nullptr);

  // The oversized frame makes ZeroMQ drop the connection; the client reconnects and the next frame
  // arrives. Whatever arrives must never be the oversized one.
  ASSERT_TRUE(client->Send(std::string(5000, 'x')).ok());
  std::optional<std::string> received;
  for (int attempt = 0; attempt < 100 && !received; ++attempt) {
    ASSERT_TRUE(client->Send("small").ok());
    auto delivery = (*server)->Receive(std::chrono::milliseconds(100));
    ASSERT_TRUE(delivery.ok()) << delivery.status();
    if (delivery->has_value()) received = (*delivery)->frame;
  }
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(*received, "small");
}

}  // namespace
