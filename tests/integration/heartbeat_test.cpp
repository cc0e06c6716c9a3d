// Heartbeats both ways, with real processes: a coordinator frozen with SIGSTOP is taken for gone by
// its nodes after their missed-heartbeat timeout (not their idle timeout), and when SIGCONT wakes
// it the nodes rejoin and the run completes.

#include <gtest/gtest.h>
#include <signal.h>

#include "core/subprocess.h"
#include "federation_fixtures.h"
#include "process_helpers.h"
#include "protocol/zmq_transport.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

using std::chrono::seconds;

TEST(HeartbeatTest, NodesNoticeAFrozenCoordinatorAndRejoinWhenItWakes) {
  testing::ScratchDir dir("cartable-heartbeat");
  const auto files = testing::WriteSmallSchools(dir.path(), 3);
  const std::string endpoint = testing::FreeLoopbackEndpoint();
  const auto coordinator_log = dir.path() / "coordinator.log";
  auto coordinator =
      ChildProcess::Spawn({CARTABLE_BINARY, "coordinator", "--insecure", "--bind", endpoint,
                           "--skills", "6", "--nodes", "3", "--rounds", "400", "--join-timeout",
                           "60", "--round-timeout", "60", "--heartbeat", "1"},
                          coordinator_log)
          .value();
  std::vector<std::unique_ptr<ChildProcess>> nodes;
  std::vector<std::filesystem::path> logs;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "school-0" + std::to_string(i + 1);
    logs.push_back(dir.path() / (name + ".log"));
    nodes.push_back(
        ChildProcess::Spawn({CARTABLE_BINARY, "node", "--insecure", "--coordinator", endpoint,
                             "--data", "csv:" + files[i].string(), "--name", name, "--heartbeat",
                             "1", "--missed-heartbeats", "3", "--idle-timeout", "60",
                             "--pseudonym-key", (dir.path() / (name + ".key")).string()},
                            logs.back())
            .value());
  }
  // 400 rounds of a few milliseconds each: long enough that the run is still going when the freeze
  // comes, even on a loaded machine where this wait notices "round 2" late.
  ASSERT_TRUE(testing::WaitForText(coordinator_log, "round   2/", seconds(60)))
      << testing::Slurp(coordinator_log);

  coordinator->Signal(SIGSTOP);  // alive to the kernel, so TCP stays up, but silent
  const auto frozen_at = std::chrono::steady_clock::now();
  const std::string gone = "no message from the coordinator for 3 s (3 heartbeat intervals of 1 s)";
  for (const auto& log : logs) {
    EXPECT_TRUE(testing::WaitForText(log, gone, seconds(30))) << testing::Slurp(log);
  }
  // Not before: the last message came at most a heartbeat interval before the freeze.
  EXPECT_GE(std::chrono::steady_clock::now() - frozen_at, seconds(2));
  EXPECT_NE(testing::Slurp(logs[0]).find("rejoining"), std::string::npos)
      << testing::Slurp(logs[0]);

  coordinator->Signal(SIGCONT);
  for (const auto& log : logs) {
    EXPECT_TRUE(testing::WaitForText(log, "the coordinator is back after", seconds(30)))
        << testing::Slurp(log);
  }
  auto code = coordinator->WaitFor(seconds(120));
  ASSERT_TRUE(code.has_value()) << testing::Slurp(coordinator_log);
  EXPECT_EQ(*code, 0) << testing::Slurp(coordinator_log);
  EXPECT_NE(testing::Slurp(coordinator_log).find("round 400/400"), std::string::npos)
      << testing::Slurp(coordinator_log);
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto node_code = nodes[i]->WaitFor(seconds(20));
    ASSERT_TRUE(node_code.has_value());
    EXPECT_EQ(*node_code, 0) << testing::Slurp(logs[i]);
  }
}

}  // namespace
}  // namespace cartable
