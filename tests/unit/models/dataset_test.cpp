#include "models/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using ::cartable::StatusCode;
using ::cartable::models::Concatenate;
using ::cartable::models::Interaction;
using ::cartable::models::InteractionLog;
using ::cartable::models::PupilSplit;
using ::cartable::models::SplitByPupil;
using ::cartable::models::Validate;
using ::testing::HasSubstr;

namespace {

// A valid log: pupil p has key keys[p] and (p % 4) + 1 answers; skills and answers follow a fixed
// pattern.
InteractionLog MakeLog(const std::vector<std::string>& keys, uint32_t num_skills = 5) {
  InteractionLog log;
  log.num_skills = num_skills;
  log.pupil_keys = keys;
  for (uint32_t p = 0; p < keys.size(); ++p) {
    for (uint32_t j = 0; j <= p % 4; ++j) {
      log.interactions.push_back({p, (p + j) % num_skills, static_cast<uint8_t>((p + j) % 2)});
    }
  }
  return log;
}

std::vector<std::string> Keys(int n, const std::string& prefix = "pupil-") {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back(prefix + std::to_string(i));
  return keys;
}

// key → the interactions (skill, correct) of that pupil, in order.
std::map<std::string, std::vector<std::pair<uint32_t, uint8_t>>> ByKey(const InteractionLog& log) {
  std::map<std::string, std::vector<std::pair<uint32_t, uint8_t>>> out;
  for (const Interaction& x : log.interactions)
    out[log.pupil_keys[x.pupil]].push_back({x.skill, x.correct});
  return out;
}

std::set<std::string> KeySet(const InteractionLog& log) {
  return {log.pupil_keys.begin(), log.pupil_keys.end()};
}

TEST(SplitByPupilTest, PutsEachPupilWhollyOnOneSide) {
  const InteractionLog log = MakeLog(Keys(200));
  const PupilSplit split = SplitByPupil(log, 0.3, 42);
  ASSERT_TRUE(Validate(split.train).ok()) << Validate(split.train);
  ASSERT_TRUE(Validate(split.test).ok()) << Validate(split.test);
  EXPECT_EQ(split.train.num_skills, log.num_skills);
  EXPECT_EQ(split.test.num_skills, log.num_skills);
  EXPECT_FALSE(split.train.pupil_keys.empty());
  EXPECT_FALSE(split.test.pupil_keys.empty());
  EXPECT_EQ(split.train.num_pupils() + split.test.num_pupils(), log.num_pupils());
  EXPECT_EQ(split.train.size() + split.test.size(), log.size());

  const auto original = ByKey(log);
  const auto train = ByKey(split.train);
  const auto test = ByKey(split.test);
  for (const auto& [key, answers] : original) {
    const bool in_train = train.count(key) > 0;
    const bool in_test = test.count(key) > 0;
    EXPECT_NE(in_train, in_test) << key;
    EXPECT_EQ(in_train ? train.at(key) : test.at(key), answers) << key;
  }
}

TEST(SplitByPupilTest, IsDeterministicForASeed) {
  const InteractionLog log = MakeLog(Keys(300));
  const PupilSplit a = SplitByPupil(log, 0.25, 9);
  const PupilSplit b = SplitByPupil(log, 0.25, 9);
  EXPECT_EQ(a.train.pupil_keys, b.train.pupil_keys);
  EXPECT_EQ(a.test.pupil_keys, b.test.pupil_keys);
  EXPECT_EQ(ByKey(a.test), ByKey(b.test));
  const PupilSplit other = SplitByPupil(log, 0.25, 10);
  EXPECT_NE(KeySet(a.test), KeySet(other.test));
}

TEST(SplitByPupilTest, DependsOnThePupilKeyNotThePosition) {
  std::vector<std::string> keys = Keys(300);
  const PupilSplit in_order = SplitByPupil(MakeLog(keys), 0.3, 5);
  std::mt19937 rng(3);
  std::shuffle(keys.begin(), keys.end(), rng);
  const PupilSplit shuffled = SplitByPupil(MakeLog(keys), 0.3, 5);
  EXPECT_EQ(KeySet(in_order.test), KeySet(shuffled.test));
  EXPECT_EQ(KeySet(in_order.train), KeySet(shuffled.train));
}

TEST(SplitByPupilTest, RoughlyHonoursTheTestFraction) {
  const InteractionLog log = MakeLog(Keys(2000));
  for (double fraction : {0.1, 0.2, 0.5}) {
    const PupilSplit split = SplitByPupil(log, fraction, 1234);
    const double share = static_cast<double>(split.test.num_pupils()) / 2000.0;
    EXPECT_NEAR(share, fraction, 0.05) << "test_fraction " << fraction;
  }
  EXPECT_EQ(SplitByPupil(log, 0.0, 1234).test.num_pupils(), 0u);
}

TEST(SplitByPupilTest, AValidationShareLeavesTheTestPupilsAsTheyWere) {
  const InteractionLog log = MakeLog(Keys(2000));
  const PupilSplit two_way = SplitByPupil(log, 0.2, 77);
  const PupilSplit three_way = SplitByPupil(log, 0.2, 77, 0.15);
  EXPECT_EQ(KeySet(three_way.test), KeySet(two_way.test));
  EXPECT_NEAR(three_way.validation.num_pupils() / 2000.0, 0.15, 0.04);
  EXPECT_EQ(three_way.train.num_pupils() + three_way.validation.num_pupils() +
                three_way.test.num_pupils(),
            2000u);
  for (const std::string& key : KeySet(three_way.validation)) {
    EXPECT_FALSE(KeySet(three_way.train).contains(key));
    EXPECT_TRUE(
        KeySet(two_way.train).contains(key));  // validation pupils come from the training side
  }
  EXPECT_TRUE(Validate(three_way.validation).ok());
  // Shares beyond 1 are clamped: everything not in test goes to validation.
  const PupilSplit all = SplitByPupil(log, 0.5, 77, 0.9);
  EXPECT_EQ(all.train.num_pupils(), 0u);
  EXPECT_EQ(all.validation.num_pupils() + all.test.num_pupils(), 2000u);
}

TEST(SplitByPupilTest, EmptyLogGivesEmptySides) {
  InteractionLog log;
  log.num_skills = 3;
  const PupilSplit split = SplitByPupil(log, 0.5, 1);
  EXPECT_EQ(split.train.size(), 0u);
  EXPECT_EQ(split.test.size(), 0u);
  EXPECT_EQ(split.train.num_skills, 3u);
}

TEST(ConcatenateTest, RenumbersPupilsAndKeepsKeys) {
  const InteractionLog a = MakeLog({"a0", "a1"}, 3);
  const InteractionLog b = MakeLog({"b0", "b1", "b2"}, 6);
  const InteractionLog both = Concatenate({&a, &b});
  ASSERT_TRUE(Validate(both).ok()) << Validate(both);
  EXPECT_EQ(both.pupil_keys, (std::vector<std::string>{"a0", "a1", "b0", "b1", "b2"}));
  EXPECT_EQ(both.num_skills, 6u);
  ASSERT_EQ(both.size(), a.size() + b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(both.interactions[i].pupil, a.interactions[i].pupil);
    EXPECT_EQ(both.interactions[i].skill, a.interactions[i].skill);
  }
  for (size_t i = 0; i < b.size(); ++i) {
    const Interaction& x = both.interactions[a.size() + i];
    EXPECT_EQ(x.pupil, b.interactions[i].pupil + 2);
    EXPECT_EQ(x.skill, b.interactions[i].skill);
    EXPECT_EQ(x.correct, b.interactions[i].correct);
  }
  EXPECT_EQ(ByKey(both).at("b2"), ByKey(b).at("b2"));
}

TEST(ValidateTest, AcceptsAWellFormedLog) {
  EXPECT_TRUE(Validate(MakeLog(Keys(10))).ok());
  EXPECT_TRUE(Validate(InteractionLog{}).ok());
}

TEST(ValidateTest, CatchesASkillOutOfRange) {
  InteractionLog log = MakeLog(Keys(3), 4);
  log.interactions[2].skill = 4;
  cartable::Status status = Validate(log);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("interaction 2"));
  EXPECT_THAT(status.message(), HasSubstr("skill"));
}

