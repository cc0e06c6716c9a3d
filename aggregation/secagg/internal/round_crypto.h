#pragma once

// What the SecAgg+ client and server must compute identically: the bytes each signature covers, the
// commitments to secrets and shares, the evaluation point of each holder's shares, the per-pair
// share keys and associated data, the layout of a sealed share pair, the graph over the members
// that advertised keys, and the Shamir threshold. One definition, so the two sides cannot drift
// apart.

#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/secagg/digest.h"
#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/round_messages.h"
#include "aggregation/secagg/secret_bytes.h"
#include "aggregation/secagg/shamir.h"
#include "core/status.h"

namespace cartable::aggregation::secagg::internal {

// "cartable secagg v2 advert" ‖ run ‖ round ‖ member ‖ mask key ‖ share key ‖ seed commitment ‖
// model hash.
std::vector<uint8_t> AdvertMessage(uint64_t run_id, uint32_t round, const KeyAdvert& advert,
                                   const Sha256Digest& model_hash);
// "cartable secagg v1 survivors" ‖ run ‖ round ‖ count ‖ members ascending.
std::vector<uint8_t> SurvivorsMessage(uint64_t run_id, uint32_t round,
                                      std::span<const uint32_t> survivors);

// SHA-256("cartable secagg v2 self-seed" ‖ run ‖ round ‖ member ‖ self seed): what a member's
// advert commits its self seed to, so the coordinator can tell a rebuilt seed from a wrong one. The
// seed is 32 random bytes, so the hash reveals nothing of it.
Sha256Digest SeedCommitment(uint64_t run_id, uint32_t round, uint32_t member,
                            const SecretBytes& seed);

// The two secrets a member shares among its neighbours.
enum class ShareKind : uint8_t { kSelfSeed = 1, kMaskKey = 2 };
// SHA-256("cartable secagg v2 share" ‖ run ‖ round ‖ kind ‖ owner ‖ holder ‖ serialized share): the
// owner's commitment to the share it dealt `holder`, sent to the coordinator beside the sealed
// share. The holder checks the share it opens against it; the coordinator checks the share revealed
// at Unmask against it. A share is a uniformly random field element to anyone holding fewer than t
// shares, so its hash reveals nothing either.
Sha256Digest ShareCommitment(uint64_t run_id, uint32_t round, ShareKind kind, uint32_t owner,
                             uint32_t holder, std::span<const uint8_t> serialized_share);
// The evaluation point of every share `holder` holds: its cohort index + 1 (at most 65535, so
// cohorts have at most 65535 members). Binding x to the holder leaves no two holders with one x,
// and lets anyone check that a share is the one its holder was dealt.
uint32_t ShareX(uint32_t holder);
// The bytes of the secret either kind of share rebuilds (a self seed, an X25519 private key).
inline constexpr size_t kSharedSecretBytes = 32;
// The share of `owner`'s secret of `kind` dealt to `holder`, checked: it matches the owner's
// commitment, parses, has the chunks of a 32-byte secret and carries the holder's x. The holder
// checks each share it opens and the coordinator each share revealed at Unmask, so the shares of an
// honest holder always pass the coordinator's check. kPermissionDenied names what does not hold.
StatusOr<Share> CheckShare(uint64_t run_id, uint32_t round, ShareKind kind, uint32_t owner,
                           uint32_t holder, std::span<const uint8_t> serialized,
                           const Sha256Digest& commitment);

// The AES-256-GCM key sealing shares between the owners of two share keys, and the associated data
// binding run, round, stage, sender and recipient.
StatusOr<SecretBytes> ShareSealingKey(const X25519PrivateKey& mine, const X25519PublicKey& theirs,
                                      uint64_t run_id, uint32_t round);
std::vector<uint8_t> ShareAssociatedData(uint64_t run_id, uint32_t round, uint32_t from,
                                         uint32_t to);

// The plaintext of a sealed share: version 1 ‖ from ‖ to ‖ u16 length ‖ self-seed share ‖ u16
// length ‖ mask-key share.
SecretBytes EncodeSharePair(uint32_t from, uint32_t to, const SecretBytes& self_seed_share,
                            const SecretBytes& mask_key_share);
struct SharePair {
  SecretBytes self_seed_share;
  SecretBytes mask_key_share;
};
StatusOr<SharePair> DecodeSharePair(std::span<const uint8_t> plaintext, uint32_t from, uint32_t to);

// The seed of a round's neighbour graph: SHA-256("cartable secagg v3 graph" ‖ run ‖ round ‖ the
// plan's graph seed ‖ for each advert of the key list in ascending member order, member ‖
// signature). The coordinator picks
// the plan's seed before any member has drawn its keys, and every advert signs fresh keys it cannot
// predict, so it cannot choose the graph by choosing its seed (to surround one member with
// colluders, say); the members and the coordinator derive the same seed from the same key list.
std::array<uint8_t, 32> GraphSeed(const RoundParameters& params,
                                  std::span<const KeyAdvert* const> key_list);

// The graph over `advertised` (cohort indices, ascending) drawn from `seed`: node g of the graph is
// advertised[g].
StatusOr<NeighbourGraph> GraphOver(const RoundParameters& params,
                                   std::span<const uint32_t> advertised,
                                   const std::array<uint8_t, 32>& seed);

// Shares of a member's secrets needed to rebuild them in a round over `graph`: ShamirThreshold of
// graph_plan.h with the round's corrupt allowance. Refuses a threshold above the degree (nobody's
// secrets could be rebuilt) and a negative allowance.
StatusOr<int> RoundThreshold(const RoundParameters& params, const NeighbourGraph& graph);

// The quantiser's contributor bound: every cohort member may contribute.
int MaxContributors(const RoundParameters& params);

// Position of `member` in the ascending list, or −1.
int IndexIn(std::span<const uint32_t> members, uint32_t member);

}  // namespace cartable::aggregation::secagg::internal
