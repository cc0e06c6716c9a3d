// The examples in `cartable coordinator --help` and `cartable node --help`, run as a new user would
// run them: keys made by the keygen line, a coordinator started by its line, three schools started
// by the node line. Only what the reader is told to change is changed (HOST, the school's name and
// data file), plus the port, so tests can run side by side, and the number of rounds, to keep it
// short.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/subprocess.h"
#include "federation_fixtures.h"
#include "process_helpers.h"

namespace cartable {
namespace {

// The command lines of a help text: each line starting with "  cartable ", joined with the lines a
// trailing backslash continues.
std::vector<std::string> ExampleCommands(const std::string& help) {
  std::vector<std::string> commands;
  std::string current;
  bool continuing = false;
  size_t start = 0;
  while (start < help.size()) {
    size_t end = help.find('\n', start);
    if (end == std::string::npos) end = help.size();
    std::string line = help.substr(start, end - start);
    start = end + 1;
    if (!continuing && line.rfind("  cartable ", 0) != 0) continue;
    const bool continues = !line.empty() && line.back() == '\\';
    if (continues) line.pop_back();
    current += continuing ? " " + line.substr(line.find_first_not_of(' ')) : line.substr(2);
    continuing = continues;
    if (!continuing) commands.push_back(std::exchange(current, ""));
  }
  return commands;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string HelpOf(const std::filesystem::path& dir, const std::string& command) {
  const std::filesystem::path out = dir / (command + ".help");
  auto child = ChildProcess::Spawn({CARTABLE_BINARY, command, "--help"}, out).value();
  EXPECT_EQ(child->WaitFor(std::chrono::seconds(30)), 0);
  return testing::Slurp(out);
}

const std::string* Find(const std::vector<std::string>& commands, const std::string& prefix) {
  for (const std::string& c : commands) {
    if (c.rfind(prefix, 0) == 0) return &c;
  }
  return nullptr;
}

// Runs `command` (starting "cartable ") in `dir` through the shell, as it is typed.
std::unique_ptr<ChildProcess> Shell(const std::filesystem::path& dir, const std::string& command,
                                    const std::filesystem::path& log) {
  const std::string line =
      "cd '" + dir.string() + "' && exec '" CARTABLE_BINARY "'" + command.substr(8);
  return ChildProcess::Spawn({"/bin/bash", "-c", line}, log).value();
}

TEST(HelpExamplesTest, TheCoordinatorAndNodeExamplesRunAsWritten) {
  testing::ScratchDir dir("cartable-help-examples");
  const std::vector<std::string> coordinator_help =
      ExampleCommands(HelpOf(dir.path(), "coordinator"));
  const std::vector<std::string> node_help = ExampleCommands(HelpOf(dir.path(), "node"));
  const std::string* coordinator_keygen = Find(coordinator_help, "cartable keygen ");
  const std::string* coordinator = Find(coordinator_help, "cartable coordinator ");
  const std::string* node_keygen = Find(node_help, "cartable keygen ");
  const std::string* node = Find(node_help, "cartable node ");
  ASSERT_TRUE(coordinator_keygen && coordinator && node_keygen && node);
  EXPECT_NE(Find(coordinator_help, *node), nullptr) << "both helps give the same node line";

  const std::vector<std::string> schools = {"lycee-a", "lycee-b", "lycee-c"};
  const std::vector<std::filesystem::path> data = testing::WriteSmallSchools(dir.path(), 3);
  ASSERT_EQ(Shell(dir.path(), *coordinator_keygen, dir.path() / "keygen.log")
                ->WaitFor(std::chrono::seconds(30)),
            0);
  std::filesystem::create_directories(dir.path() / "allowed");
  std::filesystem::copy_file(dir.path() / "keys" / "coordinator.pub",
                             dir.path() / "coordinator.pub");
  for (const std::string& school : schools) {
    const std::string keygen = Replace(*node_keygen, "lycee-a", school);
    ASSERT_EQ(
        Shell(dir.path(), keygen, dir.path() / "keygen.log")->WaitFor(std::chrono::seconds(30)), 0);
    std::filesystem::copy_file(dir.path() / "keys" / (school + ".pub"),
                               dir.path() / "allowed" / (school + ".pub"));
  }

  const std::string endpoint = testing::FreeLoopbackEndpoint();
  const std::string port = endpoint.substr(endpoint.rfind(':') + 1);
  std::string coordinator_line =
      Replace(Replace(*coordinator, ":7450", ":" + port), "--rounds 5", "--rounds 2");
  auto server = Shell(dir.path(), coordinator_line, dir.path() / "coordinator.log");
  std::vector<std::unique_ptr<ChildProcess>> nodes;
  for (size_t i = 0; i < schools.size(); ++i) {
    std::string line = Replace(*node, "HOST:7450", "127.0.0.1:" + port);
    line = Replace(Replace(line, "lycee-a", schools[i]), "answers.csv", data[i].string());
    nodes.push_back(Shell(dir.path(), line, dir.path() / (schools[i] + ".log")));
  }
  EXPECT_EQ(server->WaitFor(std::chrono::seconds(180)), 0)
      << testing::Slurp(dir.path() / "coordinator.log");
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(nodes[i]->WaitFor(std::chrono::seconds(30)), 0)
        << testing::Slurp(dir.path() / (schools[i] + ".log"));
  }
  EXPECT_NE(testing::Slurp(dir.path() / "coordinator.log").find("round   2/2"), std::string::npos);
}

// Regression: with its own defaults (--nodes 2 --min-nodes 2) the coordinator refused to start with
// a self-contradictory error, while nodes refuse cohorts below 3. The defaults now agree with the
// nodes', and a two-node secure run is refused saying what to change.
TEST(HelpExamplesTest, CoordinatorDefaultsAgreeWithTheNodesAndTwoNodesSayWhatToChange) {
  testing::ScratchDir dir("cartable-coordinator-defaults");
  const std::filesystem::path defaults_log = dir.path() / "defaults.log";
  const std::string endpoint = testing::FreeLoopbackEndpoint();
  auto defaults = ChildProcess::Spawn({CARTABLE_BINARY, "coordinator", "--insecure", "--bind",
                                       endpoint, "--skills", "6", "--join-timeout", "1"},
                                      defaults_log)
                      .value();
  // Nobody joins: the run fails for want of nodes (1), not for its settings (2).
  EXPECT_EQ(defaults->WaitFor(std::chrono::seconds(30)), 1) << testing::Slurp(defaults_log);
  EXPECT_NE(testing::Slurp(defaults_log).find("waiting for 3 node(s)"), std::string::npos)
      << testing::Slurp(defaults_log);

  const std::filesystem::path two_log = dir.path() / "two.log";
  auto two = ChildProcess::Spawn({CARTABLE_BINARY, "coordinator", "--insecure", "--bind", endpoint,
                                  "--skills", "6", "--nodes", "2", "--min-nodes", "2"},
                                 two_log)
                 .value();
  EXPECT_EQ(two->WaitFor(std::chrono::seconds(30)), 2);
  const std::string message = testing::Slurp(two_log);
  EXPECT_NE(message.find("raise both to 3 or more"), std::string::npos) << message;
  EXPECT_NE(message.find("--secagg off"), std::string::npos) << message;
  EXPECT_EQ(message.find("not the 0 declared"), std::string::npos) << message;
}

}  // namespace
}  // namespace cartable
