// Whole SecAgg+ rounds between real client and server state machines: the sum comes out right for
// any dropouts the threshold tolerates, and the round aborts cleanly otherwise.

#include "bench/secagg_round.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"

namespace cartable::bench {
namespace {

using aggregation::secagg::kFullNeighbourGraph;

// The dequantised sum is within one quantisation level per contributor of the exact sum.
void ExpectSumOfSurvivors(const SimulatedRoundResult& r, const SimulatedRoundConfig& c) {
  ASSERT_TRUE(r.status.ok()) << r.status;
  const double level =
      2 * c.value_range / static_cast<double>((uint64_t{1} << c.modulus_bits) / c.members);
  const double tolerance = level * static_cast<double>(r.sum.survivors.size()) + 1e-9;
  for (size_t d = 0; d < c.dimension; ++d) {
    double exact = 0;
    for (uint32_t m : r.sum.survivors) exact += r.inputs[m][d];
    ASSERT_NEAR(r.sum.sum[d], exact, tolerance) << "coordinate " << d;
  }
}

TEST(SecAggRoundTest, FullGraphWithoutDropoutsSumsEveryone) {
  SimulatedRoundConfig c{.members = 5, .dimension = 64, .neighbours = kFullNeighbourGraph};
  auto r = SimulateRound(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectSumOfSurvivors(*r, c);
  EXPECT_EQ(r->sum.survivors.size(), 5u);
}

TEST(SecAggRoundTest, SparseGraphSurvivesDropoutsAtEveryStage) {
  // k = 12, threshold 7: with 5 members gone, every member keeps at least 7 neighbours to reveal.
  SimulatedRoundConfig c{.members = 20, .dimension = 50, .neighbours = 12, .seed = 7};
  c.drops.assign(20, DropPoint::kNever);
  c.drops[0] = DropPoint::kBeforeAdvert;
  c.drops[3] = DropPoint::kBeforeShares;
  c.drops[5] = DropPoint::kBeforeMaskedInput;
  c.drops[9] = DropPoint::kBeforeConsistency;
  c.drops[12] = DropPoint::kBeforeUnmask;
  auto r = SimulateRound(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectSumOfSurvivors(*r, c);
  // Members that sent their masked input are in the sum even if they fell silent afterwards.
  EXPECT_EQ(r->sum.survivors.size(), 17u);
}

TEST(SecAggRoundTest, WideModulusSumsExactlyToo) {
  SimulatedRoundConfig c{
      .members = 6, .dimension = 20, .neighbours = 4, .modulus_bits = 48, .seed = 3};
  c.drops = {DropPoint::kNever, DropPoint::kBeforeMaskedInput};
  auto r = SimulateRound(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectSumOfSurvivors(*r, c);
}

TEST(SecAggRoundTest, TooManyDropoutsAbortWithAReason) {
  SimulatedRoundConfig c{.members = 6, .dimension = 8, .neighbours = kFullNeighbourGraph};
  c.drops.assign(6, DropPoint::kBeforeConsistency);
  c.drops[0] = DropPoint::kNever;
  c.drops[1] = DropPoint::kNever;  // 2 signatures; a threshold of 3 is needed
  auto r = SimulateRound(c);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code(), StatusCode::kFailedPrecondition) << r->status;
  EXPECT_NE(r->status.message().find("are needed"), std::string::npos) << r->status;
}

// Random cohorts, degrees and dropouts: every round either yields the survivors' sum or aborts with
// kFailedPrecondition; it never yields a wrong sum.
TEST(SecAggRoundTest, RandomDropoutsNeverGiveAWrongSum) {
  std::mt19937_64 rng(2024);
  int completed = 0;
  for (int trial = 0; trial < 40; ++trial) {
    SimulatedRoundConfig c;
    c.members = 3 + static_cast<int>(rng() % 14);
    c.dimension = 1 + rng() % 40;
    const int max_k = (c.members - 2) / 2 * 2;
    c.neighbours = (rng() % 3 == 0 || max_k < 2) ? kFullNeighbourGraph
                                                 : 2 + 2 * static_cast<int>(rng() % (max_k / 2));
    c.modulus_bits = rng() % 2 ? 32 : 40;
    c.seed = rng();
    for (int i = 0; i < c.members; ++i) {
      c.drops.push_back(rng() % 5 == 0 ? static_cast<DropPoint>(1 + rng() % 5) : DropPoint::kNever);
    }
    auto r = SimulateRound(c);
    ASSERT_TRUE(r.ok()) << r.status();
    if (r->status.ok()) {
      ExpectSumOfSurvivors(*r, c);
      ++completed;
    } else {
      EXPECT_EQ(r->status.code(), StatusCode::kFailedPrecondition)
          << "trial " << trial << ": " << r->status;
    }
  }
  EXPECT_GE(completed, 20);  // most random rounds are recoverable
}

// Each member adds its share of distributed discrete Gaussian noise before masking: the sum the
// server unmasks is the members' sum plus noise of z per coordinate (a unit sensitivity, shares
// sized for every member).
TEST(SecAggRoundTest, DistributedNoiseSumsToTheIntendedVarianceThroughMasking) {
  SimulatedRoundConfig c{.members = 6,
                         .dimension = 20000,
                         .neighbours = kFullNeighbourGraph,
                         .modulus_bits = 40,
                         .value_range = 1.0,
                         .noise_multiplier = 0.5};
  auto r = SimulateRound(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status.ok()) << r->status;
  ASSERT_EQ(r->sum.survivors.size(), 6U);
  double squares = 0;
  for (size_t d = 0; d < c.dimension; ++d) {
    double exact = 0;
    for (uint32_t m : r->sum.survivors) exact += r->inputs[m][d];
    const double noise = r->sum.sum[d] - exact;
    squares += noise * noise;
  }
  // 20,000 coordinates: a standard error of 1% on the variance.
  EXPECT_NEAR(squares / static_cast<double>(c.dimension), 0.25, 0.0125);
  c.modulus_bits = 16;  // cannot hold the noisy sum
  EXPECT_FALSE(SimulateRound(c).ok());
}

}  // namespace
}  // namespace cartable::bench
