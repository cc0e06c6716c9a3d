#include "coordinator/cohort.h"

#include <gtest/gtest.h>

namespace cartable::coordinator {
namespace {

std::vector<CohortMember> Members(std::initializer_list<const char*> names) {
  std::vector<CohortMember> out;
  for (const char* n : names) out.push_back({std::string("peer-") + n, n, {}});
  return out;
}

std::vector<std::string> NamesOf(const std::vector<CohortMember>& members) {
  std::vector<std::string> out;
  for (const CohortMember& m : members) out.push_back(m.name);
  return out;
}

TEST(CohortTest, SelectsEveryJoinedNodeNotExcludedSortedByName) {
  EXPECT_EQ(NamesOf(SelectCohort(Members({"c", "a", "d", "b"}), {"d"})),
            (std::vector<std::string>{"a", "b", "c"}));
}

TEST(CohortTest, ARetryLeavesOutWhoDroppedAndWhoWasCaught) {
  AttemptFaults faults;
  faults.dropped = {"b"};
  faults.proven = {"d"};
  EXPECT_EQ(NamesOf(CohortForRetry(Members({"a", "b", "c", "d"}), faults)),
            (std::vector<std::string>{"a", "c"}));
}

// Regression: one node sent bad shares to every neighbour; each refused naming it, and every retry
// included it again.
TEST(CohortTest, TheNodeEveryAccuserNamesGoesAndTheAccusersStay) {
  AttemptFaults faults;
  faults.dropped = {"a", "b", "c"};  // they refused the attempt
  faults.disputes = {{"a", "m"}, {"b", "m"}, {"c", "m"}};
  EXPECT_EQ(NamesOf(CohortForRetry(Members({"a", "b", "c", "m"}), faults)),
            (std::vector<std::string>{"a", "b", "c"}));
}

TEST(CohortTest, ALoneFalseAccusationCostsTheAccuserItsPlaceToo) {
  AttemptFaults faults;
  faults.disputes = {{"m", "a"}};
  EXPECT_EQ(NamesOf(CohortForRetry(Members({"a", "b", "c", "m"}), faults)),
            (std::vector<std::string>{"b", "c"}));
}

}  // namespace
}  // namespace cartable::coordinator
