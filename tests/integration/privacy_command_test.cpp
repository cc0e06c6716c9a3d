// `cartable privacy epsilon` as its --help examples run it: JSON on stdout, and the noise found for
// a target giving back that target through the forward command.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/subprocess.h"
#include "process_helpers.h"

namespace cartable {
namespace {

namespace fs = std::filesystem;

// Runs `cartable ARGS...`; its exit code, and stdout and stderr together.
std::pair<int, std::string> Privacy(const std::vector<std::string>& args,
                                    const testing::ScratchDir& dir) {
  std::vector<std::string> argv{CARTABLE_BINARY, "privacy", "epsilon"};
  argv.insert(argv.end(), args.begin(), args.end());
  const fs::path log = dir.path() / "out.log";
  fs::remove(log);
  auto child = ChildProcess::Spawn(argv, log).value();
  std::optional<int> code = child->WaitFor(std::chrono::seconds(60));
  if (!code) code = child->Terminate();
  return {*code, testing::Slurp(log)};
}

TEST(PrivacyCommandTest, PrintsEpsilonAndFindsTheNoiseForATarget) {
  testing::ScratchDir dir("cartable-privacy");
  auto [code, out] = Privacy({"--sampling-rate", "0.01", "--noise-multiplier", "1.1", "--steps",
                              "1000", "--delta", "1e-5"},
                             dir);
  ASSERT_EQ(code, 0) << out;
  const auto spent = nlohmann::json::parse(out);
  EXPECT_GT(spent["epsilon"].get<double>(), 0.1);
  EXPECT_LT(spent["epsilon"].get<double>(), 10);
  EXPECT_GT(spent["order"].get<double>(), 1);

  auto [code2, out2] = Privacy(
      {"--sampling-rate", "0.01", "--target-epsilon", "2", "--steps", "1000", "--delta", "1e-5"},
      dir);
  ASSERT_EQ(code2, 0) << out2;
  const auto found = nlohmann::json::parse(out2);
  EXPECT_LE(found["epsilon"].get<double>(), 2.0);
  auto [code3, out3] =
      Privacy({"--sampling-rate", "0.01", "--noise-multiplier", found["noise_multiplier"].dump(),
               "--steps", "1000", "--delta", "1e-5"},
              dir);
  ASSERT_EQ(code3, 0) << out3;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(out3)["epsilon"].get<double>(),
                   found["epsilon"].get<double>());
}

TEST(PrivacyCommandTest, BadArgumentsExitWithCodeTwoSayingWhich) {
  testing::ScratchDir dir("cartable-privacy");
  auto [code, out] = Privacy({"--sampling-rate", "0.01", "--steps", "10", "--delta", "1e-5"}, dir);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--noise-multiplier or --target-epsilon"), std::string::npos) << out;
  auto [code2, out2] = Privacy(
      {"--sampling-rate", "0.01", "--noise-multiplier", "1", "--steps", "10", "--delta", "0"}, dir);
  EXPECT_EQ(code2, 2);
  EXPECT_NE(out2.find("delta 0"), std::string::npos) << out2;
  auto [code3, out3] = Privacy(
      {"--sampling-rate", "2", "--noise-multiplier", "1", "--steps", "10", "--delta", "1e-5"}, dir);
  EXPECT_EQ(code3, 2) << out3;
}

}  // namespace
}  // namespace cartable
