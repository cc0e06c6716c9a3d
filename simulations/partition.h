#pragma once

// Splitting one dataset into virtual schools, pupil by pupil (a pupil never straddles two schools):
//   iid             pupils dealt at random into --schools schools of equal size (±1)
//   quantity:ALPHA  school sizes drawn from a Dirichlet(ALPHA) (small ALPHA: a few large schools
//                   and many small ones), pupils at random
//   dirichlet:ALPHA label skew (Hsu et al., 2019): pupils are grouped by a class — the outcome of
//                   their first record for records data, the skill they answered most for answer
//                   logs — and each class is shared among the schools by its own Dirichlet(ALPHA)
//                   draw (small ALPHA: each school sees few classes)
//   by:COLUMN       one school per value of a pupil attribute (ingest/pupil_attributes.h), e.g.
//                   OULAD by:region; --schools does not apply
// Everything follows from the seed. Every school must end with at least two pupils (one to train
// on, one to hold out), or the partition is refused naming the school.

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "ingest/pupil_attributes.h"
#include "models/dataset.h"

namespace cartable::simulations {

struct PartitionSpec {
  enum class Kind { kIid, kQuantity, kDirichlet, kBy };
  Kind kind = Kind::kIid;
  double alpha = 1;    // quantity and dirichlet
  std::string column;  // by
  std::string text;    // as given, for reports
};

// "iid", "quantity:0.5", "dirichlet:0.3" or "by:region"; errors say what is expected.
StatusOr<PartitionSpec> ParsePartition(const std::string& text);

struct Partition {
  std::vector<std::string> names;   // one per school
  std::vector<uint32_t> school_of;  // one per pupil of the log
};

// Assigns each pupil of `log` to a school. `schools` is how many for iid, quantity and dirichlet;
// `attribute` (pupil key → value) is what by:COLUMN splits on, and may be null otherwise.
StatusOr<Partition> PartitionPupilsIntoSchools(const models::InteractionLog& log,
                                               const PartitionSpec& spec, size_t schools,
                                               uint64_t seed,
                                               const ingest::PupilAttribute* attribute);

}  // namespace cartable::simulations
