// The researchers' admin socket, with real processes over CurveZMQ: a researcher in --admin-allow
// gets the run's status and can stop it after the current round; an unknown key, a node's key, or a
// coordinator that is not there end the `cartable admin` command with a clear error, never a hang;
// a researcher's key does not open the nodes' socket.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/subprocess.h"
#include "federation_fixtures.h"
#include "process_helpers.h"
#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

using std::chrono::seconds;

// Keys as an academy would lay them out: everyone's pair in keys/, the nodes' public keys in
// allowed/, the researchers' in researchers/.
void Enrol(const std::filesystem::path& dir, const std::string& name,
           const std::string& allow_dir) {
  auto pair = protocol::GenerateCurveKeyPair().value();
  ASSERT_TRUE(protocol::WriteCurveKeyPair(dir / "keys", name, pair).ok());
  if (allow_dir.empty()) return;
  std::filesystem::create_directories(dir / allow_dir);
  std::filesystem::copy_file(dir / "keys" / (name + ".pub"), dir / allow_dir / (name + ".pub"));
}

class AdminSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Enrol(dir_.path(), "coordinator", "");
    Enrol(dir_.path(), "alice", "researchers");  // a researcher
    Enrol(dir_.path(), "mallory", "");           // on no list
    simulations::CohortConfig cohort;
    cohort.schools = 3;
    cohort.skills = 6;
    cohort.min_pupils = 20;
    cohort.max_pupils = 40;
    for (const auto& s : simulations::GenerateCohort(cohort)) {
      schools_.push_back(s.name);
      ASSERT_TRUE(simulations::WriteLongCsv(s, dir_.path() / (s.name + ".csv")).ok());
      Enrol(dir_.path(), s.name, "allowed");
    }
  }

  std::string Key(const std::string& name, const char* ext = ".key") const {
    return (dir_.path() / "keys" / (name + ext)).string();
  }

  void StartRun(const std::string& rounds) {
    coordinator_ =
        ChildProcess::Spawn({CARTABLE_BINARY,   "coordinator",
                             "--bind",          endpoint_,
                             "--admin-bind",    admin_endpoint_,
                             "--key",           Key("coordinator"),
                             "--allow",         (dir_.path() / "allowed").string(),
                             "--admin-allow",   (dir_.path() / "researchers").string(),
                             "--skills",        "6",
                             "--nodes",         "3",
                             "--rounds",        rounds,
                             "--join-timeout",  "60",
                             "--round-timeout", "60",
                             "--out",           (dir_.path() / "run.safetensors").string()},
                            coordinator_log_)
            .value();
    for (const std::string& name : schools_) nodes_.push_back(StartNode(name, name));
  }

  // A node named `name` with the data of `school` and the key pair `key`.
  std::unique_ptr<ChildProcess> StartNode(const std::string& name, const std::string& key,
                                          const std::string& school = "") {
    const std::string data = school.empty() ? name : school;
    return ChildProcess::Spawn(
               {CARTABLE_BINARY, "node", "--coordinator", endpoint_, "--data",
                "csv:" + (dir_.path() / (data + ".csv")).string(), "--name", name, "--key",
                Key(key), "--coordinator-key", Key("coordinator", ".pub"), "--idle-timeout", "60",
                "--pseudonym-key", (dir_.path() / (name + ".pseudonym")).string()},
               dir_.path() / (name + ".log"))
        .value();
  }

  // Runs `cartable admin ...` to the end; returns its exit code and fills `output` with what it
  // printed.
  int Admin(std::vector<std::string> args, std::string& output, const std::string& endpoint = "") {
    static int count = 0;
    const auto log = dir_.path() / ("admin-" + std::to_string(count++) + ".log");
    std::vector<std::string> argv{CARTABLE_BINARY, "admin"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& extra :
         {std::string("--coordinator"), endpoint.empty() ? admin_endpoint_ : endpoint,
          std::string("--server-key"), Key("coordinator", ".pub")}) {
      argv.push_back(extra);
    }
    auto admin = ChildProcess::Spawn(argv, log).value();
    auto code = admin->WaitFor(seconds(30));
    output = testing::Slurp(log);
    EXPECT_TRUE(code.has_value()) << "cartable admin hung: " << output;
    return code.value_or(-1);
  }

  testing::ScratchDir dir_{"cartable-admin"};
  std::vector<std::string> schools_;
  std::string endpoint_ = testing::FreeLoopbackEndpoint();
  std::string admin_endpoint_ = testing::FreeLoopbackEndpoint();
  std::filesystem::path coordinator_log_ = dir_.path() / "coordinator.log";
  std::unique_ptr<ChildProcess> coordinator_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;
};

