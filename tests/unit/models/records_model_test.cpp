// The early-warning models over pupil records: logistic and mlp.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "models/dataset.h"
#include "models/metrics.h"
#include "models/model.h"

using ::cartable::StatusCode;
using ::cartable::models::Auc;
using ::cartable::models::CreateModel;
using ::cartable::models::InputOf;
using ::cartable::models::InteractionLog;
using ::cartable::models::Model;
using ::cartable::models::ModelInput;
using ::cartable::models::ModelSpec;
using ::cartable::models::TrainOptions;
using ::testing::Each;
using ::testing::HasSubstr;

namespace {

constexpr uint32_t kFeatures = 4;

std::unique_ptr<Model> New(const std::string& name, std::map<std::string, std::string> options = {},
                           uint32_t features = kFeatures) {
  ModelSpec spec;
  spec.name = name;
  spec.num_features = features;
  spec.options = std::move(options);
  auto model = CreateModel(spec);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(model).value() : nullptr;
}

// Records with uniform features in [0, 1]; the outcome follows `rule` (x → 0/1), one record per
// pupil.
template <typename Rule>
InteractionLog Records(int n, uint32_t seed, Rule rule) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  InteractionLog log;
  for (uint32_t c = 0; c < kFeatures; ++c)
    log.records.feature_names.push_back("x" + std::to_string(c));
  for (int i = 0; i < n; ++i) {
    std::vector<float> x(kFeatures);
    for (float& v : x) v = uniform(rng);
    log.pupil_keys.push_back("seed" + std::to_string(seed) + "-" + std::to_string(i));
    log.records.features.insert(log.records.features.end(), x.begin(), x.end());
    log.records.pupil.push_back(static_cast<uint32_t>(i));
    log.records.outcome.push_back(rule(x) ? 1 : 0);
  }
  return log;
}

bool Linear(const std::vector<float>& x) { return x[0] + x[1] > 1.0f; }
bool Xor(const std::vector<float>& x) { return (x[0] > 0.5f) != (x[1] > 0.5f); }

TrainOptions Options(int epochs, double rate, uint64_t seed = 7) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 32;
  o.learning_rate = rate;
  o.seed = seed;
  return o;
}

double TestAuc(Model& model, const InteractionLog& test) {
  auto p = model.Predict(test);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return 0;
  EXPECT_EQ(p->size(), test.records.size());
  auto auc = Auc(*p, test.records.outcome);
  EXPECT_TRUE(auc.ok()) << auc.status();
  return auc.ok() ? *auc : 0;
}

TEST(RecordsModelTest, ReadPupilRecords) {
  EXPECT_EQ(InputOf("logistic").value(), ModelInput::kPupilRecords);
  EXPECT_EQ(InputOf("mlp").value(), ModelInput::kPupilRecords);
  EXPECT_EQ(New("mlp")->input(), ModelInput::kPupilRecords);
}

TEST(RecordsModelTest, LogisticLearnsALinearRule) {
  auto model = New("logistic");
  const InteractionLog train = Records(1000, 1, Linear), test = Records(500, 2, Linear);
  auto report = model->Train(train, Options(30, 0.1));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->examples, 1000);
  EXPECT_LT(report->mean_loss, 0.3);
  EXPECT_GT(TestAuc(*model, test), 0.97);
}

TEST(RecordsModelTest, MlpLearnsWhatLogisticCannot) {
  const InteractionLog train = Records(2000, 3, Xor), test = Records(500, 4, Xor);
  auto logistic = New("logistic");
  ASSERT_TRUE(logistic->Train(train, Options(20, 0.05)).ok());
  EXPECT_LT(TestAuc(*logistic, test), 0.65);
  auto mlp = New("mlp", {{"hidden_size", "16"}});
  ASSERT_TRUE(mlp->Train(train, Options(60, 0.02)).ok());
  EXPECT_GT(TestAuc(*mlp, test), 0.9);
}

