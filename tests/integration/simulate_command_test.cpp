// `cartable simulate` as a user runs it: the default scenario meets its quality targets, and an
// interrupt stops every node process and leaves no report behind.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/files.h"
#include "core/subprocess.h"
#include "process_helpers.h"

namespace cartable {
namespace {

// The OULAD subset the project ships (data/oulad).
const std::string kOuladSubset =
    (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "data" / "oulad")
        .string();

TEST(SimulateCommandTest, DefaultScenarioFederatedMatchesPooledAndBeatsSchoolsAlone) {
  testing::ScratchDir dir("cartable-simulate");
  const auto out = dir.path() / "out";
  auto run = ChildProcess::Spawn({CARTABLE_BINARY, "simulate", "--out", out.string()},
                                 dir.path() / "simulate.log")
                 .value();
  auto code = run->WaitFor(std::chrono::seconds(400));
  ASSERT_TRUE(code.has_value()) << "simulate did not finish";
  const std::string output = testing::Slurp(dir.path() / "simulate.log");
  ASSERT_EQ(*code, 0) << output;
  EXPECT_NE(output.find("round  10/10  nodes  8"), std::string::npos) << output;

  const auto report = nlohmann::json::parse(testing::Slurp(out / "report.json"));
  const double federated = report["federated"]["auc"];
  const double centralized = report["centralized"]["auc"];
  const double local_only = report["local_only"]["auc"];
  EXPECT_LT(std::abs(federated - centralized), 0.02) << report.dump(2);
  EXPECT_GT(federated, local_only) << report.dump(2);
  EXPECT_LE(federated, double(report["oracle"]["auc"]));
  ASSERT_EQ(report["rounds"].size(), 10u);
  for (const auto& round : report["rounds"]) EXPECT_EQ(round["nodes"], 8);
  EXPECT_EQ(report["config"]["schools"], 8);
  EXPECT_EQ(report["local_only"]["per_school"].size(), 8u);
  for (int s = 1; s <= 8; ++s) {
    EXPECT_TRUE(std::filesystem::exists(out / "logs" / ("school-0" + std::to_string(s) + ".log")));
  }
}

// Pupil ids are pseudonymised as the nodes read them: no raw id may appear in anything a run writes
// (the schools' input files excepted: they are the schools' own data).
TEST(SimulateCommandTest, NoRawPupilIdInAnyOutput) {
  testing::ScratchDir dir("cartable-no-raw-ids");
  const auto out = dir.path() / "out";
  auto run = ChildProcess::Spawn({CARTABLE_BINARY, "simulate", "--schools", "3", "--rounds", "2",
                                  "--log-level", "debug", "--out", out.string()},
                                 dir.path() / "simulate.log")
                 .value();
  auto code = run->WaitFor(std::chrono::seconds(300));
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(*code, 0) << testing::Slurp(dir.path() / "simulate.log");
  // Every raw id, read back from the inputs.
  std::vector<std::string> raw_ids;
  for (const auto& entry : std::filesystem::directory_iterator(out / "data")) {
    std::istringstream lines(testing::Slurp(entry.path()));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) raw_ids.push_back(line.substr(0, line.find(',')));
  }
  ASSERT_GT(raw_ids.size(), 100u);
  std::sort(raw_ids.begin(), raw_ids.end());
  raw_ids.erase(std::unique(raw_ids.begin(), raw_ids.end()), raw_ids.end());
  std::vector<std::filesystem::path> outputs = {dir.path() / "simulate.log"};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(out)) {
    if (entry.is_regular_file() && entry.path().parent_path() != out / "data")
      outputs.push_back(entry.path());
  }
  ASSERT_GT(outputs.size(), 5u);
  for (const auto& path : outputs) {
    const std::string contents = testing::Slurp(path);
    for (const std::string& id : raw_ids) {
      ASSERT_EQ(contents.find(id), std::string::npos) << "raw pupil id " << id << " in " << path;
    }
  }
}

