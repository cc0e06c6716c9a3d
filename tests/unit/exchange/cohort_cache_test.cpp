#include "exchange/cohort_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace cartable::exchange {
namespace {

std::vector<protocol::CohortMember> Members(int n, uint8_t key_byte = 1) {
  std::vector<protocol::CohortMember> members;
  for (int i = 0; i < n; ++i) {
    protocol::CohortMember m;
    m.name = "school-" + std::to_string(1000 + i);
    m.signing_key.fill(key_byte);
    m.signing_key[0] = static_cast<uint8_t>(i);
    members.push_back(m);
  }
  return members;
}

TEST(CohortCacheTest, MembersOfOneProcessShareTheRoundsCohort) {
  const aggregation::secagg::Cohort first = InternCohort(Members(50));
  const aggregation::secagg::Cohort second = InternCohort(Members(50));
  EXPECT_EQ(first.shared().get(), second.shared().get());
  ASSERT_EQ(second.size(), 50u);
  EXPECT_EQ(second[7].name, "school-1007");
  EXPECT_EQ(second[7].signing_key[0], 7);
}

TEST(CohortCacheTest, ADifferentMemberOrKeyIsAnotherCohort) {
  const aggregation::secagg::Cohort held = InternCohort(Members(20));
  std::vector<protocol::CohortMember> renamed = Members(20);
  renamed[3].name = "school-9999";
  std::vector<protocol::CohortMember> rekeyed = Members(20);
  rekeyed[19].signing_key[31] ^= 1;
  for (const auto& other : {renamed, rekeyed, Members(19), Members(20, 2)}) {
    const aggregation::secagg::Cohort cohort = InternCohort(other);
    EXPECT_NE(cohort.shared().get(), held.shared().get());
    ASSERT_EQ(cohort.size(), other.size());
    for (size_t i = 0; i < other.size(); ++i) {
      EXPECT_EQ(cohort[i].name, other[i].name);
      EXPECT_EQ(cohort[i].signing_key, other[i].signing_key);
    }
  }
}

TEST(CohortCacheTest, PushBackNeverChangesAnotherHoldersCohort) {
  const aggregation::secagg::Cohort held = InternCohort(Members(4, 9));
  aggregation::secagg::Cohort mine = InternCohort(Members(4, 9));
  mine.push_back({"school-extra", {}});
  EXPECT_EQ(held.size(), 4u);
  EXPECT_EQ(mine.size(), 5u);
  EXPECT_EQ(InternCohort(Members(4, 9)).size(), 4u);
}

}  // namespace
}  // namespace cartable::exchange
