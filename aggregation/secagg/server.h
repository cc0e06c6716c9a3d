#pragma once

// SecAggServer: the coordinator's side of one SecAgg+ round, as a sans-I/O state machine. The round
// workflow feeds it each member's message as it arrives and closes each stage when everyone
// answered or the stage's deadline passed; the members still present after a stage are the only
// ones asked in the next. Finish() rebuilds just what the never-both rule allows (self seeds of
// survivors, mask keys of members that dropped after sharing) and returns the sum of the survivors'
// inputs, never one input. Masked inputs are added into one running sum as they arrive; no member's
// vector is kept. One server per round; not thread safe.
//
// Wrong shares are caught, never summed. Every member's advert commits to its self seed (its mask
// key is committed by its public key), and with each sealed share the owner sends its commitments
// to the two shares inside, which this server keeps and relays. Each share's x is its holder's
// cohort index + 1. So at Unmask a revealed share that does not match its commitment, or carries
// another x, proves its holder misbehaved (an honest holder checks both before it holds a share),
// and a secret rebuilt from shares that all matched, yet not matching its own commitment, proves
// its owner dealt inconsistent shares. What cannot be proven — a holder saying the shares it was
// sent were unusable — is recorded, and becomes a dispute only when it leaves a secret without
// enough shares.

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/quantizer.h"
#include "aggregation/secagg/round_messages.h"
#include "aggregation/secagg/shamir.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

struct UnmaskedSum {
  std::vector<double> sum;          // Σ over survivors of their (dequantised) inputs
  std::vector<uint32_t> survivors;  // members whose input is in the sum
};

// A member this round proved to have broken the protocol, and how. Honest members are never blamed
// (barring a SHA-256 collision); a coordinator may exclude a blamed member from later rounds.
struct Blame {
  uint32_t member = 0;
  std::string reason;
};

// `reporter` said the shares `owner` sealed for it were unusable, and `owner`'s secret could then
// not be rebuilt. Either may be lying (the owner dealt bad shares, or the reporter threw good ones
// away), and nothing this server holds tells which; excluding either one ends the dispute.
struct Dispute {
  uint32_t reporter = 0;
  uint32_t owner = 0;
};

class SecAggServer {
 public:
  // `dimension` is the length of every member's input; `model_hash` the SHA-256 of the global model
  // sent to the cohort (adverts are checked against it, so a stale or forged advert is refused at
  // once).
  static StatusOr<std::unique_ptr<SecAggServer>> Create(RoundParameters params, size_t dimension,
                                                        const Sha256Digest& model_hash);

  // Each On… refuses (kInvalidArgument, or kPermissionDenied for a bad signature) a message from a
  // member not asked in the current stage, a repeat, or one that does not fit; the caller drops
  // that member from the round. Each Close… ends a stage and fails (kFailedPrecondition) when too
  // few members remain for the round to complete.
  Status OnAdvert(const KeyAdvert& advert);
  StatusOr<std::vector<KeyAdvert>> CloseAdvertising();  // → every member of U1
  Status OnShares(uint32_t member, std::vector<SealedShare> shares);
  // → each member of U2: the shares sealed for it, each with its owner's commitments.
  StatusOr<std::map<uint32_t, std::vector<SealedShare>>> CloseSharing();
  // `unusable_from`: the neighbours (ascending, each one that shared with `member`) whose shares
  // `member` could not use.
  Status OnMaskedInput(uint32_t member, std::span<const uint64_t> masked,
                       std::span<const uint32_t> unusable_from = {});
  StatusOr<std::vector<uint32_t>> CloseMasking();  // U3, → each member of U3
  Status OnSurvivorSignature(const MemberSignature& signature);
  StatusOr<std::vector<MemberSignature>> CloseConsistency();  // → each member of U4
  // Beyond the refusals above: revealed shares that prove their holder misbehaved (a share that
  // does not match its commitment or carries another x than its holder's, one of a member it cannot
  // hold, of the wrong kind, twice, or of an owner it reported unusable) make it fail with
  // kPermissionDenied, blame the holder and discard every share it revealed. The round goes on
  // without them.
  Status OnRevealedShares(uint32_t member, const RevealedShares& shares);
  // Rebuilds every needed secret from t valid shares. Fails with kFailedPrecondition (the round may
  // be tried again) when a secret has fewer than t valid shares — naming its owner, and recording
  // the unusable-share reports about that owner as disputes() — or when a secret rebuilt from valid
  // shares does not match its commitment, which blames its owner. Never returns a wrong sum: a
  // wrong share is either caught by its commitment or never used.
  StatusOr<UnmaskedSum> Finish();

