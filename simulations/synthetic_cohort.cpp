#include "simulations/synthetic_cohort.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "core/files.h"

namespace cartable::simulations {
namespace {

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::string TwoDigits(int i) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%02d", i);
  return buffer;
}

}  // namespace

Status Validate(const CohortConfig& c) {
  if (c.schools < 1 || c.schools > 10000)
    return InvalidArgumentError("schools must be in [1, 10000]");
  if (c.skills < 1 || c.skills > 100000)
    return InvalidArgumentError("skills must be in [1, 100000]");
  if (c.items_per_skill < 1) return InvalidArgumentError("items_per_skill must be at least 1");
  if (c.min_pupils < 2 || c.max_pupils < c.min_pupils) {
    return InvalidArgumentError("pupils per school need 2 ≤ min_pupils ≤ max_pupils");
  }
  if (c.min_answers < 1 || c.max_answers < c.min_answers) {
    return InvalidArgumentError("answers per pupil need 1 ≤ min_answers ≤ max_answers");
  }
  return Status::Ok();
}

std::vector<SyntheticSchool> GenerateCohort(const CohortConfig& c) {
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> skill_difficulty(static_cast<size_t>(c.skills));
  for (double& d : skill_difficulty) d = normal(rng);
  std::vector<double> item_offset(static_cast<size_t>(c.skills * c.items_per_skill));
  for (double& e : item_offset) e = 0.3 * normal(rng);

  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> answers(c.min_answers, c.max_answers);
  std::uniform_int_distribution<int> skill_of(0, c.skills - 1);
  std::uniform_int_distribution<int> item_of(0, c.items_per_skill - 1);
  std::vector<SyntheticSchool> schools;
  for (int s = 0; s < c.schools; ++s) {
    SyntheticSchool school;
    school.name = "school-" + TwoDigits(s + 1);
    school.mean_ability = c.school_ability_spread * normal(rng);
    const double log_size =
        std::log(c.min_pupils) + unit(rng) * (std::log(c.max_pupils) - std::log(c.min_pupils));
    const int size = static_cast<int>(std::lround(std::exp(log_size)));
    for (int p = 0; p < size; ++p) {
      SyntheticPupil pupil;
      char id[32];
      std::snprintf(id, sizeof(id), "s%02d-p%04d", s + 1, p + 1);
      pupil.id = id;
      const double ability = school.mean_ability + c.pupil_ability_spread * normal(rng);
      std::vector<int> attempts(static_cast<size_t>(c.skills), 0);
      const int n = answers(rng);
      for (int a = 0; a < n; ++a) {
        const int skill = skill_of(rng);
        const int item = skill * c.items_per_skill + item_of(rng);
        const double p_correct =
            Sigmoid(ability - skill_difficulty[static_cast<size_t>(skill)] -
                    item_offset[static_cast<size_t>(item)] +
                    c.learning_rate * std::log1p(attempts[static_cast<size_t>(skill)]));
        attempts[static_cast<size_t>(skill)] += 1;
        pupil.answers.push_back({static_cast<uint32_t>(skill), static_cast<uint32_t>(item),
                                 static_cast<uint8_t>(unit(rng) < p_correct),
                                 static_cast<float>(p_correct)});
      }
      school.pupils.push_back(std::move(pupil));
    }
    schools.push_back(std::move(school));
  }
  return schools;
}

models::InteractionLog ToInteractionLog(const SyntheticSchool& school, int skills) {
  models::InteractionLog log;
  log.num_skills = static_cast<uint32_t>(skills);
  for (const SyntheticPupil& pupil : school.pupils) {
    const uint32_t index = static_cast<uint32_t>(log.pupil_keys.size());
    log.pupil_keys.push_back(pupil.id);
    for (const SyntheticAnswer& a : pupil.answers)
      log.interactions.push_back({index, a.skill, a.correct});
  }
  return log;
}

Status WriteLongCsv(const SyntheticSchool& school, const std::filesystem::path& path) {
  std::ostringstream out;
  out << "pupil_id,timestamp,skill_id,item_id,correct\n";
  for (const SyntheticPupil& pupil : school.pupils) {
    int64_t t = 0;
    for (const SyntheticAnswer& a : pupil.answers) {
      out << pupil.id << ',' << t++ << ',' << a.skill << ',' << a.item << ',' << int(a.correct)
          << '\n';
    }
  }
  return WriteFileAtomically(path, out.str());
}

}  // namespace cartable::simulations
