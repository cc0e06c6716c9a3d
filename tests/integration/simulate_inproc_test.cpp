// `cartable simulate --mode inproc`: every school's node session in one process, with the deployed
// round logic and secure aggregation. The same seed gives the same metrics, bit for bit; the
// metrics match those of real node processes; every answers model of the zoo trains; the report
// accounts for every school; bad choices are refused before anything runs.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/subprocess.h"
#include "process_helpers.h"

namespace cartable {
namespace {

struct Simulated {
  int code = -1;
  std::string output;
  nlohmann::json report;
};

Simulated Simulate(const testing::ScratchDir& dir, const std::string& name,
                   std::vector<std::string> args) {
  const auto out = dir.path() / name;
  args.insert(args.begin(), {CARTABLE_BINARY, "simulate", "--out", out.string()});
  const auto log = dir.path() / (name + ".log");
  auto child = ChildProcess::Spawn(args, log).value();
  auto code = child->WaitFor(std::chrono::seconds(300));
  Simulated s;
  s.code = code.value_or(-1);
  s.output = testing::Slurp(log);
  if (std::filesystem::exists(out / "report.json"))
    s.report = nlohmann::json::parse(testing::Slurp(out / "report.json"));
  return s;
}

TEST(SimulateInProcessTest, TheSameSeedGivesTheSameMetricsBitForBitAndMatchesRealProcesses) {
  testing::ScratchDir dir("cartable-simulate-inproc");
  const std::vector<std::string> scenario = {"--schools", "6", "--rounds", "2", "--seed", "7"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), scenario.begin(), scenario.end());
    return more;
  };
  const Simulated first = Simulate(dir, "first", with({"--mode", "inproc"}));
  const Simulated again = Simulate(dir, "again", with({"--mode", "inproc", "--workers", "1"}));
  const Simulated processes = Simulate(dir, "processes", with({"--mode", "processes"}));
  ASSERT_EQ(first.code, 0) << first.output;
  ASSERT_EQ(again.code, 0) << again.output;
  ASSERT_EQ(processes.code, 0) << processes.output;
  EXPECT_EQ(first.report["config"]["mode"], "inproc");
  EXPECT_EQ(processes.report["config"]["mode"], "processes");
  // Bit for bit, whatever the number of worker threads.
  EXPECT_EQ(first.report["federated"], again.report["federated"]);
  for (size_t r = 0; r < 2; ++r) {
    for (const char* metric : {"auc", "accuracy", "log_loss", "rmse", "train_loss"})
      EXPECT_EQ(first.report["rounds"][r][metric], again.report["rounds"][r][metric]) << metric;
  }
  EXPECT_EQ(first.report["local_only"], again.report["local_only"]);
  // Real processes quantise with their own keys' coins: the same model up to rounding.
  EXPECT_NEAR(first.report["federated"]["auc"].get<double>(),
              processes.report["federated"]["auc"].get<double>(), 1e-5);
  EXPECT_EQ(first.report["centralized"], processes.report["centralized"]);
  EXPECT_EQ(first.report["oracle"], processes.report["oracle"]);
}

TEST(SimulateInProcessTest, EveryAnswersModelTrainsAndTheReportAccountsForEverySchool) {
  testing::ScratchDir dir("cartable-simulate-models");
  for (const auto& [model, options] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"irt1pl", {}},
           {"irt2pl", {}},
           {"dkt", {"--option", "hidden_size=8"}},
           {"sakt", {"--option", "embedding_size=8", "--option", "heads=1"}}}) {
    std::vector<std::string> args = {"--mode",   "inproc", "--schools", "5",
                                     "--rounds", "1",      "--model",   model};
    args.insert(args.end(), options.begin(), options.end());
    const Simulated s = Simulate(dir, model, args);
    ASSERT_EQ(s.code, 0) << model << "\n" << s.output;
    EXPECT_EQ(s.report["config"]["model"], model);
    EXPECT_GT(s.report["federated"]["auc"].get<double>(), 0.55) << model;
    const auto& who = s.report["participation"];
    EXPECT_EQ(who["schools"], 5);
    EXPECT_EQ(who["most_joined"], 5);
    EXPECT_EQ(who["never_joined"], 0);
    EXPECT_EQ(who["asked"], 5);
    EXPECT_EQ(who["answered"], 5);
    EXPECT_EQ(s.report["rounds"][0]["asked"], 5);
    EXPECT_NE(s.output.find("nodes  5 of 5 asked"), std::string::npos) << s.output;
    const std::string csv = testing::Slurp(dir.path() / model / "rounds.csv");
    EXPECT_EQ(csv.rfind("round,connected,asked,nodes,train_loss,auc,auc_bound,", 0), 0u) << csv;
    EXPECT_NE(csv.find("\n1,5,5,5,"), std::string::npos) << csv;
  }
}

