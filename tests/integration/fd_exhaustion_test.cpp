// A coordinator under the file-descriptor limit an operator might give it (256), while someone who
// can reach its port keeps 400 TCP connections open that never speak, reopening those the
// coordinator closes: an honest node must still join and the run complete. And a node that pinned
// the wrong coordinator key keeps retrying, then gives up saying the secure handshake never
// succeeded and why.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/subprocess.h"
#include "federation_fixtures.h"
#include "node/identity.h"
#include "process_helpers.h"
#include "protocol/curve_keys.h"
#include "protocol/key_files.h"

namespace cartable {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Holds `count` idle connections to a loopback port: every 200 ms, a connection the server has
// closed is opened again, at most once a second per connection (a determined but not infinitely
// fast attacker).
class IdleConnectionFlood {
 public:
  IdleConnectionFlood(const std::string& endpoint, size_t count)
      : port_(static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)))),
        slots_(count) {
    thread_ = std::thread([this] { Run(); });
  }
  ~IdleConnectionFlood() {
    stop_ = true;
    thread_.join();
    for (Slot& slot : slots_) Close(slot);
  }
  uint64_t reopened() const { return reopened_.load(); }

 private:
  struct Slot {
    int fd = -1;
    std::chrono::steady_clock::time_point opened;
  };

  void Open(Slot& slot) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    slot.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (slot.fd >= 0)
      (void)::connect(slot.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    slot.opened = std::chrono::steady_clock::now();
  }
  static void Close(Slot& slot) {
    if (slot.fd >= 0) ::close(slot.fd);
    slot.fd = -1;
  }
  // Reads and drops what the server sent (its greeting); true once it has closed the connection.
  static bool ClosedByServer(const Slot& slot) {
    char buffer[512];
    while (true) {
      const ssize_t n = ::read(slot.fd, buffer, sizeof(buffer));
      if (n > 0) continue;
      if (n == 0) return true;
      return errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN && errno != EINPROGRESS;
    }
  }
  void Run() {
    for (Slot& slot : slots_) Open(slot);
    while (!stop_) {
      std::this_thread::sleep_for(milliseconds(200));
      const auto now = std::chrono::steady_clock::now();
      for (Slot& slot : slots_) {
        if (now - slot.opened < seconds(1) || (slot.fd >= 0 && !ClosedByServer(slot))) continue;
        Close(slot);
        Open(slot);
        ++reopened_;
      }
    }
  }

  uint16_t port_;
  std::vector<Slot> slots_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> reopened_{0};
  std::thread thread_;
};

class FdExhaustionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto keys = dir_.path() / "keys";
    for (const char* name : {"coordinator", "lycee-a"}) {
      auto pair = protocol::GenerateCurveKeyPair().value();
      auto identity = node::SigningKeyFromCurveSecret(pair.secret_key).value();
      ASSERT_TRUE(protocol::WriteKeySet(keys, name, pair, node::ToWire(identity.PublicKey())).ok());
    }
    std::filesystem::create_directories(dir_.path() / "allowed");
    for (const char* file : {"lycee-a.pub", "lycee-a.sign.pub"}) {
      std::filesystem::copy_file(keys / file, dir_.path() / "allowed" / file);
    }
    school_ = testing::WriteSmallSchools(dir_.path(), 1).at(0);
  }

  std::unique_ptr<ChildProcess> StartCoordinator() {
    return ChildProcess::Spawn(
               {CARTABLE_BINARY,   "coordinator",
                "--bind",          endpoint_,
                "--key",           (dir_.path() / "keys" / "coordinator.key").string(),
                "--allow",         (dir_.path() / "allowed").string(),
                "--skills",        "6",
                "--nodes",         "1",
                "--min-nodes",     "1",
                "--rounds",        "2",
                "--secagg",        "off",
                "--join-timeout",  "120",
                "--round-timeout", "60",
                "--out",           (dir_.path() / "run.safetensors").string()},
               coordinator_log_, {.open_files = 256})
        .value();
  }

  std::unique_ptr<ChildProcess> StartNode(const std::string& coordinator_key,
                                          const std::string& idle_timeout) {
    return ChildProcess::Spawn(
               {CARTABLE_BINARY, "node", "--coordinator", endpoint_, "--data",
                "csv:" + school_.string(), "--name", "lycee-a", "--key",
                (dir_.path() / "keys" / "lycee-a.key").string(), "--coordinator-key",
                coordinator_key, "--allow-plain-updates", "--idle-timeout", idle_timeout,
                "--pseudonym-key", (dir_.path() / "lycee-a.pseudonym").string()},
               node_log_)
        .value();
  }

  testing::ScratchDir dir_{"cartable-fd-exhaustion"};
  std::string endpoint_ = testing::FreeLoopbackEndpoint();
  std::filesystem::path school_;
  std::filesystem::path coordinator_log_ = dir_.path() / "coordinator.log";
  std::filesystem::path node_log_ = dir_.path() / "node.log";
};

