// The Model contract, checked for every knowledge-tracing model of the zoo: the parameter layout
// matches the flat vector and round-trips, training is deterministic for a seed, predictions are
// causal (a later answer never moves an earlier prediction), and skills or options outside the
// model are refused.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "kt_test_data.h"
#include "models/model.h"

using ::cartable::StatusCode;
using ::cartable::models::CreateModel;
using ::cartable::models::InteractionLog;
using ::cartable::models::Model;
using ::cartable::models::ModelSpec;
using ::cartable::models::TrainOptions;
using ::cartable::models::testing::MakeKtData;
using ::testing::HasSubstr;

namespace {

struct Case {
  std::string name;
  std::map<std::string, std::string> options;  // small shapes keep the tests fast
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class KtModelContractTest : public ::testing::TestWithParam<Case> {
 protected:
  std::unique_ptr<Model> New(uint32_t skills = 6) const {
    ModelSpec spec;
    spec.name = GetParam().name;
    spec.num_skills = skills;
    spec.options = GetParam().options;
    auto model = CreateModel(spec);
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? std::move(model).value() : nullptr;
  }

  std::vector<float> TrainFresh(const InteractionLog& log, uint64_t seed) const {
    auto model = New();
    if (!model) return {};
    TrainOptions options;
    options.epochs = 2;
    options.batch_size = 8;
    options.learning_rate = 0.01;
    options.seed = seed;
    auto report = model->Train(log, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return model->GetParameters();
  }
};

TEST_P(KtModelContractTest, LayoutMatchesTheFlatVectorAndRoundTrips) {
  auto model = New();
  ASSERT_NE(model, nullptr);
  size_t total = 0;
  for (const auto& block : model->parameter_layout()) {
    EXPECT_THAT(block.name, ::testing::StartsWith(GetParam().name.substr(0, 3)));
    size_t size = 1;
    for (int64_t d : block.shape) size *= static_cast<size_t>(d);
    total += size;
  }
  EXPECT_EQ(total, model->num_parameters());
  ASSERT_EQ(model->GetParameters().size(), model->num_parameters());

  std::vector<float> values(model->num_parameters());
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = 0.001f * static_cast<float>(i % 997) - 0.3f;
  ASSERT_TRUE(model->SetParameters(values).ok());
  EXPECT_EQ(model->GetParameters(), values);

  std::vector<float> too_short(values.size() - 1, 0.0f);
  EXPECT_EQ(model->SetParameters(too_short).code(), StatusCode::kInvalidArgument);
  std::vector<float> with_nan = values;
  with_nan[values.size() / 2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(model->SetParameters(with_nan).ok());
  EXPECT_EQ(model->GetParameters(), values);  // unchanged
}

TEST_P(KtModelContractTest, TrainingIsDeterministicForASeed) {
  const InteractionLog log = MakeKtData(24, 15, 1).log;
  const std::vector<float> a = TrainFresh(log, 77);
  const std::vector<float> b = TrainFresh(log, 77);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_NE(a, TrainFresh(log, 78));  // the seed orders the examples
}

TEST_P(KtModelContractTest, APredictionDependsOnlyOnEarlierAnswers) {
  auto model = New();
  ASSERT_NE(model, nullptr);
  TrainOptions options;
  options.learning_rate = 0.01;
  ASSERT_TRUE(model->Train(MakeKtData(20, 20, 2).log, options).ok());

  InteractionLog log = MakeKtData(3, 12, 3).log;
  auto before = model->Predict(log);
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->size(), log.size());
  const size_t changed = 12 + 7;  // the second pupil's eighth answer
  log.interactions[changed].correct ^= 1;
  auto after = model->Predict(log);
  ASSERT_TRUE(after.ok());
  for (size_t i = 0; i <= changed; ++i) EXPECT_EQ((*before)[i], (*after)[i]) << "interaction " << i;
  bool later_moved = false;
  for (size_t i = changed + 1; i < 24; ++i) later_moved |= (*before)[i] != (*after)[i];
  EXPECT_TRUE(later_moved) << "the changed answer should inform the same pupil's later predictions";
  for (size_t i = 24; i < log.size(); ++i)
    EXPECT_EQ((*before)[i], (*after)[i]) << "other pupil " << i;
}

TEST_P(KtModelContractTest, RefusesSkillsOutsideItsSpaceAndEmptyLogs) {
  auto model = New(4);
  ASSERT_NE(model, nullptr);
  InteractionLog wide = MakeKtData(2, 5, 4, /*skills=*/6).log;
  auto trained = model->Train(wide, TrainOptions{});
  ASSERT_FALSE(trained.ok());
  EXPECT_EQ(trained.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(trained.status().message(), HasSubstr("skill"));
  wide.num_skills = 4;  // a log lying about its space is still caught per interaction
  for (auto& x : wide.interactions) x.skill = 5;
  auto predicted = model->Predict(wide);
  ASSERT_FALSE(predicted.ok());
  EXPECT_THAT(predicted.status().message(), HasSubstr("skill 5"));
  InteractionLog empty;
  empty.num_skills = 4;
  EXPECT_FALSE(model->Train(empty, TrainOptions{}).ok());
  EXPECT_FALSE(model->Predict(empty).ok());
}

TEST_P(KtModelContractTest, RefusesAnUnknownOption) {
  ModelSpec spec;
  spec.name = GetParam().name;
  spec.num_skills = 3;
  spec.options = GetParam().options;
  spec.options["hiden_size"] = "8";
  auto model = CreateModel(spec);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("hiden_size"));
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, KtModelContractTest,
    ::testing::Values(Case{"irt1pl", {}}, Case{"irt2pl", {}}, Case{"dkt", {{"hidden_size", "8"}}},
                      Case{"dkt",
                           {{"hidden_size", "8"},
                            {"cell", "gru"},
                            {"layers", "2"},
                            {"dropout", "0.2"},
                            {"max_length", "5"}}},
                      Case{"sakt", {{"embedding_size", "8"}, {"max_length", "10"}}}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return info.param.name + "_" + std::to_string(info.index);
    });

}  // namespace
