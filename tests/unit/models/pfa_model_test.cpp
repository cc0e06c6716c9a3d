#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "models/dataset.h"
#include "models/metrics.h"
#include "models/model.h"

using ::cartable::StatusCode;
using ::cartable::models::Auc;
using ::cartable::models::CreateModel;
using ::cartable::models::InteractionLog;
using ::cartable::models::Labels;
using ::cartable::models::LogLoss;
using ::cartable::models::Model;
using ::cartable::models::ModelSpec;
using ::cartable::models::TrainOptions;
using ::testing::HasSubstr;

namespace {

constexpr uint32_t kSkills = 5;

std::unique_ptr<Model> NewPfa(uint32_t skills = kSkills) {
  ModelSpec spec;
  spec.name = "pfa";
  spec.num_skills = skills;
  auto model = CreateModel(spec);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(model).value() : nullptr;
}

// Answers drawn from a known PFA rule: easy and hard skills, practice helps, failures hurt.
InteractionLog LogisticLog(int pupils, int answers_per_pupil, uint32_t seed) {
  const double beta[kSkills] = {-1.5, -0.5, 0.0, 0.5, 1.5};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> any_skill(0, kSkills - 1);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  InteractionLog log;
  log.num_skills = kSkills;
  for (int p = 0; p < pupils; ++p) {
    log.pupil_keys.push_back("seed" + std::to_string(seed) + "-pupil" + std::to_string(p));
    std::vector<int> successes(kSkills, 0), failures(kSkills, 0);
    for (int i = 0; i < answers_per_pupil; ++i) {
      const uint32_t k = any_skill(rng);
      const double logit = beta[k] + 0.4 * std::log1p(successes[k]) - 0.3 * std::log1p(failures[k]);
      const bool right = uniform(rng) < 1.0 / (1.0 + std::exp(-logit));
      (right ? successes : failures)[k] += 1;
      log.interactions.push_back({static_cast<uint32_t>(p), k, static_cast<uint8_t>(right)});
    }
  }
  return log;
}

std::vector<float> TrainFresh(const InteractionLog& log, uint64_t seed) {
  auto model = NewPfa();
  if (!model) return {};
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 16;
  options.seed = seed;
  auto report = model->Train(log, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return model->GetParameters();
}

TEST(CreateModelTest, RefusesAnUnknownNameAndAnEmptySkillSpace) {
  ModelSpec unknown;
  unknown.name = "no-such-model";
  unknown.num_skills = 3;
  auto a = CreateModel(unknown);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("no-such-model"));

  ModelSpec empty;
  empty.name = "pfa";
  empty.num_skills = 0;
  EXPECT_FALSE(CreateModel(empty).ok());

  ModelSpec no_threads;
  no_threads.num_skills = 3;
  no_threads.torch_threads = 0;
  EXPECT_FALSE(CreateModel(no_threads).ok());
}

TEST(PfaModelTest, HasThreeParametersPerSkillPlusThree) {
  auto model = NewPfa(7);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->spec().name, "pfa");
  EXPECT_EQ(model->spec().num_skills, 7u);
  EXPECT_EQ(model->num_parameters(), 3u * 7u + 3u);
  EXPECT_EQ(model->GetParameters().size(), model->num_parameters());
  size_t total = 0;
  for (const auto& block : model->parameter_layout()) {
    size_t size = 1;
    for (int64_t d : block.shape) size *= static_cast<size_t>(d);
    total += size;
  }
  EXPECT_EQ(total, model->num_parameters());
}

TEST(PfaModelTest, SetParametersRoundTrips) {
  auto model = NewPfa();
  ASSERT_NE(model, nullptr);
  std::vector<float> values(model->num_parameters());
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.25f * static_cast<float>(i) - 2.0f;
  ASSERT_TRUE(model->SetParameters(values).ok());
  EXPECT_EQ(model->GetParameters(), values);
}

TEST(PfaModelTest, SetParametersRefusesWrongSizeAndNonFiniteValues) {
  auto model = NewPfa();
  ASSERT_NE(model, nullptr);
  std::vector<float> values(model->num_parameters(), 0.5f);
  ASSERT_TRUE(model->SetParameters(values).ok());

  std::vector<float> too_short(model->num_parameters() - 1, 1.0f);
  cartable::Status wrong_size = model->SetParameters(too_short);
  EXPECT_EQ(wrong_size.code(), StatusCode::kInvalidArgument);
  std::vector<float> too_long(model->num_parameters() + 1, 1.0f);
  EXPECT_FALSE(model->SetParameters(too_long).ok());

  std::vector<float> with_nan(model->num_parameters(), 1.0f);
  with_nan.back() = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(model->SetParameters(with_nan).ok());
  std::vector<float> with_inf(model->num_parameters(), 1.0f);
  with_inf[0] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(model->SetParameters(with_inf).ok());

  EXPECT_EQ(model->GetParameters(), values);  // unchanged
}