TEST(SimulateInProcessTest, ChoicesThatCannotWorkAreRefusedBeforeAnythingRuns) {
  testing::ScratchDir dir("cartable-simulate-refused");
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--model", "logistic"}, "reads pupil records"},
           {{"--model", "no-such-model"}, "no-such-model"},
           {{"--model", "dkt", "--option", "hidden_size"}, "expected KEY=VALUE"},
           {{"--model", "dkt", "--option", "no_such_option=1"}, "no_such_option"},
           {{"--mode", "threads"}, "--mode 'threads'"},
           {{"--mode", "processes", "--schools", "201"}, "--mode inproc"},
           {{"--mode", "inproc", "--insecure"}, "--insecure"},
           {{"--dropout", "0.2", "--dropout-stage", "lunch"}, "known: any, train"},
           {{"--dropout", "0.2", "--dropout-stage", "train"}, "with secure aggregation"},
           {{"--dropout", "0.2", "--mode", "processes"}, "in process only"},
           {{"--stragglers", "0.2", "--mode", "processes"}, "in process only"},
           {{"--stragglers", "1.5"}, "--stragglers"},
           {{"--crashes", "0.2", "--mode", "processes"}, "in process only"},
           {{"--crashes", "0.2", "--restart-after", "nan"}, "--restart-after: not a number"},
           {{"--byzantine", "0.2"}, "--secagg off"},
           {{"--strategy", "median"}, "--secagg off"},
           {{"--strategy", "best"}, "best"},
           {{"--secagg", "off", "--strategy", "trimmed_mean", "--strategy-option", "trim=x"},
            "expected KEY=NUMBER"},
           {{"--secagg", "off", "--byzantine", "0.2", "--attack", "shout"}, "known: sign_flip"},
           {{"--secagg", "off", "--byzantine", "0.04"}, "rounds to none"},
           {{"--stragglers", "0.1", "--straggler-delay", "nan"}, "--straggler-delay: not a number"},
           {{"--dropout", "0.1", "--dropout-stage", "lunch"}, "--dropout-stage"}}) {
    const Simulated s = Simulate(dir, "out", args);
    EXPECT_EQ(s.code, 2) << expected << "\n" << s.output;
    EXPECT_NE(s.output.find(expected), std::string::npos) << s.output;
    EXPECT_TRUE(s.report.is_null()) << "no report for a refused scenario";
  }
}

// A dropout study: schools drop at the masked-input stage, after their key shares went out, so
// secure aggregation must rebuild their masks from their neighbours' shares (and an attempt that
// lost more than its threshold allows is retried). Every dropout made is in the report, and each is
// in its round's record as a school dropped for lateness.
TEST(SimulateInProcessTest, SchoolsThatDropMidRoundAreRecordedWhereAndTheRunGoesOn) {
  testing::ScratchDir dir("cartable-simulate-dropout");
  const Simulated s = Simulate(dir, "dropout",
                               {"--schools", "10", "--rounds", "3", "--dropout", "0.2",
                                "--dropout-stage", "masked", "--round-timeout", "3"});
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_EQ(s.report["config"]["mode"], "inproc") << "auto picks in process for --dropout";
  const nlohmann::json& dropout = s.report["faults"]["dropout"];
  ASSERT_TRUE(dropout.is_object()) << s.report.dump(2);
  EXPECT_EQ(dropout["rate"], 0.2);
  EXPECT_EQ(dropout["stage"], "masked");
  ASSERT_GE(dropout["injected"].size(), 1u) << "30 draws at 0.2";
  size_t late = 0;
  for (const auto& round : s.report["rounds"]) {
    late += round["dropped_by_reason"].value("late", 0);
    EXPECT_LT(round["nodes"].get<size_t>(), round["asked"].get<size_t>() + 1) << round;
  }
  for (const auto& d : dropout["injected"]) {
    EXPECT_EQ(d["stage"], "masked");
    const size_t r = d["round"].get<size_t>();
    ASSERT_TRUE(r >= 1 && r <= s.report["rounds"].size()) << d;
    EXPECT_GE(d["attempt"].get<size_t>(), r) << d;
    const auto& round = s.report["rounds"][r - 1];
    const auto& dropped = round["dropped"];
    EXPECT_NE(std::find(dropped.begin(), dropped.end(), d["school"]), dropped.end()) << d << "\n"
                                                                                     << round;
  }
  EXPECT_EQ(late, dropout["injected"].size()) << s.report["rounds"].dump(2);
  EXPECT_EQ(dropout["by_stage"]["masked"], dropout["injected"].size());
  EXPECT_NE(s.output.find("dropouts injected (rate 0.2, stage masked)"), std::string::npos)
      << s.output;
  // The federated model still learnt.
  EXPECT_GT(s.report["federated"]["auc"].get<double>(), 0.6) << s.report["federated"];
}

