#include "aggregation/secagg/masking.h"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "aggregation/secagg/hkdf.h"
#include "aggregation/secagg/mask_expander.h"

namespace cartable::aggregation::secagg {
namespace {

constexpr std::string_view kPairwiseSeedLabel = "cartable secagg v1 pairwise-mask";

enum class Direction { kAdd, kSubtract };

Status CheckBits(int bits) {
  if (bits < kMaskingMinBits || bits > kMaskingMaxBits) {
    return InvalidArgumentError("masking modulus must be 2^b with b in [8, 62], got b=" +
                                std::to_string(bits));
  }
  return Status::Ok();
}

// A word at or above 2^b was reduced for another modulus (or not at all); reducing it silently
// would hide that mismatch until the dequantised sum came out wrong.
Status CheckReduced(std::span<const uint64_t> words, int bits, std::string_view what) {
  for (size_t i = 0; i < words.size(); ++i) {
    if ((words[i] >> bits) != 0) {
      return InvalidArgumentError(std::string(what) + " word " + std::to_string(i) +
                                  " is not below 2^" + std::to_string(bits) +
                                  "; was it quantised for another modulus?");
    }
  }
  return Status::Ok();
}

// Words of mask expanded per block: 8 KiB, so the block stays in L1 while it is added in, and the
// accumulator is walked once per seed.
constexpr size_t kMaskBlockWords = 1024;

// accumulator ± PRG(seed) mod 2^bits, streamed through one block-sized buffer: no allocation per
// seed, and the mask is never whole in memory. The keystream is as sensitive as the seed (with it,
// y_i gives away x_i), so the buffer is wiped before it goes out of scope.
Status ApplyMask(std::span<uint64_t> accumulator, const SecretBytes& seed, int bits,
                 Direction direction) {
  // The full 64-bit words: their low `bits` bits are PRG(seed)'s words, and since 2^b divides 2^64
  // (unsigned arithmetic wraps modulo 2^64), reducing after the sum gives the same result as adding
  // the reduced words, with one pass over the block instead of two.
  CARTABLE_ASSIGN_OR_RETURN(MaskExpander expander, MaskExpander::Create(seed.span(), 64));
  alignas(64) uint64_t mask[kMaskBlockWords];
  const uint64_t modulus_mask = (uint64_t{1} << bits) - 1;
  Status status = Status::Ok();
  for (size_t at = 0; at < accumulator.size() && status.ok(); at += kMaskBlockWords) {
    const size_t count = std::min(kMaskBlockWords, accumulator.size() - at);
    status = expander.Next(std::span<uint64_t>(mask, count));
    if (!status.ok()) break;
    uint64_t* out = accumulator.data() + at;
    if (direction == Direction::kAdd) {
      for (size_t i = 0; i < count; ++i) out[i] = (out[i] + mask[i]) & modulus_mask;
    } else {
      for (size_t i = 0; i < count; ++i) out[i] = (out[i] - mask[i]) & modulus_mask;
    }
  }
  WipeBytes(mask, sizeof(mask));
  return status;
}

void AppendLittleEndian(std::vector<uint8_t>& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

std::string NodeName(int node) { return "node " + std::to_string(node); }

// Marks each survivor; refuses an empty set, an index outside the graph and a repeat.
StatusOr<std::vector<bool>> SurvivorFlags(std::span<const int> survivors, int num_nodes) {
  if (survivors.empty()) {
    return InvalidArgumentError("cannot unmask a sum without at least one survivor");
  }
  std::vector<bool> is_survivor(static_cast<size_t>(num_nodes), false);
  for (int node : survivors) {
    if (node < 0 || node >= num_nodes) {
      return InvalidArgumentError("survivor " + NodeName(node) + " is not in the graph of " +
                                  std::to_string(num_nodes) + " nodes");
    }
    if (is_survivor[node]) return InvalidArgumentError(NodeName(node) + " is listed twice");
    is_survivor[node] = true;
  }
  return is_survivor;
}

Status CheckSelfSeeds(std::span<const SelfSeed> self_seeds, const std::vector<bool>& is_survivor,
                      std::span<const int> survivors) {
  std::vector<bool> seen(is_survivor.size(), false);
  for (const SelfSeed& self : self_seeds) {
    if (self.node < 0 || self.node >= static_cast<int>(is_survivor.size())) {
      return InvalidArgumentError("self seed for " + NodeName(self.node) + ", not in the graph");
    }
    if (!is_survivor[self.node]) {
      return InvalidArgumentError("self seed for dropped " + NodeName(self.node) +
                                  ": a dropped node's self seed must never be rebuilt, its "
                                  "pairwise seeds are (never both)");
    }
    if (seen[self.node]) return InvalidArgumentError("two self seeds for " + NodeName(self.node));
    seen[self.node] = true;
  }
  for (int node : survivors) {
    if (!seen[node]) return InvalidArgumentError("no self seed for survivor " + NodeName(node));
  }
  return Status::Ok();
}

Status CheckDroppedPairSeeds(std::span<const DroppedPairSeed> pair_seeds,
                             const std::vector<bool>& is_survivor,
                             const std::vector<bool>& is_participant, const NeighbourGraph& graph) {
  const int n = graph.num_nodes();
  std::set<std::pair<int, int>> seen;
  for (const DroppedPairSeed& pair : pair_seeds) {
    if (pair.dropped < 0 || pair.dropped >= n || pair.survivor < 0 || pair.survivor >= n) {
      return InvalidArgumentError("pairwise seed between " + NodeName(pair.dropped) + " and " +
                                  NodeName(pair.survivor) + ", not both in the graph");
    }
    if (!is_participant[pair.dropped]) {
      return InvalidArgumentError("pairwise seed of " + NodeName(pair.dropped) +
                                  ", which never shared its keys: nobody masked with it");
    }
    if (is_survivor[pair.dropped]) {
      return InvalidArgumentError(
          "pairwise seed of survivor " + NodeName(pair.dropped) +
          ": a survivor's pairwise seeds must never be rebuilt, its self seed is (never both)");
    }
    if (!is_survivor[pair.survivor]) {
      return InvalidArgumentError("pairwise seed between dropped " + NodeName(pair.dropped) +
                                  " and " + NodeName(pair.survivor) +
                                  ", which dropped too: no survivor carries that mask");
    }
    if (!graph.AreNeighbours(pair.dropped, pair.survivor)) {
      return InvalidArgumentError(NodeName(pair.dropped) + " and " + NodeName(pair.survivor) +
                                  " are not neighbours, so they share no mask");
    }
    if (!seen.emplace(pair.dropped, pair.survivor).second) {
      return InvalidArgumentError("two pairwise seeds between " + NodeName(pair.dropped) + " and " +
                                  NodeName(pair.survivor));
    }
  }
  for (int dropped = 0; dropped < n; ++dropped) {
    if (is_survivor[dropped] || !is_participant[dropped]) continue;
    for (int neighbour : graph.neighbours(dropped)) {
      if (is_survivor[neighbour] && !seen.contains({dropped, neighbour})) {
        return InvalidArgumentError("no pairwise seed between dropped " + NodeName(dropped) +
                                    " and its surviving neighbour " + NodeName(neighbour));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<SecretBytes> PairwiseSeed(const X25519PrivateKey& my_mask_key,
                                   const X25519PublicKey& peer_public, uint64_t run_id,
                                   uint32_t round) {
  const X25519PublicKey& my_public = my_mask_key.PublicKey();
  if (my_public == peer_public) {
    return InvalidArgumentError(
        "peer's mask public key equals our own: a node never pairs with itself (reflected "
        "advert?)");
  }
  CARTABLE_ASSIGN_OR_RETURN(SecretBytes shared, my_mask_key.Agree(peer_public));
  // Both ends must build identical info, so the keys go in an order neither end chooses.
  const bool mine_first = my_public < peer_public;
  const X25519PublicKey& low = mine_first ? my_public : peer_public;
  const X25519PublicKey& high = mine_first ? peer_public : my_public;
  std::vector<uint8_t> info(kPairwiseSeedLabel.begin(), kPairwiseSeedLabel.end());
  AppendLittleEndian(info, run_id, 8);
  AppendLittleEndian(info, round, 4);
  info.insert(info.end(), low.begin(), low.end());
  info.insert(info.end(), high.begin(), high.end());
  return HkdfSha256(shared.span(), {}, info, kMaskSeedSize);
}

StatusOr<std::vector<uint64_t>> MaskInput(std::span<const uint64_t> input,
                                          const SecretBytes& self_seed,
                                          std::span<const NeighbourSeed> pairwise_seeds,
                                          int my_index, int bits) {
  CARTABLE_RETURN_IF_ERROR(CheckBits(bits));
  CARTABLE_RETURN_IF_ERROR(CheckReduced(input, bits, "input"));
  if (my_index < 0) return InvalidArgumentError("node index is negative: " + NodeName(my_index));
  std::set<int> seen;
  for (const NeighbourSeed& pair : pairwise_seeds) {
    if (pair.neighbour < 0 || pair.neighbour == my_index) {
      return InvalidArgumentError(NodeName(my_index) + " cannot share a mask with " +
                                  NodeName(pair.neighbour));
    }
    if (!seen.insert(pair.neighbour).second) {
      return InvalidArgumentError("two pairwise seeds for neighbour " + NodeName(pair.neighbour));
    }
  }

  std::vector<uint64_t> masked(input.begin(), input.end());
  CARTABLE_RETURN_IF_ERROR(ApplyMask(masked, self_seed, bits, Direction::kAdd)
                               .WithContext("self mask of " + NodeName(my_index)));
  for (const NeighbourSeed& pair : pairwise_seeds) {
    // The lower index adds, the higher subtracts: the two masks of a pair cancel in the sum.
    const Direction direction = pair.neighbour > my_index ? Direction::kAdd : Direction::kSubtract;
    CARTABLE_RETURN_IF_ERROR(ApplyMask(masked, pair.seed, bits, direction)
                                 .WithContext("pairwise mask with " + NodeName(pair.neighbour)));
  }
  return masked;
}

StatusOr<std::vector<uint64_t>> UnmaskSum(std::span<const uint64_t> masked_sum,
                                          std::span<const int> survivors,
                                          std::span<const SelfSeed> self_seeds,
                                          std::span<const DroppedPairSeed> dropped_pair_seeds,
                                          const NeighbourGraph& graph, int bits) {
  std::vector<int> everyone(static_cast<size_t>(graph.num_nodes()));
  for (int i = 0; i < graph.num_nodes(); ++i) everyone[static_cast<size_t>(i)] = i;
  return UnmaskSumAmong(masked_sum, everyone, survivors, self_seeds, dropped_pair_seeds, graph, bits);
}

StatusOr<std::vector<uint64_t>> UnmaskSumAmong(std::span<const uint64_t> masked_sum,
                                               std::span<const int> participants,
                                               std::span<const int> survivors,
                                               std::span<const SelfSeed> self_seeds,
                                               std::span<const DroppedPairSeed> dropped_pair_seeds,
                                               const NeighbourGraph& graph, int bits) {
  CARTABLE_RETURN_IF_ERROR(CheckBits(bits));
  CARTABLE_RETURN_IF_ERROR(CheckReduced(masked_sum, bits, "masked sum"));
  std::vector<bool> is_participant(static_cast<size_t>(graph.num_nodes()), false);
  for (int node : participants) {
    if (node < 0 || node >= graph.num_nodes()) {
      return InvalidArgumentError("participant " + NodeName(node) + " is not in the graph");
    }
    is_participant[static_cast<size_t>(node)] = true;
  }
  CARTABLE_ASSIGN_OR_RETURN(const std::vector<bool> is_survivor,
                            SurvivorFlags(survivors, graph.num_nodes()));
  for (int node : survivors) {
    if (!is_participant[static_cast<size_t>(node)]) {
      return InvalidArgumentError("survivor " + NodeName(node) +
                                  " never shared its keys, so its input cannot be unmasked");
    }
  }
  CARTABLE_RETURN_IF_ERROR(CheckSelfSeeds(self_seeds, is_survivor, survivors));
  CARTABLE_RETURN_IF_ERROR(
      CheckDroppedPairSeeds(dropped_pair_seeds, is_survivor, is_participant, graph));

  std::vector<uint64_t> sum(masked_sum.begin(), masked_sum.end());
  for (const SelfSeed& self : self_seeds) {
    CARTABLE_RETURN_IF_ERROR(ApplyMask(sum, self.seed, bits, Direction::kSubtract)
                                 .WithContext("self mask of " + NodeName(self.node)));
  }
  for (const DroppedPairSeed& pair : dropped_pair_seeds) {
    // The survivor added PRG(s) if the dropped node has the higher index, else subtracted it.
    const Direction undo = pair.dropped > pair.survivor ? Direction::kSubtract : Direction::kAdd;
    CARTABLE_RETURN_IF_ERROR(ApplyMask(sum, pair.seed, bits, undo)
                                 .WithContext("pairwise mask between dropped " +
                                              NodeName(pair.dropped) + " and " +
                                              NodeName(pair.survivor)));
  }
  return sum;
}

}  // namespace cartable::aggregation::secagg
