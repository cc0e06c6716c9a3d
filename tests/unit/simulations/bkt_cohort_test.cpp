// The BKT generator: pupils learn with practice, forget what they leave, are held back by
// unmastered prerequisites; the same seed gives the same cohort. And the layout both generators
// share: kinds of establishment by their shares and sizes, and the skills each school practises.

#include "simulations/bkt_cohort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace cartable::simulations {
namespace {

CohortConfig Bkt() {
  CohortConfig c;
  c.generator = CohortConfig::Generator::kBkt;
  c.schools = 3;
  c.skills = 6;
  c.min_pupils = c.max_pupils = 300;
  c.min_answers = c.max_answers = 60;
  c.school_ability_spread = 0;
  c.seed = 11;
  return c;
}

// Share of right answers among the n-th answers pupils give to a skill, n = 1, 2, …, `upto`.
std::vector<double> SuccessByAttempt(const std::vector<SyntheticSchool>& cohort, size_t upto) {
  std::vector<double> right(upto, 0);
  std::vector<double> seen(upto, 0);
  for (const SyntheticSchool& school : cohort) {
    for (const SyntheticPupil& pupil : school.pupils) {
      std::map<uint32_t, size_t> attempts;
      for (const SyntheticAnswer& a : pupil.answers) {
        const size_t n = attempts[a.skill]++;
        if (n < upto) {
          right[n] += a.correct;
          seen[n] += 1;
        }
      }
    }
  }
  for (size_t n = 0; n < upto; ++n) right[n] /= seen[n];
  return right;
}

double Success(const std::vector<SyntheticSchool>& cohort) {
  double right = 0;
  double all = 0;
  for (const SyntheticSchool& school : cohort) {
    for (const SyntheticPupil& pupil : school.pupils) {
      for (const SyntheticAnswer& a : pupil.answers) {
        right += a.correct;
        all += 1;
      }
    }
  }
  return right / all;
}

TEST(BktCohortTest, TheSameSeedGivesTheSameCohortAndAnswersAreRightAsMasteryMakesThem) {
  const CohortConfig config = Bkt();
  ASSERT_TRUE(Validate(config).ok());
  const auto a = GenerateCohort(config);
  const auto b = GenerateCohort(config);
  ASSERT_EQ(a.size(), 3u);
  for (size_t s = 0; s < a.size(); ++s) {
    ASSERT_EQ(a[s].pupils.size(), 300u);
    for (size_t p = 0; p < a[s].pupils.size(); ++p) {
      ASSERT_EQ(a[s].pupils[p].answers.size(), 60u);
      for (size_t i = 0; i < 60; ++i) {
        const SyntheticAnswer& x = a[s].pupils[p].answers[i];
        EXPECT_EQ(x.correct, b[s].pupils[p].answers[i].correct);
        EXPECT_EQ(x.item / 5, x.skill) << "an item belongs to its skill";
        // Right with 1 − slip or the guess, each within ±50% of the configured on the logit scale.
        EXPECT_TRUE(x.probability > 0.5f || x.probability < 0.35f) << x.probability;
      }
    }
  }
  CohortConfig other = config;
  other.seed = 12;
  EXPECT_NE(Success(a), Success(GenerateCohort(other)));
}

TEST(BktCohortTest, PupilsLearnWithPracticeAndWithoutLearningStayWhereTheyStarted) {
  CohortConfig config = Bkt();
  config.bkt.forget = 0;
  const std::vector<double> learning = SuccessByAttempt(GenerateCohort(config), 8);
  EXPECT_GT(learning[7], learning[0] + 0.15) << "the eighth attempt is right more often";
  config.bkt.learn = 0;
  const std::vector<double> flat = SuccessByAttempt(GenerateCohort(config), 8);
  EXPECT_NEAR(flat[7], flat[0], 0.05) << "nothing learnt, nothing gained";
}

TEST(BktCohortTest, ForgettingAndPrerequisitesCostRightAnswers) {
  CohortConfig config = Bkt();
  config.bkt.forget = 0;
  config.bkt.prerequisites = 0;
  const double free = Success(GenerateCohort(config));
  CohortConfig forgetting = config;
  forgetting.bkt.forget = 0.1;
  EXPECT_LT(Success(GenerateCohort(forgetting)), free - 0.05);
  CohortConfig chained = config;
  chained.bkt.prerequisites = 1;  // every skill needs every earlier one
  chained.bkt.blocked = 0;        // and is never learnt before them
  EXPECT_LT(Success(GenerateCohort(chained)), free - 0.05);
}

TEST(BktCohortTest, BadParametersAreRefusedNamingThem) {
  for (const char* bad : {"../x", "", "a b", "ecole/1"}) {
    CohortConfig named = Bkt();
    named.kinds = {{bad, 1, 20, 40}};
    EXPECT_NE(Validate(named).message().find("a kind of establishment is named"), std::string::npos)
        << bad;
  }
  CohortConfig huge = Bkt();
  huge.skills = kMaxBktSkills + 1;
  EXPECT_NE(Validate(huge).message().find("at most 2000 skills"), std::string::npos);
  huge = Bkt();
  huge.schools = 10000;
  huge.max_pupils = 10000;
  EXPECT_NE(Validate(huge).message().find("2 billion answers"), std::string::npos);
  CohortConfig config = Bkt();
  config.bkt.slip = 0.9;
  EXPECT_NE(Validate(config).message().find("guess + slip"), std::string::npos);
  config = Bkt();
  config.bkt.forget = 1.5;
  EXPECT_NE(Validate(config).message().find("bkt forget"), std::string::npos);
  config = Bkt();
  config.skill_coverage = 0;
  EXPECT_NE(Validate(config).message().find("skill coverage"), std::string::npos);
  config = Bkt();
  config.kinds = {{"college", 1, 40, 20}};
  EXPECT_NE(Validate(config).message().find("pupils of a college"), std::string::npos);
  config.kinds = {{"college", 0, 20, 40}};
  EXPECT_NE(Validate(config).message().find("no share"), std::string::npos);
}

TEST(SchoolLayoutTest, KindsFollowTheirSharesAndSizesAndSchoolsPractiseTheirShareOfSkills) {
  CohortConfig config;
  config.schools = 10;
  config.skills = 20;
  config.skill_coverage = 0.42;  // 8.4 → 9 skills a school
  config.kinds = {{"ecole", 5, 20, 60}, {"college", 3, 200, 400}, {"lycee", 2, 500, 900}};
  const auto layout = LayOutSchools(config);
  ASSERT_EQ(layout.size(), 10u);
  std::map<std::string, int> count;
  std::set<std::vector<uint32_t>> skill_sets;
  for (const SchoolLayout& school : layout) {
    count[school.kind] += 1;
    EXPECT_EQ(school.name.substr(0, school.kind.size() + 1), school.kind + "-") << school.name;
    EXPECT_EQ(school.skills.size(), 9u);
    EXPECT_TRUE(std::is_sorted(school.skills.begin(), school.skills.end()));
    EXPECT_EQ(std::set<uint32_t>(school.skills.begin(), school.skills.end()).size(), 9u);
    skill_sets.insert(school.skills);
  }
  EXPECT_EQ(count, (std::map<std::string, int>{{"college", 3}, {"ecole", 5}, {"lycee", 2}}));
  EXPECT_GT(skill_sets.size(), 5u) << "schools practise different skills";

  config.generator = CohortConfig::Generator::kBkt;
  config.min_answers = config.max_answers = 5;
  for (const auto& generator : {CohortConfig::Generator::kIrt, CohortConfig::Generator::kBkt}) {
    config.generator = generator;
    const auto cohort = GenerateCohort(config);
    for (size_t s = 0; s < cohort.size(); ++s) {
      const SchoolKind& kind =
          *std::find_if(config.kinds.begin(), config.kinds.end(),
                        [&](const SchoolKind& k) { return k.name == layout[s].kind; });
      EXPECT_GE(cohort[s].pupils.size(), static_cast<size_t>(kind.min_pupils));
      EXPECT_LE(cohort[s].pupils.size(), static_cast<size_t>(kind.max_pupils));
      EXPECT_EQ(cohort[s].name, layout[s].name);
      const std::set<uint32_t> practised(layout[s].skills.begin(), layout[s].skills.end());
      for (const auto& pupil : cohort[s].pupils) {
        for (const auto& a : pupil.answers) EXPECT_TRUE(practised.contains(a.skill)) << a.skill;
      }
    }
  }

  // Two schools of shares 0.5, 0.3 and 0.2: one école, then the largest remainder, a collège.
  config.schools = 2;
  config.kinds = {{"ecole", 0.5, 20, 60}, {"college", 0.3, 200, 400}, {"lycee", 0.2, 500, 900}};
  count.clear();
  for (const SchoolLayout& school : LayOutSchools(config)) count[school.kind] += 1;
  EXPECT_EQ(count, (std::map<std::string, int>{{"college", 1}, {"ecole", 1}}));
}

}  // namespace
}  // namespace cartable::simulations
