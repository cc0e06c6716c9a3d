#include "aggregation/secagg/neighbour_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <string>
#include <utility>

#include "aggregation/secagg/mask_expander.h"
#include "core/check.h"

namespace cartable::aggregation::secagg {
namespace {

// Uniform draws in [0, bound) from the seed's keystream. Rejection sampling keeps them exactly
// uniform (a plain `word % bound` would favour small values); ExpandMask of a longer count
// starts with the same words, so refilling when rejections exhaust the buffer keeps the stream, and
// hence the graph, a pure function of the seed.
class UniformDraws {
 public:
  static StatusOr<UniformDraws> Create(std::span<const uint8_t> seed, size_t expected_draws) {
    UniformDraws draws(seed);
    CARTABLE_RETURN_IF_ERROR(draws.Refill(expected_draws + 64));
    return draws;
  }

  StatusOr<uint32_t> Below(uint32_t bound) {
    CARTABLE_CHECK(bound > 0) << "empty range";
    constexpr uint64_t kWordRange = uint64_t{1} << 32;
    const uint64_t limit = kWordRange - kWordRange % bound;  // largest multiple of bound ≤ 2^32
    while (true) {
      if (next_ == words_.size()) CARTABLE_RETURN_IF_ERROR(Refill(2 * words_.size()));
      const uint32_t word = words_[next_++];
      if (word < limit) return word % bound;
    }
  }

 private:
  explicit UniformDraws(std::span<const uint8_t> seed) : seed_(seed) {}

  Status Refill(size_t count) {
    CARTABLE_ASSIGN_OR_RETURN(words_, ExpandMask(seed_, count));
    return Status::Ok();
  }

  std::span<const uint8_t> seed_;
  std::vector<uint32_t> words_;
  size_t next_ = 0;
};

Status CheckParameters(int num_nodes, int neighbours, std::span<const uint8_t> seed) {
  if (num_nodes < 2 || num_nodes > kNeighbourGraphMaxNodes) {
    return InvalidArgumentError("a neighbour graph needs between 2 and 65535 nodes, got " +
                                std::to_string(num_nodes));
  }
  if (neighbours != kFullNeighbourGraph) {
    if (neighbours < 2 || neighbours >= num_nodes) {
      return InvalidArgumentError(
          "number of neighbours must be 0 (full graph) or in [2, " + std::to_string(num_nodes - 1) +
          "] for " + std::to_string(num_nodes) + " nodes, got " + std::to_string(neighbours));
    }
    if (neighbours % 2 != 0) {
      return InvalidArgumentError(
          "number of neighbours must be even (k/2 on each side of the ring), got " +
          std::to_string(neighbours));
    }
  }
  if (seed.size() != kNeighbourGraphSeedSize) {
    return InvalidArgumentError("a neighbour graph seed is 32 bytes, got " +
                                std::to_string(seed.size()));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<NeighbourGraph> NeighbourGraph::Create(int num_nodes, int neighbours,
                                                std::span<const uint8_t> seed) {
  CARTABLE_RETURN_IF_ERROR(CheckParameters(num_nodes, neighbours, seed));
  std::vector<int> node_at(static_cast<size_t>(num_nodes));
  std::iota(node_at.begin(), node_at.end(), 0);
  // The full graph is the same under every labelling; shuffling it anyway would only cost time.
  if (neighbours != kFullNeighbourGraph) {
    CARTABLE_ASSIGN_OR_RETURN(UniformDraws draws, UniformDraws::Create(seed, node_at.size()));
    // Fisher–Yates, from the top: position p swaps with a uniform position in [0, p].
    for (size_t p = node_at.size() - 1; p > 0; --p) {
      CARTABLE_ASSIGN_OR_RETURN(const uint32_t other, draws.Below(static_cast<uint32_t>(p + 1)));
      std::swap(node_at[p], node_at[other]);
    }
  }
  return NeighbourGraph(std::move(node_at), neighbours / 2);
}

NeighbourGraph::NeighbourGraph(std::vector<int> node_at, int half_width)
    : node_at_(std::move(node_at)), position_of_(node_at_.size()), half_width_(half_width) {
  for (size_t p = 0; p < node_at_.size(); ++p) position_of_[node_at_[p]] = static_cast<int>(p);
}

std::vector<int> NeighbourGraph::neighbours(int node) const {
  const int n = num_nodes();
  CARTABLE_CHECK(node >= 0 && node < n) << "node " << node << " is not in a graph of " << n;
  std::vector<int> result;
  result.reserve(static_cast<size_t>(degree()));
  if (is_full()) {
    for (int other = 0; other < n; ++other) {
      if (other != node) result.push_back(other);
    }
    return result;
  }
  const int position = position_of_[node];
  for (int offset = 1; offset <= half_width_; ++offset) {
    result.push_back(node_at_[(position + offset) % n]);
    result.push_back(node_at_[(position - offset + n) % n]);
  }
  std::sort(result.begin(), result.end());
  return result;
}

bool NeighbourGraph::AreNeighbours(int a, int b) const {
  const int n = num_nodes();
  CARTABLE_CHECK(a >= 0 && a < n && b >= 0 && b < n)
      << "nodes " << a << " and " << b << " are not both in a graph of " << n;
  if (a == b) return false;
  if (is_full()) return true;
  // Ring distance between the two positions, the shorter way round.
  const int gap = std::abs(position_of_[a] - position_of_[b]);
  return std::min(gap, n - gap) <= half_width_;
}

}  // namespace cartable::aggregation::secagg
