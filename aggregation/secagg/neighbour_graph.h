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

// The degree this project uses for a cohort of n nodes: kFullNeighbourGraph when the sparse degree
// would reach n − 1, else an even k, so the effective degree min(k, n − 1) never decreases with n.
//
// Where the constant comes from. Bell et al. prove k = O(log n) suffices: with random labels, a
// node's neighbourhood is a uniformly random k-subset of the others, so the number of corrupt (and
// of dropped) nodes in it concentrates around γ·k (δ·k). Every node needs fewer than t corrupt
// neighbours (else they rebuild its secrets) and at least t surviving ones (else its masks cannot
// be removed), with the Shamir threshold t about k/2. Hoeffding's bound, which holds for sampling
// without replacement, puts each of these 2n bad events below exp(−2·k·g²) with g = 1/2 − β, β
// bounding both γ and δ; a union bound keeps the total below 2^−σ once
//     k ≥ (σ + 1 + log2 n) · ln 2 / (2·g²).
// We take σ = 40 and β = 0.1 (g = 0.4), so k ≈ 2.17·(41 + log2 n): the full graph up to about 105
// nodes, then 112 at n = 1000 and 124 at the 65535-node cap. This is our own estimate in the shape
// of their analysis, not a number from their tables: it treats dropouts as independent of the
// labelling (Bell et al. handle adaptive dropouts more carefully), and a deployment expecting more
// than 10% corrupt or dropped nodes must choose k itself.
int RecommendedNeighbours(int num_nodes);

}  // namespace cartable::aggregation::secagg
