#pragma once

// NeighbourGraph: who masks with whom in one SecAgg+ round. Bonawitz et al. (CCS 2017) pair every
// node with every other one; Bell et al. (CCS 2020) show that a k-regular graph with k logarithmic
// in n keeps the same guarantees with high probability, provided the node labels are randomly
// permuted so that an adversary cannot place itself around a chosen victim. This is their Harary
// construction: with π a random permutation of 0..n−1, node π[p] neighbours π[p ± 1], …,
// π[p ± k/2] (positions mod n). In full mode every node neighbours every other, as in SecAgg.
//
// The graph is a pure function of (n, k, seed), so the coordinator and every node rebuild the same
// one from the round parameters; the seed is public. It must be drawn fresh per round and fixed
// before anyone knows which nodes are corrupt or will drop, or the labelling is no longer random
// with respect to the adversary. An object that exists is valid; it is immutable, so thread safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace cartable::aggregation::secagg {

inline constexpr size_t kNeighbourGraphSeedSize = 32;
// Node indices double as Shamir evaluation points (index + 1), which stop at 65535.
inline constexpr int kNeighbourGraphMaxNodes = 65535;
// Create's `neighbours` argument meaning "everyone neighbours everyone else".
inline constexpr int kFullNeighbourGraph = 0;

class NeighbourGraph {
 public:
  // 2 ≤ num_nodes ≤ 65535. `neighbours` is kFullNeighbourGraph, or an even k with 2 ≤ k < n (the
  // circulant graph needs k/2 distinct offsets on each side, which k < n guarantees). `seed` is 32
  // bytes and only matters for a sparse graph.
  static StatusOr<NeighbourGraph> Create(int num_nodes, int neighbours,
                                         std::span<const uint8_t> seed);

  int num_nodes() const { return static_cast<int>(position_of_.size()); }
  bool is_full() const { return half_width_ == 0; }
  // Every node has exactly this many neighbours: k, or n − 1 in full mode.
  int degree() const { return is_full() ? num_nodes() - 1 : 2 * half_width_; }

  // The neighbours of `node`, ascending, without `node` itself. `node` outside [0, n) is a
  // programmer error (indices come from the cohort list, never from a peer's bytes unchecked).
  std::vector<int> neighbours(int node) const;
  bool AreNeighbours(int a, int b) const;

 private:
  NeighbourGraph(std::vector<int> node_at, int half_width);

  // node_at_[p] = π[p], the node at position p of the ring; position_of_ is its inverse. Storing
  // the permutation (O(n)) instead of adjacency lists (O(n·k)) keeps even full graphs of 65535
  // nodes small.
  std::vector<int> node_at_;
  std::vector<int> position_of_;
  int half_width_;  // k/2; 0 in full mode
};

// PlanGraph (graph_plan.h) chooses k for a cohort.

}  // namespace cartable::aggregation::secagg
