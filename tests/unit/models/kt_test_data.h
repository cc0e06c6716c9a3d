#pragma once

// Synthetic knowledge-tracing answers for the model tests (the simulations library is not linked
// here): pupils of ability θ ~ N(0, 1) answer skills of difficulty d_k and items of offset e_i, and
// learn with practice: P(right) = σ(θ − d_k − e_i + 0.3 · log(1 + earlier attempts on k)). The true
// probabilities come with the log, so a test can compare a model with the generator.

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "models/dataset.h"

namespace cartable::models::testing {

struct KtData {
  InteractionLog log;
  std::vector<float> truth;  // the generator's P(right) per interaction
};

// `pupils` pupils of `answers` answers each over `skills` skills with `items_per_skill` items each
// (item ids are written when items_per_skill > 1). Skill and item parameters depend on `world`
// only, so two logs with the same world and different seeds hold different pupils of the same
// exercises.
inline KtData MakeKtData(int pupils, int answers, uint32_t seed, uint32_t skills = 6,
                         uint32_t items_per_skill = 1, uint32_t world = 1) {
  std::mt19937 world_rng(world);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> difficulty(skills), offset(skills * items_per_skill);
  for (double& d : difficulty) d = normal(world_rng);
  for (double& e : offset) e = items_per_skill > 1 ? 0.8 * normal(world_rng) : 0.0;

  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> any_skill(0, skills - 1);
  std::uniform_int_distribution<uint32_t> any_item(0, items_per_skill - 1);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  KtData data;
  data.log.num_skills = skills;
  data.log.num_items = items_per_skill > 1 ? skills * items_per_skill : 0;
  for (int p = 0; p < pupils; ++p) {
    data.log.pupil_keys.push_back("w" + std::to_string(world) + "-s" + std::to_string(seed) + "-p" +
                                  std::to_string(p));
    const double ability = normal(rng);
    std::vector<int> attempts(skills, 0);
    for (int a = 0; a < answers; ++a) {
      const uint32_t k = any_skill(rng);
      const uint32_t item = k * items_per_skill + any_item(rng);
      const double logit = ability - difficulty[k] - offset[item] + 0.3 * std::log1p(attempts[k]++);
      const double truth = 1.0 / (1.0 + std::exp(-logit));
      const bool right = uniform(rng) < truth;
      data.log.interactions.push_back({static_cast<uint32_t>(p), k, static_cast<uint8_t>(right),
                                       items_per_skill > 1 ? item : 0u});
      data.truth.push_back(static_cast<float>(truth));
    }
  }
  return data;
}

}  // namespace cartable::models::testing