// A crash study: a school that crashes loses its round (its secrets die with it) and, once
// restarted, takes part again from a later round, as a node agent that restarts does. Every crash
// made is in the report.
TEST(SimulateInProcessTest, SchoolsThatCrashComeBackAfterRestartingAndTakePartAgain) {
  testing::ScratchDir dir("cartable-simulate-crashes");
  const Simulated s = Simulate(dir, "crashes",
                               {"--schools", "8", "--rounds", "4", "--crashes", "0.25",
                                "--restart-after", "0.5", "--round-timeout", "3"});
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_EQ(s.report["config"]["mode"], "inproc") << "auto picks in process for --crashes";
  EXPECT_EQ(s.report["outcome"]["rounds_completed"], 4);
  const nlohmann::json& crashes = s.report["faults"]["crashes"];
  ASSERT_TRUE(crashes.is_object()) << s.report.dump(2);
  EXPECT_EQ(crashes["rate"], 0.25);
  EXPECT_EQ(crashes["mean_downtime_s"], 0.5);
  ASSERT_GE(crashes["injected"].size(), 2u) << "32 draws at 0.25";
  const nlohmann::json& rounds = s.report["rounds"];
  // The rounds after `round` in which `school` was asked and answered.
  const auto answered_after = [&](const std::string& school, size_t round) {
    int n = 0;
    for (size_t r = round; r < rounds.size(); ++r) {
      const auto& dropped = rounds[r]["dropped"];
      if (rounds[r]["asked"] == 8 &&
          std::find(dropped.begin(), dropped.end(), school) == dropped.end())
        ++n;
    }
    return n;
  };
  int came_back = 0;
  for (const auto& c : crashes["injected"]) {
    const size_t r = c["round"].get<size_t>();
    ASSERT_TRUE(r >= 1 && r <= 4) << c;
    EXPECT_GT(c["downtime_s"].get<double>(), 0) << c;
    if (r < 4) {
      EXPECT_GE(answered_after(c["school"], r), 1) << c << "\n" << rounds.dump(2);
      ++came_back;
    }
  }
  EXPECT_GE(came_back, 1) << crashes.dump(2);
  EXPECT_NE(s.output.find("crashes injected (rate 0.25, mean downtime 0.5 s)"), std::string::npos)
      << s.output;
  EXPECT_NE(testing::Slurp(dir.path() / "crashes" / "report.html").find("Crashes injected"),
            std::string::npos);
}

// Half the schools dropping after sharing their keys is more than the threshold survives: round 1
// fails in each of its three attempts and the run with it. The report still says what happened.
TEST(SimulateInProcessTest, ARunThatFailsStillReportsItsRoundsAndWhoDropped) {
  testing::ScratchDir dir("cartable-simulate-failed");
  const Simulated s = Simulate(dir, "failed",
                               {"--schools", "20", "--rounds", "2", "--dropout", "0.5",
                                "--dropout-stage", "masked", "--round-timeout", "2"});
  EXPECT_EQ(s.code, 1) << s.output;
  EXPECT_NE(s.output.find("the rounds up to then are in"), std::string::npos) << s.output;
  ASSERT_TRUE(s.report.is_object()) << s.output;
  EXPECT_EQ(s.report["outcome"]["state"], "failed");
  EXPECT_NE(s.report["outcome"]["reason"].get<std::string>().find("survivor"), std::string::npos)
      << s.report["outcome"];
  EXPECT_EQ(s.report["outcome"]["rounds_completed"], 0);
  EXPECT_TRUE(s.report["federated"].is_null());
  // Every school joined, though no round completed.
  EXPECT_EQ(s.report["participation"]["most_joined"], 20) << s.report["participation"];
  EXPECT_EQ(s.report["participation"]["never_joined"], 0) << s.report["participation"];
  const auto& injected = s.report["faults"]["dropout"]["injected"];
  ASSERT_GE(injected.size(), 15u) << s.report["faults"];
  std::set<int> attempts;
  for (const auto& d : injected) {
    EXPECT_EQ(d["round"], 1) << d;
    attempts.insert(d["attempt"].get<int>());
  }
  EXPECT_EQ(attempts.size(), 3u) << "three attempts, each with its own draws";
  EXPECT_NE(testing::Slurp(dir.path() / "failed" / "report.html").find("The run failed"),
            std::string::npos);
}

