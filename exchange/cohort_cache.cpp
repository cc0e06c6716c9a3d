#include "exchange/cohort_cache.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

namespace cartable::exchange {
namespace {

using Members = std::vector<aggregation::secagg::CohortMember>;

// FNV-1a over the names and keys: only to find the candidates, which are then compared in full.
uint64_t Fingerprint(const std::vector<protocol::CohortMember>& members) {
  uint64_t h = 1469598103934665603ULL;
  const auto mix = [&h](std::string_view bytes) {
    for (const char c : bytes) {
      h ^= static_cast<uint8_t>(c);
      h *= 1099511628211ULL;
    }
  };
  for (const protocol::CohortMember& m : members) {
    mix(m.name);
    mix({reinterpret_cast<const char*>(m.signing_key.data()), m.signing_key.size()});
    h ^= 0xff;  // ends a member: "ab"+"c" is not "a"+"bc"
    h *= 1099511628211ULL;
  }
  return h ^ members.size();
}

bool Same(const Members& held, const std::vector<protocol::CohortMember>& members) {
  return held.size() == members.size() &&
         std::equal(
             held.begin(), held.end(), members.begin(),
             [](const aggregation::secagg::CohortMember& a, const protocol::CohortMember& b) {
               return a.name == b.name && a.signing_key == b.signing_key;
             });
}

struct Cache {
  std::mutex mutex;
  std::multimap<uint64_t, std::weak_ptr<const Members>> held;
};

Cache& TheCache() {
  static Cache* cache = new Cache();  // never destroyed: members may outlive static destruction
  return *cache;
}

}  // namespace

aggregation::secagg::Cohort InternCohort(const std::vector<protocol::CohortMember>& members) {
  const uint64_t fingerprint = Fingerprint(members);
  Cache& cache = TheCache();
  std::vector<std::shared_ptr<const Members>> candidates;
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto [first, last] = cache.held.equal_range(fingerprint);
    for (auto it = first; it != last; ++it) {
      if (std::shared_ptr<const Members> held = it->second.lock()) candidates.push_back(held);
    }
  }
  // Compared outside the lock: n members each, while other members of the process intern theirs.
  for (std::shared_ptr<const Members>& held : candidates) {
    if (Same(*held, members)) return aggregation::secagg::Cohort(std::move(held));
  }
  Members copy;
  copy.reserve(members.size());
  for (const protocol::CohortMember& m : members) copy.push_back({m.name, m.signing_key});
  auto shared = std::make_shared<const Members>(std::move(copy));
  std::lock_guard<std::mutex> lock(cache.mutex);
  std::erase_if(cache.held, [](const auto& entry) { return entry.second.expired(); });
  cache.held.emplace(fingerprint, shared);
  return aggregation::secagg::Cohort(std::move(shared));
}

}  // namespace cartable::exchange
