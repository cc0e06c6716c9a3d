#pragma once

// Synthetic cohorts for simulations: establishments whose pupils answer exercises. Each school s
// has a mean ability μ_s and a size; each pupil an ability θ ~ N(μ_s, σ²). Two generators:
//   irt  an item response model with learning: each skill k has a difficulty d_k, and the n-th
//        attempt on skill k succeeds with probability σ(θ − d_k − e_i + λ · log(1 + earlier
//        attempts on k)), e_i the item's offset;
//   bkt  Bayesian knowledge tracing with forgetting and prerequisites (simulations/bkt_cohort.h):
//        a pupil masters or not each skill, answers right with 1 − slip when it does and with the
//        guess when not, may learn it at each attempt (less while a prerequisite is unmastered) and
//        forgets it a little at each answer given to other skills.
// Schools differ (non-IID, as real ones do) in mean ability, in size, by kind of establishment
// (écoles, collèges, lycées, each with its range of sizes) and in the skills they practise.
// Everything follows from the seed: the same config gives the same cohort, byte for byte.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/dataset.h"

namespace cartable::simulations {

// A kind of establishment and its share of the federation; its schools' sizes are log-uniform in
// [min_pupils, max_pupils].
struct SchoolKind {
  std::string name;  // "ecole", "college", "lycee": the schools are named after it
  double share = 1;
  int min_pupils = 30;
  int max_pupils = 240;
};

// The BKT generator's parameters: each skill's own are drawn around them
// (simulations/bkt_cohort.h).
struct BktConfig {
  double learn = 0.2;          // P(a pupil of ability 0 learns the skill at an attempt)
  double forget = 0.02;        // P(a mastered skill is forgotten), per answer given to another
  double guess = 0.2;          // P(right without mastery)
  double slip = 0.1;           // P(wrong with mastery)
  double prerequisites = 0.2;  // P(an earlier skill is a prerequisite of a later one)
  double blocked = 0.25;       // learning's factor while a prerequisite is unmastered
};

struct CohortConfig {
  enum class Generator { kIrt, kBkt };
  Generator generator = Generator::kIrt;
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
  // Kinds of establishment, their shares normalised; empty: one kind of school sizes in
  // [min_pupils, max_pupils], named "school-NN".
  std::vector<SchoolKind> kinds;
  // The share of the skills each school practises, drawn per school (1: all of them).
  double skill_coverage = 1;
  BktConfig bkt;
  uint64_t seed = 1;
};

// Where each school stands before its pupils are drawn: its name, kind, size range and the skills
// it practises (sorted). From its own stream of the seed, so a cohort of one kind with every skill
// practised is the same as before kinds and coverage existed.
struct SchoolLayout {
  std::string name;
  std::string kind;  // empty without kinds
  int min_pupils = 0;
  int max_pupils = 0;
  std::vector<uint32_t> skills;
};
std::vector<SchoolLayout> LayOutSchools(const CohortConfig& config);
// 1 to 32 letters, digits, '_' or '-': a kind's name goes into its schools' names and files.
bool IsKindName(const std::string& name);
// The BKT generator's most skills: its prerequisites grow with their square.
inline constexpr int kMaxBktSkills = 2000;
// A school's number of pupils from a uniform draw in [0, 1): log-uniform in its size range.
int SchoolSize(const SchoolLayout& school, double unit);

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
  std::string name;  // "school-03", or "college-03" with kinds
  double mean_ability = 0;
  std::vector<SyntheticPupil> pupils;
};

Status Validate(const CohortConfig& config);
std::vector<SyntheticSchool> GenerateCohort(const CohortConfig& config);

// The schools of `layout`, each with its mean ability (from `normal`) and size drawn from `rng`,
// then each pupil's ability, then `pupil` (which draws its answers from the same stream) for that
// pupil: the loop both generators share. `normal` is the generator's own, whose cached second draw
// carries over. Pupil ids are "sSS-pPPPP".
using PupilGenerator = std::function<SyntheticPupil(const SchoolLayout& school, double ability)>;
std::vector<SyntheticSchool> GenerateSchools(const CohortConfig& config,
                                             const std::vector<SchoolLayout>& layout,
                                             std::mt19937_64& rng,
                                             std::normal_distribution<double>& normal,
                                             const PupilGenerator& pupil);

// A school's answers as a model consumes them (pupil keys are the synthetic ids), for in-process
// runs.
models::InteractionLog ToInteractionLog(const SyntheticSchool& school, int skills);

// Writes a school's answers in the long CSV format read by `cartable node --data csv:PATH`.
Status WriteLongCsv(const SyntheticSchool& school, const std::filesystem::path& path);

}  // namespace cartable::simulations
