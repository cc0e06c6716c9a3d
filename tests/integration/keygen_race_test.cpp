// Many `cartable keygen` processes for one name at once, as two operators (or a script run twice)
// might start them: exactly one wins, the others fail saying the name exists, and the three files
// left belong together.

#include <gtest/gtest.h>

#include <filesystem>

#include "core/subprocess.h"
#include "node/identity.h"
#include "process_helpers.h"
#include "protocol/curve_keys.h"
#include "protocol/key_files.h"

namespace cartable {
namespace {

// Regression: keygen checked that the files were absent and then renamed its own over them; in 150
// concurrent pairs both succeeded 12 times, and 7 left a .key that did not match its .pub.
TEST(KeygenRaceTest, ConcurrentKeygensForOneNameLeaveOneWinnerAndMatchingFiles) {
  testing::ScratchDir dir("cartable-keygen-race");
  const auto keys = dir.path() / "keys";
  constexpr int kRounds = 3;  // each round starts kWriters processes at once
  constexpr int kWriters = 12;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = "school-" + std::to_string(round);
    std::vector<std::unique_ptr<ChildProcess>> writers;
    for (int i = 0; i < kWriters; ++i) {
      const auto log = dir.path() / (name + "-" + std::to_string(i) + ".log");
      writers.push_back(
          ChildProcess::Spawn({CARTABLE_BINARY, "keygen", "--out", keys.string(), "--name", name},
                              log)
              .value());
    }
    int winners = 0;
    for (int i = 0; i < kWriters; ++i) {
      const auto code = writers[i]->WaitFor(std::chrono::seconds(60));
      ASSERT_TRUE(code.has_value()) << "keygen hung";
      const std::string output =
          testing::Slurp(dir.path() / (name + "-" + std::to_string(i) + ".log"));
      if (*code == 0) {
        ++winners;
        continue;
      }
      EXPECT_EQ(*code, 2) << output;
      EXPECT_NE(output.find("a key named '" + name + "' already exists"), std::string::npos)
          << output;
    }
    EXPECT_EQ(winners, 1) << "round " << round;

    auto pair = protocol::LoadCurveKeyPair(keys / (name + ".key"));
    ASSERT_TRUE(pair.ok()) << pair.status();
    EXPECT_EQ(protocol::LoadCurvePublicKey(keys / (name + ".pub")).value(), pair->public_key)
        << name;
    auto identity = node::SigningKeyFromCurveSecret(pair->secret_key).value();
    EXPECT_EQ(protocol::LoadIdentityKey(keys / (name + ".sign.pub")).value(),
              node::ToWire(identity.PublicKey()))
        << name;
  }
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(keys)) {
    EXPECT_NE(entry.path().filename().string()[0], '.')
        << "a temporary file was left: " << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 3u * kRounds);
}

}  // namespace
}  // namespace cartable
