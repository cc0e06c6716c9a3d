#include "simulations/partition.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace cartable::simulations {
namespace {

// `pupils` pupils, each answering 3 times; pupil p's answers are mostly on skill p % skills.
models::InteractionLog Log(uint32_t pupils, uint32_t skills, const std::string& prefix = "k") {
  models::InteractionLog log;
  log.num_skills = skills;
  for (uint32_t p = 0; p < pupils; ++p) {
    log.pupil_keys.push_back(prefix + std::to_string(p));
    for (uint32_t a = 0; a < 3; ++a)
      log.interactions.push_back({p, a < 2 ? p % skills : (p + 1) % skills, uint8_t(a % 2), 0});
  }
  return log;
}

std::vector<size_t> Sizes(const Partition& p) {
  std::vector<size_t> size(p.names.size(), 0);
  for (uint32_t s : p.school_of) size[s] += 1;
  return size;
}

TEST(PartitionTest, ParsesEachKindAndRefusesOthersSayingWhatIsExpected) {
  EXPECT_EQ(ParsePartition("iid")->kind, PartitionSpec::Kind::kIid);
  EXPECT_EQ(ParsePartition("quantity:0.5")->alpha, 0.5);
  EXPECT_EQ(ParsePartition("dirichlet:2")->kind, PartitionSpec::Kind::kDirichlet);
  EXPECT_EQ(ParsePartition("by:region")->column, "region");
  for (const char* bad : {"", "iid:3", "dirichlet", "dirichlet:", "dirichlet:-1", "dirichlet:x",
                          "quantity:0", "by:", "random"}) {
    auto spec = ParsePartition(bad);
    EXPECT_FALSE(spec.ok()) << bad;
    EXPECT_NE(spec.status().message().find("expected iid"), std::string::npos) << bad;
  }
}

TEST(PartitionTest, IidDealsPupilsEvenlyAndTheSeedDecides) {
  const auto log = Log(103, 5);
  auto a = PartitionPupilsIntoSchools(log, *ParsePartition("iid"), 10, 1, nullptr).value();
  ASSERT_EQ(a.names.size(), 10u);
  EXPECT_EQ(a.names[0], "school-01");
  for (size_t n : Sizes(a)) EXPECT_TRUE(n == 10 || n == 11) << n;
  auto again = PartitionPupilsIntoSchools(log, *ParsePartition("iid"), 10, 1, nullptr).value();
  EXPECT_EQ(a.school_of, again.school_of);
  auto other = PartitionPupilsIntoSchools(log, *ParsePartition("iid"), 10, 2, nullptr).value();
  EXPECT_NE(a.school_of, other.school_of);
}

TEST(PartitionTest, QuantitySkewMakesUnequalSchoolsOfAtLeastTwoPupils) {
  const auto log = Log(400, 5);
  auto p = PartitionPupilsIntoSchools(log, *ParsePartition("quantity:0.3"), 20, 3, nullptr).value();
  const auto sizes = Sizes(p);
  size_t total = 0;
  for (size_t n : sizes) {
    EXPECT_GE(n, 2u);
    total += n;
  }
  EXPECT_EQ(total, 400u);
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()),
            4 * *std::min_element(sizes.begin(), sizes.end()));
}

TEST(PartitionTest, LabelSkewGivesEachSchoolFewClassesWhenAlphaIsSmall) {
  const auto log = Log(600, 6);
  auto skewed =
      PartitionPupilsIntoSchools(log, *ParsePartition("dirichlet:0.1"), 6, 1, nullptr).value();
  auto even =
      PartitionPupilsIntoSchools(log, *ParsePartition("dirichlet:1000"), 6, 1, nullptr).value();
  // The share of each school's pupils in its largest class (pupil p's class is p % 6).
  auto dominance = [&](const Partition& p) {
    std::vector<std::map<uint32_t, size_t>> counts(p.names.size());
    for (uint32_t pupil = 0; pupil < p.school_of.size(); ++pupil)
      counts[p.school_of[pupil]][pupil % 6] += 1;
    double sum = 0;
    for (const auto& c : counts) {
      size_t total = 0, best = 0;
      for (const auto& [cls, n] : c) {
        total += n;
        best = std::max(best, n);
      }
      sum += double(best) / double(total);
    }
    return sum / double(counts.size());
  };
  EXPECT_GT(dominance(skewed), 0.5);
  EXPECT_LT(dominance(even), 0.3);
  for (size_t n : Sizes(skewed)) EXPECT_GE(n, 2u);
}

