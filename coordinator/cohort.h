#pragma once

// Who takes part in one attempt at a round, and who sits out the next attempt after a failed one.
// The RoundLoop asks here rather than deciding inline, so sampling by the strategies (a fraction of
// the joined nodes per round, with the plan's seed) has one place to attach. Pure functions.

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

// The cohort of a round's first attempt: every joined node not excluded from the run, sorted by
// name.
std::vector<CohortMember> SelectCohort(std::vector<CohortMember> joined,
                                       const std::set<std::string>& excluded);

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
