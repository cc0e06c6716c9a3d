// Early warning on the OULAD subset shipped in data/oulad: `cartable train` with the records
// models, as a researcher runs it, reaches a useful at-risk AUC, and no raw id_student leaves the
// node in what it writes (metrics, model file, model card).

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/subprocess.h"
#include "process_helpers.h"

namespace cartable {
namespace {

namespace fs = std::filesystem;

// This file is tests/integration/ of the source tree.
const fs::path kSubset =
    fs::path(__FILE__).parent_path().parent_path().parent_path() / "data" / "oulad";

// Whether `text` holds `id` as a whole number (not inside a longer run of digits).
bool HoldsNumber(const std::string& text, const std::string& id) {
  for (size_t at = text.find(id); at != std::string::npos; at = text.find(id, at + 1)) {
    const bool starts = at == 0 || !std::isdigit(static_cast<unsigned char>(text[at - 1]));
    const size_t end = at + id.size();
    if (starts && (end == text.size() || !std::isdigit(static_cast<unsigned char>(text[end]))))
      return true;
  }
  return false;
}

// Every id_student of the subset's studentInfo.csv.
std::set<std::string> StudentIds() {
  std::ifstream in(kSubset / "studentInfo.csv");
  std::string line;
  std::getline(in, line);
  std::set<std::string> ids;
  while (std::getline(in, line)) {
    const size_t first = line.find(',');
    const size_t second = line.find(',', first + 1);
    const size_t third = line.find(',', second + 1);
    ids.insert(line.substr(second + 1, third - second - 1));
  }
  return ids;
}

// Runs `cartable train ARGS --json` in `dir`; returns the parsed stdout.
nlohmann::json Train(const testing::ScratchDir& dir, const std::string& args) {
  const fs::path out = dir.path() / "stdout.json", err = dir.path() / "stderr.log";
  auto run = ChildProcess::Spawn(
                 {"/bin/sh", "-c",
                  std::string(CARTABLE_BINARY) + " train --data oulad:" + kSubset.string() + " " +
                      args + " --json > " + out.string() + " 2> " + err.string()},
                 std::nullopt)
                 .value();
  auto code = run->WaitFor(std::chrono::seconds(300));
  EXPECT_TRUE(code.has_value());
  EXPECT_EQ(code.value_or(-1), 0) << testing::Slurp(err);
  return nlohmann::json::parse(testing::Slurp(out), nullptr, false);
}

TEST(OuladTrainTest, LogisticFlagsAtRiskRegistrationsWithoutLeakingIds) {
  ASSERT_TRUE(fs::exists(kSubset / "studentInfo.csv")) << kSubset;
  testing::ScratchDir dir("cartable-oulad-train");
  const fs::path model = dir.path() / "logistic.safetensors";
  const auto result = Train(dir, "--model logistic --epochs 20 --out " + model.string());
  ASSERT_FALSE(result.is_discarded());
  // The subset holds 4,095 registrations; a fifth of the students are held out.
  const int test_records = result["test"]["answers"], train_records = result["train"]["answers"];
  EXPECT_EQ(test_records + train_records, 4095);
  EXPECT_GT(test_records, 600);
  // Reaches 0.87 to 0.90 over seeds 1 to 5 (docs/models.md); the margin is for other BLAS builds.
  EXPECT_GT(double(result["test"]["auc"]), 0.78);

  const std::string card_text = testing::Slurp(model.string() + ".card.json");
  const auto card = nlohmann::json::parse(card_text);
  EXPECT_EQ(card["model"]["num_features"], 22);
  EXPECT_EQ(card["data"]["unit"], "records");
  EXPECT_EQ(card["data"]["columns"][21], "weighted_score");
  // No raw id in anything written: the metrics, the card, the model file's JSON header (its
  // metadata; the rest is 23 little-endian floats). Ids have 4 to 7 digits; every count written is
  // below 8462, the smallest id, and every real number has more digits than an id.
  const std::string weights = testing::Slurp(model);
  ASSERT_GE(weights.size(), 8u);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = header_size << 8 | static_cast<unsigned char>(weights[i]);
  const std::string header = weights.substr(8, header_size);
  EXPECT_NE(header.find("logistic.weight"), std::string::npos);
  const std::string printed = result.dump();
  const std::set<std::string> ids = StudentIds();
  ASSERT_EQ(ids.size(), 4091u);
  for (const std::string& id : ids) {
    ASSERT_FALSE(HoldsNumber(card_text, id)) << id;
    ASSERT_FALSE(HoldsNumber(printed, id)) << id;
    ASSERT_FALSE(HoldsNumber(header, id)) << id;
  }
}

TEST(OuladTrainTest, MlpFromAConfigFileWithAFlagOverride) {
  testing::ScratchDir dir("cartable-oulad-mlp");
  const fs::path config = dir.path() / "mlp.toml";
  std::ofstream(config) << "[model]\nname = \"mlp\"\nhidden_size = 16\n\n[training]\nepochs = 3\n"
                           "learning_rate = 0.01\nbatch_size = 64\n";
  const fs::path model = dir.path() / "mlp.safetensors";
  const auto result = Train(dir, "--config " + config.string() +
                                     " --epochs 15 --option dropout=0.1 --out " + model.string());
  ASSERT_FALSE(result.is_discarded());
  EXPECT_EQ(result["model"], "mlp");
  EXPECT_EQ(result["epochs"], 15);  // the flag wins over the file
  EXPECT_GT(double(result["test"]["auc"]), 0.78);
  const auto card = nlohmann::json::parse(testing::Slurp(model.string() + ".card.json"));
  EXPECT_EQ(card["model"]["options"]["hidden_size"], "16");
  EXPECT_EQ(card["model"]["options"]["dropout"], "0.1");
  EXPECT_EQ(card["model"]["parameters"], 16 * 22 + 16 + 16 + 1);
  EXPECT_EQ(card["training"]["learning_rate"], 0.01);
}

TEST(OuladTrainTest, ABadConfigKeyIsNamedWithItsLine) {
  testing::ScratchDir dir("cartable-oulad-bad-config");
  const fs::path config = dir.path() / "bad.toml";
  std::ofstream(config) << "[model]\nname = \"logistic\"\n\n[training]\nepochs = 2\nepoch = 3\n";
  const fs::path log = dir.path() / "train.log";
  auto run = ChildProcess::Spawn({CARTABLE_BINARY, "train", "--config", config.string(), "--data",
                                  "oulad:" + kSubset.string()},
                                 log)
                 .value();
  ASSERT_EQ(run->WaitFor(std::chrono::seconds(60)).value_or(-1), 2);
  EXPECT_NE(testing::Slurp(log).find("bad.toml:6: key 'epoch'"), std::string::npos)
      << testing::Slurp(log);
}

// DP-SGD per pupil centrally, as the accuracy study runs it: the least noise for the target ε,
// what the training cost in the metrics and the model card, and a model that still flags at-risk
// registrations (0.876 to 0.884 AUC at ε = 2 over 5 epochs, docs/privacy.md).
TEST(OuladTrainTest, DpSgdMeetsATargetEpsilonAndSaysWhatItCost) {
  testing::ScratchDir dir("cartable-oulad-dp");
  const fs::path model = dir.path() / "logistic.safetensors";
  const auto result = Train(dir,
                            "--model logistic --epochs 2 --target-epsilon 2 --sampling-rate "
                            "0.05 --out " +
                                model.string());
  ASSERT_FALSE(result.is_discarded());
  const nlohmann::json& privacy = result["privacy"];
  EXPECT_EQ(privacy["steps"], 40);  // ceil(2 / 0.05)
  EXPECT_LE(double(privacy["epsilon"]), 2.0);
  EXPECT_GT(double(privacy["epsilon"]), 1.99);  // the least noise: ε just under the target
  EXPECT_GT(double(privacy["noise_multiplier"]), 0.5);
  EXPECT_EQ(privacy["delta"], 1e-5);
  EXPECT_GT(double(result["test"]["auc"]), 0.75);
  const auto card = nlohmann::json::parse(testing::Slurp(model.string() + ".card.json"));
  EXPECT_EQ(card["training"]["privacy"], privacy);

  // Both a target and a noise multiplier: refused, naming them.
  const fs::path log = dir.path() / "both.log";
  auto both = ChildProcess::Spawn({CARTABLE_BINARY, "train", "--data", "oulad:" + kSubset.string(),
                                   "--target-epsilon", "2", "--noise-multiplier", "1"},
                                  log)
                  .value();
  EXPECT_NE(both->WaitFor(std::chrono::seconds(60)).value_or(0), 0);
  EXPECT_NE(testing::Slurp(log).find("--noise-multiplier"), std::string::npos)
      << testing::Slurp(log);
}

}  // namespace
}  // namespace cartable