TEST(SimulateCommandTest, InterruptStopsEveryNodeAndWritesNoReport) {
  testing::ScratchDir dir("cartable-interrupt");
  const auto out = dir.path() / "out";
  const auto log = dir.path() / "simulate.log";
  auto run = ChildProcess::Spawn({CARTABLE_BINARY, "simulate", "--schools", "4", "--rounds",
                                  "100000", "--out", out.string()},
                                 log)
                 .value();
  ASSERT_TRUE(testing::WaitForText(log, "round   2/", std::chrono::seconds(120)))
      << testing::Slurp(log);
  const std::vector<pid_t> nodes = testing::ChildrenOf(run->pid());
  EXPECT_EQ(nodes.size(), 4u);
  run->Signal(SIGINT);
  auto code = run->WaitFor(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "simulate did not stop after SIGINT";
  EXPECT_EQ(*code, 130) << testing::Slurp(log);
  EXPECT_FALSE(std::filesystem::exists(out / "report.json"));
  for (pid_t pid : nodes)
    EXPECT_FALSE(testing::ProcessExists(pid)) << "node " << pid << " outlived simulate";
  EXPECT_NE(testing::Slurp(log).find("interrupted"), std::string::npos);
}

TEST(SimulateCommandTest, BadOptionsExitWithCodeTwoAndAMessage) {
  testing::ScratchDir dir("cartable-badopts");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"simulate", "--schools", "zero"},
        std::vector<std::string>{"simulate", "--rounds", "0"},
        std::vector<std::string>{"simulate", "--neighbours", "3"},
        std::vector<std::string>{"simulate", "--secagg", "maybe"},
        std::vector<std::string>{"coordinator", "--neighbours", "all"},
        std::vector<std::string>{"simulate", "--data", "oulad:" + kOuladSubset, "--partition",
                                 "by:region", "--schools", "5"},
        std::vector<std::string>{"simulate", "--fairness", "gender"},  // a synthetic cohort
        std::vector<std::string>{"simulate", "--pools", "3"},          // without --mode pools
        std::vector<std::string>{"simulate", "--mode", "pools", "--pools", "9", "--schools", "4"},
        std::vector<std::string>{"simulate", "--data", "oulad:" + kOuladSubset, "--fairness",
                                 "gender", "--min-group-pupils", "0"},
        std::vector<std::string>{"no-such-command"}, std::vector<std::string>{"node"}}) {
    args.insert(args.begin(), CARTABLE_BINARY);
    const auto log = dir.path() / "cli.log";
    std::filesystem::remove(log);
    auto child = ChildProcess::Spawn(args, log).value();
    auto code = child->WaitFor(std::chrono::seconds(30));
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 2) << args[1] << " " << (args.size() > 2 ? args[2] : "");
    EXPECT_FALSE(testing::Slurp(log).empty()) << "no message for " << args[1];
  }
}

