// CurveZMQ on real TCP sockets: allowed keys talk, unknown keys are refused and never heard, a
// wrong pinned server key is retried and diagnosed, messages carry the sender's allow-list name and
// identity key, and SIGHUP reloads the allow-list without a restart, even with identity keys or a
// broken file in it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/subprocess.h"
#include "protocol/allow_list.h"
#include "protocol/curve_keys.h"
#include "protocol/key_files.h"
#include "protocol/zmq_transport.h"

namespace cartable::protocol {
namespace {

using std::chrono::milliseconds;

class CurveTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cartable-curve-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "allowed");
    server_ = GenerateCurveKeyPair().value();
    node_ = GenerateCurveKeyPair().value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Allow(const std::string& name, const CurveKeyPair& pair) {
    ASSERT_TRUE(WriteCurveKeyPair(dir_ / "keys", name, pair).ok());
    std::filesystem::copy_file(dir_ / "keys" / (name + ".pub"), dir_ / "allowed" / (name + ".pub"));
  }

  // Waits for a frame at the server, up to `patience`.
  std::optional<Delivery> ServerReceives(ZmqServerTransport& server, milliseconds patience) {
    auto got = server.Receive(patience);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::nullopt;
  }

  // Lets the client poll until it reports an error or `patience` passes.
  Status ClientError(ZmqClientTransport& client, milliseconds patience) {
    const auto end = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < end) {
      auto got = client.Receive(milliseconds(50));
      if (!got.ok()) return got.status();
    }
    return Status::Ok();
  }

  std::filesystem::path dir_;
  std::optional<CurveKeyPair> server_;
  std::optional<CurveKeyPair> node_;
};

TEST_F(CurveTransportTest, AllowedNodeTalksBothWays) {
  Allow("node", *node_);
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  auto client =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key).value();
  ASSERT_TRUE(client->Send("hello").ok());
  auto delivery = ServerReceives(*server, milliseconds(5000));
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->frame, "hello");
  EXPECT_EQ(delivery->identity,
            "node");  // the allow-list file's name, vouched for by the handshake
  ASSERT_TRUE(server->Send(delivery->peer, "welcome").ok());
  auto reply = client->Receive(milliseconds(5000));
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(reply->has_value());
  EXPECT_EQ(**reply, "welcome");
}

TEST_F(CurveTransportTest, UnknownKeyIsRefusedAndNeverHeard) {
  Allow("someone-else", GenerateCurveKeyPair().value());
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  auto client =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key).value();
  ASSERT_TRUE(client->Send("let me in").ok());
  Status refused = ClientError(*client, milliseconds(5000));
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("refused this node's key"), std::string::npos) << refused;
  EXPECT_FALSE(ServerReceives(*server, milliseconds(300)).has_value());
}

// From the client's side a wrong pinned key looks like a server closing the connection, as an
// overloaded one may: retried, never heard, and diagnosed with both possibilities.
TEST_F(CurveTransportTest, WrongPinnedServerKeyIsRetriedAndDiagnosed) {
  Allow("node", *node_);
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  const std::string impostor_key = GenerateCurveKeyPair().value().public_key;
  auto client = ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, impostor_key).value();
  ASSERT_TRUE(client->Send("hello").ok());
  // Wait until at least one attempt has failed (ZeroMQ retries after 100 ms, then backs off).
  std::string why;
  for (int i = 0; i < 100 && why.find("never succeeded") == std::string::npos; ++i) {
    auto got = client->Receive(milliseconds(50));
    ASSERT_TRUE(got.ok()) << "a cut handshake must not stop the client: " << got.status();
    why = client->HandshakeDiagnosis();
  }
  EXPECT_NE(why.find("never succeeded"), std::string::npos) << why;
  EXPECT_NE(why.find("--coordinator-key"), std::string::npos) << why;
  EXPECT_NE(why.find("overloaded"), std::string::npos) << why;
  EXPECT_FALSE(ServerReceives(*server, milliseconds(300)).has_value());
}

TEST_F(CurveTransportTest, ACurveClientOfAPlainServerFailsClearly) {
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  auto client =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key).value();
  ASSERT_TRUE(client->Send("hello").ok());
  Status failed = ClientError(*client, milliseconds(5000));
  EXPECT_EQ(failed.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(failed.message().find("does not speak CURVE"), std::string::npos) << failed;
}

TEST_F(CurveTransportTest, AfterASuccessfulHandshakeThereIsNothingToDiagnose) {
  Allow("node", *node_);
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  auto client =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key).value();
  EXPECT_NE(client->HandshakeDiagnosis(), "");
  ASSERT_TRUE(client->Send("hello").ok());
  auto delivery = ServerReceives(*server, milliseconds(5000));
  ASSERT_TRUE(delivery.has_value());
  ASSERT_TRUE(server->Send(delivery->peer, "welcome").ok());
  ASSERT_TRUE(client->Receive(milliseconds(5000)).value().has_value());
  EXPECT_EQ(client->HandshakeDiagnosis(), "");
}

TEST_F(CurveTransportTest, PlainClientCannotReachACurveServer) {
  Allow("node", *node_);
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  auto client = ZmqClientTransport::Connect(server->endpoint()).value();
  ASSERT_TRUE(client->Send("plaintext").ok());
  EXPECT_FALSE(ServerReceives(*server, milliseconds(1000)).has_value());
}

