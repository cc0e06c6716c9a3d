#pragma once

// One cohort per process, however many members it hosts. A simulation or a node pool runs
// thousands of members in one process, and each receives the round's cohort (every member's name
// and identity key): held once per member, that is O(n²) memory. InternCohort returns the cohort
// another member of this process already holds when the members are the same, compared in full
// (never by a hash alone), and a fresh one otherwise. A cohort lives while a round holds it.
// Thread safe.

#include <vector>

#include "aggregation/secagg/round_messages.h"
#include "protocol/messages.h"

namespace cartable::exchange {

aggregation::secagg::Cohort InternCohort(const std::vector<protocol::CohortMember>& members);

}  // namespace cartable::exchange