// A scenario file describes the federation (kinds of establishment, the BKT cohort and its non-IID
// knobs, the training); a flag given on the command line wins over its key; a bad file is an error
// naming its line and key. The example shipped in docs/ is valid and runs.
TEST(SimulateCommandTest, AScenarioFileDescribesTheFederationAndFlagsWinOverIt) {
  testing::ScratchDir dir("cartable-scenario");
  const auto scenario = dir.path() / "academy.toml";
  const std::string text = R"toml(
seed = 3
rounds = 4
mode = "inproc"
[establishments]
count = 6
[establishments.kinds.ecole]
share = 0.5
pupils = "20..40"
[establishments.kinds.college]
share = 0.5
pupils = "60..90"
[cohort]
generator = "bkt"
skills = 6
answers = "20..30"
skill_coverage = 0.5
[cohort.bkt]
forget = 0.05
)toml";
  ASSERT_TRUE(WriteFileAtomically(scenario, text).ok());
  const auto simulate = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {CARTABLE_BINARY, "simulate"});
    const auto log = dir.path() / "simulate.log";
    std::filesystem::remove(log);
    auto child = ChildProcess::Spawn(args, log).value();
    auto code = child->WaitFor(std::chrono::seconds(300));
    return std::pair{code.value_or(-1), testing::Slurp(log)};
  };
  const auto out = dir.path() / "out";
  auto [code, output] =
      simulate({"--scenario", scenario.string(), "--rounds", "2", "--out", out.string()});
  ASSERT_EQ(code, 0) << output;
  const auto report = nlohmann::json::parse(testing::Slurp(out / "report.json"));
  const auto& config = report["config"];
  EXPECT_EQ(config["rounds"], 2) << "the flag wins over the file";
  EXPECT_EQ(config["seed"], 3);
  EXPECT_EQ(config["mode"], "inproc");
  EXPECT_EQ(config["schools"], 6);
  EXPECT_EQ(config["skills"], 6);
  EXPECT_EQ(config["cohort"]["generator"], "bkt");
  EXPECT_EQ(config["cohort"]["skill_coverage"], 0.5);
  EXPECT_EQ(config["cohort"]["bkt"]["forget"], 0.05);
  EXPECT_EQ(config["cohort"]["kinds"].size(), 2u);
  ASSERT_EQ(report["rounds"].size(), 2u);
  for (const auto& round : report["rounds"]) EXPECT_EQ(round["nodes"], 6);
  std::map<std::string, int> kinds;
  for (const auto& school : report["local_only"]["per_school"]) {
    const std::string name = school["school"];
    kinds[name.substr(0, name.find('-'))] += 1;
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"college", 3}, {"ecole", 3}})) << report.dump(2);

  for (const auto& [bad, said] : std::vector<std::pair<std::string, std::string>>{
           {"roundz = 3\n", "roundz"},
           {"[establishments.kinds.lycee]\npupils = \"90..20\"\n",
            "[establishments.kinds.lycee] pupils"},
           {"[cohort]\ngenerator = \"hmm\"\n", "[cohort] generator"},
           {"[cohort.bkt]\nslip = 2\n", "[cohort.bkt] slip"},
           {"[cohort.bkt]\nguess = 0.5\nslip = 0.6\n", "guess + slip must be below 1"},
           {"[establishments]\npupils = \"20..40\"\n[establishments.kinds.ecole]\npupils = "
            "\"20..40\"\n",
            "goes with no kinds"},
           {"[establishments.kinds.\"../x\"]\npupils = \"20..40\"\n", "a kind is named"},
           {"mode = \"cloud\"\n", "mode"}}) {
    const auto broken = dir.path() / "broken.toml";
    ASSERT_TRUE(WriteFileAtomically(broken, bad).ok());
    auto [bad_code, message] = simulate({"--scenario", broken.string(), "--out", out.string()});
    EXPECT_EQ(bad_code, 2) << bad << message;
    EXPECT_NE(message.find("broken.toml"), std::string::npos) << message;
    EXPECT_NE(message.find(said), std::string::npos) << message;
  }

  const auto shipped = std::filesystem::path(kOuladSubset).parent_path().parent_path() / "docs" /
                       "scenarios" / "academy.toml";
  auto [shipped_code, shipped_output] =
      simulate({"--scenario", shipped.string(), "--schools", "5", "--rounds", "1", "--generator",
                "irt", "--out", (dir.path() / "shipped").string()});
  EXPECT_EQ(shipped_code, 0) << shipped_output;
  const auto shipped_report =
      nlohmann::json::parse(testing::Slurp(dir.path() / "shipped" / "report.json"));
  EXPECT_EQ(shipped_report["config"]["cohort"]["generator"], "irt") << "the flag wins";
  EXPECT_EQ(shipped_report["config"]["schools"], 5);
}