TEST(ValidateTest, CatchesANonContiguousPupil) {
  InteractionLog log;
  log.num_skills = 2;
  log.pupil_keys = {"x", "y"};
  log.interactions = {{0, 0, 1}, {1, 1, 0}, {0, 1, 1}};
  cartable::Status status = Validate(log);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("interaction 2"));
  EXPECT_THAT(status.message(), HasSubstr("contiguous"));
}

TEST(ValidateTest, CatchesAnAnswerOfTwo) {
  InteractionLog log = MakeLog(Keys(2));
  log.interactions[1].correct = 2;
  cartable::Status status = Validate(log);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("interaction 1"));
  EXPECT_THAT(status.message(), HasSubstr("neither 0 nor 1"));
}

TEST(ValidateTest, CatchesAPupilIndexOutOfRange) {
  InteractionLog log = MakeLog(Keys(2));
  log.interactions.push_back({2, 0, 1});
  cartable::Status status = Validate(log);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("pupil"));
}

}  // namespace

// Regression: a fraction of 1.0 once converted 2^64 to uint64_t (undefined behaviour) and sent
// every pupil to train.
TEST(SplitByPupilRegressionTest, FractionOneSendsEveryPupilToTest) {
  cartable::models::InteractionLog log;
  log.num_skills = 1;
  for (uint32_t p = 0; p < 50; ++p) {
    log.pupil_keys.push_back("pupil-" + std::to_string(p));
    log.interactions.push_back({p, 0, 1});
  }
  auto all = cartable::models::SplitByPupil(log, 1.0, 3);
  EXPECT_EQ(all.test.num_pupils(), 50u);
  EXPECT_EQ(all.train.num_pupils(), 0u);
  auto beyond = cartable::models::SplitByPupil(log, 7.0, 3);
  EXPECT_EQ(beyond.test.num_pupils(), 50u);
  auto negative = cartable::models::SplitByPupil(log, -1.0, 3);
  EXPECT_EQ(negative.train.num_pupils(), 50u);
}
