// Sampling a fraction of the joined nodes per round: the right count, sorted by name, replayable
// from (seed, round), independent of the order nodes joined in, and fair over many rounds.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "coordinator/cohort.h"

namespace cartable::coordinator {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsSubsetOf;

// Nodes "school-a" .. in the order given.
std::vector<CohortMember> Members(const std::vector<std::string>& names) {
  std::vector<CohortMember> out;
  for (const std::string& name : names) out.push_back({"peer-" + name, name, {}});
  return out;
}

std::vector<std::string> TenNames() {
  std::vector<std::string> names;
  for (char c = 'j'; c >= 'a'; --c) names.push_back(std::string("school-") + c);  // unsorted
  return names;
}

std::vector<std::string> NamesOf(const std::vector<CohortMember>& members) {
  std::vector<std::string> out;
  for (const CohortMember& m : members) out.push_back(m.name);
  return out;
}

std::vector<std::string> Draw(const std::vector<std::string>& joined, double fraction,
                              uint32_t round, uint64_t seed = 1, size_t at_least = 0,
                              const std::set<std::string>& excluded = {}) {
  return NamesOf(SelectCohort(Members(joined), excluded, {fraction, at_least, seed, round}));
}

std::vector<std::string> Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

TEST(CohortSamplingTest, FractionOneKeepsEveryNodeSortedByName) {
  EXPECT_THAT(Draw(TenNames(), 1.0, 3), ElementsAreArray(Sorted(TenNames())));
  // at_least does not shrink anything either.
  EXPECT_THAT(Draw(TenNames(), 1.0, 3, 1, 2), ElementsAreArray(Sorted(TenNames())));
}

TEST(CohortSamplingTest, HalfOfTenIsFiveDistinctJoinedNodesSortedByName) {
  for (uint32_t round = 1; round <= 20; ++round) {
    SCOPED_TRACE(round);
    const std::vector<std::string> cohort = Draw(TenNames(), 0.5, round);
    EXPECT_EQ(cohort.size(), 5u);
    EXPECT_TRUE(std::is_sorted(cohort.begin(), cohort.end()));
    EXPECT_EQ(std::set<std::string>(cohort.begin(), cohort.end()).size(), 5u);
    EXPECT_THAT(cohort, IsSubsetOf(TenNames()));
  }
}

TEST(CohortSamplingTest, TheCountIsTheCeilingOfTheFraction) {
  EXPECT_EQ(Draw(TenNames(), 0.31, 1).size(), 4u);
  EXPECT_EQ(Draw(TenNames(), 0.3, 1).size(), 3u);
  EXPECT_EQ(Draw(TenNames(), 0.01, 1).size(), 1u);
  EXPECT_EQ(Draw(TenNames(), 0.99, 1).size(), 10u);
}

// Regression: ⌈fraction · n⌉ in floating point took 0.28 · 25 = 7.000000000000001 and
// 0.55 · 100 = 55.00000000000001 up to 8 and 56, where the plan asked for 7 and 55.
TEST(CohortSamplingTest, TheCountIsTheExactCeilingWhenFractionTimesNodesIsWhole) {
  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i) many.push_back("node-" + std::to_string(100 + i));
  const std::vector<std::string> twenty_five(many.begin(), many.begin() + 25);
  EXPECT_EQ(Draw(twenty_five, 0.28, 1).size(), 7u);
  EXPECT_EQ(Draw(many, 0.55, 1).size(), 55u);
  EXPECT_EQ(Draw(many, 0.07, 1).size(), 7u);
}

TEST(CohortSamplingTest, TheSameSeedAndRoundDrawTheSameCohort) {
  for (uint32_t round = 1; round <= 10; ++round) {
    EXPECT_EQ(Draw(TenNames(), 0.5, round, 42), Draw(TenNames(), 0.5, round, 42));
  }
}

TEST(CohortSamplingTest, AnotherRoundOrSeedDrawsAnotherCohort) {
  std::set<std::vector<std::string>> by_round;
  std::set<std::vector<std::string>> by_seed;
  for (uint32_t i = 1; i <= 10; ++i) {
    by_round.insert(Draw(TenNames(), 0.5, i, 42));
    by_seed.insert(Draw(TenNames(), 0.5, 1, i));
  }
  // 252 possible cohorts: ten draws that repeat a lot would mean the round or seed is ignored.
  EXPECT_GE(by_round.size(), 5u);
  EXPECT_GE(by_seed.size(), 5u);
}

