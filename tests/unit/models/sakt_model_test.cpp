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

cartable::StatusOr<std::unique_ptr<Model>> NewSakt(std::map<std::string, std::string> options) {
  ModelSpec spec;
  spec.name = "sakt";
  spec.num_skills = 6;
  spec.options = std::move(options);
  return CreateModel(spec);
}

TEST(SaktModelTest, RefusesBadOptions) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"embedding_size", "abc"},
                                                        {"heads", "0"},
                                                        {"max_length", "1"},
                                                        {"dropout", "-0.1"},
                                                        {"hidden_size", "64"}}) {
    auto model = NewSakt({{key, value}});
    ASSERT_FALSE(model.ok()) << key << "=" << value;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(model.status().message(), HasSubstr(key));
  }
  auto uneven = NewSakt({{"embedding_size", "10"}, {"heads", "3"}});
  ASSERT_FALSE(uneven.ok());
  EXPECT_THAT(uneven.status().message(), HasSubstr("heads"));
}

TEST(SaktModelTest, HasOnePositionEmbeddingPerStepOfAWindow) {
  auto model = NewSakt({{"embedding_size", "8"}, {"max_length", "30"}});
  ASSERT_TRUE(model.ok());
  const auto layout = (*model)->parameter_layout();
  ASSERT_GE(layout.size(), 3u);
  EXPECT_EQ(layout[0].name, "sakt.interaction");
  EXPECT_EQ(layout[0].shape, (std::vector<int64_t>{13, 8}));
  EXPECT_EQ(layout[2].name, "sakt.position");
  EXPECT_EQ(layout[2].shape, (std::vector<int64_t>{30, 8}));
  KtData data = MakeKtData(2, 70, 3);  // longer than a window
  auto p = (*model)->Predict(data.log);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), data.log.size());
}

TEST(SaktModelTest, LearnsToTraceUnseenPupils) {
  const KtData train = MakeKtData(400, 40, 31);
  const KtData test = MakeKtData(100, 40, 32);
  auto model = NewSakt({{"embedding_size", "32"}, {"dropout", "0.1"}});
  ASSERT_TRUE(model.ok());
  TrainOptions options;
  options.epochs = 8;
  options.batch_size = 32;
  options.learning_rate = 0.005;
  ASSERT_TRUE((*model)->Train(train.log, options).ok());
  auto scores = (*model)->Predict(test.log);
  ASSERT_TRUE(scores.ok());
  const double auc = *Auc(*scores, Labels(test.log));
  const double oracle = *Auc(test.truth, Labels(test.log));
  EXPECT_GT(auc, 0.75) << "oracle " << oracle;
  EXPECT_GT(auc, oracle - 0.08);
}

}  // namespace
