// Connections that never finish their handshake cannot pile up at a server: beyond the cap the
// oldest are shut down, every handshake is cut after ZMQ_HANDSHAKE_IVL, and an authenticated
// connection is never touched.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"

namespace cartable::protocol {
namespace {

using std::chrono::milliseconds;

// A plain TCP connection that never speaks, as an attacker holds them.
class IdleConnection {
 public:
  explicit IdleConnection(const std::string& endpoint) {
    const size_t colon = endpoint.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
        << std::strerror(errno);
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~IdleConnection() { ::close(fd_); }
  IdleConnection(const IdleConnection&) = delete;
  IdleConnection& operator=(const IdleConnection&) = delete;

  // Whether the server has closed it (the greeting it sent is read and dropped).
  bool ClosedByServer() {
    char buffer[256];
    while (true) {
      const ssize_t n = ::read(fd_, buffer, sizeof(buffer));
      if (n > 0) continue;
      if (n == 0) return true;
      return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
};

size_t CountClosed(std::vector<std::unique_ptr<IdleConnection>>& connections) {
  size_t closed = 0;
  for (auto& c : connections) closed += c->ClosedByServer() ? 1 : 0;
  return closed;
}

// Polls until at least `wanted` connections are closed; bounded, so a failure is a failure.
size_t WaitUntilClosed(std::vector<std::unique_ptr<IdleConnection>>& connections, size_t wanted) {
  size_t closed = 0;
  for (int i = 0; i < 200 && closed < wanted; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    closed = CountClosed(connections);
  }
  return closed;
}

class ConnectionGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cartable-guard-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(WriteCurveKeyPair(dir_, "node", node_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // An authenticated client: its first message has reached the server.
  std::unique_ptr<ZmqClientTransport> Join(ZmqServerTransport& server, PeerId* peer) {
    auto client =
        ZmqClientTransport::ConnectCurve(server.endpoint(), node_, server_.public_key).value();
    EXPECT_TRUE(client->Send("hello").ok());
    auto delivery = server.Receive(milliseconds(10000));
    EXPECT_TRUE(delivery.ok() && delivery->has_value());
    if (delivery.ok() && delivery->has_value()) *peer = (*delivery)->peer;
    return client;
  }

  std::filesystem::path dir_;
  CurveKeyPair server_ = GenerateCurveKeyPair().value();
  CurveKeyPair node_ = GenerateCurveKeyPair().value();
};

TEST_F(ConnectionGuardTest, IdleConnectionsBeyondTheCapAreShutDownAndNodesStillJoin) {
  ZmqOptions options;
  options.max_pending_handshakes = 4;
  options.handshake_timeout_ms = 60000;  // only the cap closes connections in this test
  auto server = ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", server_, dir_, options).value();
  PeerId early;
  auto early_client = Join(*server, &early);

  std::vector<std::unique_ptr<IdleConnection>> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(std::make_unique<IdleConnection>(server->endpoint()));
  EXPECT_GE(WaitUntilClosed(idle, 16), 16u);
  EXPECT_LE(CountClosed(idle), 16u) << "only those beyond the cap of 4";

  // The authenticated connection was not touched, and a new node still gets in past the idle ones.
  ASSERT_TRUE(server->Send(early, "still here").ok());
  auto reply = early_client->Receive(milliseconds(10000));
  ASSERT_TRUE(reply.ok() && reply->has_value());
  EXPECT_EQ(**reply, "still here");
  PeerId late;
  auto late_client = Join(*server, &late);
  EXPECT_FALSE(late.empty());
}

TEST_F(ConnectionGuardTest, AHandshakeThatNeverCompletesIsCutAfterTheHandshakeTimeout) {
  ZmqOptions options;
  options.handshake_timeout_ms = 300;
  auto server = ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", server_, dir_, options).value();
  std::vector<std::unique_ptr<IdleConnection>> idle;
  idle.push_back(std::make_unique<IdleConnection>(server->endpoint()));
  EXPECT_EQ(WaitUntilClosed(idle, 1), 1u);
}

TEST_F(ConnectionGuardTest, WithTheGuardOffIdleConnectionsStay) {
  ZmqOptions options;
  options.max_pending_handshakes = 0;
  options.handshake_timeout_ms = 60000;
  auto server = ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", server_, dir_, options).value();
  std::vector<std::unique_ptr<IdleConnection>> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(std::make_unique<IdleConnection>(server->endpoint()));
  PeerId peer;
  auto client = Join(*server, &peer);  // by then every idle connection has been accepted
  EXPECT_EQ(CountClosed(idle), 0u);
}

}  // namespace
}  // namespace cartable::protocol
