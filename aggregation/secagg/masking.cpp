#include "aggregation/secagg/masking.h"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// One mask to add or subtract: PRG(seed) in the sum's direction.
struct MaskTerm {
  const SecretBytes* seed;
  Direction direction;
};

// Words per block: the accumulator's block and one block of mask (8 KiB each in 32-bit words,
// 16 KiB in 64-bit ones) stay in L1 while every mask of a pass is added in.
constexpr size_t kMaskBlockWords = 2048;
// Masks expanded side by side in one pass over the accumulator; each holds one AES key schedule.
constexpr size_t kMasksPerPass = 128;

// out[j] ± mask[j] for j < count. Written for the vectoriser: restrict pointers, and a count known
// at compile time for whole blocks (GCC's -O2 cost model vectorises only loops needing no runtime
// checks and no scalar epilogue; it leaves the last, partial block scalar).
template <typename Word, size_t kCount>
void AddBlock(Word* __restrict out, const Word* __restrict mask, Direction direction) {
  if (direction == Direction::kAdd) {
    for (size_t j = 0; j < kCount; ++j) out[j] += mask[j];
  } else {
    for (size_t j = 0; j < kCount; ++j) out[j] -= mask[j];
  }
}

template <typename Word>
void AddPartialBlock(Word* __restrict out, const Word* __restrict mask, size_t count,
                     Direction direction) {
  if (direction == Direction::kAdd) {
    for (size_t j = 0; j < count; ++j) out[j] += mask[j];
  } else {
    for (size_t j = 0; j < count; ++j) out[j] -= mask[j];
  }
}

// accumulator ± PRG(seed) for every term, modulo 2^(8·sizeof(Word)). The caller reduces modulo 2^b
// once at the end: 2^b divides the word range and unsigned arithmetic wraps, so reducing after the
// sum gives the same result as reducing each term. The masks are streamed a block at a time and
// interleaved, so the accumulator is walked once per pass of 128 masks instead of once per mask,
// and no mask is ever whole in memory. The keystream is as sensitive as the seed (with it, y_i
// gives away x_i), so the buffer is wiped before it goes out of scope. `describe(i)` names term i
// in an error.
template <typename Word, typename Describe>
Status ApplyMasks(std::span<Word> accumulator, std::span<const MaskTerm> terms,
                  const Describe& describe) {
  constexpr int kWordBits = 8 * sizeof(Word);
  alignas(64) Word mask[kMaskBlockWords];
  Status status = Status::Ok();
  for (size_t first = 0; first < terms.size() && status.ok(); first += kMasksPerPass) {
    const size_t count = std::min(kMasksPerPass, terms.size() - first);
    std::vector<MaskExpander> expanders;
    expanders.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      auto expander = MaskExpander::Create(terms[first + i].seed->span(), kWordBits);
      if (!expander.ok()) return expander.status().WithContext(describe(first + i));
      expanders.push_back(std::move(expander).value());
    }
    for (size_t at = 0; at < accumulator.size() && status.ok(); at += kMaskBlockWords) {
      const size_t words = std::min(kMaskBlockWords, accumulator.size() - at);
      Word* out = accumulator.data() + at;
      for (size_t i = 0; i < count; ++i) {
        status = expanders[i].Next(std::span<Word>(mask, words));
        if (!status.ok()) {
          status = status.WithContext(describe(first + i));
          break;
        }
        if (words == kMaskBlockWords) {
          AddBlock<Word, kMaskBlockWords>(out, mask, terms[first + i].direction);
        } else {
          AddPartialBlock(out, mask, words, terms[first + i].direction);
        }
      }
    }
  }
  WipeBytes(mask, sizeof(mask));
  return status;
}

// `start` ± every term's mask, reduced modulo 2^bits. Up to 32 bits the sum runs in 32-bit words
// (half the memory traffic, twice the vector lanes) and is widened at the end.
template <typename Describe>
StatusOr<std::vector<uint64_t>> SumWithMasks(std::span<const uint64_t> start,
                                             std::span<const MaskTerm> terms, int bits,
                                             const Describe& describe) {
  const uint64_t modulus_mask = (uint64_t{1} << bits) - 1;
  std::vector<uint64_t> out(start.size());
  if (bits <= 32) {
    std::vector<uint32_t> narrow(start.begin(), start.end());
    CARTABLE_RETURN_IF_ERROR(ApplyMasks<uint32_t>(narrow, terms, describe));
    for (size_t i = 0; i < out.size(); ++i) out[i] = narrow[i] & modulus_mask;
    WipeBytes(narrow.data(), narrow.size() * sizeof(uint32_t));
  } else {
    std::copy(start.begin(), start.end(), out.begin());
    CARTABLE_RETURN_IF_ERROR(ApplyMasks<uint64_t>(out, terms, describe));
    for (uint64_t& word : out) word &= modulus_mask;
  }
  return out;
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

  // The lower index adds a pair's mask, the higher subtracts it: the two cancel in the sum.
  std::vector<MaskTerm> terms{{&self_seed, Direction::kAdd}};
  terms.reserve(pairwise_seeds.size() + 1);
  for (const NeighbourSeed& pair : pairwise_seeds) {
    terms.push_back(
        {&pair.seed, pair.neighbour > my_index ? Direction::kAdd : Direction::kSubtract});
  }
  return SumWithMasks(input, terms, bits, [&](size_t i) {
    return i == 0 ? "self mask of " + NodeName(my_index)
                  : "pairwise mask with " + NodeName(pairwise_seeds[i - 1].neighbour);
  });
}

StatusOr<std::vector<uint64_t>> UnmaskSum(std::span<const uint64_t> masked_sum,
                                          std::span<const int> survivors,
                                          std::span<const SelfSeed> self_seeds,
                                          std::span<const DroppedPairSeed> dropped_pair_seeds,
                                          const NeighbourGraph& graph, int bits) {
  std::vector<int> everyone(static_cast<size_t>(graph.num_nodes()));
  for (int i = 0; i < graph.num_nodes(); ++i) everyone[static_cast<size_t>(i)] = i;
  return UnmaskSumAmong(masked_sum, everyone, survivors, self_seeds, dropped_pair_seeds, graph,
                        bits);
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

  std::vector<MaskTerm> terms;
  terms.reserve(self_seeds.size() + dropped_pair_seeds.size());
  for (const SelfSeed& self : self_seeds) terms.push_back({&self.seed, Direction::kSubtract});
  for (const DroppedPairSeed& pair : dropped_pair_seeds) {
    // The survivor added PRG(s) if the dropped node has the higher index, else subtracted it.
    terms.push_back(
        {&pair.seed, pair.dropped > pair.survivor ? Direction::kSubtract : Direction::kAdd});
  }
  return SumWithMasks(masked_sum, terms, bits, [&](size_t i) {
    if (i < self_seeds.size()) return "self mask of " + NodeName(self_seeds[i].node);
    const DroppedPairSeed& pair = dropped_pair_seeds[i - self_seeds.size()];
    return "pairwise mask between dropped " + NodeName(pair.dropped) + " and " +
           NodeName(pair.survivor);
  });
}

}  // namespace cartable::aggregation::secagg
