#pragma once

// SecAggClient: one node's side of one SecAgg+ round, as a sans-I/O state machine. The node feeds
// it what the coordinator relays, in protocol order, and sends what it returns; it never touches a
// socket or a clock. A new client serves each round; it holds that round's secrets (mask and share
// keys, self seed, the shares it holds for its neighbours), all wiped when it is destroyed. Not
// thread safe.
//
// The node-side defences live here, because a coordinator may be malicious:
//   - the cohort must reach the node's floor, and every member's identity key must match the
//     roster when the node has one;
//   - every neighbour's advert must carry a valid signature over the same global-model hash this
//     node received, so a coordinator that sends a tailored model to one node is caught by its
//     neighbours;
//   - the survivor set is signed by the survivors, and shares are revealed only after at least a
//     threshold of valid signatures over the very set this node signed (consistency check);
//   - for each neighbour, exactly one kind of share is revealed, once (never both);
//   - every share is sealed with AES-256-GCM under a key only the two members can derive, with
//     associated data binding run, round, sender and recipient, and evaluated at its holder's x;
//   - the advert commits to the self seed, and each sealed share comes with its owner's
//     commitments.
// Any breach by the coordinator makes the call fail with kPermissionDenied and leaves the client
// unusable for the round. A neighbour's shares that do not open, do not decode, carry another x or
// do not match their commitments are the neighbour's fault (or the relay's), not a reason to leave:
// the client does not hold them, still masks with that neighbour, and reports it (unusable_from()).

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/quantizer.h"
#include "aggregation/secagg/round_messages.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

struct ClientPolicy {
  // Smallest cohort (advertised, and surviving to the sum) this node takes part in. Below 3, the
  // sum and one's own input give away another node's input.
  size_t min_cohort = 3;
  // When not empty: the enrolled identity key of every member, by name. A cohort member absent from
  // it, or with another key, makes the node refuse the round (the coordinator cannot invent
  // members).
  std::map<std::string, Ed25519PublicKey> roster;
  // Fraction of the cohort this node assumes may collude with the coordinator. A round whose
  // corrupt allowance (and so threshold) is below what PlanGraph derives from this fraction for the
  // round's cohort and degree is refused, so a coordinator cannot quietly lower the threshold. 0:
  // no check.
  double tolerate_corrupt = 0;
};

// The members of `cohort` this policy's roster disowns (absent from it, or with another identity
// key), by name: whom a node names when it refuses a round for them, so the coordinator can leave
// them out of the next attempt. Empty without a roster.
std::vector<std::string> MembersAgainstRoster(const std::vector<CohortMember>& cohort,
                                              const ClientPolicy& policy);

class SecAggClient {
 public:
  // Checks the parameters and the cohort against the policy, and draws this round's keys and seed.
  // `signing_key` must outlive the client; `model_hash` is the SHA-256 of the global model
  // received.
  static StatusOr<std::unique_ptr<SecAggClient>> Create(RoundParameters params,
                                                        const std::string& name,
                                                        const SigningKey& signing_key,
                                                        const Sha256Digest& model_hash,
                                                        const ClientPolicy& policy);
  ~SecAggClient();

  // AdvertiseKeys: this member's two public keys, signed.
  StatusOr<KeyAdvert> Advertise();
  // ShareKeys: checks the adverts (form of all, signatures of the neighbours'), then seals a share
  // of the self seed and of the mask key for each neighbour in the graph over the members that
  // advertised.
  StatusOr<std::vector<SealedShare>> OnKeyList(std::span<const KeyAdvert> adverts);
  // The sealed shares of the neighbours that completed ShareKeys: they are this member's masking
  // partners, whether their shares can be used or not. Refuses a share list the coordinator
  // misaddressed, repeated or filled with non-neighbours, and fewer partners than the threshold.
  Status OnShares(std::span<const SealedShare> shares);
  // After OnShares: the partners whose shares this member cannot use (ascending), for the
  // MaskedInput message, and why, for the node's log.
  struct UnusableShares {
    uint32_t from = 0;
    std::string why;
  };
  const std::vector<UnusableShares>& unusable() const { return unusable_; }
  std::vector<uint32_t> unusable_from() const;
  // MaskedInput: quantises `values` (clamped to ±value_range) and masks them, modulo
  // 2^modulus_bits. The quantiser's rounding coins are derived from this member's identity key, the
  // round and the model (RoundingCoins): secret, and the same when a round is replayed. With
  // distributed noise (RoundParameters::noise_bound > 0), `noise` holds this member's share, one
  // integer per value, added after quantising; without, it must be empty.
  StatusOr<std::vector<uint64_t>> MaskInput(std::span<const float> values,
                                            std::span<const int64_t> noise = {});
  // ConsistencyCheck: signs the survivor set (members whose masked input the coordinator holds).
  StatusOr<Ed25519Signature> OnSurvivors(std::span<const uint32_t> survivors);
  // Unmask: checks the survivors' signatures, then reveals one kind of share per neighbour held
  // (none for the neighbours whose shares were unusable).
  StatusOr<RevealedShares> OnSignatures(std::span<const MemberSignature> signatures);

  uint32_t member() const { return member_; }
  const Quantizer& quantizer() const { return quantizer_; }

 private:
  enum class Stage {
    kAdvertise,
    kKeyList,
    kShares,
    kMask,
    kSurvivors,
    kSignatures,
    kDone,
    kFailed
  };
  struct Secrets;

  SecAggClient(RoundParameters params, uint32_t member, const SigningKey& signing_key,
               const Sha256Digest& model_hash, ClientPolicy policy, Quantizer quantizer,
               std::unique_ptr<Secrets> secrets);
  Status Expect(Stage stage, const char* what);
  Status Refuse(Status why);
  StatusOr<std::vector<SealedShare>> SealShares();
  StatusOr<SecretBytes> RoundingCoins() const;

  RoundParameters params_;
  uint32_t member_;
  const SigningKey& signing_key_;
  Sha256Digest model_hash_;
  ClientPolicy policy_;
  Quantizer quantizer_;
  std::unique_ptr<Secrets> secrets_;
  Stage stage_ = Stage::kAdvertise;

  // What a member keeps of the key list is O(k) for k neighbours, plus a bit per cohort member: a
  // process hosting thousands of members of one round holds no per-member copy of the roster.
  std::vector<bool> advertised_;           // U1, by cohort index
  int me_ = -1;                            // this member's index in U1 (ascending cohort order)
  std::map<uint32_t, int> neighbours_;     // this member's neighbours in the graph over U1: index
  std::map<uint32_t, KeyAdvert> adverts_;  // by member: its own and its neighbours'
  int threshold_ = 0;
  std::vector<uint32_t> partners_;        // neighbours that sent us shares, ascending
  std::vector<UnusableShares> unusable_;  // partners whose shares we do not hold, ascending
  std::vector<bool> survived_;            // the set we signed (U3), by cohort index
};

}  // namespace cartable::aggregation::secagg
