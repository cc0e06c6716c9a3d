#include "coordinator/cohort.h"

#include <algorithm>
#include <cmath>

namespace cartable::coordinator {

namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A member's draw in a round: FNV-1a of its name, mixed with the seed and the round.
uint64_t Draw(const std::string& name, const Sampling& sampling) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return SplitMix64(h ^ SplitMix64(sampling.seed ^ SplitMix64(sampling.round)));
}

bool ByName(const CohortMember& a, const CohortMember& b) { return a.name < b.name; }

}  // namespace

size_t SampleSize(const Sampling& sampling, size_t eligible) {
  if (sampling.fraction >= 1.0) return eligible;
  const auto drawn =
      static_cast<size_t>(std::ceil(sampling.fraction * static_cast<double>(eligible) - 1e-9));
  return std::min(eligible, std::max(sampling.at_least, drawn));
}

std::vector<CohortMember> SelectCohort(std::vector<CohortMember> joined,
                                       const std::set<std::string>& excluded,
                                       const Sampling& sampling) {
  std::erase_if(joined, [&](const CohortMember& m) { return excluded.contains(m.name); });
  std::sort(joined.begin(), joined.end(), ByName);
  if (sampling.fraction >= 1.0) return joined;
  const size_t keep = SampleSize(sampling, joined.size());
  std::stable_sort(joined.begin(), joined.end(), [&](const CohortMember& a, const CohortMember& b) {
    return Draw(a.name, sampling) < Draw(b.name, sampling);
  });
  joined.resize(keep);
  std::sort(joined.begin(), joined.end(), ByName);
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