// Both units of privacy at once, with real node processes: DP-SGD per pupil at every school and
// the distributed discrete Gaussian per establishment; the report and the summary say what each
// costs.
TEST(SimulateCommandTest, PrivacyPerPupilAndPerEstablishmentAreStated) {
  testing::ScratchDir dir("cartable-simulate-dp");
  const auto out = dir.path() / "out";
  auto run = ChildProcess::Spawn({CARTABLE_BINARY,
                                  "simulate",
                                  "--schools",
                                  "4",
                                  "--rounds",
                                  "2",
                                  "--out",
                                  out.string(),
                                  "--establishment-noise",
                                  "1",
                                  "--max-norm",
                                  "1",
                                  "--weight-cap",
                                  "1",
                                  "--value-range",
                                  "1",
                                  "--noise-multiplier",
                                  "1.5",
                                  "--sampling-rate",
                                  "0.1"},
                                 dir.path() / "simulate.log")
                 .value();
  auto code = run->WaitFor(std::chrono::seconds(300));
  ASSERT_TRUE(code.has_value()) << "simulate did not finish";
  const std::string output = testing::Slurp(dir.path() / "simulate.log");
  ASSERT_EQ(*code, 0) << output;
  EXPECT_NE(output.find("round   2/2  nodes  4"), std::string::npos) << output;
  EXPECT_NE(output.find("each school's contribution is protected with ε = "), std::string::npos)
      << output;
  EXPECT_NE(output.find("DP-SGD per pupil at every school; the run costs each pupil ε = "),
            std::string::npos)
      << output;
  const auto report = nlohmann::json::parse(testing::Slurp(out / "report.json"));
  const auto& config = report["config"];
  EXPECT_EQ(config["establishment_dp"]["min_contributors"], 3);
  EXPECT_GT(config["establishment_dp"]["epsilon"].get<double>(), 0);
  EXPECT_EQ(config["pupil_dp"]["steps"], 2 * 10);  // 2 rounds × ceil(1 epoch / 0.1)
  EXPECT_GT(config["pupil_dp"]["epsilon"].get<double>(), 0);
  for (int s = 1; s <= 4; ++s) {
    const std::string log =
        testing::Slurp(out / "logs" / ("school-0" + std::to_string(s) + ".log"));
    EXPECT_NE(log.find("trained with DP-SGD per pupil"), std::string::npos) << log;
    EXPECT_NE(log.find("establishment-level DP: this node adds discrete Gaussian noise"),
              std::string::npos)
        << log;
  }
}

TEST(SimulateCommandTest, PrivacyFlagsThatCannotWorkAreRefusedNamingTheFlag) {
  testing::ScratchDir dir("cartable-simulate-dp-flags");
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--establishment-noise", "1"}, "--max-norm"},
           {{"--establishment-noise", "1", "--max-norm", "1"}, "--weight-cap 1"},
           {{"--establishment-noise", "0.05", "--max-norm", "1", "--weight-cap", "1"}, "below 0.1"},
           {{"--establishment-noise", "1", "--max-norm", "1", "--weight-cap", "1",
             "--min-contributors", "9"},
            "--min-contributors 9"},
           {{"--establishment-noise", "1", "--secagg", "off"}, "--secagg off"},
           {{"--noise-multiplier", "0.01"}, "--noise-multiplier"}}) {
    std::vector<std::string> argv{
        CARTABLE_BINARY, "simulate", "--schools", "4", "--out", (dir.path() / "out").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto log = dir.path() / "cli.log";
    std::filesystem::remove(log);
    auto child = ChildProcess::Spawn(argv, log).value();
    auto code = child->WaitFor(std::chrono::seconds(30));
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0) << expected;
    EXPECT_NE(testing::Slurp(log).find(expected), std::string::npos) << testing::Slurp(log);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "out" / "report.json"));
  }
}

}  // namespace
}  // namespace cartable
