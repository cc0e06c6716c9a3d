#include "simulations/bkt_cohort.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace cartable::simulations {
namespace {

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double Logit(double p) {
  p = std::clamp(p, 1e-6, 1 - 1e-6);
  return std::log(p / (1 - p));
}

struct Skill {
  double learn = 0;
  double guess = 0;
  double slip = 0;
  double difficulty = 0;
  std::vector<uint32_t> prerequisites;
};

std::vector<Skill> Curriculum(const CohortConfig& c, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> jitter(-0.5, 0.5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  // Around p, within ±50% on the logit scale; 0 and 1 stay what they are.
  const auto around = [&](double p) {
    const double x = jitter(rng);
    if (p <= 0 || p >= 1) return p;
    return Sigmoid(Logit(p) * (1 + x));
  };
  std::vector<Skill> skills(static_cast<size_t>(c.skills));
  for (size_t k = 0; k < skills.size(); ++k) {
    Skill& skill = skills[k];
    skill.learn = around(c.bkt.learn);
    skill.guess = around(c.bkt.guess);
    skill.slip = around(c.bkt.slip);
    if (skill.guess + skill.slip >= 1) skill.slip = std::max(0.0, 1 - skill.guess - 1e-3);
    skill.difficulty = normal(rng);
    for (uint32_t j = 0; j < k; ++j) {
      if (unit(rng) < c.bkt.prerequisites) skill.prerequisites.push_back(j);
    }
  }
  return skills;
}

// One pupil's knowledge: what it masters, and when it last answered on each skill.
class Knowledge {
 public:
  Knowledge(size_t skills, double forget)
      : mastered_(skills, false), last_(skills, 0), forget_(forget) {}

  void Master(size_t k, bool yes) { mastered_[k] = yes; }

  // Whether the pupil still masters k at answer `now`, forgetting drawn for the answers given to
  // other skills since k was last seen: answer `now` itself counts unless it is on k (`answering`).
  bool Masters(size_t k, int64_t now, bool answering, std::mt19937_64& rng) {
    const int64_t others = now - last_[k] - (answering ? 1 : 0);
    if (mastered_[k] && forget_ > 0 && others > 0) {
      const double kept = std::pow(1 - forget_, static_cast<double>(others));
      if (std::uniform_real_distribution<double>(0, 1)(rng) >= kept) mastered_[k] = false;
    }
    last_[k] = std::max(last_[k], now);
    return mastered_[k];
  }

 private:
  std::vector<bool> mastered_;
  std::vector<int64_t> last_;
  double forget_;
};

SyntheticPupil Pupil(const CohortConfig& c, const std::vector<Skill>& skills,
                     const SchoolLayout& place, double ability, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> answers(c.min_answers, c.max_answers);
  std::uniform_int_distribution<int> skill_of(0, static_cast<int>(place.skills.size()) - 1);
  std::uniform_int_distribution<int> item_of(0, c.items_per_skill - 1);
  Knowledge knowledge(skills.size(), c.bkt.forget);
  for (size_t k = 0; k < skills.size(); ++k) {  // prerequisites come first: j < k
    bool ready = true;
    for (uint32_t j : skills[k].prerequisites) ready = ready && knowledge.Masters(j, 0, false, rng);
    knowledge.Master(k, ready && unit(rng) < Sigmoid(ability - skills[k].difficulty - 1));
  }
  SyntheticPupil pupil;
  const int n = answers(rng);
  for (int64_t a = 1; a <= n; ++a) {
    const uint32_t k = place.skills[static_cast<size_t>(skill_of(rng))];
    const Skill& skill = skills[k];
    const bool masters = knowledge.Masters(k, a, true, rng);
    const double p_correct = masters ? 1 - skill.slip : skill.guess;
    pupil.answers.push_back(
        {k, k * static_cast<uint32_t>(c.items_per_skill) + static_cast<uint32_t>(item_of(rng)),
         static_cast<uint8_t>(unit(rng) < p_correct), static_cast<float>(p_correct)});
    if (!masters) {
      bool ready = true;
      for (uint32_t j : skill.prerequisites) ready = ready && knowledge.Masters(j, a, false, rng);
      const double learn = Sigmoid(Logit(skill.learn) + ability) * (ready ? 1 : c.bkt.blocked);
      knowledge.Master(k, unit(rng) < learn);
    }
  }
  return pupil;
}

}  // namespace

std::vector<SyntheticSchool> GenerateBktCohort(const CohortConfig& c,
                                               const std::vector<SchoolLayout>& layout) {
  std::mt19937_64 rng(c.seed ^ 0x626b74ULL);  // "bkt"
  const std::vector<Skill> skills = Curriculum(c, rng);
  std::normal_distribution<double> normal(0.0, 1.0);
  return GenerateSchools(c, layout, rng, normal, [&](const SchoolLayout& place, double ability) {
    return Pupil(c, skills, place, ability, rng);
  });
}

}  // namespace cartable::simulations
