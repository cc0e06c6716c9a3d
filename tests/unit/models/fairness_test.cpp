#include "models/fairness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cartable::models {
namespace {

using ::testing::HasSubstr;

// A log of `pupils` pupils keyed p0, p1, …, each answering `answers` times.
InteractionLog Log(int pupils, int answers) {
  InteractionLog log;
  log.num_skills = 1;
  for (int p = 0; p < pupils; ++p) {
    log.pupil_keys.push_back("p" + std::to_string(p));
    for (int a = 0; a < answers; ++a)
      log.interactions.push_back({static_cast<uint32_t>(p), 0, static_cast<uint8_t>((p + a) % 2)});
  }
  return log;
}

// Statistics with `pupils` pupils, `positives` label-1 answers of which `caught` score 0.9 (the
// rest 0.1), and `negatives` label-0 answers of which `flagged` score 0.9.
GroupStatistics Group(uint64_t pupils, int positives, int caught, int negatives, int flagged) {
  std::vector<float> scores;
  std::vector<uint8_t> labels;
  for (int i = 0; i < positives; ++i) {
    scores.push_back(i < caught ? 0.9f : 0.1f);
    labels.push_back(1);
  }
  for (int i = 0; i < negatives; ++i) {
    scores.push_back(i < flagged ? 0.9f : 0.1f);
    labels.push_back(0);
  }
  return {SummableMetrics::Of(scores, labels).value(), pupils};
}

TEST(FairnessTest, EachAnswerCountsInTheSubgroupsOfItsPupil) {
  const InteractionLog log = Log(6, 4);
  PupilAttributes known;
  for (int p = 0; p < 6; ++p) known["gender"]["p" + std::to_string(p)] = p < 2 ? "F" : "M";
  known["gender"].erase("p5");  // a pupil without the attribute counts in no subgroup
  const std::vector<Attribute> attributes = {{"gender", {"F", "M", "X"}}, {"band", {"low"}}};
  const std::vector<float> scores(log.size(), 0.7f);
  auto s = EvaluationStatistics::Of(scores, log, ModelInput::kAnswers, attributes, known);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->all.pupils, 6u);
  EXPECT_EQ(s->all.metrics.count, 24u);
  ASSERT_EQ(s->subgroups.size(), 4u);
  EXPECT_EQ(s->subgroups[0].pupils, 2u);  // F
  EXPECT_EQ(s->subgroups[0].metrics.count, 8u);
  EXPECT_EQ(s->subgroups[1].pupils, 3u);  // M, without p5
  EXPECT_EQ(s->subgroups[1].metrics.count, 12u);
  EXPECT_EQ(s->subgroups[2].pupils, 0u);  // X: nobody
  EXPECT_EQ(s->subgroups[3].pupils, 0u);  // an attribute this node does not know
  EXPECT_FALSE(EvaluationStatistics::Of(std::vector<float>(3, 0.5f), log, ModelInput::kAnswers,
                                        attributes, known)
                   .ok());
}

TEST(FairnessTest, RatesAndGapsComeFromTheShownSubgroups) {
  const std::vector<Attribute> attributes = {{"gender", {"F", "M"}}};
  EvaluationStatistics s;
  s.subgroups = {Group(20, 10, 8, 10, 2), Group(30, 10, 5, 10, 5)};
  s.all = s.subgroups[0];
  ASSERT_TRUE(s.all.metrics.Add(s.subgroups[1].metrics).ok());
  s.all.pupils = 50;
  const FairnessTable table = BuildFairnessTable(attributes, s, 10);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_FALSE(table.rows[0].suppressed);
  EXPECT_EQ(table.rows[0].pupils, 20u);
  EXPECT_DOUBLE_EQ(*table.rows[0].true_positive_rate, 0.8);
  EXPECT_DOUBLE_EQ(*table.rows[0].flag_rate, 0.5);
  EXPECT_DOUBLE_EQ(*table.rows[1].true_positive_rate, 0.5);
  EXPECT_DOUBLE_EQ(*table.rows[1].flag_rate, 0.5);
  ASSERT_TRUE(table.rows[0].auc.has_value());
  ASSERT_EQ(table.gaps.size(), 1u);
  EXPECT_NEAR(*table.gaps[0].equal_opportunity, 0.3, 1e-12);
  EXPECT_NEAR(*table.gaps[0].demographic_parity, 0.0, 1e-12);
}

