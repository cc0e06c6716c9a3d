#pragma once

// Who takes part in one attempt at a round, and who sits out the next attempt after a failed one.
// The RoundLoop asks here rather than deciding inline, so sampling by the strategies (a fraction of
// the joined nodes per round, with the plan's seed) has one place to attach. Pure functions.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/messages.h"
#include "protocol/transport.h"

namespace cartable::coordinator {

struct CohortMember {
  protocol::PeerId peer;
  std::string name;
  protocol::PublicKeyBytes signing_key{};
};

// How many of the eligible nodes a round takes, and which: a plan's fraction (1: all of them),
// never fewer than at_least, drawn from the run's seed and the round number.
struct Sampling {
  double fraction = 1.0;
  size_t at_least = 0;
  uint64_t seed = 0;
  uint32_t round = 0;
};

// How many of `eligible` nodes a round with this sampling takes: max(at_least, ⌈fraction·n⌉), at
// most n. The ceiling forgives the last bits of the product (0.28 × 25 is 7, not 8).
size_t SampleSize(const Sampling& sampling, size_t eligible);

// The cohort of an attempt: the joined nodes not excluded, sorted by name; with a fraction below 1,
// the max(at_least, ⌈fraction·n⌉) of them whose names hash lowest under (seed, round). A node's
// chance does not depend on who else joined, and a replayed run draws the same cohorts.
std::vector<CohortMember> SelectCohort(std::vector<CohortMember> joined,
                                       const std::set<std::string>& excluded,
                                       const Sampling& sampling = {});

// What a failed attempt taught the coordinator about its members.
struct AttemptFaults {
  // Sent something the coordinator could not use. (Nodes that were late or refused are not listed:
  // that usually passes, or recurs harmlessly, and a smaller cohort outlasts fewer dropouts.)
  std::set<std::string> dropped;
  std::set<std::string> proven;  // misbehaviour the coordinator checked for itself
  // Accusations the coordinator cannot check (accuser, accused): a node says another's share or key
  // was bad. At least one of the two misbehaved.
  std::vector<std::pair<std::string, std::string>> disputes;
};

// The members of the next attempt: the failed attempt's cohort without its unusable and proven
// members, and with every dispute resolved by leaving out a member in it. Disputes are resolved
// greedily, the member named in the most unresolved disputes first (one node that sent bad shares
// to many honest nodes goes, its accusers stay); a dispute whose two members are named equally
// often removes both, so a node that accuses an honest one falsely loses its own place too.
// Accusers are not counted as dropped for having refused the attempt.
std::vector<CohortMember> CohortForRetry(const std::vector<CohortMember>& attempt,
                                         const AttemptFaults& faults);

}  // namespace cartable::coordinator
