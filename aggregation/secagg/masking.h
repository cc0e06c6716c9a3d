#pragma once

// The arithmetic of SecAgg+ masking (Bonawitz et al. CCS 2017, with Bell et al.'s sparse graph):
// how a node hides its quantised update and how the coordinator recovers only the sum. Vectors are
// words modulo 2^b, b ∈ [8, 62], the Quantizer's modulus. Pure functions, thread safe; no state,
// no I/O. The client and server state machines decide which seeds exist and who may see them; the
// functions here only check that the seeds they are given fit the graph.
//
// Node i (index in the NeighbourGraph) sends, modulo 2^b,
//     y_i = x_i + PRG(b_i) + Σ_{j ∈ N(i), j > i} PRG(s_ij) − Σ_{j ∈ N(i), j < i} PRG(s_ij)
// with PRG = ExpandMask64(seed, dimension, b). Who knows which seed:
//   - b_i, the self seed: fresh random per round, known only to i. i Shamir-shares it among its
//     neighbours; the coordinator rebuilds it only for a node whose y_i it holds.
//   - s_ij = s_ji, the pairwise seed: derived by i and j alone, each from its own X25519 mask
//     key and the other's public key (PairwiseSeed). i Shamir-shares its mask private key among its
//     neighbours; the coordinator rebuilds it only for a node that dropped before sending y_i, and
//     from it the seeds s_dj with that node's surviving neighbours.
// For a pair of survivors the pairwise masks cancel in the sum (one adds what the other
// subtracts). For a survivor j next to a dropped node d, y_j still carries ±PRG(s_dj), which
// UnmaskSum removes; the self masks of survivors it removes with the rebuilt b_i.
//
// Never both: for any one node, the coordinator must learn its self seed or its pairwise seeds,
// never both. With both it can strip every mask from y_i and read x_i. This is the attack a
// coordinator mounts by calling a survivor "dropped" to collect shares of its mask key while it
// also asks for shares of its self seed. Each honest node therefore answers the Unmask request
// with exactly one kind of share per peer (self-seed shares for peers announced as survivors,
// mask-key shares for peers announced as dropped, never both for one peer across the round), and
// UnmaskSum refuses a self seed of a dropped node or a pairwise seed between two survivors.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/secagg/key_agreement.h"
#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

inline constexpr int kMaskingMinBits = 8;
inline constexpr int kMaskingMaxBits = 62;

// A seed shared by the caller and one neighbour (MaskInput).
struct NeighbourSeed {
  int neighbour = -1;
  SecretBytes seed;
};

// A node's self-mask seed, as rebuilt by the coordinator from its Shamir shares (UnmaskSum).
struct SelfSeed {
  int node = -1;
  SecretBytes seed;
};

// The pairwise seed between a node that dropped before its masked input arrived and one of its
// surviving neighbours, rebuilt by the coordinator from the dropped node's mask-key shares.
struct DroppedPairSeed {
  int dropped = -1;
  int survivor = -1;
  SecretBytes seed;
};

// s_ij: both ends derive the same 32 bytes. HKDF-SHA-256 of the X25519 shared secret, with info
// "cartable secagg v1 pairwise-mask" ‖ run_id (u64 LE) ‖ round (u32 LE) ‖ the two public keys in
// ascending byte order. Binding the run and round makes every round's masks fresh even if a node
// reused its keys; binding both keys ties the seed to the keys each node signed in its advert.
// Refuses a peer key equal to our own (a reflected advert would make "both ends" one node) and a
// low-order peer key (Agree).
StatusOr<SecretBytes> PairwiseSeed(const X25519PrivateKey& my_mask_key,
                                   const X25519PublicKey& peer_public, uint64_t run_id,
                                   uint32_t round);

// y_i for node `my_index` from its quantised input (every word < 2^bits), its self seed and one
// seed per neighbour in the round's graph (the caller supplies exactly N(i); a missing one makes
// the sum unrecoverable). Refuses words ≥ 2^bits (quantised for another modulus), bits outside
// [8, 62], seeds that are not 32 bytes, a neighbour equal to my_index, negative or repeated.
StatusOr<std::vector<uint64_t>> MaskInput(std::span<const uint64_t> input,
                                          const SecretBytes& self_seed,
                                          std::span<const NeighbourSeed> pairwise_seeds,
                                          int my_index, int bits);

// Σ_{i ∈ survivors} x_i mod 2^bits from `masked_sum` = Σ_{i ∈ survivors} y_i mod 2^bits.
// `survivors` are the nodes whose y_i is in the sum (at least one); every other node of `graph`
// counts as dropped. Requires exactly one self seed per survivor and exactly one pairwise seed per
// (dropped node, surviving neighbour) pair, and refuses anything else, in particular the two
// combinations the never-both rule forbids; kInvalidArgument names the first offending node.
StatusOr<std::vector<uint64_t>> UnmaskSum(std::span<const uint64_t> masked_sum,
                                          std::span<const int> survivors,
                                          std::span<const SelfSeed> self_seeds,
                                          std::span<const DroppedPairSeed> dropped_pair_seeds,
                                          const NeighbourGraph& graph, int bits);

// UnmaskSum for a round in which only `participants` masked with each other: the nodes of the graph
// that completed ShareKeys. A node outside it (it advertised keys but sent no shares) was nobody's
// masking partner, so no seed involves it and none may be given for it; survivors must be
// participants. UnmaskSum is the case where every node of the graph took part.
StatusOr<std::vector<uint64_t>> UnmaskSumAmong(std::span<const uint64_t> masked_sum,
                                               std::span<const int> participants,
                                               std::span<const int> survivors,
                                               std::span<const SelfSeed> self_seeds,
                                               std::span<const DroppedPairSeed> dropped_pair_seeds,
                                               const NeighbourGraph& graph, int bits);

}  // namespace cartable::aggregation::secagg