TEST_F(CurveTransportTest, SighupReloadsTheAllowList) {
  InstallReloadHandler();
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  {
    auto refused =
        ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key).value();
    ASSERT_TRUE(refused->Send("first try").ok());
    EXPECT_EQ(ClientError(*refused, milliseconds(5000)).code(), StatusCode::kPermissionDenied);
  }
  Allow("node", *node_);
  ASSERT_EQ(::raise(SIGHUP), 0);
  // The handler notices the signal within its 100 ms poll; retry until the new key is admitted.
  std::optional<Delivery> delivery;
  for (int attempt = 0; attempt < 20 && !delivery; ++attempt) {
    auto client =
        ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key).value();
    ASSERT_TRUE(client->Send("second try").ok());
    delivery = ServerReceives(*server, milliseconds(500));
  }
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->frame, "second try");
}

TEST_F(CurveTransportTest, KeyFilesRoundTripWithPrivateModeAndNoOverwrite) {
  ASSERT_TRUE(WriteCurveKeyPair(dir_ / "keys", "school", *node_).ok());
  struct stat info {};
  ASSERT_EQ(::stat((dir_ / "keys" / "school.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto loaded = LoadCurveKeyPair(dir_ / "keys" / "school.key");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->public_key, node_->public_key);
  EXPECT_EQ(LoadCurvePublicKey(dir_ / "keys" / "school.pub").value(), node_->public_key);
  EXPECT_EQ(WriteCurveKeyPair(dir_ / "keys", "school", *server_).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(LoadCurvePublicKey(dir_ / "keys" / "school.pub").value(), node_->public_key);
  ::chmod((dir_ / "keys" / "school.key").c_str(), 0644);
  EXPECT_EQ(LoadCurveKeyPair(dir_ / "keys" / "school.key").status().code(),
            StatusCode::kPermissionDenied);
}

// Regression: ZMQ_MAXMSGSIZE was set to the chunk size exactly, and CURVE's per-message box pushed
// every full chunk over it, so large frames never arrived under CURVE.
TEST_F(CurveTransportTest, LargeFramesCrossInFullChunks) {
  Allow("node", *node_);
  ZmqOptions options;
  options.chunk_bytes = 1 << 20;
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed", options)
          .value();
  auto client =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key, options)
          .value();
  const std::string big(5 << 20, 'z');  // exactly 5 full chunks
  ASSERT_TRUE(client->Send(big).ok());
  std::optional<Delivery> got;
  for (int i = 0; i < 50 && !got; ++i) got = ServerReceives(*server, milliseconds(100));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->frame, big);
  ASSERT_TRUE(server->Send(got->peer, big).ok());
  std::optional<Frame> back;
  for (int i = 0; i < 50 && !back; ++i) back = client->Receive(milliseconds(100)).value();
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->size(), big.size());
}

TEST_F(CurveTransportTest, OneKeyUnderTwoNamesIsRefused) {
  Allow("lycee-a", *node_);
  std::filesystem::copy_file(dir_ / "allowed" / "lycee-a.pub", dir_ / "allowed" / "lycee-b.pub");
  auto server = ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed");
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("one key, one name"), std::string::npos);
}

TEST_F(CurveTransportTest, MalformedKeysAreRefusedWithTheFileName) {
  const auto bad = dir_ / "allowed" / "broken.pub";
  std::ofstream(bad) << "# a comment\nnot-a-key\n";
  auto server = ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed");
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("broken.pub"), std::string::npos);
  EXPECT_FALSE(IsZ85Key("short"));
  EXPECT_TRUE(IsZ85Key(node_->public_key));
  EXPECT_FALSE(ZmqClientTransport::ConnectCurve("tcp://127.0.0.1:1", *node_, "nope").ok());
}

// A node pool's schools share one context: each connection keeps its own key, handshake watch and
// peer at the server, and the context outlives whichever of its holders goes first.
TEST_F(CurveTransportTest, NodesSharingOneContextEachTalkUnderTheirOwnKey) {
  const CurveKeyPair other = GenerateCurveKeyPair().value();
  Allow("école-a", *node_);
  Allow("école-b", other);
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  ZmqOptions options;
  options.context = ZmqContext::Create(1, 16).value();
  auto a =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key, options)
          .value();
  auto b = ZmqClientTransport::ConnectCurve(server->endpoint(), other, server_->public_key, options)
               .value();
  options.context.reset();  // the connections hold it now
  ASSERT_TRUE(a->Send("from a").ok());
  ASSERT_TRUE(b->Send("from b").ok());
  std::map<std::string, Delivery> by_identity;
  for (int i = 0; i < 2; ++i) {
    auto delivery = ServerReceives(*server, milliseconds(5000));
    ASSERT_TRUE(delivery.has_value());
    by_identity.emplace(delivery->identity, *delivery);
  }
  ASSERT_EQ(by_identity.size(), 2u);
  EXPECT_EQ(by_identity.at("école-a").frame, "from a");
  EXPECT_EQ(by_identity.at("école-b").frame, "from b");
  ASSERT_TRUE(server->Send(by_identity.at("école-b").peer, "to b").ok());
  a.reset();  // one school leaves; the other's connection, in the same context, goes on
  auto reply = b->Receive(milliseconds(5000));
  ASSERT_TRUE(reply.ok() && reply->has_value()) << reply.status();
  EXPECT_EQ(**reply, "to b");
}

// A context too small for another connection refuses it with an error, not a crash.
TEST_F(CurveTransportTest, AFullSharedContextRefusesAnotherConnection) {
  Allow("node", *node_);
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *server_, dir_ / "allowed").value();
  ZmqOptions options;
  options.context = ZmqContext::Create(1, 4).value();
  auto first =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key, options);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second =
      ZmqClientTransport::ConnectCurve(server->endpoint(), *node_, server_->public_key, options);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(),
              ::testing::AnyOf(::testing::HasSubstr("Too many open files"),
                               ::testing::HasSubstr("shared context full")))
      << second.status();
}

}  // namespace
}  // namespace cartable::protocol
