#include "exchange/evaluation_wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace cartable::exchange {
namespace {

using ::testing::HasSubstr;

models::GroupStatistics Group(std::vector<float> scores, std::vector<uint8_t> labels,
                              uint64_t pupils) {
  return {models::SummableMetrics::Of(scores, labels).value(), pupils};
}

const std::vector<models::Attribute> kGender = {{"gender", {"F", "M"}}};

models::EvaluationStatistics Statistics() {
  models::EvaluationStatistics s;
  s.all = Group({0.1f, 0.7f, 0.9f, 0.4f}, {0, 1, 1, 0}, 2);
  s.subgroups = {Group({0.1f, 0.7f}, {0, 1}, 1), Group({0.9f, 0.4f}, {1, 0}, 1)};
  return s;
}

TEST(EvaluationWireTest, StatisticsTravelAndComeBackWhole) {
  const protocol::EvaluateResult wire = ToWire(Statistics());
  EXPECT_EQ(wire.all.pupils, 2u);
  ASSERT_EQ(wire.groups.size(), 2u);
  auto back = StatisticsOf(wire, kGender);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->all.metrics.positive_histogram, Statistics().all.metrics.positive_histogram);
  EXPECT_EQ(back->subgroups[1].pupils, 1u);
  const std::vector<models::Attribute> attributes = {{"gender", {"F", "M"}}};
  EXPECT_EQ(AttributesOf(ToWire(attributes))[0].values, attributes[0].values);
}

// What a peer sends is checked before it counts: the subgroups asked for, pupils that fit the
// answers, no subgroup larger than all.
TEST(EvaluationWireTest, StatisticsNoEvaluationGivesAreRefused) {
  const std::vector<models::Attribute> three = {{"band", {"a", "b", "c"}}};
  EXPECT_THAT(StatisticsOf(ToWire(Statistics()), three).status().message(),
              HasSubstr("not the 3 asked for"));
  protocol::EvaluateResult wire = ToWire(Statistics());
  wire.all.pupils = 0;
  EXPECT_THAT(StatisticsOf(wire, kGender).status().message(), HasSubstr("0 pupils for 4 answers"));
  wire = ToWire(Statistics());
  wire.groups[0].pupils = 5;
  EXPECT_FALSE(StatisticsOf(wire, kGender).ok());
  wire = ToWire(Statistics());
  wire.groups[1] = ToWire(Statistics()).groups[0];
  wire.groups[1].positive_histogram[4000] += 10;  // histograms that do not add up to the count
  EXPECT_FALSE(StatisticsOf(wire, kGender).ok());
  models::EvaluationStatistics big = Statistics();
  big.subgroups[0] = Group({0.1f, 0.7f, 0.9f, 0.4f, 0.5f}, {0, 1, 1, 0, 1}, 2);
  EXPECT_THAT(StatisticsOf(ToWire(big), kGender).status().message(), HasSubstr("fit within all"));
  // Each subgroup within all, but the two together more than all: refused too.
  models::EvaluationStatistics both = Statistics();
  both.subgroups[0] = both.all;
  EXPECT_THAT(StatisticsOf(ToWire(both), kGender).status().message(), HasSubstr("'gender'"));
}

}  // namespace
}  // namespace cartable::exchange
