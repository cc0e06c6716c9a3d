#include "models/pfa_features.h"

#include <cmath>
#include <unordered_map>

namespace cartable::models {

PfaFeatures ComputePfaFeatures(const InteractionLog& log) {
  PfaFeatures out;
  out.skill.reserve(log.size());
  out.values.reserve(log.size() * PfaFeatures::kValues);
  std::vector<uint32_t> successes(log.num_skills, 0);
  std::vector<uint32_t> failures(log.num_skills, 0);
  std::vector<uint32_t> touched;  // skills to reset when the next pupil starts
  uint32_t all_successes = 0;
  uint32_t all_failures = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const Interaction& x = log.interactions[i];
    if (i == 0 || log.interactions[i - 1].pupil != x.pupil) {
      for (uint32_t s : touched) successes[s] = failures[s] = 0;
      touched.clear();
      all_successes = all_failures = 0;
    }
    out.skill.push_back(x.skill);
    out.values.push_back(std::log1p(static_cast<float>(successes[x.skill])));
    out.values.push_back(std::log1p(static_cast<float>(failures[x.skill])));
    out.values.push_back(std::log1p(static_cast<float>(all_successes)));
    out.values.push_back(std::log1p(static_cast<float>(all_failures)));
    if (successes[x.skill] == 0 && failures[x.skill] == 0) touched.push_back(x.skill);
    if (x.correct) {
      ++successes[x.skill];
      ++all_successes;
    } else {
      ++failures[x.skill];
      ++all_failures;
    }
  }
  return out;
}

}  // namespace cartable::models