TEST(CohortSamplingTest, AtLeastRaisesTheCount) {
  const std::vector<std::string> cohort = Draw(TenNames(), 0.3, 4, 1, 6);
  EXPECT_EQ(cohort.size(), 6u);
  EXPECT_TRUE(std::is_sorted(cohort.begin(), cohort.end()));
  // The drawn three are among the six: a larger cohort takes the next lowest draws.
  EXPECT_THAT(Draw(TenNames(), 0.3, 4, 1), IsSubsetOf(cohort));
  // Never more than joined.
  EXPECT_EQ(Draw(TenNames(), 0.3, 4, 1, 50).size(), 10u);
}

TEST(CohortSamplingTest, TheOrderNodesJoinedInDoesNotMatter) {
  std::vector<std::string> reversed = TenNames();
  std::reverse(reversed.begin(), reversed.end());
  std::vector<std::string> shuffled = {"school-c", "school-h", "school-a", "school-j", "school-e",
                                       "school-b", "school-i", "school-d", "school-g", "school-f"};
  for (uint32_t round = 1; round <= 10; ++round) {
    SCOPED_TRACE(round);
    const auto cohort = Draw(TenNames(), 0.4, round, 7);
    EXPECT_EQ(Draw(reversed, 0.4, round, 7), cohort);
    EXPECT_EQ(Draw(shuffled, 0.4, round, 7), cohort);
  }
}

TEST(CohortSamplingTest, ANodeChosenAmongManyIsChosenAmongAnyOfThemItBelongsTo) {
  // The k lowest draws of a set are among the k lowest of any subset holding them: a node's draw
  // is its own, whoever else joined.
  const std::vector<std::string> all = TenNames();
  const std::vector<std::string> some = {all[0], all[2], all[4], all[6], all[8]};
  for (uint32_t round = 1; round <= 10; ++round) {
    SCOPED_TRACE(round);
    const std::vector<std::string> from_all = Draw(all, 0.2, round, 3);  // two of ten
    std::vector<std::string> chosen_in_some;
    for (const std::string& name : from_all) {
      if (std::count(some.begin(), some.end(), name)) chosen_in_some.push_back(name);
    }
    const std::vector<std::string> from_some = Draw(some, 0.4, round, 3);  // two of five
    EXPECT_THAT(chosen_in_some, IsSubsetOf(from_some));
  }
}

TEST(CohortSamplingTest, ExcludedNodesNeverAppear) {
  const std::set<std::string> excluded = {"school-a", "school-d", "school-j"};
  for (uint32_t round = 1; round <= 30; ++round) {
    SCOPED_TRACE(round);
    const auto cohort = Draw(TenNames(), 0.5, round, 9, 0, excluded);
    EXPECT_EQ(cohort.size(), 4u);  // ⌈0.5 · 7⌉ of the seven left
    for (const std::string& name : cohort) EXPECT_FALSE(excluded.contains(name)) << name;
  }
  // With at_least above what is left, every node not excluded, and still none excluded.
  EXPECT_EQ(Draw(TenNames(), 0.5, 1, 9, 9, excluded).size(), 7u);
}

TEST(CohortSamplingTest, OverManyRoundsEveryNodeIsChosenAboutItsShare) {
  // Three of ten per round over 200 rounds: 60 each on average (σ ≈ 6.5). A draw that ignores the
  // round, or favours some names, leaves nodes far outside [40, 80].
  std::map<std::string, int> chosen;
  for (uint32_t round = 1; round <= 200; ++round) {
    for (const std::string& name : Draw(TenNames(), 0.3, round, 2024)) ++chosen[name];
  }
  ASSERT_EQ(chosen.size(), 10u);
  for (const auto& [name, count] : chosen) {
    EXPECT_GE(count, 40) << name;
    EXPECT_LE(count, 80) << name;
  }
}

}  // namespace
}  // namespace cartable::coordinator
