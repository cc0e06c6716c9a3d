#include "coordinator/cohort.h"

#include <algorithm>

namespace cartable::coordinator {

std::vector<CohortMember> SelectCohort(std::vector<CohortMember> joined,
                                       const std::set<std::string>& excluded) {
  std::erase_if(joined, [&](const CohortMember& m) { return excluded.contains(m.name); });
  std::sort(joined.begin(), joined.end(),
            [](const CohortMember& a, const CohortMember& b) { return a.name < b.name; });
  return joined;
}

namespace {

// Members to leave out so that every dispute loses at least one of its two members.
std::set<std::string> ResolveDisputes(std::vector<std::pair<std::string, std::string>> open) {
  std::set<std::string> out;
  while (!open.empty()) {
    std::map<std::string, int> named;
    for (const auto& [a, b] : open) {
      ++named[a];
      ++named[b];
    }
    const int most = std::max_element(named.begin(), named.end(), [](const auto& x, const auto& y) {
                       return x.second < y.second;
                     })->second;
    for (const auto& [name, count] : named) {
      if (count == most) out.insert(name);
    }
    std::erase_if(open,
                  [&](const auto& d) { return out.contains(d.first) || out.contains(d.second); });
  }
  return out;
}

}  // namespace

std::vector<CohortMember> CohortForRetry(const std::vector<CohortMember>& attempt,
                                         const AttemptFaults& faults) {
  std::set<std::string> leave = ResolveDisputes(faults.disputes);
  std::set<std::string> accusers;
  for (const auto& [accuser, accused] : faults.disputes) accusers.insert(accuser);
  for (const std::string& name : faults.proven) leave.insert(name);
  for (const std::string& name : faults.dropped) {
    if (!accusers.contains(name)) leave.insert(name);
  }
  std::vector<CohortMember> next;
  for (const CohortMember& m : attempt) {
    if (!leave.contains(m.name)) next.push_back(m);
  }
  return next;
}

}  // namespace cartable::coordinator
