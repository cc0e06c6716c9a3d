// The allow-list as the coordinator uses it, over real CurveZMQ connections: pointed at keygen's
// output, it admits NAME.pub's key and attaches NAME.sign.pub's identity key to each message; a
// SIGHUP reload with identity keys or a broken file in the directory still applies a revocation.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/subprocess.h"
#include "protocol/curve_keys.h"
#include "protocol/key_files.h"
#include "protocol/zmq_transport.h"

namespace cartable::protocol {
namespace {

using std::chrono::milliseconds;

class AllowListReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cartable-reload-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "allowed");
    InstallReloadHandler();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static PublicKeyBytes Identity(uint8_t seed) {
    PublicKeyBytes key{};
    key.fill(seed);
    return key;
  }

  // Whether a fresh connection with `keys` gets a message through (true) or is refused (false).
  bool Admitted(ZmqServerTransport& server, const CurveKeyPair& keys) {
    auto client =
        ZmqClientTransport::ConnectCurve(server.endpoint(), keys, server_.public_key).value();
    EXPECT_TRUE(client->Send("knock").ok());
    for (int i = 0; i < 200; ++i) {  // 10 s at most: only reached if something is badly wrong
      auto got = server.Receive(milliseconds(25));
      if (got.ok() && got->has_value()) return true;
      auto refused = client->Receive(milliseconds(25));
      if (!refused.ok()) return false;
    }
    ADD_FAILURE() << "neither admitted nor refused";
    return false;
  }

  // Sends SIGHUP and waits until `keys` get the expected answer (the handler polls every 100 ms).
  bool ReloadUntil(ZmqServerTransport& server, const CurveKeyPair& keys, bool admitted) {
    EXPECT_EQ(::raise(SIGHUP), 0);
    for (int attempt = 0; attempt < 30; ++attempt) {
      if (Admitted(server, keys) == admitted) return true;
    }
    return false;
  }

  std::filesystem::path dir_;
  CurveKeyPair server_ = GenerateCurveKeyPair().value();
};

// Regression: NAME.sign.pub was read as a CURVE key, so --allow pointed at keygen's output refused
// to start.
TEST_F(AllowListReloadTest, KeygensOutputAdmitsAndEveryMessageCarriesTheIdentityKey) {
  auto node = GenerateCurveKeyPair().value();
  ASSERT_TRUE(WriteKeySet(dir_ / "keys", "lycee-a", node, Identity(0xa5)).ok());
  ASSERT_TRUE(
      WriteKeySet(dir_ / "keys", "college-b", GenerateCurveKeyPair().value(), Identity(0xb6)).ok());
  auto server = ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", server_, dir_ / "keys");
  ASSERT_TRUE(server.ok()) << server.status();
  auto client =
      ZmqClientTransport::ConnectCurve((*server)->endpoint(), node, server_.public_key).value();
  ASSERT_TRUE(client->Send("first").ok());
  ASSERT_TRUE(client->Send("second").ok());
  for (const char* expected : {"first", "second"}) {
    auto delivery = (*server)->Receive(milliseconds(5000));
    ASSERT_TRUE(delivery.ok() && delivery->has_value());
    EXPECT_EQ((*delivery)->frame, expected);
    EXPECT_EQ((*delivery)->identity, "lycee-a");
    ASSERT_TRUE((*delivery)->identity_key.has_value());
    EXPECT_EQ(*(*delivery)->identity_key, Identity(0xa5));
  }
}

TEST_F(AllowListReloadTest, WithoutNameSignPubADeliveryCarriesNoIdentityKey) {
  auto node = GenerateCurveKeyPair().value();
  ASSERT_TRUE(WriteCurveKeyPair(dir_ / "allowed", "lycee-a", node).ok());
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", server_, dir_ / "allowed").value();
  auto client =
      ZmqClientTransport::ConnectCurve(server->endpoint(), node, server_.public_key).value();
  ASSERT_TRUE(client->Send("hello").ok());
  auto delivery = server->Receive(milliseconds(5000));
  ASSERT_TRUE(delivery.ok() && delivery->has_value());
  EXPECT_EQ((*delivery)->identity, "lycee-a");
  EXPECT_FALSE((*delivery)->identity_key.has_value());
}

TEST_F(AllowListReloadTest, APlainServerAttachesNoIdentity) {
  auto server = ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  auto client = ZmqClientTransport::Connect(server->endpoint()).value();
  ASSERT_TRUE(client->Send("hello").ok());
  auto delivery = server->Receive(milliseconds(5000));
  ASSERT_TRUE(delivery.ok() && delivery->has_value());
  EXPECT_EQ((*delivery)->identity, "");
  EXPECT_FALSE((*delivery)->identity_key.has_value());
}

// Regression: with a NAME.sign.pub in the directory every reload failed and kept the old list, so a
// revoked school kept joining.
TEST_F(AllowListReloadTest, ARevokedKeyIsRefusedAfterSighupWithIdentityKeysPresent) {
  auto a = GenerateCurveKeyPair().value();
  auto b = GenerateCurveKeyPair().value();
  ASSERT_TRUE(WriteCurveKeyPair(dir_ / "allowed", "lycee-a", a).ok());
  ASSERT_TRUE(WriteKeySet(dir_ / "keys", "college-b", b, Identity(2)).ok());
  std::filesystem::copy_file(dir_ / "keys" / "college-b.pub", dir_ / "allowed" / "college-b.pub");
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", server_, dir_ / "allowed").value();
  ASSERT_TRUE(Admitted(*server, a));

  // The academy distributes the identity keys, and revokes lycee-a.
  std::filesystem::copy_file(dir_ / "keys" / "college-b.sign.pub",
                             dir_ / "allowed" / "college-b.sign.pub");
  std::filesystem::remove(dir_ / "allowed" / "lycee-a.pub");
  ASSERT_TRUE(ReloadUntil(*server, a, /*admitted=*/false)) << "the revoked key is still admitted";
  EXPECT_TRUE(Admitted(*server, b));
}

TEST_F(AllowListReloadTest, ACorruptFileOnReloadIsSkippedAndTheRestApplied) {
  auto a = GenerateCurveKeyPair().value();
  auto b = GenerateCurveKeyPair().value();
  auto c = GenerateCurveKeyPair().value();
  ASSERT_TRUE(WriteCurveKeyPair(dir_ / "allowed", "lycee-a", a).ok());
  ASSERT_TRUE(WriteCurveKeyPair(dir_ / "allowed", "college-b", b).ok());
  ASSERT_TRUE(WriteCurveKeyPair(dir_ / "keys", "ecole-c", c).ok());
  auto server =
      ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", server_, dir_ / "allowed").value();
  ASSERT_TRUE(Admitted(*server, a));
  ASSERT_FALSE(Admitted(*server, c));

  std::ofstream(dir_ / "allowed" / "broken.pub") << "# half-copied\nnot-a-key\n";
  std::filesystem::remove(dir_ / "allowed" / "lycee-a.pub");  // revoked
  std::filesystem::copy_file(dir_ / "keys" / "ecole-c.pub",
                             dir_ / "allowed" / "ecole-c.pub");  // enrolled
  ASSERT_TRUE(ReloadUntil(*server, a, /*admitted=*/false)) << "a broken file blocked the reload";
  EXPECT_TRUE(Admitted(*server, b));
  EXPECT_TRUE(Admitted(*server, c));
}

}  // namespace
}  // namespace cartable::protocol
