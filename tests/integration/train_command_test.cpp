// `cartable train` as a researcher runs it: metrics as JSON, a safetensors model that reads back
// into the same model, and a model card.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/subprocess.h"
#include "models/model.h"
#include "models/safetensors.h"
#include "process_helpers.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

TEST(TrainCommandTest, TrainsWritesAReadableModelAndReportsTestMetrics) {
  testing::ScratchDir dir("cartable-train");
  simulations::CohortConfig cohort;
  cohort.schools = 1;
  cohort.skills = 10;
  cohort.min_pupils = cohort.max_pupils = 150;
  const auto school = simulations::GenerateCohort(cohort)[0];
  ASSERT_TRUE(simulations::WriteLongCsv(school, dir.path() / "answers.csv").ok());
  const auto model_path = dir.path() / "pfa.safetensors";
  const auto out = dir.path() / "stdout.json";
  auto run = ChildProcess::Spawn({"/bin/sh", "-c",
                                  std::string(CARTABLE_BINARY) +
                                      " train --data csv:" + (dir.path() / "answers.csv").string() +
                                      " --epochs 5 --out " + model_path.string() + " --json > " +
                                      out.string() + " 2> " + (dir.path() / "stderr.log").string()},
                                 std::nullopt)
                 .value();
  auto code = run->WaitFor(std::chrono::seconds(120));
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(*code, 0) << testing::Slurp(dir.path() / "stderr.log");
  EXPECT_NE(testing::Slurp(dir.path() / "stderr.log").find("epoch   5/5"), std::string::npos);

  const auto result = nlohmann::json::parse(testing::Slurp(out));
  EXPECT_GT(double(result["test"]["auc"]), 0.65);
  EXPECT_GT(int(result["test"]["answers"]), 0);

  auto file = models::ReadSafetensors(model_path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata.at("cartable.model"), "pfa");
  auto model = models::CreateModel({"pfa", 10, 1}).value();
  auto flat = models::FlattenInLayout(*file, model->parameter_layout());
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_TRUE(model->SetParameters(*flat).ok());

  // model inspect describes the same file, card included.
  const auto described = dir.path() / "inspect.json";
  auto inspect = ChildProcess::Spawn({"/bin/sh", "-c",
                                      std::string(CARTABLE_BINARY) + " model inspect --json " +
                                          model_path.string() + " > " + described.string()},
                                     std::nullopt)
                     .value();
  ASSERT_EQ(inspect->WaitFor(std::chrono::seconds(60)).value_or(-1), 0);
  const auto description = nlohmann::json::parse(testing::Slurp(described));
  EXPECT_EQ(description["parameters"], 3 * 10 + 3);
  EXPECT_EQ(description["tensors"][0]["name"], "pfa.beta");
  EXPECT_EQ(description["card"]["model"]["name"], "pfa");

  const auto card = nlohmann::json::parse(testing::Slurp(model_path.string() + ".card.json"));
  EXPECT_EQ(card["model"]["name"], "pfa");
  EXPECT_EQ(card["metrics"]["test"]["auc"], result["test"]["auc"]);
  EXPECT_EQ(card["data"]["train_pupils"].get<int>() + card["data"]["test_pupils"].get<int>(), 150);
}

TEST(TrainCommandTest, InspectingACorruptModelFileIsABadInput) {
  testing::ScratchDir dir("cartable-inspect-bad");
  std::ofstream(dir.path() / "broken.safetensors") << std::string("\x10\0\0\0\0\0\0\0{\"a\":", 13);
  const auto log = dir.path() / "inspect.log";
  auto run =
      ChildProcess::Spawn(
          {CARTABLE_BINARY, "model", "inspect", (dir.path() / "broken.safetensors").string()}, log)
          .value();
  auto code = run->WaitFor(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(testing::Slurp(log).find("broken.safetensors"), std::string::npos)
      << testing::Slurp(log);
}

TEST(TrainCommandTest, UnreadableDataIsABadInputNamingTheLine) {
  testing::ScratchDir dir("cartable-train-bad");
  std::ofstream(dir.path() / "bad.csv") << "pupil_id,skill_id,correct\np1,0,1\np2,0,maybe\n";
  const auto log = dir.path() / "train.log";
  auto run =
      ChildProcess::Spawn(
          {CARTABLE_BINARY, "train", "--data", "csv:" + (dir.path() / "bad.csv").string()}, log)
          .value();
  auto code = run->WaitFor(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(testing::Slurp(log).find("bad.csv:3: field 'correct'"), std::string::npos)
      << testing::Slurp(log);
}

}  // namespace
}  // namespace cartable
