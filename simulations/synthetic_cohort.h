#pragma once

// Synthetic cohorts for simulations: establishments whose pupils answer exercises drawn from an
// item response model with learning. Each skill k has a difficulty d_k; each school s a mean
// ability μ_s and a size; each pupil an ability θ ~ N(μ_s, σ²). The n-th attempt on skill k
// succeeds with probability
//   σ(θ − d_k − e_i + λ · log(1 + earlier attempts on k))
// where e_i is the item's offset. Schools differ in size and mean ability (non-IID, as real ones
// do). Everything follows from the seed: the same config gives the same cohort, byte for byte.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/dataset.h"

namespace cartable::simulations {

struct CohortConfig {
  int schools = 8;
  int skills = 20;
  int items_per_skill = 5;
  int min_pupils = 30;  // school sizes are log-uniform in [min_pupils, max_pupils]
  int max_pupils = 240;
  int min_answers = 30;  // answers per pupil, uniform in [min_answers, max_answers]
  int max_answers = 90;
  double school_ability_spread = 0.6;  // standard deviation of μ_s
  double pupil_ability_spread = 1.0;   // σ
  double learning_rate = 0.25;         // λ
  uint64_t seed = 1;
};

struct SyntheticAnswer {
  uint32_t skill = 0;
  uint32_t item = 0;
  uint8_t correct = 0;
  float probability = 0;  // the generator's true P(correct), for the oracle baseline
};

struct SyntheticPupil {
  std::string id;  // "s03-p0042": a synthetic identifier, not a real pupil's
  std::vector<SyntheticAnswer> answers;
};

struct SyntheticSchool {
  std::string name;  // "school-03"
  double mean_ability = 0;
  std::vector<SyntheticPupil> pupils;
};

Status Validate(const CohortConfig& config);
std::vector<SyntheticSchool> GenerateCohort(const CohortConfig& config);

// A school's answers as a model consumes them (pupil keys are the synthetic ids), for in-process
// runs.
models::InteractionLog ToInteractionLog(const SyntheticSchool& school, int skills);

// Writes a school's answers in the long CSV format read by `cartable node --data csv:PATH`.
Status WriteLongCsv(const SyntheticSchool& school, const std::filesystem::path& path);

}  // namespace cartable::simulations
