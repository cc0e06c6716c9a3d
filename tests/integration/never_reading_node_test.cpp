// An enrolled node that never reads, against a real coordinator and honest nodes (processes,
// CurveZMQ). It completes the handshake with an allow-listed key, says Hello and floods heartbeats,
// so every answer the coordinator owes it piles up in the coordinator's queue for it. The
// coordinator must neither freeze nor wait on it: the honest run completes all its rounds,
// `cartable admin status` answers while the attacker is connected, and SIGTERM ends the coordinator
// promptly.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/subprocess.h"
#include "federation_fixtures.h"
#include "process_helpers.h"
#include "protocol/curve_keys.h"
#include "raw_curve_peer.h"

namespace cartable {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class NeverReadingNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Enrol("coordinator", "");
    Enrol("alice", "researchers");
    Enrol("intruder", "allowed");  // enrolled like any school: the allow-list cannot tell
    const auto files = testing::WriteSmallSchools(dir_.path(), 3);
    for (const auto& file : files) {
      schools_.push_back(file.stem().string());
      Enrol(schools_.back(), "allowed");
    }
  }

  void TearDown() override { StopAttacker(); }

  void Enrol(const std::string& name, const std::string& allow_dir) {
    auto pair = protocol::GenerateCurveKeyPair().value();
    ASSERT_TRUE(protocol::WriteCurveKeyPair(dir_.path() / "keys", name, pair).ok());
    if (allow_dir.empty()) return;
    std::filesystem::create_directories(dir_.path() / allow_dir);
    std::filesystem::copy_file(dir_.path() / "keys" / (name + ".pub"),
                               dir_.path() / allow_dir / (name + ".pub"));
  }

  std::string Key(const std::string& name, const char* ext = ".key") const {
    return (dir_.path() / "keys" / (name + ext)).string();
  }

  // Four nodes make a cohort, so the attacker is in every round's cohort with the three schools. It
  // never advertises its keys, so the secure sum goes on among the three that do.
  void StartCoordinator(const std::string& rounds) {
    coordinator_ =
        ChildProcess::Spawn({CARTABLE_BINARY,   "coordinator",
                             "--bind",          endpoint_,
                             "--admin-bind",    admin_endpoint_,
                             "--key",           Key("coordinator"),
                             "--allow",         (dir_.path() / "allowed").string(),
                             "--admin-allow",   (dir_.path() / "researchers").string(),
                             "--skills",        "6",
                             "--nodes",         "4",
                             "--min-nodes",     "3",
                             "--rounds",        rounds,
                             "--join-timeout",  "120",
                             "--round-timeout", "10",
                             "--heartbeat",     "1",
                             "--out",           (dir_.path() / "run.safetensors").string()},
                            coordinator_log_)
            .value();
  }

  void StartSchools() {
    for (const std::string& name : schools_) {
      nodes_.push_back(
          ChildProcess::Spawn(
              {CARTABLE_BINARY, "node", "--coordinator", endpoint_, "--data",
               "csv:" + (dir_.path() / (name + ".csv")).string(), "--name", name, "--key",
               Key(name), "--coordinator-key", Key("coordinator", ".pub"), "--idle-timeout", "60",
               "--pseudonym-key", (dir_.path() / (name + ".pseudonym")).string()},
              dir_.path() / (name + ".log"))
              .value());
    }
  }

  // The attacker, on its own thread: heartbeats as fast as the coordinator takes them, a Hello
  // under its allow-list name once a few thousand have gone, and never a read.
  void StartAttacker() {
    attacker_ = std::thread([this] {
      auto keys = protocol::LoadCurveKeyPair(Key("intruder")).value();
      auto peer = testing::RawCurvePeer::Connect(
          endpoint_, keys, protocol::LoadCurvePublicKey(Key("coordinator", ".pub")).value());
      const protocol::Envelope heartbeat{0, 0, protocol::Heartbeat{}};
      for (int sent = 0; !stop_attacker_; ++sent) {
        for (int i = 0; i < 50; ++i) peer->TrySend(heartbeat);
        if (sent == 40) said_hello_ = peer->SayHello("intruder", milliseconds(10000));
        std::this_thread::sleep_for(milliseconds(1));
      }
    });
  }

  void StopAttacker() {
    stop_attacker_ = true;
    if (attacker_.joinable()) attacker_.join();
  }

  // Runs `cartable admin status` to the end; returns its exit code and what it printed.
  int AdminStatus(std::string& output) {
    static int count = 0;
    const auto log = dir_.path() / ("admin-" + std::to_string(count++) + ".log");
    auto admin = ChildProcess::Spawn({CARTABLE_BINARY, "admin", "status", "--coordinator",
                                      admin_endpoint_, "--server-key", Key("coordinator", ".pub"),
                                      "--key", Key("alice"), "--timeout", "10"},
                                     log)
                     .value();
    auto code = admin->WaitFor(seconds(30));
    output = testing::Slurp(log);
    return code.value_or(-1);
  }

  // Asks for the status until it shows `nodes` joined nodes (or a minute passes); true if it did.
  bool AdminSeesNodes(size_t nodes) {
    const std::string wanted = std::to_string(nodes) + " node(s) joined";
    std::string output;
    const auto end = std::chrono::steady_clock::now() + seconds(60);
    while (std::chrono::steady_clock::now() < end) {
      if (AdminStatus(output) == 0 && output.find(wanted) != std::string::npos) return true;
      std::this_thread::sleep_for(milliseconds(200));
    }
    ADD_FAILURE() << "cartable admin status never showed " << wanted << "; last answer:\n"
                  << output;
    return false;
  }

  std::string CoordinatorLog() const { return testing::Slurp(coordinator_log_); }

  testing::ScratchDir dir_{"cartable-hostile"};
  std::vector<std::string> schools_;
  std::string endpoint_ = testing::FreeLoopbackEndpoint();
  std::string admin_endpoint_ = testing::FreeLoopbackEndpoint();
  std::filesystem::path coordinator_log_ = dir_.path() / "coordinator.log";
  std::unique_ptr<ChildProcess> coordinator_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;
  std::thread attacker_;
  std::atomic<bool> stop_attacker_{false};
  std::atomic<bool> said_hello_{false};
};