TEST(PartitionTest, ByAColumnMakesOneSchoolPerValueAndPupilsWithoutOneGoToUnknown) {
  const auto log = Log(7, 2);
  const ingest::PupilAttribute region = {{"k0", "North East"}, {"k1", "North East"},
                                         {"k2", "Wales"},      {"k3", "Wales"},
                                         {"k4", "Wales"},      {"k5", "x"}};
  auto spec = *ParsePartition("by:region");
  auto refused = PartitionPupilsIntoSchools(log, spec, 0, 1, &region);
  ASSERT_FALSE(refused.ok());  // "x" and "unknown" hold one pupil each
  EXPECT_NE(refused.status().message().find("region-"), std::string::npos) << refused.status();
  ingest::PupilAttribute enough = region;
  enough["k5"] = "Wales";
  enough["k6"] = "Wales";
  auto p = PartitionPupilsIntoSchools(log, spec, 0, 1, &enough).value();
  EXPECT_EQ(p.names, (std::vector<std::string>{"region-North-East", "region-Wales"}));
  EXPECT_EQ(p.values, (std::vector<std::string>{"North East", "Wales"}));
  EXPECT_EQ(Sizes(p), (std::vector<size_t>{2, 5}));
  // Values a name cannot tell apart still make two schools of two names.
  ingest::PupilAttribute alike = enough;
  alike["k2"] = alike["k3"] = "North-East";
  auto two = PartitionPupilsIntoSchools(log, spec, 0, 1, &alike).value();
  EXPECT_EQ(two.names,
            (std::vector<std::string>{"region-North-East", "region-North-East-2", "region-Wales"}));
}

TEST(PartitionTest, TooFewPupilsForTheSchoolsIsRefused) {
  auto p = PartitionPupilsIntoSchools(Log(9, 2), *ParsePartition("iid"), 5, 1, nullptr);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("fewer --schools"), std::string::npos);
}

// Held-out pupils from their own file land where the partition would have put them: with the
// training pupils' shares of the schools (of their class, for label skew), in the school of their
// value for by:COLUMN, and a pupil in both files in the school it trains in.
TEST(PartitionTest, HeldOutPupilsFollowThePartitionAndNeverStraddleTwoSchools) {
  const auto train = Log(600, 6);
  auto test = Log(300, 6, "t");
  test.pupil_keys[7] = "k42";  // also a training pupil
  const auto iid = *ParsePartition("iid");
  const auto split = PartitionPupilsIntoSchools(train, iid, 6, 1, nullptr).value();
  const auto placed = PlaceHeldOutPupils(train, split, test, iid, 1, nullptr).value();
  ASSERT_EQ(placed.size(), 300u);
  EXPECT_EQ(placed[7], split.school_of[42]);
  std::vector<size_t> count(6, 0);
  for (uint32_t s : placed) count.at(s) += 1;
  for (size_t n : count) EXPECT_GT(n, 20u) << "about 50 each";
  EXPECT_EQ(placed, PlaceHeldOutPupils(train, split, test, iid, 1, nullptr).value());

  // Label skew: a held-out pupil goes only to a school that trains pupils of its class.
  const auto skew = *ParsePartition("dirichlet:0.1");
  const auto skewed = PartitionPupilsIntoSchools(train, skew, 6, 1, nullptr).value();
  const auto by_class = PlaceHeldOutPupils(train, skewed, test, skew, 1, nullptr).value();
  std::set<std::pair<uint32_t, uint32_t>> trained;  // (school, class)
  for (uint32_t p = 0; p < 600; ++p) trained.emplace(skewed.school_of[p], p % 6);
  for (uint32_t p = 0; p < 300; ++p) {
    if (p == 7) continue;
    EXPECT_TRUE(trained.contains({by_class[p], p % 6})) << "pupil " << p;
  }

  // By a column: the school of the pupil's value, none for a value no school has.
  const auto by = *ParsePartition("by:region");
  ingest::PupilAttribute region;
  for (uint32_t p = 0; p < 600; ++p) region["k" + std::to_string(p)] = p % 2 ? "North" : "Wales";
  const auto regions = PartitionPupilsIntoSchools(train, by, 0, 1, &region).value();
  ingest::PupilAttribute held = {
      {"t0", "Wales"}, {"t1", "North"}, {"t2", "Mars"}, {"k42", "North"}};
  auto small = Log(3, 6, "t");
  small.pupil_keys.push_back("k42");
  const auto placed_by = PlaceHeldOutPupils(train, regions, small, by, 1, &held).value();
  EXPECT_EQ(placed_by, (std::vector<uint32_t>{1, 0, kNoSchool, 1}))
      << "k42 (Wales in training) stays in its school";

  // A school left without held-out pupils is refused, by name.
  held.erase("t1");
  auto refused = PlaceHeldOutPupils(train, regions, small, by, 1, &held);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'region-North'"), std::string::npos)
      << refused.status();
}

TEST(PartitionTest, PartitionPupilsKeepsEveryPupilWhole) {
  const auto log = Log(50, 4);
  auto p = PartitionPupilsIntoSchools(log, *ParsePartition("iid"), 4, 9, nullptr).value();
  const auto parts = models::PartitionPupils(log, p.school_of, p.names.size());
  size_t answers = 0;
  std::set<std::string> keys;
  for (const auto& part : parts) {
    answers += part.size();
    for (const auto& key : part.pupil_keys) EXPECT_TRUE(keys.insert(key).second) << key;
    EXPECT_TRUE(models::Validate(part).ok());
  }
  EXPECT_EQ(answers, log.size());
  EXPECT_EQ(keys.size(), 50u);
}

}  // namespace
}  // namespace cartable::simulations