// Regression: 400 idle connections held a coordinator with 256 descriptors unreachable for honest
// nodes until ZeroMQ's 30 s handshake timeout freed some, and the coordinator then failed to write
// its run for want of a descriptor.
TEST_F(FdExhaustionTest, AnHonestNodeJoinsWhileIdleConnectionsFloodACoordinatorWith256Descriptors) {
  auto coordinator = StartCoordinator();
  ASSERT_TRUE(testing::WaitForText(coordinator_log_, "listening on", seconds(60)))
      << testing::Slurp(coordinator_log_);
  EXPECT_NE(testing::Slurp(coordinator_log_).find("open-file limit: 256"), std::string::npos)
      << testing::Slurp(coordinator_log_);
  IdleConnectionFlood flood(endpoint_, 400);
  std::this_thread::sleep_for(seconds(2));  // the flood is in place before the node arrives

  // Its idle timeout, shorter than ZeroMQ's default 30 s handshake timeout that used to be the only
  // way descriptors came back, is the bound: the node must get through the flood well before it.
  auto node = StartNode((dir_.path() / "keys" / "coordinator.pub").string(), "20");
  const auto code = coordinator->WaitFor(seconds(150));
  ASSERT_TRUE(code.has_value()) << "the run did not end:\n"
                                << testing::Slurp(coordinator_log_) << "\nnode:\n"
                                << testing::Slurp(node_log_);
  EXPECT_EQ(*code, 0) << testing::Slurp(coordinator_log_) << "\nnode:\n"
                      << testing::Slurp(node_log_);
  const auto run = nlohmann::json::parse(testing::Slurp(dir_.path() / "run.safetensors.card.json"),
                                         nullptr, false);
  ASSERT_TRUE(run.is_object()) << testing::Slurp(coordinator_log_);
  EXPECT_EQ(run["metrics"]["rounds"].size(), 2u);
  EXPECT_GT(flood.reopened(), 0u) << "the coordinator never shed an idle connection";
  const auto node_code = node->WaitFor(seconds(30));
  ASSERT_TRUE(node_code.has_value());
  EXPECT_EQ(*node_code, 0) << testing::Slurp(node_log_);
}

// Regression: a slow or cut handshake stopped the node at once with "pinned coordinator public key
// does not match", even when the key was right. Now the node retries; if it never gets through, its
// error says the handshake never succeeded and names the likely causes.
TEST_F(FdExhaustionTest, ANodeWithTheWrongCoordinatorKeyRetriesThenSaysWhyItGaveUp) {
  auto coordinator = StartCoordinator();
  ASSERT_TRUE(testing::WaitForText(coordinator_log_, "listening on", seconds(60)));
  auto impostor = protocol::GenerateCurveKeyPair().value();
  ASSERT_TRUE(protocol::WriteCurveKeyPair(dir_.path() / "impostor", "coordinator", impostor).ok());
  auto node = StartNode((dir_.path() / "impostor" / "coordinator.pub").string(), "8");
  const auto code = node->WaitFor(seconds(60));
  ASSERT_TRUE(code.has_value()) << testing::Slurp(node_log_);
  EXPECT_NE(*code, 0);
  const std::string log = testing::Slurp(node_log_);
  EXPECT_NE(log.find("retrying"), std::string::npos) << log;
  EXPECT_NE(
      log.find("the secure handshake with the coordinator at " + endpoint_ + " never succeeded"),
      std::string::npos)
      << log;
  EXPECT_NE(log.find("--coordinator-key"), std::string::npos) << log;
  EXPECT_NE(log.find("overloaded"), std::string::npos) << log;
  EXPECT_EQ(log.find("pinned coordinator public key does not match"), std::string::npos) << log;
}

}  // namespace
}  // namespace cartable