// Slow schools: delays far below the stage deadline cost nothing; far above it, the school misses
// the stage and is dropped from that round as late, and only stragglers are.
TEST(SimulateInProcessTest, StragglersAreLateOnlyWhenTheirDelayPassesTheDeadline) {
  testing::ScratchDir dir("cartable-simulate-stragglers");
  const Simulated quick = Simulate(dir, "quick",
                                   {"--schools", "10", "--rounds", "3", "--stragglers", "1",
                                    "--straggler-delay", "0.05", "--round-timeout", "5"});
  ASSERT_EQ(quick.code, 0) << quick.output;
  EXPECT_EQ(quick.report["faults"]["stragglers"]["injected"].size(), 30u);
  EXPECT_EQ(quick.report["participation"]["answered"], 30) << quick.report["participation"];

  const Simulated slow = Simulate(dir, "slow",
                                  {"--schools", "10", "--rounds", "3", "--stragglers", "0.3",
                                   "--straggler-delay", "100", "--round-timeout", "2"});
  ASSERT_EQ(slow.code, 0) << slow.output;
  const auto& injected = slow.report["faults"]["stragglers"]["injected"];
  ASSERT_GE(injected.size(), 1u);
  std::map<int, std::set<std::string>> stragglers;  // round → schools
  for (const auto& d : injected) {
    const auto& round = slow.report["rounds"][d["round"].get<size_t>() - 1];
    stragglers[d["round"].get<int>()].insert(d["school"].get<std::string>());
    if (d["delay_s"].get<double>() > 3) {
      const auto& dropped = round["dropped"];
      EXPECT_NE(std::find(dropped.begin(), dropped.end(), d["school"]), dropped.end()) << d << "\n"
                                                                                       << round;
    }
  }
  for (const auto& round : slow.report["rounds"]) {
    for (const auto& school : round["dropped"])
      EXPECT_TRUE(stragglers[round["round"].get<int>()].contains(school.get<std::string>()))
          << school << " dropped without being slow\n"
          << round;
  }
  EXPECT_NE(slow.output.find("stragglers injected (rate 0.3, mean delay 100 s)"), std::string::npos)
      << slow.output;
}

// Three of ten schools add large noise to their updates (within the bounds the coordinator
// checks): the mean follows them, the coordinate-wise median does not.
TEST(SimulateInProcessTest, ByzantineSchoolsSinkTheMeanButNotTheMedian) {
  testing::ScratchDir dir("cartable-simulate-byzantine");
  const std::vector<std::string> attack = {"--schools", "10",      "--rounds",    "5",
                                           "--secagg",  "off",     "--byzantine", "0.3",
                                           "--attack",  "noise:10"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), attack.begin(), attack.end());
    return more;
  };
  const Simulated mean = Simulate(dir, "mean", with({"--strategy", "fedavg"}));
  const Simulated median = Simulate(dir, "median", with({"--strategy", "median"}));
  ASSERT_EQ(mean.code, 0) << mean.output;
  ASSERT_EQ(median.code, 0) << median.output;
  const auto& byzantine = median.report["faults"]["byzantine"];
  EXPECT_EQ(byzantine["schools"].size(), 3u) << byzantine;
  EXPECT_EQ(byzantine["tampered_updates"], 15) << "3 schools, 5 rounds";
  EXPECT_EQ(byzantine["attack"], "noise:10");
  EXPECT_EQ(median.report["config"]["strategy"], "median");
  const double centralized = median.report["centralized"]["auc"].get<double>();
  const double with_median = median.report["federated"]["auc"].get<double>();
  const double with_mean = mean.report["federated"]["auc"].get<double>();
  EXPECT_GT(with_median, centralized - 0.02) << "the median resists";
  EXPECT_LT(with_mean, with_median - 0.05) << "the mean follows the noise";
  EXPECT_NE(median.output.find("Byzantine schools (noise:10): 3, 15 updates tampered with"),
            std::string::npos)
      << median.output;
}

