#include "simulations/synthetic_cohort.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "core/files.h"
#include "simulations/bkt_cohort.h"

namespace cartable::simulations {
namespace {

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::string TwoDigits(int i) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%02d", i);
  return buffer;
}

}  // namespace

bool IsKindName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

int SchoolSize(const SchoolLayout& school, double unit) {
  const double low = std::log(school.min_pupils);
  const double log_size = low + unit * (std::log(school.max_pupils) - low);
  return static_cast<int>(std::lround(std::exp(log_size)));
}

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
  if (!(c.skill_coverage > 0 && c.skill_coverage <= 1)) {
    return InvalidArgumentError("skill coverage must be in (0, 1]");
  }
  // Bounds on what one machine is asked to draw and hold.
  if (static_cast<double>(c.schools) * c.max_pupils * c.max_answers > 2e9) {
    return InvalidArgumentError("schools × pupils × answers exceed 2 billion answers");
  }
  if (static_cast<double>(c.skills) * c.items_per_skill > 1e7) {
    return InvalidArgumentError("skills × items per skill exceed 10 million items");
  }
  if (c.generator == CohortConfig::Generator::kBkt && c.skills > kMaxBktSkills) {
    return InvalidArgumentError("the bkt generator takes at most " + std::to_string(kMaxBktSkills) +
                                " skills (its prerequisites grow with their square)");
  }
  double shares = 0;
  for (const SchoolKind& kind : c.kinds) {
    if (!IsKindName(kind.name)) {
      return InvalidArgumentError(
          "a kind of establishment is named with 1 to 32 letters, digits, "
          "'_' or '-'; not '" +
          kind.name + "'");
    }
    if (!(kind.share >= 0 && std::isfinite(kind.share))) {
      return InvalidArgumentError("the share of " + kind.name + " must be a number ≥ 0");
    }
    if (kind.min_pupils < 2 || kind.max_pupils < kind.min_pupils) {
      return InvalidArgumentError("pupils of a " + kind.name +
                                  " need 2 ≤ MIN ≤ MAX (log-uniform in MIN..MAX)");
    }
    shares += kind.share;
  }
  if (!c.kinds.empty() && !(shares > 0)) {
    return InvalidArgumentError("the kinds of establishment have no share");
  }
  const BktConfig& b = c.bkt;
  for (const auto& [name, value] :
       std::vector<std::pair<const char*, double>>{{"learn", b.learn},
                                                   {"forget", b.forget},
                                                   {"guess", b.guess},
                                                   {"slip", b.slip},
                                                   {"prerequisites", b.prerequisites},
                                                   {"blocked", b.blocked}}) {
    if (!(value >= 0 && value <= 1)) {
      return InvalidArgumentError(std::string("bkt ") + name + " must be a probability in [0, 1]");
    }
  }
  if (b.guess + b.slip >= 1) {
    return InvalidArgumentError("bkt guess + slip must be below 1: mastery must help");
  }
  return Status::Ok();
}

std::vector<SchoolLayout> LayOutSchools(const CohortConfig& c) {
  std::mt19937_64 rng(c.seed ^ 0x6c61796f7574ULL);  // "layout": the pupils' stream stays as it was
  std::vector<SchoolLayout> schools(static_cast<size_t>(c.schools));
  // Kinds by their shares, largest remainders first, then shuffled among the schools.
  std::vector<size_t> kind_of;
  if (!c.kinds.empty()) {
    double shares = 0;
    for (const SchoolKind& k : c.kinds) shares += k.share;
    std::vector<std::pair<double, size_t>> remainders;
    for (size_t k = 0; k < c.kinds.size(); ++k) {
      const double exact = c.kinds[k].share / shares * c.schools;
      kind_of.insert(kind_of.end(), static_cast<size_t>(std::floor(exact)), k);
      remainders.emplace_back(exact - std::floor(exact), k);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t r = 0; kind_of.size() < schools.size(); ++r) {
      kind_of.push_back(remainders[r % remainders.size()].second);
    }
    std::shuffle(kind_of.begin(), kind_of.end(), rng);
  }
  const auto covered = static_cast<size_t>(std::ceil(c.skill_coverage * c.skills - 1e-9));
  std::vector<uint32_t> all(static_cast<size_t>(c.skills));
  for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<uint32_t>(k);
  for (size_t s = 0; s < schools.size(); ++s) {
    SchoolLayout& school = schools[s];
    school.min_pupils = c.min_pupils;
    school.max_pupils = c.max_pupils;
    std::string prefix = "school-";
    if (!kind_of.empty()) {
      const SchoolKind& kind = c.kinds[kind_of[s]];
      school.kind = kind.name;
      school.min_pupils = kind.min_pupils;
      school.max_pupils = kind.max_pupils;
      prefix = kind.name + "-";
    }
    school.name = prefix + TwoDigits(static_cast<int>(s) + 1);
    school.skills = all;
    if (covered < all.size()) {
      std::shuffle(school.skills.begin(), school.skills.end(), rng);
      school.skills.resize(std::max<size_t>(covered, 1));
      std::sort(school.skills.begin(), school.skills.end());
    }
  }
  return schools;
}

std::vector<SyntheticSchool> GenerateCohort(const CohortConfig& c) {
  const std::vector<SchoolLayout> layout = LayOutSchools(c);
  if (c.generator == CohortConfig::Generator::kBkt) return GenerateBktCohort(c, layout);
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> skill_difficulty(static_cast<size_t>(c.skills));
  for (double& d : skill_difficulty) d = normal(rng);
  std::vector<double> item_offset(static_cast<size_t>(c.skills * c.items_per_skill));
  for (double& e : item_offset) e = 0.3 * normal(rng);

  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> answers(c.min_answers, c.max_answers);
  std::uniform_int_distribution<int> item_of(0, c.items_per_skill - 1);
  return GenerateSchools(c, layout, rng, normal, [&](const SchoolLayout& place, double ability) {
    std::uniform_int_distribution<int> skill_of(0, static_cast<int>(place.skills.size()) - 1);
    SyntheticPupil pupil;
    std::vector<int> attempts(static_cast<size_t>(c.skills), 0);
    const int n = answers(rng);
    for (int a = 0; a < n; ++a) {
      const auto skill = static_cast<int>(place.skills[static_cast<size_t>(skill_of(rng))]);
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
    return pupil;
  });
}

std::vector<SyntheticSchool> GenerateSchools(const CohortConfig& c,
                                             const std::vector<SchoolLayout>& layout,
                                             std::mt19937_64& rng,
                                             std::normal_distribution<double>& normal,
                                             const PupilGenerator& pupil) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<SyntheticSchool> schools;
  schools.reserve(layout.size());
  for (size_t s = 0; s < layout.size(); ++s) {
    const SchoolLayout& place = layout[s];
    SyntheticSchool school;
    school.name = place.name;
    school.mean_ability = c.school_ability_spread * normal(rng);
    const int size = SchoolSize(place, unit(rng));
    for (int p = 0; p < size; ++p) {
      char id[64];
      std::snprintf(id, sizeof(id), "s%02d-p%04d", static_cast<int>(s) + 1, p + 1);
      const double ability = school.mean_ability + c.pupil_ability_spread * normal(rng);
      SyntheticPupil generated = pupil(place, ability);
      generated.id = id;
      school.pupils.push_back(std::move(generated));
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