  // The members expected to answer in the current stage.
  const std::vector<uint32_t>& asked() const { return asked_; }
  const RoundParameters& params() const { return params_; }
  const Quantizer& quantizer() const { return quantizer_; }
  // Once advertising has closed: neighbours per member in the graph over the advertisers, and the
  // Shamir threshold that graph implies (0 before, or when the round failed there).
  int degree() const { return graph_ ? graph_->degree() : 0; }
  int threshold() const { return threshold_; }
  // Provable misbehaviour so far, in the order found; at most one entry per member.
  const std::vector<Blame>& blamed() const { return blamed_; }
  // Set by a Finish that failed for want of shares: the reports behind it, by owner then reporter.
  const std::vector<Dispute>& disputes() const { return disputes_; }

 private:
  enum class Stage { kAdvertise, kShare, kMask, kConsistency, kUnmask, kDone };
  struct HolderCommitments {
    uint32_t holder = 0;
    Sha256Digest self_seed{};
    Sha256Digest mask_key{};
  };

  SecAggServer(RoundParameters params, size_t dimension, const Sha256Digest& model_hash,
               Quantizer quantizer);
  Status Expect(Stage stage, uint32_t member, const char* what) const;
  std::vector<uint32_t> Answered() const;
  Status CheckUnusableReport(uint32_t member, std::span<const uint32_t> unusable_from) const;
  Status CheckRevealed(uint32_t holder, const RevealedShares& shares,
                       std::vector<std::pair<uint32_t, Share>>& self_seed,
                       std::vector<std::pair<uint32_t, Share>>& mask_key) const;
  const HolderCommitments* CommitmentsOf(uint32_t owner, uint32_t holder) const;
  void BlameMember(uint32_t member, std::string reason);
  StatusOr<SecretBytes> CombineShares(uint32_t owner, bool self_seed);
  Status Inconsistent(uint32_t owner, const std::string& what);
  StatusOr<std::vector<uint64_t>> Unmask();

  RoundParameters params_;
  size_t dimension_;
  Sha256Digest model_hash_;
  Quantizer quantizer_;
  Stage stage_ = Stage::kAdvertise;
  std::vector<uint32_t> asked_;        // members asked in this stage, ascending
  std::map<uint32_t, bool> answered_;  // this stage's answers so far

  std::map<uint32_t, KeyAdvert> adverts_;  // U1
  std::vector<uint32_t> advertised_;       // U1, ascending
  std::optional<NeighbourGraph> graph_;    // over U1
  int threshold_ = 0;
  std::map<uint32_t, std::vector<SealedShare>> shares_;  // by sender, until relayed
  std::map<uint32_t, std::vector<HolderCommitments>>
      commitments_;                                             // by owner; by holder, ascending
  std::vector<uint32_t> sharers_;                               // U2
  std::map<uint32_t, std::vector<uint32_t>> unusable_reports_;  // by reporter: owners, ascending
  std::vector<uint64_t> masked_sum_;
  std::vector<uint32_t> survivors_;          // U3
  std::vector<MemberSignature> signatures_;  // U4's
  std::map<uint32_t, std::vector<Share>> self_seed_shares_,
      mask_key_shares_;  // valid ones, by owner
  std::vector<Blame> blamed_;
  std::vector<Dispute> disputes_;
};

}  // namespace cartable::aggregation::secagg
