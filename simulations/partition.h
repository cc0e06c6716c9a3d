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
  std::vector<std::string> names;   // one per school, all different
  std::vector<uint32_t> school_of;  // one per pupil of the log
  std::vector<std::string> values;  // by:COLUMN: the value each school stands for; else empty
};

// Assigns each pupil of `log` to a school. `schools` is how many for iid, quantity and dirichlet;
// `attribute` (pupil key → value) is what by:COLUMN splits on, and may be null otherwise.
StatusOr<Partition> PartitionPupilsIntoSchools(const models::InteractionLog& log,
                                               const PartitionSpec& spec, size_t schools,
                                               uint64_t seed,
                                               const ingest::PupilAttribute* attribute);

// A school no pupil is placed in (PlaceHeldOutPupils): left out of the simulation.
inline constexpr uint32_t kNoSchool = UINT32_MAX;

// Places the pupils of a separate held-out file (simulate --test) in the schools `partition` made
// of `train`, as the partition would have: a pupil also in `train` (same pseudonymous key) goes to
// its school, since a pupil never straddles two; with by:COLUMN, a pupil goes to the school of its
// value in `attribute` (read from the held-out file), or to kNoSchool when no school has that
// value; otherwise to a school drawn, from the seed, with probability its share of the training
// pupils (for dirichlet, of the training pupils of the pupil's class, so a school is tested on the
// classes it trained on), drawn again while a school would be left without held-out pupils.
// Refuses, naming the school, when one still is (after 100 draws; at once for by:COLUMN). One entry
// per pupil of `test`.
StatusOr<std::vector<uint32_t>> PlaceHeldOutPupils(const models::InteractionLog& train,
                                                   const Partition& partition,
                                                   const models::InteractionLog& test,
                                                   const PartitionSpec& spec, uint64_t seed,
                                                   const ingest::PupilAttribute* attribute);

}  // namespace cartable::simulations
