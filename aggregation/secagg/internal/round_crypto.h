#pragma once

// What the SecAgg+ client and server must compute identically: the bytes each signature covers, the
// per-pair share keys and associated data, the layout of a sealed share pair, the graph over the
// members that advertised keys, and the Shamir threshold. One definition, so the two sides cannot
// drift apart.

#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/round_messages.h"
#include "aggregation/secagg/secret_bytes.h"
#include "core/status.h"

namespace cartable::aggregation::secagg::internal {

// "cartable secagg v1 advert" ‖ run ‖ round ‖ member ‖ mask key ‖ share key ‖ model hash.
std::vector<uint8_t> AdvertMessage(uint64_t run_id, uint32_t round, const KeyAdvert& advert,
                                   const Sha256Digest& model_hash);
// "cartable secagg v1 survivors" ‖ run ‖ round ‖ count ‖ members ascending.
std::vector<uint8_t> SurvivorsMessage(uint64_t run_id, uint32_t round,
                                      std::span<const uint32_t> survivors);

// The AES-256-GCM key sealing shares between the owners of two share keys, and the associated data
// binding run, round, stage, sender and recipient.
StatusOr<SecretBytes> ShareSealingKey(const X25519PrivateKey& mine, const X25519PublicKey& theirs,
                                      uint64_t run_id, uint32_t round);
std::vector<uint8_t> ShareAssociatedData(uint64_t run_id, uint32_t round, uint32_t from, uint32_t to);

// The plaintext of a sealed share: version 1 ‖ from ‖ to ‖ u16 length ‖ self-seed share ‖ u16 length ‖
// mask-key share.
SecretBytes EncodeSharePair(uint32_t from, uint32_t to, const SecretBytes& self_seed_share,
                            const SecretBytes& mask_key_share);
struct SharePair {
  SecretBytes self_seed_share;
  SecretBytes mask_key_share;
};
StatusOr<SharePair> DecodeSharePair(std::span<const uint8_t> plaintext, uint32_t from, uint32_t to);

// The graph over `advertised` (cohort indices, ascending): node g of the graph is advertised[g].
StatusOr<NeighbourGraph> GraphOver(const RoundParameters& params, std::span<const uint32_t> advertised);

// Shares of a member's secrets needed to rebuild them in a round over `graph`: ShamirThreshold of
// graph_plan.h with the round's corrupt allowance. Refuses a threshold above the degree (nobody's
// secrets could be rebuilt) and a negative allowance.
StatusOr<int> RoundThreshold(const RoundParameters& params, const NeighbourGraph& graph);

// The quantiser's contributor bound: every cohort member may contribute.
int MaxContributors(const RoundParameters& params);

// Position of `member` in the ascending list, or −1.
int IndexIn(std::span<const uint32_t> members, uint32_t member);

}  // namespace cartable::aggregation::secagg::internal