TEST(SimulateInProcessTest, AnInterruptStopsTheRunAndWritesNoReport) {
  testing::ScratchDir dir("cartable-simulate-inproc-stop");
  const auto out = dir.path() / "out";
  const auto log = dir.path() / "simulate.log";
  auto run = ChildProcess::Spawn({CARTABLE_BINARY, "simulate", "--mode", "inproc", "--schools",
                                  "30", "--rounds", "100000", "--out", out.string()},
                                 log)
                 .value();
  ASSERT_TRUE(testing::WaitForText(log, "round   2/", std::chrono::seconds(120)))
      << testing::Slurp(log);
  run->Signal(SIGINT);
  auto code = run->WaitFor(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "simulate did not stop after SIGINT";
  EXPECT_EQ(*code, 130) << testing::Slurp(log);
  EXPECT_FALSE(std::filesystem::exists(out / "report.json"));
}

}  // namespace
}  // namespace cartable

namespace cartable {
namespace {

// This file is tests/integration/ of the source tree.
const std::filesystem::path kOuladSubset =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "data" / "oulad";

// The repository's OULAD subset split into one virtual school per region: every region a school,
// and federated training lands near the pooled baseline.
TEST(SimulateRealDataTest, OuladByRegionFederatedLandsNearThePooledBaseline) {
  testing::ScratchDir dir("cartable-simulate-oulad");
  const Simulated s =
      Simulate(dir, "oulad",
               {"--data", "oulad:" + kOuladSubset.string(), "--partition", "by:region", "--model",
                "logistic", "--fairness", "gender,age_band,disability,imd_band"});
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_EQ(s.report["config"]["mode"], "inproc");
  EXPECT_EQ(s.report["config"]["data"]["partition"], "by:region");
  EXPECT_TRUE(s.report["oracle"].is_null());
  const auto& schools = s.report["local_only"]["per_school"];
  ASSERT_GE(schools.size(), 10u);
  for (const auto& school : schools)
    EXPECT_EQ(school["school"].get<std::string>().rfind("region-", 0), 0u) << school;
  EXPECT_LT(std::abs(s.report["federated"]["auc"].get<double>() -
                     s.report["centralized"]["auc"].get<double>()),
            0.02)
      << s.report.dump(2);
  EXPECT_EQ(s.report["participation"]["never_joined"], 0);

  // The last round's fairness table, from securely summed statistics by subgroup: every value of
  // the four attributes a row, small subgroups without any figure.
  const nlohmann::json& fairness = s.report["fairness"];
  ASSERT_TRUE(fairness.is_object()) << s.report.dump(2);
  EXPECT_EQ(fairness["min_group_pupils"], 10);
  std::map<std::string, int> shown, hidden;
  for (const auto& row : fairness["rows"]) {
    const std::string attribute = row["attribute"];
    if (row["suppressed"].get<bool>()) {
      hidden[attribute] += 1;
      EXPECT_FALSE(row.contains("pupils") || row.contains("auc")) << row;
      continue;
    }
    shown[attribute] += 1;
    EXPECT_GE(row["pupils"].get<uint64_t>(), 10u) << row;
    EXPECT_LE(row["pupils"].get<uint64_t>(), row["answers"].get<uint64_t>()) << row;
  }
  for (const char* attribute : {"gender", "disability", "imd_band"}) {
    EXPECT_GE(shown[attribute], 2) << attribute << "\n" << fairness.dump(2);
  }
  // Few held-out pupils of the subset are 55 or over: that band is suppressed, and so is 35-55,
  // which would otherwise give it away as all minus the other two.
  EXPECT_EQ(shown["age_band"], 1) << fairness.dump(2);
  EXPECT_EQ(hidden["age_band"], 2) << fairness.dump(2);
  ASSERT_EQ(fairness["gaps"].size(), 4u);
  EXPECT_TRUE(fairness["gaps"][0]["equal_opportunity"].is_number()) << fairness["gaps"][0];
  EXPECT_NE(s.output.find("fairness (last round"), std::string::npos) << s.output;
  const std::string csv = testing::Slurp(dir.path() / "oulad" / "fairness.csv");
  EXPECT_EQ(csv.rfind("attribute,value,suppressed,pupils,answers,auc,", 0), 0u) << csv;
  EXPECT_NE(csv.find("age_band,55<=,1,,,,,,,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("gender,(gap),0,,,,,,"), std::string::npos) << csv;
  // Only the last round is evaluated by subgroup.
  for (size_t r = 0; r + 1 < s.report["rounds"].size(); ++r)
    EXPECT_FALSE(s.report["rounds"][r].contains("fairness"));
}

// A knowledge-tracing answer log with a school column, split by it and IID.
// Pupil records (OULAD) in node pools: each school's share goes to a records file of its own, which
// its node reads and splits itself, and the nodes evaluate on exactly the baselines' pupils.
TEST(SimulateRealDataTest, OuladRecordsRunInNodePoolsEachOnItsOwnShare) {
  testing::ScratchDir dir("cartable-simulate-oulad-pools");
  const Simulated s =
      Simulate(dir, "pools",
               {"--data", "oulad:" + kOuladSubset.string(), "--partition", "by:region", "--model",
                "logistic", "--mode", "pools", "--pools", "2", "--rounds", "2"});
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_EQ(s.report["config"]["mode"], "pools");
  ASSERT_GE(s.report["local_only"]["per_school"].size(), 10u);
  EXPECT_EQ(s.report["rounds"][1]["evaluated_answers"], s.report["centralized"]["answers"])
      << s.report.dump(2);
  const std::string share = testing::Slurp(dir.path() / "pools" / "data" / "region-Wales.csv");
  EXPECT_EQ(share.rfind("pupil_id,outcome,gender_male,", 0), 0u) << share.substr(0, 200);
  EXPECT_LT(std::abs(s.report["federated"]["auc"].get<double>() -
                     s.report["centralized"]["auc"].get<double>()),
            0.05)
      << s.report.dump(2);
}

TEST(SimulateRealDataTest, AnAnswerLogSplitsBySchoolColumnOrIidAndPupilsNeverStraddle) {
  testing::ScratchDir dir("cartable-simulate-csv");
  std::string csv = "pupil_id,skill_id,correct,school\n";
  for (int p = 0; p < 60; ++p) {
    for (int a = 0; a < 12; ++a) {
      csv += "p" + std::to_string(p) + "," + std::to_string(a % 4) + "," +
             std::to_string((p + a) % 3 != 0) + "," +
             (p % 3 == 0   ? "north"
              : p % 3 == 1 ? "south"
                           : "west") +
             "\n";
    }
  }
  const auto file = dir.path() / "answers.csv";
  std::ofstream(file) << csv;
  const Simulated by = Simulate(dir, "by",
                                {"--data", "csv:" + file.string(), "--partition", "by:school",
                                 "--rounds", "2", "--model", "irt1pl"});
  ASSERT_EQ(by.code, 0) << by.output;
  ASSERT_EQ(by.report["local_only"]["per_school"].size(), 3u);
  EXPECT_EQ(by.report["local_only"]["per_school"][0]["school"], "school-north");
  const Simulated iid = Simulate(
      dir, "iid",
      {"--data", "csv:" + file.string(), "--partition", "iid", "--schools", "5", "--rounds", "2"});
  ASSERT_EQ(iid.code, 0) << iid.output;
  EXPECT_EQ(iid.report["participation"]["schools"], 5);
  // In node processes, each school reads its share from a file of its own and splits it itself:
  // what the nodes evaluate on is what the baselines are scored on.
  const Simulated processes = Simulate(dir, "processes",
                                       {"--data", "csv:" + file.string(), "--partition",
                                        "by:school", "--rounds", "2", "--mode", "processes"});
  ASSERT_EQ(processes.code, 0) << processes.output;
  EXPECT_EQ(processes.report["config"]["mode"], "processes");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "processes" / "data" / "school-north.csv"));
  EXPECT_EQ(processes.report["rounds"][1]["evaluated_answers"],
            processes.report["centralized"]["answers"])
      << processes.report.dump(2);
  // Every pupil is in exactly one school: the held-out answers add up to the pooled ones.
  uint64_t held_out = 0;
  for (const auto& school : iid.report["local_only"]["per_school"])
    held_out += school["answers"].get<uint64_t>();
  EXPECT_EQ(held_out, iid.report["centralized"]["answers"].get<uint64_t>());
  int cases = 0;
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--partition", "by:region"}, "known: group, school"},
           {{"--partition", "dirichlet"}, "expected iid"},
           {{"--schools", "40"}, "fewer --schools"},
           {{"--model", "logistic"}, "no pupil records"},
           {{"--mode", "processes", "--test", "csv:" + file.string()}, "--mode inproc"},
           {{"--mode", "processes", "--fairness", "group"}, "--mode inproc"},
           {{"--partition", "iid", "--schools", "2"}, "too small for secure aggregation"},
           {{"--partition", "iid", "--fairness", "favourite"}, "known: group, school"}}) {
    std::vector<std::string> argv = {"--data", "csv:" + file.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const Simulated refused = Simulate(dir, "refused-" + std::to_string(++cases), argv);
    EXPECT_NE(refused.code, 0) << expected;
    EXPECT_NE(refused.output.find(expected), std::string::npos) << expected << "\n"
                                                                << refused.output;
  }
}

// Held-out pupils from a file of their own (--test) land in the schools of the training file's
// partition: each is tested where a pupil of its value of the column trains, a pupil in both files
// stays in one school, one whose value no school has is left out, and the schools train on all
// their pupils of --data.
TEST(SimulateRealDataTest, HeldOutPupilsFromTheirOwnFileAreTestedInTheSchoolOfTheirValue) {
  testing::ScratchDir dir("cartable-simulate-test-file");
  const auto answers = [](int from, int to, const std::vector<std::string>& schools) {
    std::string csv = "pupil_id,skill_id,correct,school\n";
    for (int p = from; p < to; ++p) {
      for (int a = 0; a < 10; ++a) {
        csv += "p" + std::to_string(p) + "," + std::to_string(a % 4) + "," +
               std::to_string((p + a) % 3 != 0) + "," + schools[p % schools.size()] + "\n";
      }
    }
    return csv;
  };
  const auto train = dir.path() / "train.csv";
  const auto test = dir.path() / "test.csv";
  std::ofstream(train) << answers(0, 60, {"north", "south", "west"});
  // 30 new pupils, 5 of them in a school the training file does not have, and p0 (north) again.
  std::ofstream(test)
      << answers(100, 130, {"north", "south", "west", "north", "south", "east"})
      << answers(0, 1, {"north"}).substr(std::string("pupil_id,skill_id,correct,school\n").size());
  const Simulated s = Simulate(dir, "held-out",
                               {"--data", "csv:" + train.string(), "--test", "csv:" + test.string(),
                                "--partition", "by:school", "--rounds", "2", "--model", "irt1pl"});
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_EQ(s.report["config"]["data"]["test"], "csv:" + test.string());
  EXPECT_TRUE(s.report["config"]["test_fraction"].is_null());
  EXPECT_NE(s.output.find("5 of the 31 held-out pupils left out"), std::string::npos) << s.output;
  std::map<std::string, uint64_t> held_out;
  for (const auto& school : s.report["local_only"]["per_school"])
    held_out[school["school"]] = school["answers"].get<uint64_t>();
  EXPECT_EQ(held_out, (std::map<std::string, uint64_t>{
                          {"school-north", 110}, {"school-south", 100}, {"school-west", 50}}));
  EXPECT_EQ(s.report["centralized"]["answers"], 260);

  int cases = 0;
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--test", "csv:" + test.string()}, "give it with --data"},
           {{"--data", "xapi:" + test.string(), "--test", "xapi:" + test.string()},
            "xapi numbers skills"},
           {{"--data", "oulad:" + kOuladSubset.string(), "--model", "logistic", "--mode",
             "processes", "--test", "oulad:" + kOuladSubset.string()},
            "--mode inproc"},
           {{"--data", "csv:" + train.string(), "--test", "oulad:" + kOuladSubset.string(),
             "--partition", "iid", "--schools", "3"},
            "different kinds of data"},
           {{"--data", "csv:" + train.string(), "--test",
             "csv:" + (dir.path() / "none.csv").string()},
            "none.csv"}}) {
    const Simulated refused = Simulate(dir, "refused-" + std::to_string(++cases), args);
    EXPECT_NE(refused.code, 0) << expected;
    EXPECT_NE(refused.output.find(expected), std::string::npos) << expected << "\n"
                                                                << refused.output;
  }
}

}  // namespace
}  // namespace cartable
