#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/neighbour_graph.h"

namespace cartable::aggregation::secagg {
namespace {

TEST(GraphPlanTest, ThresholdOutlastsTheAllowanceEvenAcrossTwoSurvivorSets) {
  for (int degree = 1; degree <= 300; ++degree) {
    for (int c = 0; c <= degree; ++c) {
      const int t = ShamirThreshold(degree, c);
      // Two disjoint groups of honest holders, plus the owner's own view, plus c colluders on both
      // sides cannot each reach t ...
      EXPECT_GT(2 * t, degree + 1 + c) << degree << " " << c;
      // ... and t is the least such threshold, so it leaves the most room for dropouts.
      EXPECT_LE(2 * (t - 1), degree + 1 + c) << degree << " " << c;
    }
  }
  EXPECT_EQ(ShamirThreshold(110, 0), 56);  // a strict majority of k + 1 when nobody colludes
  EXPECT_EQ(ShamirThreshold(499, 25), 263);
}

// Expected plans computed independently with exact rational arithmetic (Python fractions and
// math.comb over the same conditions), so the floating-point tails here are checked, not trusted.
TEST(GraphPlanTest, MatchesPlansComputedWithExactArithmetic) {
  struct Case {
    int n;
    double corrupt, dropout;
    int k, allowance, threshold;
  };
  for (const Case& c : {Case{100, 0.05, 0.1, 28, 5, 18}, Case{200, 0.05, 0.1, 42, 10, 27},
                        Case{500, 0.05, 0.1, 66, 20, 44}, Case{500, 0.05, 0.3, 218, 25, 123},
                        Case{1000, 0.05, 0.1, 78, 24, 52}, Case{1000, 0.0, 0.1, 36, 0, 19},
                        Case{10000, 0.05, 0.1, 96, 30, 64}}) {
    StatusOr<GraphPlan> plan = PlanGraph(c.n, {c.corrupt, c.dropout});
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->neighbours, c.k) << "n=" << c.n << " dropout=" << c.dropout;
    EXPECT_EQ(plan->degree, c.k);
    EXPECT_EQ(plan->corrupt_allowance, c.allowance) << "n=" << c.n;
    EXPECT_EQ(plan->threshold, c.threshold) << "n=" << c.n;
    EXPECT_EQ(plan->tolerated_dropouts, c.k - c.threshold);
    EXPECT_TRUE(NeighbourGraph::Create(c.n, plan->neighbours, std::vector<uint8_t>(32, 1)).ok());
  }
}

TEST(GraphPlanTest, SmallCohortsGetTheFullGraphWithExactCounts) {
  StatusOr<GraphPlan> plan = PlanGraph(10, {0.05, 0.1});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->neighbours, kFullNeighbourGraph);
  EXPECT_EQ(plan->degree, 9);
  EXPECT_EQ(plan->corrupt_allowance, 0);  // ⌊0.05 · 10⌋
  EXPECT_EQ(plan->threshold, 6);
  EXPECT_EQ(plan->tolerated_dropouts, 3);

  plan = PlanGraph(50, {0.05, 0.1});  // 64 members or fewer: full, even where k = 14 would do
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->neighbours, kFullNeighbourGraph);
  EXPECT_EQ(plan->corrupt_allowance, 2);
  EXPECT_EQ(plan->threshold, 27);
  EXPECT_EQ(plan->tolerated_dropouts, 22);

  plan = PlanGraph(3, {});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->threshold, 2);
  EXPECT_EQ(plan->tolerated_dropouts, 0);
}

TEST(GraphPlanTest, AForcedDegreeOnlyGetsItsAllowance) {
  StatusOr<GraphPlan> plan = PlanGraph(500, {0.05, 0.1}, 110);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->neighbours, 110);
  EXPECT_GT(plan->corrupt_allowance, 0);
  EXPECT_EQ(plan->threshold, ShamirThreshold(110, plan->corrupt_allowance));
  plan = PlanGraph(500, {0.05, 0.3}, kFullNeighbourGraph);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->degree, 499);
  EXPECT_EQ(plan->corrupt_allowance, 25);
  EXPECT_EQ(plan->threshold, 263);
  EXPECT_EQ(plan->tolerated_dropouts, 236);
  // A k the cohort cannot hold is the full graph.
  plan = PlanGraph(20, {}, 30);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->neighbours, kFullNeighbourGraph);
}

TEST(GraphPlanTest, RefusesWhatCannotWork) {
  auto expect_refused = [](StatusOr<GraphPlan> plan, const std::string& text) {
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find(text), std::string::npos) << plan.status().message();
  };
  expect_refused(PlanGraph(1, {}), "2 to 65535");
  expect_refused(PlanGraph(65536, {}), "2 to 65535");
  expect_refused(PlanGraph(100, {1.0, 0.1}), "[0, 1)");
  expect_refused(PlanGraph(100, {0.05, -0.1}), "[0, 1)");
  expect_refused(PlanGraph(100, {0.05, 0.1}, 7), "even");
  // Two members: a threshold outlasting nobody is already 2 of 1 holder.
  expect_refused(PlanGraph(2, {}), "tolerate fewer");
  // Ten members of whom three may collude leave room for two dropouts, not three.
  expect_refused(PlanGraph(10, {0.3, 0.3}), "tolerate fewer");
}

TEST(GraphPlanTest, DegreeGrowsSlowlyWithTheCohort) {
  int previous = 0;
  for (int n : {1000, 2000, 5000, 10000, 30000, 65535}) {
    StatusOr<GraphPlan> plan = PlanGraph(n, {});
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_NE(plan->neighbours, kFullNeighbourGraph) << n;
    EXPECT_GE(plan->degree, previous) << n;
    EXPECT_LE(plan->degree, 120) << n;
    previous = plan->degree;
  }
}

}  // namespace
}  // namespace cartable::aggregation::secagg
