#include "models/pfa_features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using ::cartable::models::ComputePfaFeatures;
using ::cartable::models::InteractionLog;
using ::cartable::models::PfaFeatures;

namespace {

// The four features of interaction i.
std::vector<float> Row(const PfaFeatures& f, size_t i) {
  return std::vector<float>(f.values.begin() + static_cast<long>(i * PfaFeatures::kValues),
                            f.values.begin() + static_cast<long>((i + 1) * PfaFeatures::kValues));
}

std::vector<float> Expect(int skill_successes, int skill_failures, int all_successes,
                          int all_failures) {
  return {std::log1p(static_cast<float>(skill_successes)),
          std::log1p(static_cast<float>(skill_failures)),
          std::log1p(static_cast<float>(all_successes)),
          std::log1p(static_cast<float>(all_failures))};
}

// Pupil 0: skill 0 right, skill 0 wrong, skill 1 right, skill 0 right, skill 2 wrong.
// Pupil 1: skill 0 wrong, skill 1 right, skill 2 right.
InteractionLog TwoPupils() {
  InteractionLog log;
  log.num_skills = 3;
  log.pupil_keys = {"k0", "k1"};
  log.interactions = {{0, 0, 1}, {0, 0, 0}, {0, 1, 1}, {0, 0, 1},
                      {0, 2, 0}, {1, 0, 0}, {1, 1, 1}, {1, 2, 1}};
  return log;
}

TEST(PfaFeaturesTest, HasOneSkillAndFourValuesPerInteraction) {
  const PfaFeatures f = ComputePfaFeatures(TwoPupils());
  EXPECT_EQ(PfaFeatures::kValues, 4);
  EXPECT_EQ(f.skill, (std::vector<int64_t>{0, 0, 1, 0, 2, 0, 1, 2}));
  EXPECT_EQ(f.values.size(), 8u * PfaFeatures::kValues);
}

TEST(PfaFeaturesTest, CountsOnlyWhatCameBeforeEachAnswer) {
  const PfaFeatures f = ComputePfaFeatures(TwoPupils());
  ASSERT_EQ(f.values.size(), 8u * PfaFeatures::kValues);
  EXPECT_EQ(Row(f, 0), Expect(0, 0, 0, 0));  // first answer: nothing before
  EXPECT_EQ(Row(f, 1), Expect(1, 0, 1, 0));  // skill 0 once right
  EXPECT_EQ(Row(f, 2), Expect(0, 0, 1, 1));  // skill 1 new; overall 1 right, 1 wrong
  EXPECT_EQ(Row(f, 3), Expect(1, 1, 2, 1));  // skill 0: 1 right, 1 wrong; overall 2 right, 1 wrong
  EXPECT_EQ(Row(f, 4), Expect(0, 0, 3, 1));  // skill 2 new; overall 3 right, 1 wrong
}

TEST(PfaFeaturesTest, CountsResetBetweenPupils) {
  const PfaFeatures f = ComputePfaFeatures(TwoPupils());
  ASSERT_EQ(f.values.size(), 8u * PfaFeatures::kValues);
  EXPECT_EQ(Row(f, 5),
            Expect(0, 0, 0, 0));  // pupil 1 starts from scratch, although pupil 0 used skill 0
  EXPECT_EQ(Row(f, 6), Expect(0, 0, 0, 1));  // skill 1 (pupil 0 got it right) is new for pupil 1
  EXPECT_EQ(Row(f, 7), Expect(0, 0, 1, 1));  // skill 2 (pupil 0 got it wrong) is new for pupil 1
}

TEST(PfaFeaturesTest, RepeatedPracticeGrowsLogarithmically) {
  InteractionLog log;
  log.num_skills = 1;
  log.pupil_keys = {"only"};
  for (int i = 0; i < 6; ++i)
    log.interactions.push_back({0, 0, static_cast<uint8_t>(i < 4 ? 1 : 0)});
  const PfaFeatures f = ComputePfaFeatures(log);
  ASSERT_EQ(f.values.size(), 6u * PfaFeatures::kValues);
  EXPECT_EQ(Row(f, 4), Expect(4, 0, 4, 0));
  EXPECT_EQ(Row(f, 5), Expect(4, 1, 4, 1));
  EXPECT_FLOAT_EQ(Row(f, 5)[0], std::log(5.0f));
}

TEST(PfaFeaturesTest, EmptyLogHasNoFeatures) {
  InteractionLog log;
  log.num_skills = 2;
  const PfaFeatures f = ComputePfaFeatures(log);
  EXPECT_TRUE(f.skill.empty());
  EXPECT_TRUE(f.values.empty());
}

}  // namespace
