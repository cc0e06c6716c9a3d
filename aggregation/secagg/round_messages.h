#pragma once

// What the SecAgg+ client and server say to each other in one round, as plain values (no bytes, no
// sockets). The node and the coordinator carry them in protocol messages; the state machines in
// client.h and server.h produce and check them. Members are named by their index in the round's
// cohort (RoundParameters::cohort), never by a name a peer chose.
//
// One round (Bonawitz et al. CCS 2017, with Bell et al. CCS 2020's sparse graph):
//   server → all   RoundParameters (with the global model, whose hash every signature covers)
//   client → server KeyAdvert                       stage AdvertiseKeys
//   server → U1    KeyList (the adverts received)
//   client → server SealedShares for its neighbours stage ShareKeys
//   server → U2    each client's SealedShares
//   client → server masked input, and the neighbours stage MaskedInput (after local training)
//                  whose shares it could not use
//   server → U3    survivors (U3)
//   client → server signature over U3               stage ConsistencyCheck
//   server → U4    the signatures received
//   client → server RevealedShares                  stage Unmask
// U1 ⊇ U2 ⊇ U3 ⊇ U4: who is still there after each stage.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "aggregation/secagg/digest.h"
#include "aggregation/secagg/key_agreement.h"
#include "aggregation/secagg/signing.h"

namespace cartable::aggregation::secagg {

struct CohortMember {
  std::string name;              // the node's enrolled name
  Ed25519PublicKey signing_key;  // its long-term identity key
};

// The members of a round, sorted by name. Immutable once made and shared by every copy (a process
// hosting thousands of members holds one cohort, not one each: exchange::InternCohort). push_back
// copies the members every time (build a vector first for more than a handful). Copyable, not
// movable: a moved-from cohort stays the cohort, never a null one.
class Cohort {
 public:
  Cohort() : members_(std::make_shared<const std::vector<CohortMember>>()) {}
  Cohort(std::vector<CohortMember>
             members)  // NOLINT(google-explicit-constructor): a cohort is its members
      : members_(std::make_shared<const std::vector<CohortMember>>(std::move(members))) {}
  Cohort(std::initializer_list<CohortMember> members)
      : Cohort(std::vector<CohortMember>(members)) {}
  explicit Cohort(std::shared_ptr<const std::vector<CohortMember>> members)
      : members_(members ? std::move(members) : Cohort().members_) {}
  Cohort(const Cohort&) = default;
  Cohort& operator=(const Cohort&) = default;

  size_t size() const { return members_->size(); }
  bool empty() const { return members_->empty(); }
  const CohortMember& operator[](size_t i) const { return (*members_)[i]; }
  std::vector<CohortMember>::const_iterator begin() const { return members_->begin(); }
  std::vector<CohortMember>::const_iterator end() const { return members_->end(); }
  void push_back(CohortMember member) {
    auto copy = std::make_shared<std::vector<CohortMember>>(*members_);
    copy->push_back(std::move(member));
    members_ = std::move(copy);
  }
  const std::shared_ptr<const std::vector<CohortMember>>& shared() const { return members_; }

 private:
  std::shared_ptr<const std::vector<CohortMember>> members_;
};

// Fixed by the coordinator at round start and sent to every member; both sides derive everything
// else from it (graph, threshold, quantiser).
struct RoundParameters {
  uint64_t run_id = 0;
  uint32_t round = 0;
  Cohort cohort;              // sorted by name, no repeats
  int neighbours = 0;         // k, or kFullNeighbourGraph
  int corrupt_allowance = 0;  // c of ShamirThreshold (graph_plan.h)
  std::array<uint8_t, 32> graph_seed{};
  int modulus_bits = 32;
  double value_range = 4.0;  // quantiser range [−value_range, value_range]
  // With distributed noise (Quantizer): the mechanism's levels and the bound of the summed noise;
  // 0 and 0 without.
  uint64_t levels = 0;
  uint64_t noise_bound = 0;
};

struct KeyAdvert {
  uint32_t member = 0;
  X25519PublicKey mask_key{};      // for pairwise mask seeds (and the commitment to the mask key)
  X25519PublicKey share_key{};     // for the keys that encrypt Shamir shares
  Sha256Digest seed_commitment{};  // internal::SeedCommitment of the member's self seed
  // Ed25519 over run, round, member, both keys, the seed commitment and the hash of the global
  // model the member received.
  Ed25519Signature signature{};
};

// A Shamir share pair sealed by `from` for `to` (AES-256-GCM; only `to` can open it), with `from`'s
// commitments to the two shares inside (internal::ShareCommitment). The coordinator keeps the
// commitments and relays them with the ciphertext, so the holder can check what it opens against
// what the coordinator will check at Unmask.
struct SealedShare {
  uint32_t from = 0;
  uint32_t to = 0;
  Sha256Digest self_seed_commitment{};
  Sha256Digest mask_key_commitment{};
  std::vector<uint8_t> ciphertext;
};

struct MemberSignature {
  uint32_t member = 0;
  Ed25519Signature signature{};
};

// The shares a survivor reveals in Unmask: for each neighbour `of` whose shares it holds, the share
// of its self seed if `of` is a survivor, or of its mask key if `of` dropped. Never both for one
// `of`.
struct RevealedShare {
  uint32_t of = 0;
  std::vector<uint8_t> share;  // SerializeShare
};

struct RevealedShares {
  std::vector<RevealedShare> self_seed_shares;
  std::vector<RevealedShare> mask_key_shares;
};

}  // namespace cartable::aggregation::secagg
