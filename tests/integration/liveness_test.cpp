// Real processes failing the way school networks fail: a node killed and restarted mid-run rejoins
// without restarting the coordinator; a coordinator killed and restarted is found again by its
// nodes.

#include <gtest/gtest.h>
#include <signal.h>

#include "coordinator/coordinator_service.h"
#include "core/subprocess.h"
#include "federation_fixtures.h"
#include "process_helpers.h"
#include "protocol/zmq_transport.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

std::unique_ptr<ChildProcess> StartNode(const std::filesystem::path& dir,
                                        const std::string& endpoint,
                                        const std::filesystem::path& csv, const std::string& name) {
  return ChildProcess::Spawn({CARTABLE_BINARY, "node", "--insecure", "--coordinator", endpoint,
                              "--data", "csv:" + csv.string(), "--name", name, "--idle-timeout",
                              "60", "--pseudonym-key", (dir / (name + ".key")).string()},
                             dir / (name + ".log"))
      .value();
}

TEST(LivenessTest, RestartedNodeRejoinsWithoutRestartingTheCoordinator) {
  testing::ScratchDir dir("cartable-rejoin");
  const auto files = testing::WriteSmallSchools(dir.path(), 3);
  coordinator::RunConfig run;
  run.rounds = 8;
  run.expected_nodes = 3;
  run.min_nodes = 2;
  run.model.num_skills = 6;
  run.round_timeout = std::chrono::seconds(3);
  auto loop = coordinator::RoundLoop::Create(run, SystemClock::Get()).value();
  auto transport = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  std::vector<std::unique_ptr<ChildProcess>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(
        StartNode(dir.path(), transport->endpoint(), files[i], "school-0" + std::to_string(i + 1)));
  }
  loop->set_round_listener([&](const coordinator::RoundRecord& r) {
    if (r.round != 2) return;
    nodes[0]->Signal(SIGKILL);  // a crash: no goodbye
    nodes[0]->WaitFor(std::chrono::seconds(10));
    nodes[0] = StartNode(dir.path(), transport->endpoint(), files[0], "school-01");
  });
  Status outcome = coordinator::ServeRun(*loop, *transport);
  ASSERT_TRUE(outcome.ok()) << outcome;
  const auto& records = loop->records();
  ASSERT_EQ(records.size(), 8u);
  bool dropped_once = false;
  for (const auto& r : records) {
    for (const auto& name : r.dropped) dropped_once = dropped_once || name == "school-01";
  }
  EXPECT_TRUE(dropped_once) << "the killed node should have missed a deadline";
  EXPECT_EQ(records.back().nodes, 3u) << "the restarted node should be back in the last round";
  for (auto& node : nodes) {
    auto code = node->WaitFor(std::chrono::seconds(20));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0);
  }
}

// The coordinator is killed in round 2 and started again with `second_run_id`.
void RestartTheCoordinatorMidRun(const std::string& second_run_id) {
  testing::ScratchDir dir("cartable-coordinator-restart");
  const auto files = testing::WriteSmallSchools(dir.path(), 3);
  const std::string endpoint = testing::FreeLoopbackEndpoint();
  auto coordinator_command = [&](const std::string& rounds, const std::string& run_id) {
    return std::vector<std::string>{CARTABLE_BINARY,
                                    "coordinator",
                                    "--insecure",
                                    "--bind",
                                    endpoint,
                                    "--skills",
                                    "6",
                                    "--nodes",
                                    "3",
                                    "--rounds",
                                    rounds,
                                    "--run-id",
                                    run_id,
                                    "--join-timeout",
                                    "60",
                                    "--round-timeout",
                                    "30"};
  };
  const auto first_log = dir.path() / "coordinator-1.log";
  auto first = ChildProcess::Spawn(coordinator_command("100000", "1"), first_log).value();
  std::vector<std::unique_ptr<ChildProcess>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(StartNode(dir.path(), endpoint, files[i], "school-0" + std::to_string(i + 1)));
  }
  ASSERT_TRUE(testing::WaitForText(first_log, "round   2/", std::chrono::seconds(60)))
      << testing::Slurp(first_log);
  first->Signal(SIGKILL);
  first->WaitFor(std::chrono::seconds(10));

  const auto second_log = dir.path() / "coordinator-2.log";
  auto second = ChildProcess::Spawn(coordinator_command("3", second_run_id), second_log).value();
  auto code = second->WaitFor(std::chrono::seconds(120));
  ASSERT_TRUE(code.has_value()) << testing::Slurp(second_log);
  EXPECT_EQ(*code, 0) << testing::Slurp(second_log);
  EXPECT_NE(testing::Slurp(second_log).find("round   3/3  nodes  3"), std::string::npos)
      << testing::Slurp(second_log);
  for (auto& node : nodes) {
    auto node_code = node->WaitFor(std::chrono::seconds(20));
    ASSERT_TRUE(node_code.has_value());
    EXPECT_EQ(*node_code, 0) << testing::Slurp(dir.path() / "school-01.log");
  }
}

TEST(LivenessTest, NodesFindARestartedCoordinator) { RestartTheCoordinatorMidRun("2"); }

// Regression: restarted with the same run id, the coordinator starts again at round 1, which the
// nodes took for repeats of rounds they had answered; the run failed with "only 0 member(s)
// advertised keys".
TEST(LivenessTest, NodesFollowACoordinatorRestartedWithTheSameRunId) {
  RestartTheCoordinatorMidRun("1");
}

}  // namespace
}  // namespace cartable