TEST(FairnessTest, SmallSubgroupsAndThoseThatWouldGiveThemAwayAreSuppressed) {
  const std::vector<Attribute> attributes = {{"band", {"a", "b", "c", "d"}}};
  EvaluationStatistics s;
  // 4 pupils in "a" (under k = 10): hidden. Everyone else is in b, c or d, so "a" = all − b − c − d
  // unless the smallest of them (c, 12 pupils) is hidden too.
  s.subgroups = {Group(4, 4, 2, 4, 1), Group(40, 10, 5, 10, 5), Group(12, 6, 3, 6, 3),
                 Group(30, 10, 5, 10, 5)};
  s.all = s.subgroups[0];
  for (size_t g = 1; g < 4; ++g) ASSERT_TRUE(s.all.metrics.Add(s.subgroups[g].metrics).ok());
  s.all.pupils = 86;
  const FairnessTable table = BuildFairnessTable(attributes, s, 10);
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_TRUE(table.rows[0].suppressed);
  EXPECT_FALSE(table.rows[1].suppressed);
  EXPECT_TRUE(table.rows[2].suppressed);
  EXPECT_FALSE(table.rows[3].suppressed);
  for (size_t r : {0u, 2u}) {  // nothing of a suppressed subgroup survives
    EXPECT_EQ(table.rows[r].pupils, 0u);
    EXPECT_EQ(table.rows[r].answers, 0u);
    EXPECT_FALSE(table.rows[r].auc.has_value());
    EXPECT_FALSE(table.rows[r].true_positive_rate.has_value());
    EXPECT_FALSE(table.rows[r].flag_rate.has_value());
  }
  // With 20 more pupils in no listed band, the rest is 24 without hiding c; but "a" alone could
  // still be had through another attribute covering the same pupils (its four are the hidden ones),
  // so c is hidden all the same.
  s.all.pupils = 106;
  const FairnessTable wider = BuildFairnessTable(attributes, s, 10);
  EXPECT_TRUE(wider.rows[0].suppressed);
  EXPECT_TRUE(wider.rows[2].suppressed);
  // Two small bands that together reach k hide nothing more.
  s.subgroups[2] = Group(7, 4, 2, 4, 1);
  s.all.pupils = 81;
  const FairnessTable pair = BuildFairnessTable(attributes, s, 10);
  EXPECT_TRUE(pair.rows[0].suppressed);
  EXPECT_FALSE(pair.rows[1].suppressed);
  EXPECT_TRUE(pair.rows[2].suppressed);
  EXPECT_FALSE(pair.rows[3].suppressed);
  // Every subgroup small: all hidden, and no gap.
  const FairnessTable strict = BuildFairnessTable(attributes, s, 1000);
  for (const FairnessRow& row : strict.rows) EXPECT_TRUE(row.suppressed);
  EXPECT_FALSE(strict.gaps[0].equal_opportunity.has_value());
}

TEST(FairnessTest, AttributeListsAreChecked) {
  EXPECT_TRUE(CheckAttributes(std::vector<Attribute>{{"gender", {"F", "M"}}}).ok());
  EXPECT_THAT(CheckAttributes(std::vector<Attribute>{{"gender", {"F", "F"}}}).message(),
              HasSubstr("twice"));
  EXPECT_THAT(CheckAttributes(std::vector<Attribute>{{"gender", {}}}).message(),
              HasSubstr("no values"));
  EXPECT_FALSE(CheckAttributes(std::vector<Attribute>{{"", {"x"}}}).ok());
  EXPECT_THAT(CheckAttributes(std::vector<Attribute>{{"gender", {"F\x1b[2J"}}}).message(),
              HasSubstr("control character"));
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxSubgroups; ++i) many.push_back(std::to_string(i));
  EXPECT_THAT(CheckAttributes(std::vector<Attribute>{{"big", many}}).message(),
              HasSubstr("at most"));
}

}  // namespace
}  // namespace cartable::models
