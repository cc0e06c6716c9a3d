#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "kt_test_data.h"
#include "models/metrics.h"
#include "models/model.h"

using ::cartable::StatusCode;
using ::cartable::models::Auc;
using ::cartable::models::CreateModel;
using ::cartable::models::Labels;
using ::cartable::models::Model;
using ::cartable::models::ModelSpec;
using ::cartable::models::TrainOptions;
using ::cartable::models::testing::KtData;
using ::cartable::models::testing::MakeKtData;
using ::testing::HasSubstr;

namespace {

cartable::StatusOr<std::unique_ptr<Model>> NewDkt(std::map<std::string, std::string> options,
                                                  uint32_t skills = 6) {
  ModelSpec spec;
  spec.name = "dkt";
  spec.num_skills = skills;
  spec.options = std::move(options);
  return CreateModel(spec);
}

TEST(DktModelTest, RefusesBadOptions) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"hidden_size", "abc"},
                                                        {"hidden_size", "0"},
                                                        {"cell", "rnn"},
                                                        {"layers", "9"},
                                                        {"dropout", "1.5"},
                                                        {"max_length", "1"}}) {
    auto model = NewDkt({{key, value}});
    ASSERT_FALSE(model.ok()) << key << "=" << value;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(model.status().message(), HasSubstr(key));
  }
}

TEST(DktModelTest, LayoutFollowsTheCellAndTheLayers) {
  auto lstm = NewDkt({});
  ASSERT_TRUE(lstm.ok());
  // embedding 13×64, 4 gates × (64×64 input + 64×64 recurrent + 2 biases), output 6×64 + 6.
  EXPECT_EQ((*lstm)->num_parameters(), 13u * 64 + 4 * 64 * (64 + 64 + 2) + 6 * 64 + 6);
  auto gru = NewDkt({{"cell", "gru"}, {"hidden_size", "16"}, {"layers", "2"}});
  ASSERT_TRUE(gru.ok());
  const auto layout = (*gru)->parameter_layout();
  ASSERT_EQ(layout.size(), 1u + 2 * 4 + 2);
  EXPECT_EQ(layout[1].name, "dkt.gru1.weight_ih");
  EXPECT_EQ(layout[1].shape, (std::vector<int64_t>{48, 16}));
  EXPECT_EQ(layout[8].name, "dkt.gru2.bias_hh");
  EXPECT_EQ(layout.back().name, "dkt.output.bias");
}

TEST(DktModelTest, TwoModelsStartFromTheSameParameters) {
  auto a = NewDkt({{"hidden_size", "8"}});
  auto b = NewDkt({{"hidden_size", "8"}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->GetParameters(),
            (*b)->GetParameters());  // every node builds the same initial model
}

TEST(DktModelTest, LongSequencesAreCutIntoWindowsAndStillGetOnePredictionEach) {
  auto model = NewDkt({{"hidden_size", "8"}, {"max_length", "4"}});
  ASSERT_TRUE(model.ok());
  KtData data = MakeKtData(3, 10, 5);  // windows of 4, 4 and 2 answers per pupil
  auto p = (*model)->Predict(data.log);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), data.log.size());
  // Each window starts afresh: a window's first prediction depends on its skill only.
  EXPECT_EQ((*p)[0] == (*p)[4], data.log.interactions[0].skill == data.log.interactions[4].skill);
  auto report = (*model)->Train(data.log, TrainOptions{});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->examples, 30);
}

// On answers from an IRT-with-learning generator, held-out pupils' answers become predictable.
TEST(DktModelTest, LearnsToTraceUnseenPupils) {
  const KtData train = MakeKtData(400, 40, 21);
  const KtData test = MakeKtData(100, 40, 22);
  auto model = NewDkt({{"hidden_size", "32"}});
  ASSERT_TRUE(model.ok());
  TrainOptions options;
  options.epochs = 8;
  options.batch_size = 32;
  options.learning_rate = 0.01;
  auto report = (*model)->Train(train.log, options);
  ASSERT_TRUE(report.ok()) << report.status();
  auto scores = (*model)->Predict(test.log);
  ASSERT_TRUE(scores.ok());
  const double auc = *Auc(*scores, Labels(test.log));
  const double oracle = *Auc(test.truth, Labels(test.log));
  EXPECT_GT(auc, 0.75) << "oracle " << oracle;
  EXPECT_GT(auc, oracle - 0.06);
}

}  // namespace
