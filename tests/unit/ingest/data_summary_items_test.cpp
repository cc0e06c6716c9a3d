#include <gtest/gtest.h>

#include "ingest/data_summary.h"

namespace cartable::ingest {
namespace {

TEST(DataSummaryItemsTest, CountsItemsWhenTheLogHasThem) {
  models::InteractionLog log;
  log.pupil_keys = {"a", "b"};
  log.num_skills = 1;
  log.num_items = 5;
  log.interactions = {{0, 0, 1, 4}, {0, 0, 0, 1}, {1, 0, 1, 4}};
  const DataSummary s = Summarize(log);
  EXPECT_EQ(s.item_space, 5u);
  EXPECT_EQ(s.items_seen, 2u);
}

TEST(DataSummaryItemsTest, NoItemIdsMeansNoItems) {
  models::InteractionLog log;
  log.pupil_keys = {"a"};
  log.num_skills = 1;
  log.interactions = {{0, 0, 1}};
  const DataSummary s = Summarize(log);
  EXPECT_EQ(s.item_space, 0u);
  EXPECT_EQ(s.items_seen, 0u);
}

}  // namespace
}  // namespace cartable::ingest