TEST(PfaModelTest, TrainingIsDeterministicForASeed) {
  const InteractionLog log = LogisticLog(20, 15, 1);
  const std::vector<float> a = TrainFresh(log, 77);
  const std::vector<float> b = TrainFresh(log, 77);
  ASSERT_EQ(a.size(), 3u * kSkills + 3u);
  ASSERT_EQ(b.size(), a.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  const std::vector<float> c = TrainFresh(log, 78);
  ASSERT_EQ(c.size(), a.size());
  EXPECT_NE(a, c);
}

TEST(PfaModelTest, LearnsALogisticRule) {
  const InteractionLog train = LogisticLog(300, 30, 2);
  const InteractionLog held_out = LogisticLog(100, 30, 3);
  auto model = NewPfa();
  ASSERT_NE(model, nullptr);

  auto before = model->Predict(train);
  ASSERT_TRUE(before.ok());
  auto loss_before = LogLoss(*before, Labels(train));
  ASSERT_TRUE(loss_before.ok());

  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  options.learning_rate = 0.05;
  options.seed = 5;
  auto report = model->Train(train, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->examples, static_cast<int64_t>(train.size()));
  EXPECT_LT(report->mean_loss, *loss_before);

  auto after = model->Predict(train);
  ASSERT_TRUE(after.ok());
  EXPECT_LT(*LogLoss(*after, Labels(train)), *loss_before - 0.02);

  auto scores = model->Predict(held_out);
  ASSERT_TRUE(scores.ok());
  auto auc = Auc(*scores, Labels(held_out));
  ASSERT_TRUE(auc.ok());
  EXPECT_GT(*auc, 0.65);
}

TEST(PfaModelTest, PredictGivesOneProbabilityPerInteraction) {
  const InteractionLog log = LogisticLog(10, 12, 4);
  auto model = NewPfa();
  ASSERT_NE(model, nullptr);
  std::vector<float> values(model->num_parameters());
  for (size_t i = 0; i < values.size(); ++i) values[i] = (i % 2 ? 3.0f : -3.0f);
  ASSERT_TRUE(model->SetParameters(values).ok());
  auto p = model->Predict(log);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), log.size());
  for (float v : *p) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

TEST(PfaModelTest, PredictFollowsTheFormula) {
  // One pupil, skill 1 then skill 1 again after a success: logit = b + β₁ (+ γ₁·log 2 + a₁·log 2).
  auto model = NewPfa(2);
  ASSERT_NE(model, nullptr);
  // Layout: beta[2], gamma[2], rho[2], ability[2], bias[1].
  const std::vector<float> values = {0.0f, 0.5f, 0.0f, 1.0f, 0.0f, -1.0f, 0.25f, -0.25f, -0.1f};
  ASSERT_TRUE(model->SetParameters(values).ok());
  InteractionLog log;
  log.num_skills = 2;
  log.pupil_keys = {"p"};
  log.interactions = {{0, 1, 1}, {0, 1, 0}};
  auto p = model->Predict(log);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  auto sigmoid = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  EXPECT_NEAR((*p)[0], sigmoid(-0.1 + 0.5), 1e-6);
  EXPECT_NEAR((*p)[1], sigmoid(-0.1 + 0.5 + 1.0 * std::log(2.0) + 0.25 * std::log(2.0)), 1e-6);
}

TEST(PfaModelTest, TrainRefusesAnEmptyLogAndTooManySkills) {
  auto model = NewPfa();
  ASSERT_NE(model, nullptr);
  InteractionLog empty;
  empty.num_skills = kSkills;
  auto on_empty = model->Train(empty, TrainOptions{});
  ASSERT_FALSE(on_empty.ok());
  EXPECT_EQ(on_empty.status().code(), StatusCode::kInvalidArgument);

  InteractionLog wide = LogisticLog(3, 5, 6);
  wide.num_skills = kSkills + 1;
  auto on_wide = model->Train(wide, TrainOptions{});
  ASSERT_FALSE(on_wide.ok());
  EXPECT_THAT(on_wide.status().message(), HasSubstr("skills"));
  EXPECT_FALSE(model->Predict(wide).ok());
  EXPECT_FALSE(model->Predict(empty).ok());
}

TEST(PfaModelTest, TrainRefusesInvalidOptions) {
  auto model = NewPfa();
  ASSERT_NE(model, nullptr);
  const InteractionLog log = LogisticLog(3, 5, 8);
  TrainOptions no_epoch;
  no_epoch.epochs = 0;
  EXPECT_FALSE(model->Train(log, no_epoch).ok());
  TrainOptions no_batch;
  no_batch.batch_size = 0;
  EXPECT_FALSE(model->Train(log, no_batch).ok());
  TrainOptions no_rate;
  no_rate.learning_rate = 0;
  EXPECT_FALSE(model->Train(log, no_rate).ok());
}

TEST(LabelsTest, AreTheAnswersInOrder) {
  InteractionLog log;
  log.num_skills = 1;
  log.pupil_keys = {"a", "b"};
  log.interactions = {{0, 0, 1}, {0, 0, 0}, {1, 0, 1}};
  EXPECT_EQ(Labels(log), (std::vector<uint8_t>{1, 0, 1}));
}

}  // namespace
