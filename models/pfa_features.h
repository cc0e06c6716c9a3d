#pragma once

// Performance-factors-analysis features (Pavlik, Cen & Koedinger, 2009), computed from what a pupil
// did before each answer: on the skill at hand, log(1 + successes) and log(1 + failures); across
// all skills, the same two counts, which stand in for the pupil's general ability. Torch-free and
// pure.

#include <vector>

#include "models/dataset.h"

namespace cartable::models {

struct PfaFeatures {
  std::vector<int64_t> skill;        // per interaction
  std::vector<float> values;         // per interaction, kPfaValues floats, row-major
  static constexpr int kValues = 4;  // skill successes, skill failures, all successes, all failures
};

PfaFeatures ComputePfaFeatures(const InteractionLog& log);

}  // namespace cartable::models
