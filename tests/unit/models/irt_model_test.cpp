#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "kt_test_data.h"
#include "models/metrics.h"
#include "models/model.h"

using ::cartable::StatusCode;
using ::cartable::models::Auc;
using ::cartable::models::CreateModel;
using ::cartable::models::InteractionLog;
using ::cartable::models::Labels;
using ::cartable::models::Model;
using ::cartable::models::ModelSpec;
using ::cartable::models::TrainOptions;
using ::cartable::models::testing::KtData;
using ::cartable::models::testing::MakeKtData;
using ::testing::HasSubstr;

namespace {

std::unique_ptr<Model> NewIrt(const std::string& name, uint32_t skills, uint32_t items = 0) {
  ModelSpec spec;
  spec.name = name;
  spec.num_skills = skills;
  spec.num_items = items;
  auto model = CreateModel(spec);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(model).value() : nullptr;
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

TEST(IrtModelTest, HasOneDifficultyPerItemOrSkillAndTwoAbilityWeights) {
  EXPECT_EQ(NewIrt("irt1pl", 5)->num_parameters(), 5u + 2u);
  EXPECT_EQ(NewIrt("irt2pl", 5)->num_parameters(), 2u * 5u + 2u);
  EXPECT_EQ(NewIrt("irt1pl", 5, 30)->num_parameters(), 30u + 2u);
  auto two = NewIrt("irt2pl", 5, 30);
  ASSERT_EQ(two->parameter_layout().size(), 3u);
  EXPECT_EQ(two->parameter_layout()[1].name, "irt.discrimination");
  EXPECT_EQ(two->parameter_layout()[1].shape, (std::vector<int64_t>{30}));
}

TEST(IrtModelTest, PredictFollowsTheFormulaWithAbilityFromEarlierAnswers) {
  auto model = NewIrt("irt2pl", 2);
  // Layout: difficulty[2], discrimination[2] (before softplus), ability[2] (successes, failures).
  const std::vector<float> values = {0.5f, -1.0f, 0.0f, 2.0f, 0.8f, -0.6f};
  ASSERT_TRUE(model->SetParameters(values).ok());
  InteractionLog log;
  log.num_skills = 2;
  log.pupil_keys = {"p"};
  log.interactions = {{0, 1, 1}, {0, 0, 0}, {0, 1, 1}};
  auto p = model->Predict(log);
  ASSERT_TRUE(p.ok()) << p.status();
  auto softplus = [](double x) { return std::log1p(std::exp(x)); };
  const double theta1 = 0.8 * std::log(2.0);                         // one success
  const double theta2 = 0.8 * std::log(2.0) - 0.6 * std::log(2.0);   // and one failure
  EXPECT_NEAR((*p)[0], Sigmoid(softplus(2.0) * (0.0 + 1.0)), 1e-6);  // nothing known: θ = 0
  EXPECT_NEAR((*p)[1], Sigmoid(softplus(0.0) * (theta1 - 0.5)), 1e-6);
  EXPECT_NEAR((*p)[2], Sigmoid(softplus(2.0) * (theta2 + 1.0)), 1e-6);
}

TEST(IrtModelTest, RefusesOptionsItemsOutsideItsSpaceAndLogsWithoutItems) {
  ModelSpec spec;
  spec.name = "irt1pl";
  spec.num_skills = 3;
  spec.options["hidden_size"] = "abc";
  auto refused = CreateModel(spec);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("hidden_size"));

  auto model = NewIrt("irt1pl", 6, 12);
  KtData data = MakeKtData(3, 5, 1, 6, /*items_per_skill=*/3);  // 18 items
  auto trained = model->Train(data.log, TrainOptions{});
  ASSERT_FALSE(trained.ok());
  EXPECT_THAT(trained.status().message(), HasSubstr("item"));
  KtData no_items = MakeKtData(3, 5, 1, 6);
  auto predicted = model->Predict(no_items.log);
  ASSERT_FALSE(predicted.ok());
  EXPECT_EQ(predicted.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(predicted.status().message(), HasSubstr("no item ids"));
}

// Held-out pupils: the ability read from their earlier answers and the item difficulties carry the
// signal.
TEST(IrtModelTest, BothVariantsLearnItemDifficultiesForUnseenPupils) {
  const KtData train = MakeKtData(300, 30, 11, 6, 4);
  const KtData test = MakeKtData(100, 30, 12, 6, 4);
  const double oracle = *Auc(test.truth, Labels(test.log));
  for (const char* name : {"irt1pl", "irt2pl"}) {
    auto model = NewIrt(name, 6, 24);
    auto before = model->Predict(test.log);
    ASSERT_TRUE(before.ok());
    TrainOptions options;
    options.epochs = 5;
    options.batch_size = 64;
    options.learning_rate = 0.05;
    ASSERT_TRUE(model->Train(train.log, options).ok());
    auto scores = model->Predict(test.log);
    ASSERT_TRUE(scores.ok());
    const double auc = *Auc(*scores, Labels(test.log));
    EXPECT_GT(auc, 0.75) << name << " (oracle " << oracle << ")";
    EXPECT_GT(auc, oracle - 0.06) << name;
    const std::vector<float> parameters = model->GetParameters();
    EXPECT_GT(parameters[parameters.size() - 2], 0.0f) << name << ": earlier successes raise θ";
    EXPECT_LT(parameters.back(), 0.0f) << name << ": earlier failures lower θ";
  }
}

}  // namespace