TEST_F(AdminSocketTest, AResearcherSeesTheRunAndStopsItAfterTheCurrentRound) {
  StartRun("100000");
  ASSERT_TRUE(testing::WaitForText(coordinator_log_, "round   1/", seconds(60)))
      << testing::Slurp(coordinator_log_);

  std::string out;
  ASSERT_EQ(Admin({"status", "--key", Key("alice")}, out), 0) << out;
  EXPECT_NE(out.find("model pfa"), std::string::npos) << out;
  EXPECT_NE(out.find("3 node(s) joined"), std::string::npos) << out;
  EXPECT_NE(out.find(schools_[0]), std::string::npos) << out;

  ASSERT_EQ(Admin({"status", "--json", "--key", Key("alice"), "--timeout", "10"}, out), 0) << out;
  nlohmann::json status = nlohmann::json::parse(out.substr(out.find('{')), nullptr, false);
  ASSERT_TRUE(status.is_object()) << out;
  EXPECT_EQ(status["model"], "pfa");
  EXPECT_EQ(status["rounds_planned"], 100000);
  EXPECT_GE(status["rounds_completed"].get<int>(), 1);
  EXPECT_EQ(status["nodes"].size(), 3u);
  EXPECT_TRUE(status["last_round"].is_object());

  ASSERT_EQ(Admin({"stop", "--key", Key("alice")}, out), 0) << out;
  EXPECT_NE(out.find("the run stops"), std::string::npos) << out;
  auto code = coordinator_->WaitFor(seconds(60));
  ASSERT_TRUE(code.has_value()) << testing::Slurp(coordinator_log_);
  EXPECT_EQ(*code, 0) << testing::Slurp(coordinator_log_);
  EXPECT_NE(testing::Slurp(coordinator_log_).find("run stopped by admin 'alice'"),
            std::string::npos)
      << testing::Slurp(coordinator_log_);
  // --out: the global model as a model file that `cartable model inspect` reads, its card holding
  // the rounds and who stopped the run.
  const std::string inspected = (dir_.path() / "inspect.log").string();
  auto inspect = ChildProcess::Spawn({CARTABLE_BINARY, "model", "inspect", "--json",
                                      (dir_.path() / "run.safetensors").string()},
                                     inspected)
                     .value();
  ASSERT_EQ(inspect->WaitFor(seconds(60)).value_or(-1), 0) << testing::Slurp(inspected);
  const std::string description = testing::Slurp(inspected);
  nlohmann::json model =
      nlohmann::json::parse(description.substr(description.find('{')), nullptr, false);
  ASSERT_TRUE(model.is_object()) << description;
  EXPECT_EQ(model["metadata"]["cartable.model"], "pfa");
  EXPECT_EQ(model["parameters"], 3 * 6 + 3);
  const nlohmann::json& card = model["card"];
  EXPECT_EQ(card["training"]["setting"], "federated");
  EXPECT_EQ(card["training"]["stopped_by_admin"], "alice");
  EXPECT_GE(card["metrics"]["rounds"].size(), 1u);
  EXPECT_LT(card["metrics"]["rounds"].size(), 100000u);
  EXPECT_EQ(card["training"]["rounds"], card["metrics"]["rounds"].size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto node_code = nodes_[i]->WaitFor(seconds(20));
    ASSERT_TRUE(node_code.has_value());
    EXPECT_EQ(*node_code, 0) << testing::Slurp(dir_.path() / (schools_[i] + ".log"));
  }
}

TEST_F(AdminSocketTest, UnknownAndNodeKeysAreRefusedOnTheAdminSocketAndResearcherKeysOnTheNodes) {
  StartRun("100000");
  ASSERT_TRUE(testing::WaitForText(coordinator_log_, "round   1/", seconds(60)))
      << testing::Slurp(coordinator_log_);
  std::string out;
  EXPECT_NE(Admin({"status", "--key", Key("mallory"), "--timeout", "3"}, out), 0) << out;
  EXPECT_NE(out.find("cartable: error:"), std::string::npos) << out;
  EXPECT_NE(out.find("--admin-allow"), std::string::npos) << out;
  EXPECT_EQ(out.find("rounds:"), std::string::npos) << out;

  EXPECT_NE(Admin({"stop", "--key", Key(schools_[0]), "--timeout", "3"}, out), 0) << out;
  EXPECT_NE(out.find("--admin-allow"), std::string::npos) << out;

  // A researcher's key does not open the nodes' socket.
  auto intruder = StartNode("alice", "alice", schools_[0]);
  auto code = intruder->WaitFor(seconds(30));
  const std::string intruder_log = testing::Slurp(dir_.path() / "alice.log");
  ASSERT_TRUE(code.has_value()) << intruder_log;
  EXPECT_NE(*code, 0);
  EXPECT_NE(intruder_log.find("refused this node's key"), std::string::npos) << intruder_log;

  // The run went on undisturbed, and nothing above stopped it.
  ASSERT_EQ(Admin({"status", "--json", "--key", Key("alice")}, out), 0) << out;
  nlohmann::json status = nlohmann::json::parse(out.substr(out.find('{')), nullptr, false);
  ASSERT_TRUE(status.is_object()) << out;
  EXPECT_TRUE(status["stop_requested_by"].is_null());
  EXPECT_EQ(status["nodes"].size(), 3u);
  EXPECT_FALSE(coordinator_->Poll().has_value());
}

TEST_F(AdminSocketTest, NoCoordinatorMeansAClearErrorWithinTheTimeout) {
  std::string out;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Admin({"status", "--key", Key("alice"), "--timeout", "2"}, out,
                  testing::FreeLoopbackEndpoint()),
            1)
      << out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(20));
  EXPECT_NE(out.find("no answer from"), std::string::npos) << out;
}

TEST_F(AdminSocketTest, AnAdminSocketWithoutItsOwnAllowListIsRefused) {
  auto coordinator =
      ChildProcess::Spawn({CARTABLE_BINARY, "coordinator", "--bind", endpoint_, "--admin-bind",
                           admin_endpoint_, "--key", Key("coordinator"), "--allow",
                           (dir_.path() / "allowed").string(), "--skills", "6", "--nodes", "3"},
                          coordinator_log_)
          .value();
  auto code = coordinator->WaitFor(seconds(20));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(testing::Slurp(coordinator_log_).find("--admin-bind needs --admin-allow"),
            std::string::npos)
      << testing::Slurp(coordinator_log_);
}

}  // namespace
}  // namespace cartable
