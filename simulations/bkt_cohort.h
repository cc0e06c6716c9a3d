#pragma once

// The BKT generator of synthetic cohorts: Bayesian knowledge tracing (Corbett and Anderson, 1995)
// with forgetting and prerequisites, for researchers who want pupils whose knowledge changes as
// they practise, as the knowledge-tracing models assume.
//
// The curriculum: each skill k has its own learn, guess and slip probabilities, drawn around
// BktConfig's (within ±50% of them on the logit scale), and a difficulty d_k ~ N(0, 1). Each
// earlier skill j < k is one of k's prerequisites with probability `prerequisites`.
//
// A pupil of ability θ masters skill k at the start with probability σ(θ − d_k − 1), only if it
// masters every prerequisite of k. Each answer goes to a skill drawn uniformly among those its
// school practises:
//   - forgetting: a mastered skill left while n answers go to other skills is still mastered
//     with probability (1 − forget)^n, drawn when the pupil comes back to it;
//   - the answer is right with probability 1 − slip if the pupil masters the skill, guess if not
//     (the answer's recorded probability);
//   - learning: an unmastered skill is learnt with probability σ(logit(learn_k) + θ), times
//     `blocked` while a prerequisite is unmastered.
// Everything follows from the seed, as for the IRT generator.

#include <vector>

#include "simulations/synthetic_cohort.h"

namespace cartable::simulations {

std::vector<SyntheticSchool> GenerateBktCohort(const CohortConfig& config,
                                               const std::vector<SchoolLayout>& layout);

}  // namespace cartable::simulations
