// A simulation whose schools are hosted by node pools over ZeroMQ with CURVE: started by the
// simulation itself, or, as on a cluster, started from the outside from OUT/pool.json, two pools on
// loopback; each school has exactly one host and the run accounts for all of them.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/subprocess.h"
#include "process_helpers.h"

namespace cartable {
namespace {

using std::chrono::seconds;

nlohmann::json Report(const std::filesystem::path& out) {
  return nlohmann::json::parse(testing::Slurp(out / "report.json"));
}

void ExpectEverySchoolInEveryRound(const nlohmann::json& report, int schools, int rounds) {
  EXPECT_EQ(report["config"]["mode"], "pools");
  ASSERT_EQ(report["rounds"].size(), static_cast<size_t>(rounds)) << report.dump(2);
  for (const auto& round : report["rounds"]) EXPECT_EQ(round["nodes"], schools);
  EXPECT_EQ(report["participation"]["most_joined"], schools) << report["participation"].dump();
  EXPECT_EQ(report["participation"]["never_joined"], 0) << report["participation"].dump();
}

TEST(SimulatePoolsTest, TwoPoolsStartedByTheSimulationHostEverySchool) {
  testing::ScratchDir dir("cartable-pools");
  const auto out = dir.path() / "out";
  auto run = ChildProcess::Spawn(
                 {CARTABLE_BINARY, "simulate", "--mode", "pools", "--pools", "2", "--schools", "6",
                  "--skills", "8", "--rounds", "2", "--out", out.string()},
                 dir.path() / "simulate.log")
                 .value();
  auto code = run->WaitFor(seconds(300));
  ASSERT_TRUE(code.has_value()) << "simulate did not finish";
  ASSERT_EQ(*code, 0) << testing::Slurp(dir.path() / "simulate.log");
  ExpectEverySchoolInEveryRound(Report(out), 6, 2);
  for (const char* pool : {"pool-0.log", "pool-1.log"}) {
    const std::string log = testing::Slurp(out / "logs" / pool);
    EXPECT_NE(log.find("hosting 3 of 6 schools"), std::string::npos) << log;
    EXPECT_NE(log.find("3 of 3 schools saw their run to its end"), std::string::npos) << log;
  }
}

TEST(SimulatePoolsTest, PoolsStartedElsewhereFromTheManifestJoinAndTheRunEnds) {
  testing::ScratchDir dir("cartable-external-pools");
  const auto out = dir.path() / "out";
  auto run = ChildProcess::Spawn({CARTABLE_BINARY, "simulate", "--mode", "pools", "--pools", "2",
                                  "--external-pools", "--schools", "5", "--skills", "8", "--rounds",
                                  "2", "--out", out.string()},
                                 dir.path() / "simulate.log")
                 .value();
  ASSERT_TRUE(
      testing::WaitForText(dir.path() / "simulate.log", "waiting for 2 pools", seconds(120)))
      << testing::Slurp(dir.path() / "simulate.log");
  ASSERT_TRUE(std::filesystem::exists(out / "pool.json"));

  // A pool that is not one of the two, and a directory without a manifest: refused, naming why.
  for (const auto& [args, said] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--from", out.string(), "--pool", "2", "--pools", "2"}, "numbered 0 to --pools"},
           {{"--from", dir.path().string(), "--pool", "0", "--pools", "2", "--wait-for-manifest",
             "1"},
            "pool.json"},
           {{"--from", out.string(), "--pool", "5", "--pools", "6"}, "hosts none of 5 schools"}}) {
    std::vector<std::string> argv = {CARTABLE_BINARY, "node", "pool"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto bad = ChildProcess::Spawn(argv, dir.path() / "bad.log").value();
    auto bad_code = bad->WaitFor(seconds(30));
    ASSERT_TRUE(bad_code.has_value());
    EXPECT_NE(*bad_code, 0);
    EXPECT_NE(testing::Slurp(dir.path() / "bad.log").find(said), std::string::npos)
        << testing::Slurp(dir.path() / "bad.log");
  }

  std::vector<std::unique_ptr<ChildProcess>> pools;
  for (const char* index : {"0", "1"}) {
    pools.push_back(ChildProcess::Spawn({CARTABLE_BINARY, "node", "pool", "--from", out.string(),
                                         "--pool", index, "--pools", "2"},
                                        dir.path() / (std::string("pool-") + index + ".log"))
                        .value());
  }
  auto code = run->WaitFor(seconds(300));
  ASSERT_TRUE(code.has_value()) << "simulate did not finish";
  ASSERT_EQ(*code, 0) << testing::Slurp(dir.path() / "simulate.log");
  for (size_t p = 0; p < pools.size(); ++p) {
    auto pool_code = pools[p]->WaitFor(seconds(60));
    ASSERT_TRUE(pool_code.has_value());
    const std::string log = testing::Slurp(dir.path() / ("pool-" + std::to_string(p) + ".log"));
    EXPECT_EQ(*pool_code, 0) << log;
    EXPECT_NE(log.find(p == 0 ? "hosting 3 of 5 schools" : "hosting 2 of 5 schools"),
              std::string::npos)
        << log;
  }
  ExpectEverySchoolInEveryRound(Report(out), 5, 2);
}

}  // namespace
}  // namespace cartable