TEST_F(NeverReadingNodeTest, ANodeThatNeverReadsCannotFreezeTheCoordinator) {
  StartCoordinator("5");
  StartAttacker();
  // The coordinator answers the researcher while it answers the attacker's flood, which it cannot
  // deliver.
  ASSERT_TRUE(AdminSeesNodes(1)) << CoordinatorLog();
  EXPECT_TRUE(said_hello_);
  StartSchools();

  auto code = coordinator_->WaitFor(seconds(240));
  ASSERT_TRUE(code.has_value()) << "the coordinator never finished:\n" << CoordinatorLog();
  EXPECT_EQ(*code, 0) << CoordinatorLog();
  const std::string log = CoordinatorLog();
  EXPECT_NE(log.find("round   5/5"), std::string::npos) << log;
  // The attacker was dropped because its queue was full, not waited on.
  EXPECT_NE(log.find("dropping node 'intruder'"), std::string::npos) << log;
  EXPECT_NE(log.find("is not reading"), std::string::npos) << log;
  nlohmann::json run = nlohmann::json::parse(
      testing::Slurp(dir_.path() / "run.safetensors.card.json"), nullptr, false);
  ASSERT_TRUE(run.is_object()) << log;
  ASSERT_EQ(run["metrics"]["rounds"].size(), 5u);
  for (const auto& round : run["metrics"]["rounds"]) EXPECT_EQ(round["nodes"], 3) << round.dump();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto node_code = nodes_[i]->WaitFor(seconds(30));
    ASSERT_TRUE(node_code.has_value());
    EXPECT_EQ(*node_code, 0) << testing::Slurp(dir_.path() / (schools_[i] + ".log"));
  }
}

TEST_F(NeverReadingNodeTest, ACoordinatorFacingANodeThatNeverReadsStillEndsOnSigterm) {
  StartCoordinator("100000");
  StartAttacker();
  ASSERT_TRUE(AdminSeesNodes(1)) << CoordinatorLog();
  StartSchools();
  ASSERT_TRUE(testing::WaitForText(coordinator_log_, "is not reading", seconds(120)))
      << CoordinatorLog();
  std::string status;
  EXPECT_EQ(AdminStatus(status), 0) << status;
  EXPECT_NE(status.find("4 node(s) joined"), std::string::npos) << status;

  coordinator_->Signal(SIGTERM);
  auto code = coordinator_->WaitFor(seconds(30));
  ASSERT_TRUE(code.has_value()) << "SIGTERM did not end the coordinator:\n" << CoordinatorLog();
  EXPECT_EQ(*code, 130) << CoordinatorLog();
}

}  // namespace
}  // namespace cartable
