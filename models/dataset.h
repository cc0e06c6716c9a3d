#pragma once

// InteractionLog: answer logs as models consume them — who (a pupil index) answered which skill, right or
// wrong, in order. Pupils are indices into `pupil_keys`, which holds the node's pseudonymous keys; a raw
// pupil id never reaches this structure. Interactions of one pupil are contiguous and chronological.
// Plain value type; torch-free so every folder may use it.

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace cartable::models {

struct Interaction {
  uint32_t pupil = 0;
  uint32_t skill = 0;
  uint8_t correct = 0;  // 0 or 1
};

struct InteractionLog {
  std::vector<Interaction> interactions;
  std::vector<std::string> pupil_keys;  // index → pseudonymous key
  uint32_t num_skills = 0;              // skill ids are in [0, num_skills)

  size_t num_pupils() const { return pupil_keys.size(); }
  size_t size() const { return interactions.size(); }
};

// Checks the invariants above (pupil and skill ranges, contiguity, 0/1 answers); names the first breach.
Status Validate(const InteractionLog& log);

struct PupilSplit {
  InteractionLog train;
  InteractionLog test;
};

// Puts each pupil wholly in train or test; `test_fraction` is clamped to [0, 1]. The choice depends only on (seed, pupil key), so the same pupil
// lands on the same side wherever the split is computed (a node, or a simulation's baseline).
PupilSplit SplitByPupil(const InteractionLog& log, double test_fraction, uint64_t seed);

// Concatenates logs that share a skill space (pupils are renumbered; keys are kept).
InteractionLog Concatenate(const std::vector<const InteractionLog*>& logs);

}  // namespace cartable::models
