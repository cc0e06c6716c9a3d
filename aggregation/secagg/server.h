#pragma once

// SecAggServer: the coordinator's side of one SecAgg+ round, as a sans-I/O state machine. The round
// workflow feeds it each member's message as it arrives and closes each stage when everyone answered or
// the stage's deadline passed; the members still present after a stage are the only ones asked in the
// next. Finish() rebuilds just what the never-both rule allows (self seeds of survivors, mask keys of
// members that dropped after sharing) and returns the sum of the survivors' inputs, never one input.
// Masked inputs are added into one running sum as they arrive; no member's vector is kept.
// One server per round; not thread safe.

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "aggregation/secagg/neighbour_graph.h"
#include "aggregation/secagg/quantizer.h"
#include "aggregation/secagg/round_messages.h"
#include "core/status.h"

namespace cartable::aggregation::secagg {

struct UnmaskedSum {
  std::vector<double> sum;          // Σ over survivors of their (dequantised) inputs
  std::vector<uint32_t> survivors;  // members whose input is in the sum
};

class SecAggServer {
 public:
  // `dimension` is the length of every member's input; `model_hash` the SHA-256 of the global model
  // sent to the cohort (adverts are checked against it, so a stale or forged advert is refused at once).
  static StatusOr<std::unique_ptr<SecAggServer>> Create(RoundParameters params, size_t dimension,
                                                        const Sha256Digest& model_hash);

  // Each On… refuses (kInvalidArgument, or kPermissionDenied for a bad signature) a message from a
  // member not asked in the current stage, a repeat, or one that does not fit; the caller drops that
  // member from the round. Each Close… ends a stage and fails (kFailedPrecondition) when too few
  // members remain for the round to complete.
  Status OnAdvert(const KeyAdvert& advert);
  StatusOr<std::vector<KeyAdvert>> CloseAdvertising();  // → every member of U1
  Status OnShares(uint32_t member, std::vector<SealedShare> shares);
  StatusOr<std::map<uint32_t, std::vector<SealedShare>>> CloseSharing();  // → each member of U2
  Status OnMaskedInput(uint32_t member, std::span<const uint64_t> masked);
  StatusOr<std::vector<uint32_t>> CloseMasking();  // U3, → each member of U3
  Status OnSurvivorSignature(const MemberSignature& signature);
  StatusOr<std::vector<MemberSignature>> CloseConsistency();  // → each member of U4
  Status OnRevealedShares(uint32_t member, const RevealedShares& shares);
  StatusOr<UnmaskedSum> Finish();

  // The members expected to answer in the current stage.
  const std::vector<uint32_t>& asked() const { return asked_; }
  const RoundParameters& params() const { return params_; }
  const Quantizer& quantizer() const { return quantizer_; }

 private:
  enum class Stage { kAdvertise, kShare, kMask, kConsistency, kUnmask, kDone };

  SecAggServer(RoundParameters params, size_t dimension, const Sha256Digest& model_hash,
               Quantizer quantizer);
  Status Expect(Stage stage, uint32_t member, const char* what) const;
  std::vector<uint32_t> Answered() const;
  StatusOr<std::vector<uint64_t>> Unmask();

  RoundParameters params_;
  size_t dimension_;
  Sha256Digest model_hash_;
  Quantizer quantizer_;
  Stage stage_ = Stage::kAdvertise;
  std::vector<uint32_t> asked_;              // members asked in this stage, ascending
  std::map<uint32_t, bool> answered_;        // this stage's answers so far

  std::map<uint32_t, KeyAdvert> adverts_;    // U1
  std::vector<uint32_t> advertised_;         // U1, ascending
  std::optional<NeighbourGraph> graph_;      // over U1
  int threshold_ = 0;
  std::map<uint32_t, std::vector<SealedShare>> shares_;  // by sender
  std::vector<uint32_t> sharers_;            // U2
  std::vector<uint64_t> masked_sum_;
  std::vector<uint32_t> survivors_;          // U3
  std::vector<MemberSignature> signatures_;  // U4's
  std::map<uint32_t, std::vector<std::vector<uint8_t>>> self_seed_shares_, mask_key_shares_;  // by owner
};

}  // namespace cartable::aggregation::secagg
