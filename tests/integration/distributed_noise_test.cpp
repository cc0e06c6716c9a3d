// Establishment-level DP over the deployed round logic (in-process transport): every node adds
// its share of discrete Gaussian noise before masking, the coordinator unmasks a sum that carries
// the noise the plan promises, and never one with fewer shares than the plan's min_contributors.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "exchange/establishment_dp_wire.h"
#include "simulations/inprocess_federation.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

using Outcome = simulations::InProcessOutcome;

constexpr int kSkills = 8;

std::vector<simulations::InProcessSchool> Schools(int count) {
  simulations::CohortConfig cohort;
  cohort.schools = count;
  cohort.skills = kSkills;
  cohort.min_pupils = 30;
  cohort.max_pupils = 60;
  cohort.seed = 9;
  std::vector<simulations::InProcessSchool> schools;
  for (const auto& school : simulations::GenerateCohort(cohort)) {
    schools.push_back({school.name, models::SplitByPupil(
                                        simulations::ToInteractionLog(school, kSkills), 0.25, 9)});
  }
  return schools;
}

// Secure rounds with the norm bound, weight cap and range establishment-level DP needs; noise of
// `z` (0: none) over at least `min_contributors` establishments.
coordinator::RunConfig Plan(int schools, uint32_t rounds, double z, uint32_t min_contributors) {
  coordinator::RunConfig run;
  run.rounds = rounds;
  run.expected_nodes = static_cast<size_t>(schools);
  run.min_nodes = 3;
  run.model.num_skills = kSkills;
  run.round_timeout = std::chrono::seconds(5);
  run.join_timeout = std::chrono::seconds(30);
  run.max_attempts = 1;
  run.contribution = {1.0, 1.0, 1.0};  // value range, weight cap, norm bound
  if (z > 0) run.establishment_dp = {1, z, min_contributors, 1e-5, rounds};
  return run;
}

// One round from the same start: the clean run's model is the same every time (local training is
// seeded), so the noisy model minus the clean one is the noise the coordinator unmasked, divided
// by the contributors: per coordinate, z·Δ·√(k/n_min)/k, Δ = √(1 + 1 + 1). The noise comes from
// secret seeds, so the estimate is pooled over several runs: one run's few dozen coordinates
// estimate it too loosely for a bound that never fails by chance.
TEST(DistributedNoiseTest, TheUnmaskedSumCarriesTheNoiseThePlanPromises) {
  constexpr int kSchools = 6;
  constexpr double kZ = 0.5;
  constexpr int kNoisyRuns = 8;
  const Outcome clean = simulations::RunInProcess(Plan(kSchools, 1, 0, 0), Schools(kSchools));
  const Outcome again = simulations::RunInProcess(Plan(kSchools, 1, 0, 0), Schools(kSchools));
  std::vector<Outcome> noisy;
  noisy.reserve(kNoisyRuns);
  for (int run = 0; run < kNoisyRuns; ++run) {
    noisy.push_back(simulations::RunInProcess(Plan(kSchools, 1, kZ, 3), Schools(kSchools)));
  }
  std::vector<const Outcome*> all = {&clean, &again};
  for (const Outcome& o : noisy) all.push_back(&o);
  for (const Outcome* o : all) {
    ASSERT_TRUE(o->status.ok()) << o->status;
    ASSERT_EQ(o->records.size(), 1U);
    EXPECT_EQ(o->records[0].nodes, static_cast<size_t>(kSchools));
    ASSERT_EQ(o->model.size(), clean.model.size());
  }
  double clean_gap = 0;
  for (size_t i = 0; i < clean.model.size(); ++i) {
    clean_gap = std::max(clean_gap, std::abs(static_cast<double>(again.model[i] - clean.model[i])));
  }
  EXPECT_LT(clean_gap, 1e-4) << "without noise, two runs agree to the quantisation step";
  EXPECT_NE(noisy[0].model, noisy[1].model) << "each node's noise comes from a secret seed";
  double squares = 0;
  for (const Outcome& o : noisy) {
    for (size_t i = 0; i < clean.model.size(); ++i) {
      const double noise = o.model[i] - clean.model[i];
      squares += noise * noise;
    }
  }
  const double expected =
      kZ * std::sqrt(3.0) * std::sqrt(static_cast<double>(kSchools) / 3) / kSchools;
  const double samples = static_cast<double>(kNoisyRuns * clean.model.size());
  const double measured = std::sqrt(squares / samples);
  // n Gaussian samples estimate a standard deviation to a relative 1/√(2n): ±25% is over four of
  // those for the hundreds of samples here.
  EXPECT_GT(measured, 0.75 * expected) << samples << " samples";
  EXPECT_LT(measured, 1.25 * expected) << samples << " samples";
}

TEST(DistributedNoiseTest, ANoisyRunTrainsAndSaysWhatItCostsEachEstablishment) {
  const Outcome noisy = simulations::RunInProcess(Plan(8, 4, 0.5, 4), Schools(8));
  ASSERT_TRUE(noisy.status.ok()) << noisy.status;
  ASSERT_EQ(noisy.records.size(), 4U);
  for (const auto& r : noisy.records) {
    EXPECT_EQ(r.nodes, 8U);
    ASSERT_TRUE(r.auc.has_value());
    EXPECT_GT(*r.auc, 0.5);
    for (float v : noisy.model) ASSERT_TRUE(std::isfinite(v));
  }
  auto layout = exchange::ContributionLayout::Create(1, 1.0, 1.0, 1.0);
  ASSERT_TRUE(layout.ok());
  auto cost = exchange::EstablishmentEpsilon({1, 0.5, 4, 1e-5, 4}, *layout, 8);
  ASSERT_TRUE(cost.ok()) << cost.status();
  EXPECT_GT(cost->epsilon, 1);
  EXPECT_TRUE(std::isfinite(cost->epsilon));
}

// One school has no pupil to train on, so only four inputs arrive where the plan needs five shares
// of noise: the coordinator fails the round rather than unmask a sum with too little noise. With
// four needed, the same federation trains.
TEST(DistributedNoiseTest, ASumWithFewerSharesThanPromisedIsNeverUnmasked) {
  const auto without_one = [] {
    auto schools = Schools(5);
    schools[4].split.train = models::InteractionLog{};
    return schools;
  };
  const Outcome short_of_noise = simulations::RunInProcess(Plan(5, 1, 1.0, 5), without_one());
  ASSERT_FALSE(short_of_noise.status.ok());
  EXPECT_NE(short_of_noise.status.message().find("needs 5 shares of noise"), std::string::npos)
      << short_of_noise.status;
  EXPECT_TRUE(short_of_noise.records.empty());

  const Outcome enough = simulations::RunInProcess(Plan(5, 1, 1.0, 4), without_one());
  ASSERT_TRUE(enough.status.ok()) << enough.status;
  ASSERT_EQ(enough.records.size(), 1U);
  EXPECT_EQ(enough.records[0].nodes, 4U);
}

}  // namespace
}  // namespace cartable
