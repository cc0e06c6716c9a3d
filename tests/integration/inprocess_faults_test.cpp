// The deployed round logic over the in-process transport, with and without injected network faults:
// duplicated and delayed frames change nothing; lost, corrupted and reordered frames cost nodes a
// round at most, never the run.

#include <gtest/gtest.h>

#include <cmath>

#include "simulations/inprocess_federation.h"
#include "simulations/synthetic_cohort.h"

namespace cartable {
namespace {

using Outcome = simulations::InProcessOutcome;

// `schools` synthetic schools under `plan`'s faults; four rounds of the default model.
Outcome RunFederation(int schools, const protocol::FaultPlan& plan, size_t min_nodes,
                      bool secagg = true) {
  simulations::CohortConfig cohort;
  cohort.schools = schools;
  cohort.skills = 8;
  cohort.min_pupils = 20;
  cohort.max_pupils = 50;
  cohort.seed = 5;
  std::vector<simulations::InProcessSchool> members;
  for (const auto& school : simulations::GenerateCohort(cohort)) {
    members.push_back(
        {school.name,
         models::SplitByPupil(simulations::ToInteractionLog(school, cohort.skills), 0.25, 5)});
  }
  coordinator::RunConfig run;
  run.rounds = 4;
  run.expected_nodes = static_cast<size_t>(schools);
  run.min_nodes = min_nodes;
  run.model.num_skills = 8;
  run.round_timeout = std::chrono::seconds(2);
  run.join_timeout = std::chrono::seconds(30);
  run.secagg.enabled = secagg;
  return simulations::RunInProcess(run, std::move(members), plan);
}

TEST(InProcessFaultsTest, CleanRunCompletesWithEveryNode) {
  Outcome clean = RunFederation(4, protocol::FaultPlan{}, 4);
  ASSERT_TRUE(clean.status.ok()) << clean.status;
  ASSERT_EQ(clean.records.size(), 4u);
  for (const auto& r : clean.records) {
    EXPECT_EQ(r.nodes, 4u);
    ASSERT_TRUE(r.auc.has_value());
    EXPECT_GT(*r.auc, 0.6);
  }
}

TEST(InProcessFaultsTest, DuplicatedAndDelayedFramesChangeNothing) {
  Outcome clean = RunFederation(4, protocol::FaultPlan{}, 4);
  protocol::FaultPlan plan;
  plan.duplicate = 0.3;
  plan.delay = 0.3;
  plan.max_delay = std::chrono::milliseconds(100);
  plan.seed = 3;
  Outcome disturbed = RunFederation(4, plan, 4);
  ASSERT_TRUE(clean.status.ok()) << clean.status;
  ASSERT_TRUE(disturbed.status.ok()) << disturbed.status;
  EXPECT_GT(disturbed.faults.duplicated, 0u);
  EXPECT_GT(disturbed.faults.delayed, 0u);
  ASSERT_EQ(disturbed.records.size(), 4u);
  for (const auto& r : disturbed.records) EXPECT_EQ(r.nodes, 4u);
  // Under secure aggregation each update is rounded with fresh random coins, so two runs agree to
  // within the quantisation step, not bit for bit.
  ASSERT_EQ(disturbed.model.size(), clean.model.size());
  for (size_t i = 0; i < clean.model.size(); ++i)
    EXPECT_NEAR(disturbed.model[i], clean.model[i], 1e-5) << i;
}

// Corruption is a transport matter, tested on the plain path: under SecAgg+ a corrupted signature
// or sealed share rightly makes the node that receives it refuse the round (CURVE rules corruption
// out in deployments), which the next test covers without corruption.
TEST(InProcessFaultsTest, LostCorruptedAndReorderedFramesAreSurvived) {
  protocol::FaultPlan plan;
  plan.drop = 0.05;
  plan.corrupt = 0.05;
  plan.reorder = 0.05;
  plan.duplicate = 0.1;
  plan.delay = 0.1;
  plan.seed = 11;
  Outcome disturbed = RunFederation(6, plan, 2, /*secagg=*/false);
  ASSERT_TRUE(disturbed.status.ok()) << disturbed.status;
  EXPECT_EQ(disturbed.records.size(), 4u);
  EXPECT_GT(disturbed.faults.dropped + disturbed.faults.corrupted + disturbed.faults.reordered, 0u);
  for (const auto& r : disturbed.records) EXPECT_GE(r.nodes, 2u);
  for (float v : disturbed.model) EXPECT_TRUE(std::isfinite(v));
}

TEST(InProcessFaultsTest, SecureRoundsSurviveLostDuplicatedAndReorderedFrames) {
  protocol::FaultPlan plan;
  plan.drop = 0.02;
  plan.reorder = 0.05;
  plan.duplicate = 0.1;
  plan.delay = 0.1;
  plan.seed = 17;
  // Seven schools: the full graph's threshold is then 4 of 6 share holders (a strict majority of
  // the cohort, which keeps two survivor sets from both collecting enough signatures), so a round
  // outlasts two nodes whose frames were lost; with six it would outlast only one.
  Outcome disturbed = RunFederation(7, plan, 3);
  ASSERT_TRUE(disturbed.status.ok()) << disturbed.status;
  EXPECT_EQ(disturbed.records.size(), 4u);
  EXPECT_GT(disturbed.faults.dropped, 0u);
  EXPECT_GT(disturbed.faults.duplicated, 0u);
  // The evaluation is a secure sum of its own: lost frames may cost a round its metrics (never its
  // training, and never in the clear instead), so most rounds, not all, report them.
  size_t evaluated = 0;
  for (const auto& r : disturbed.records) {
    EXPECT_GE(r.nodes, 3u);
    if (!r.auc.has_value()) continue;
    evaluated += 1;
    EXPECT_GT(*r.auc, 0.6);
  }
  EXPECT_GE(evaluated, 2u);
}

}  // namespace
}  // namespace cartable
