// `cartable data check` on a log of pupil records (early-warning data such as oulad).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/data_summary.h"

namespace cartable::ingest {
namespace {

models::InteractionLog RecordsLog(const std::vector<uint8_t>& outcomes) {
  models::InteractionLog log;
  log.records.feature_names = {"submitted_share", "mean_score"};
  for (uint32_t p = 0; p < outcomes.size(); ++p) {
    log.pupil_keys.push_back("s" + std::to_string(p + 1));
    log.records.features.insert(log.records.features.end(), {0.5f, 0.25f});
    log.records.pupil.push_back(p);
    log.records.outcome.push_back(outcomes[p]);
  }
  return log;
}

TEST(DataSummaryRecordsTest, CountsColumnsAndOutcomeBalance) {
  const DataSummary s = Summarize(RecordsLog({1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(s.records, 12u);
  EXPECT_EQ(s.pupils, 12u);
  EXPECT_EQ(s.answers, 0u);
  EXPECT_THAT(s.record_columns, ::testing::ElementsAre("submitted_share", "mean_score"));
  EXPECT_DOUBLE_EQ(s.outcome_rate, 4.0 / 12.0);
  EXPECT_TRUE(s.problems.empty()) << s.problems.front();
}

TEST(DataSummaryRecordsTest, FlagsAlmostOneSidedOutcomes) {
  const DataSummary s = Summarize(RecordsLog(std::vector<uint8_t>(40, 0)));
  EXPECT_DOUBLE_EQ(s.outcome_rate, 0.0);
  ASSERT_EQ(s.problems.size(), 1u);
  EXPECT_THAT(s.problems[0], ::testing::HasSubstr("outcomes are almost all 0"));
}

TEST(DataSummaryRecordsTest, AnswersOnlyLogsHaveNoRecords) {
  models::InteractionLog log;
  log.num_skills = 1;
  log.pupil_keys = {"p1"};
  log.interactions = {{0, 0, 1}, {0, 0, 0}};
  const DataSummary s = Summarize(log);
  EXPECT_EQ(s.records, 0u);
  EXPECT_TRUE(s.record_columns.empty());
}

}  // namespace
}  // namespace cartable::ingest
