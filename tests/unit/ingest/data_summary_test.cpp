#include "ingest/data_summary.h"

#include <gtest/gtest.h>

namespace cartable::ingest {
namespace {

models::InteractionLog Log(const std::vector<std::vector<std::pair<uint32_t, uint8_t>>>& pupils,
                           uint32_t skills) {
  models::InteractionLog log;
  log.num_skills = skills;
  for (uint32_t p = 0; p < pupils.size(); ++p) {
    log.pupil_keys.push_back("p" + std::to_string(p));
    for (auto [skill, correct] : pupils[p]) log.interactions.push_back({p, skill, correct});
  }
  return log;
}

TEST(DataSummaryTest, CountsAndBalance) {
  auto s = Summarize(Log({{{0, 1}, {1, 0}, {1, 1}}, {{0, 1}}, {{2, 0}, {2, 0}}}, 3));
  EXPECT_EQ(s.pupils, 3u);
  EXPECT_EQ(s.answers, 6u);
  EXPECT_EQ(s.skills_seen, 3u);
  EXPECT_EQ(s.skill_space, 3u);
  EXPECT_DOUBLE_EQ(s.correct_rate, 3.0 / 6.0);
  EXPECT_EQ(s.min_answers_per_pupil, 1u);
  EXPECT_EQ(s.median_answers_per_pupil, 2u);
  EXPECT_EQ(s.max_answers_per_pupil, 3u);
}

TEST(DataSummaryTest, NamesTheProblemsWorthALook) {
  auto s = Summarize(Log({{{0, 1}}, {{5, 1}, {5, 1}}}, 6));
  auto mentions = [&](const std::string& what) {
    for (const auto& p : s.problems) {
      if (p.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(mentions("single answer"));
  EXPECT_TRUE(mentions("never occur"));
  EXPECT_TRUE(mentions("almost all right"));
  EXPECT_TRUE(mentions("fewer than 10 pupils"));
}

TEST(DataSummaryTest, AHealthyLogHasNoProblem) {
  std::vector<std::vector<std::pair<uint32_t, uint8_t>>> pupils;
  for (int p = 0; p < 20; ++p) pupils.push_back({{0, 1}, {1, 0}, {0, static_cast<uint8_t>(p % 2)}});
  EXPECT_TRUE(Summarize(Log(pupils, 2)).problems.empty());
}

}  // namespace
}  // namespace cartable::ingest
