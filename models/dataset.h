#pragma once

// InteractionLog: an establishment's data as models consume them. Two parts, either may be empty:
//   - answers: who (a pupil index) answered which skill (and item), right or wrong, in order; the
//     input of knowledge-tracing models. Interactions of one pupil are contiguous and
//     chronological.
//   - records: one row of numeric features and a 0/1 outcome per pupil or enrolment (e.g.
//     registration data and early assessment scores → withdrew or failed); the input of
//     early-warning models. Rows of one pupil are contiguous.
// Pupils are indices into `pupil_keys`, which holds the node's pseudonymous keys; a raw pupil id
// never reaches this structure. Plain value type; torch-free so every folder may use it.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace cartable::models {

struct Interaction {
  uint32_t pupil = 0;
  uint32_t skill = 0;
  uint8_t correct = 0;  // 0 or 1
  uint32_t item = 0;    // in [0, num_items) when the log has item ids, else 0
};

// Per-pupil tabular rows for early-warning models. Every node of a federation must produce the same
// columns in the same order (the adapter fixes them), since a model's weights are per column.
struct PupilRecords {
  std::vector<std::string> feature_names;  // the columns
  std::vector<float> features;             // row-major: size() × num_features() values, all finite
  std::vector<uint32_t> pupil;             // row → pupil index
  std::vector<uint8_t> outcome;            // row → 0 or 1 (1: the event predicted, e.g. at risk)

  size_t size() const { return outcome.size(); }
  size_t num_features() const { return feature_names.size(); }
};

struct InteractionLog {
  std::vector<Interaction> interactions;
  std::vector<std::string> pupil_keys;  // index → pseudonymous key
  uint32_t num_skills = 0;              // skill ids are in [0, num_skills)
  uint32_t num_items = 0;               // item ids are in [0, num_items); 0: no item ids
  PupilRecords records;

  size_t num_pupils() const { return pupil_keys.size(); }
  size_t size() const { return interactions.size(); }
};

// Checks the invariants above (pupil, skill and item ranges, contiguity, 0/1 answers and outcomes,
// record shapes and finite features); names the first breach.
Status Validate(const InteractionLog& log);

struct PupilSplit {
  InteractionLog train;
  InteractionLog test;
  InteractionLog validation;  // empty unless a validation fraction was asked for
};

// Puts each pupil (answers and records) wholly in train or test; `test_fraction` is clamped to [0,
// 1]. The choice depends only on (seed, pupil key), so the same pupil lands on the same side
// wherever the split is computed (a node, or a simulation's baseline). With `validation_fraction` >
// 0, a further share of pupils goes to validation (for choosing epochs and hyperparameters without
// touching the test pupils); the test side is the same pupils whatever the validation fraction.
// Fractions are clamped so that test + validation ≤ 1.
PupilSplit SplitByPupil(const InteractionLog& log, double test_fraction, uint64_t seed,
                        double validation_fraction = 0);

// Puts each pupil p (answers and records) wholly in part part_of[p], each below `parts` (checked):
// pupils keep their keys and are numbered in each part in order of first appearance (answers, then
// records; a pupil with neither is in no part). part_of holds one entry per pupil of the log
// (checked).
std::vector<InteractionLog> PartitionPupils(const InteractionLog& log,
                                            std::span<const uint32_t> part_of, size_t parts);

// Concatenates logs that share a skill space and record columns (pupils are renumbered; keys are
// kept). Logs with different non-empty record columns are a programmer error (checked).
InteractionLog Concatenate(const std::vector<const InteractionLog*>& logs);

}  // namespace cartable::models