TEST(RecordsModelTest, LayoutMatchesTheOptions) {
  auto mlp = New("mlp", {{"hidden_size", "8"}, {"layers", "2"}});
  EXPECT_EQ(mlp->num_parameters(), (8u * 4 + 8) + (8u * 8 + 8) + (8 + 1));
  const auto layout = mlp->parameter_layout();
  ASSERT_EQ(layout.size(), 6u);
  EXPECT_EQ(layout[0].name, "mlp.layer1.weight");
  EXPECT_EQ(layout[0].shape, (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(layout[5].name, "mlp.output.bias");
  auto logistic = New("logistic");
  EXPECT_EQ(logistic->num_parameters(), kFeatures + 1);
  EXPECT_EQ(logistic->parameter_layout()[0].name, "logistic.weight");
  EXPECT_THAT(logistic->GetParameters(), Each(0.0f));
  // Every node starts from the same model.
  EXPECT_EQ(New("mlp")->GetParameters(), New("mlp")->GetParameters());
}

TEST(RecordsModelTest, ParametersRoundTrip) {
  for (const std::string name : {"logistic", "mlp"}) {
    const InteractionLog train = Records(300, 5, Linear), test = Records(100, 6, Linear);
    auto trained = New(name);
    ASSERT_TRUE(trained->Train(train, Options(3, 0.05)).ok());
    auto fresh = New(name);
    ASSERT_TRUE(fresh->SetParameters(trained->GetParameters()).ok());
    EXPECT_EQ(fresh->GetParameters(), trained->GetParameters()) << name;
    EXPECT_EQ(fresh->Predict(test).value(), trained->Predict(test).value()) << name;
    const std::vector<float> p = trained->Predict(test).value();
    EXPECT_TRUE(std::all_of(p.begin(), p.end(), [](float v) { return v > 0 && v < 1; })) << name;
  }
}

TEST(RecordsModelTest, DeterministicForASeed) {
  const InteractionLog train = Records(400, 8, Xor);
  auto run = [&](uint64_t seed) {
    auto model = New("mlp", {{"dropout", "0.3"}, {"layers", "2"}});
    EXPECT_TRUE(model->Train(train, Options(3, 0.01, seed)).ok());
    return model->GetParameters();
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

TEST(RecordsModelTest, RefusesBadOptions) {
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>> bad = {
      {"mlp", {{"hiden_size", "8"}}}, {"mlp", {{"hidden_size", "0"}}},
      {"mlp", {{"layers", "9"}}},     {"mlp", {{"dropout", "1"}}},
      {"mlp", {{"dropout", "x"}}},    {"logistic", {{"hidden_size", "8"}}},
      {"logistic", {{"l2", "-1"}}}};
  for (const auto& [name, options] : bad) {
    ModelSpec spec{name, 0, 0, kFeatures, options};
    auto model = CreateModel(spec);
    ASSERT_FALSE(model.ok()) << name << " " << options.begin()->first;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(model.status().message(), HasSubstr(options.begin()->first));
  }
  auto no_features = CreateModel(ModelSpec{"mlp"});
  ASSERT_FALSE(no_features.ok());
  EXPECT_THAT(no_features.status().message(), HasSubstr("feature"));
}

TEST(RecordsModelTest, RefusesDataOfTheWrongShape) {
  auto model = New("logistic", {}, kFeatures + 1);
  const InteractionLog log = Records(10, 9, Linear);
  auto trained = model->Train(log, Options(1, 0.1));
  ASSERT_FALSE(trained.ok());
  EXPECT_THAT(trained.status().message(), HasSubstr("columns"));
  EXPECT_FALSE(model->Predict(log).ok());
  EXPECT_FALSE(New("mlp")->Predict(InteractionLog{}).ok());
  std::vector<float> parameters = model->GetParameters();
  EXPECT_FALSE(model->SetParameters(std::vector<float>(parameters.size() + 1)).ok());
  parameters[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(model->SetParameters(parameters).ok());
  EXPECT_THAT(model->GetParameters(), Each(0.0f));  // unchanged
}

TEST(RecordsModelTest, L2ShrinksTheWeights) {
  const InteractionLog train = Records(500, 10, Linear);
  auto norm = [&](const std::string& l2) {
    auto model = New("logistic", {{"l2", l2}});
    EXPECT_TRUE(model->Train(train, Options(20, 0.1)).ok());
    double sum = 0;
    const auto p = model->GetParameters();
    for (size_t i = 0; i < kFeatures; ++i) sum += p[i] * p[i];
    return sum;
  };
  EXPECT_LT(norm("0.1"), 0.5 * norm("0"));
}

}  // namespace
