#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"

namespace cartable::aggregation::secagg {
namespace {

std::vector<uint8_t> SeedFrom(uint64_t value) {
  std::mt19937_64 rng(value);
  std::vector<uint8_t> seed(kNeighbourGraphSeedSize);
  for (uint8_t& byte : seed) byte = static_cast<uint8_t>(rng());
  return seed;
}

NeighbourGraph MakeGraph(int n, int k, uint64_t seed) {
  StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(n, k, SeedFrom(seed));
  EXPECT_TRUE(graph.ok()) << graph.status();
  return std::move(graph).value();
}

std::vector<std::vector<int>> Adjacency(const NeighbourGraph& graph) {
  std::vector<std::vector<int>> lists;
  for (int node = 0; node < graph.num_nodes(); ++node) lists.push_back(graph.neighbours(node));
  return lists;
}

// Checks every structural promise of the header on one graph.
void ExpectWellFormed(const NeighbourGraph& graph, int expected_degree) {
  const int n = graph.num_nodes();
  EXPECT_EQ(graph.degree(), expected_degree);
  for (int node = 0; node < n; ++node) {
    const std::vector<int> neighbours = graph.neighbours(node);
    ASSERT_EQ(static_cast<int>(neighbours.size()), expected_degree) << "node " << node;
    EXPECT_TRUE(std::is_sorted(neighbours.begin(), neighbours.end()));
    EXPECT_EQ(std::adjacent_find(neighbours.begin(), neighbours.end()), neighbours.end())
        << "repeated neighbour of node " << node;
    for (int other : neighbours) {
      ASSERT_GE(other, 0);
      ASSERT_LT(other, n);
      EXPECT_NE(other, node) << "self-loop";
      const std::vector<int> back = graph.neighbours(other);
      EXPECT_TRUE(std::binary_search(back.begin(), back.end(), node))
          << node << " → " << other << " is not symmetric";
    }
    for (int other = 0; other < n; ++other) {
      EXPECT_EQ(graph.AreNeighbours(node, other),
                std::binary_search(neighbours.begin(), neighbours.end(), other))
          << node << ", " << other;
    }
  }
}

TEST(NeighbourGraphTest, SparseGraphsAreRegularSymmetricAndLoopFree) {
  const std::vector<std::pair<int, int>> shapes = {{3, 2},  {4, 2},    {5, 4},   {7, 6},
                                                   {10, 2}, {10, 8},   {11, 10}, {40, 6},
                                                   {64, 4}, {101, 20}, {257, 32}};
  for (const auto& [n, k] : shapes) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      SCOPED_TRACE("n=" + std::to_string(n) + " k=" + std::to_string(k));
      const NeighbourGraph graph = MakeGraph(n, k, seed);
      EXPECT_FALSE(graph.is_full());
      ExpectWellFormed(graph, k);
    }
  }
}

TEST(NeighbourGraphTest, FullModeConnectsEveryPair) {
  for (int n : {2, 3, 8, 33}) {
    const NeighbourGraph graph = MakeGraph(n, kFullNeighbourGraph, 1);
    EXPECT_TRUE(graph.is_full());
    ExpectWellFormed(graph, n - 1);
  }
}

TEST(NeighbourGraphTest, IsDeterministicPerSeed) {
  EXPECT_EQ(Adjacency(MakeGraph(50, 6, 9)), Adjacency(MakeGraph(50, 6, 9)));
}

TEST(NeighbourGraphTest, DifferentSeedsGiveDifferentGraphs) {
  // Two random 6-regular labellings of 50 nodes coincide with negligible probability.
  const auto first = Adjacency(MakeGraph(50, 6, 1));
  for (uint64_t seed = 2; seed < 12; ++seed) {
    EXPECT_NE(first, Adjacency(MakeGraph(50, 6, seed))) << seed;
  }
}

// The labels must be a uniform permutation, or an adversary could predict who surrounds whom.
// In a 2-regular graph on 10 nodes, each other node neighbours node 0 with probability 2/9.
TEST(NeighbourGraphTest, NeighboursOfANodeAreSpreadUniformly) {
  constexpr int kGraphs = 4500;
  std::vector<int> counts(10, 0);
  for (int seed = 0; seed < kGraphs; ++seed) {
    for (int other : MakeGraph(10, 2, 1000 + seed).neighbours(0)) ++counts[other];
  }
  EXPECT_EQ(counts[0], 0);
  // Expected 1000 each, standard deviation about 28; ±150 is over five deviations.
  for (int other = 1; other < 10; ++other) {
    EXPECT_NEAR(counts[other], 1000, 150) << "node " << other;
  }
}

TEST(NeighbourGraphTest, RefusesInvalidParameters) {
  const std::vector<uint8_t> seed = SeedFrom(0);
  struct Case {
    int n;
    int k;
    size_t seed_size;
    std::string expected_text;
  };
  const std::vector<Case> cases = {
      {1, kFullNeighbourGraph, 32, "between 2 and 65535 nodes"},
      {0, 2, 32, "between 2 and 65535 nodes"},
      {65536, 2, 32, "between 2 and 65535 nodes"},
      {10, 3, 32, "must be even"},
      {10, 10, 32, "in [2, 9]"},
      {10, 12, 32, "in [2, 9]"},
      {10, -2, 32, "in [2, 9]"},
      {2, 2, 32, "in [2, 1]"},
      {10, 4, 31, "seed is 32 bytes"},
      {10, 4, 0, "seed is 32 bytes"},
  };
  for (const Case& c : cases) {
    const std::vector<uint8_t> bytes(c.seed_size, 7);
    StatusOr<NeighbourGraph> graph = NeighbourGraph::Create(c.n, c.k, bytes);
    ASSERT_FALSE(graph.ok()) << "n=" << c.n << " k=" << c.k;
    EXPECT_EQ(graph.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(graph.status().message().find(c.expected_text), std::string::npos)
        << graph.status().message();
  }
}

}  // namespace
}  // namespace cartable::aggregation::secagg
