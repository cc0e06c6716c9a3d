#include "aggregation/secagg/server.h"

#include <algorithm>
#include <set>

#include "aggregation/secagg/internal/round_crypto.h"
#include "aggregation/secagg/masking.h"
#include "aggregation/secagg/shamir.h"

namespace cartable::aggregation::secagg {

using internal::IndexIn;

namespace {

std::string Member(uint32_t member) { return "member " + std::to_string(member); }

}  // namespace

StatusOr<std::unique_ptr<SecAggServer>> SecAggServer::Create(RoundParameters params, size_t dimension,
                                                             const Sha256Digest& model_hash) {
  if (params.cohort.size() < 2) return InvalidArgumentError("secure aggregation needs at least 2 members");
  if (dimension == 0) return InvalidArgumentError("secure aggregation of empty vectors");
  for (size_t i = 1; i < params.cohort.size(); ++i) {
    if (params.cohort[i].name <= params.cohort[i - 1].name) {
      return InvalidArgumentError("the cohort must be sorted by name without repeats");
    }
  }
  CARTABLE_ASSIGN_OR_RETURN(
      Quantizer quantizer,
      Quantizer::Create(params.clip, internal::MaxContributors(params), params.modulus_bits));
  // The graph parameters are checked now, on the whole cohort, so a bad k fails the run's first round.
  std::vector<uint32_t> everyone(params.cohort.size());
  for (size_t i = 0; i < everyone.size(); ++i) everyone[i] = static_cast<uint32_t>(i);
  CARTABLE_RETURN_IF_ERROR(internal::GraphOver(params, everyone).status());
  auto server = std::unique_ptr<SecAggServer>(
      new SecAggServer(std::move(params), dimension, model_hash, quantizer));
  server->asked_ = std::move(everyone);
  return server;
}

SecAggServer::SecAggServer(RoundParameters params, size_t dimension, const Sha256Digest& model_hash,
                           Quantizer quantizer)
    : params_(std::move(params)), dimension_(dimension), model_hash_(model_hash), quantizer_(quantizer) {}

Status SecAggServer::Expect(Stage stage, uint32_t member, const char* what) const {
  if (stage_ != stage) return InvalidArgumentError(std::string(what) + " arrived outside its stage");
  if (IndexIn(asked_, member) < 0) {
    return InvalidArgumentError(std::string(what) + " from " + Member(member) + ", not asked in this stage");
  }
  if (answered_.contains(member)) return InvalidArgumentError(std::string("a second ") + what + " from " + Member(member));
  return Status::Ok();
}

std::vector<uint32_t> SecAggServer::Answered() const {
  std::vector<uint32_t> out;
  for (const auto& [member, yes] : answered_) out.push_back(member);  // std::map: ascending
  return out;
}

Status SecAggServer::OnAdvert(const KeyAdvert& advert) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kAdvertise, advert.member, "key advert"));
  if (advert.mask_key == advert.share_key) {
    return InvalidArgumentError("the key advert of " + Member(advert.member) + " carries one key twice");
  }
  for (const auto& [member, other] : adverts_) {
    if (other.mask_key == advert.mask_key || other.share_key == advert.share_key ||
        other.mask_key == advert.share_key || other.share_key == advert.mask_key) {
      return InvalidArgumentError("the key advert of " + Member(advert.member) + " reuses a public key");
    }
  }
  CARTABLE_RETURN_IF_ERROR(VerifySignature(
      params_.cohort[advert.member].signing_key,
      internal::AdvertMessage(params_.run_id, params_.round, advert, model_hash_), advert.signature));
  adverts_.emplace(advert.member, advert);
  answered_[advert.member] = true;
  return Status::Ok();
}

StatusOr<std::vector<KeyAdvert>> SecAggServer::CloseAdvertising() {
  if (stage_ != Stage::kAdvertise) return FailedPreconditionError("advertising is already closed");
  advertised_ = Answered();
  if (advertised_.size() < 2) {
    return FailedPreconditionError("only " + std::to_string(advertised_.size()) + " member(s) advertised keys");
  }
  CARTABLE_ASSIGN_OR_RETURN(NeighbourGraph graph, internal::GraphOver(params_, advertised_));
  CARTABLE_ASSIGN_OR_RETURN(threshold_, internal::RoundThreshold(params_, graph));
  graph_.emplace(std::move(graph));
  std::vector<KeyAdvert> list;
  for (uint32_t member : advertised_) list.push_back(adverts_.at(member));
  stage_ = Stage::kShare;
  asked_ = advertised_;
  answered_.clear();
  return list;
}

Status SecAggServer::OnShares(uint32_t member, std::vector<SealedShare> shares) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kShare, member, "share list"));
  const int from = IndexIn(advertised_, member);
  if (shares.size() != static_cast<size_t>(graph_->degree())) {
    return InvalidArgumentError(Member(member) + " sent " + std::to_string(shares.size()) +
                                " shares for its " + std::to_string(graph_->degree()) + " neighbours");
  }
  std::set<uint32_t> recipients;
  for (const SealedShare& share : shares) {
    const int to = IndexIn(advertised_, share.to);
    if (share.from != member || to < 0 || !graph_->AreNeighbours(from, to) ||
        !recipients.insert(share.to).second) {
      return InvalidArgumentError(Member(member) + " sent a share for " + Member(share.to) +
                                  ", which is not one of its neighbours (or got two)");
    }
  }
  shares_[member] = std::move(shares);
  answered_[member] = true;
  return Status::Ok();
}

StatusOr<std::map<uint32_t, std::vector<SealedShare>>> SecAggServer::CloseSharing() {
  if (stage_ != Stage::kShare) return FailedPreconditionError("sharing is not the current stage");
  sharers_ = Answered();
  if (sharers_.size() < 2) {
    return FailedPreconditionError("only " + std::to_string(sharers_.size()) + " member(s) shared their keys");
  }
  std::map<uint32_t, std::vector<SealedShare>> deliveries;
  for (uint32_t member : sharers_) deliveries[member];
  for (uint32_t sender : sharers_) {
    for (SealedShare& share : shares_[sender]) {
      if (IndexIn(sharers_, share.to) >= 0) deliveries[share.to].push_back(std::move(share));
    }
  }
  shares_.clear();
  masked_sum_.assign(dimension_, 0);
  stage_ = Stage::kMask;
  asked_ = sharers_;
  answered_.clear();
  return deliveries;
}

Status SecAggServer::OnMaskedInput(uint32_t member, std::span<const uint64_t> masked) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kMask, member, "masked input"));
  if (masked.size() != dimension_) {
    return InvalidArgumentError("the masked input of " + Member(member) + " has " +
                                std::to_string(masked.size()) + " words, not " + std::to_string(dimension_));
  }
  const uint64_t top = quantizer_.modulus_mask();
  if (std::any_of(masked.begin(), masked.end(), [top](uint64_t w) { return w > top; })) {
    return InvalidArgumentError("the masked input of " + Member(member) + " has words beyond the modulus");
  }
  CARTABLE_RETURN_IF_ERROR(quantizer_.AddModulo(masked_sum_, masked));
  answered_[member] = true;
  return Status::Ok();
}

StatusOr<std::vector<uint32_t>> SecAggServer::CloseMasking() {
  if (stage_ != Stage::kMask) return FailedPreconditionError("masking is not the current stage");
  survivors_ = Answered();
  if (survivors_.size() < 2) {
    return FailedPreconditionError(std::to_string(survivors_.size()) +
                                   " masked input(s) arrived: a sum of fewer than 2 would reveal an input");
  }
  stage_ = Stage::kConsistency;
  asked_ = survivors_;
  answered_.clear();
  return survivors_;
}

Status SecAggServer::OnSurvivorSignature(const MemberSignature& signature) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kConsistency, signature.member, "consistency signature"));
  CARTABLE_RETURN_IF_ERROR(
      VerifySignature(params_.cohort[signature.member].signing_key,
                      internal::SurvivorsMessage(params_.run_id, params_.round, survivors_),
                      signature.signature));
  signatures_.push_back(signature);
  answered_[signature.member] = true;
  return Status::Ok();
}

StatusOr<std::vector<MemberSignature>> SecAggServer::CloseConsistency() {
  if (stage_ != Stage::kConsistency) return FailedPreconditionError("consistency is not the current stage");
  if (static_cast<int>(signatures_.size()) < threshold_) {
    return FailedPreconditionError(std::to_string(signatures_.size()) + " survivor(s) confirmed the survivor set; " +
                                   std::to_string(threshold_) + " are needed");
  }
  std::sort(signatures_.begin(), signatures_.end(),
            [](const MemberSignature& a, const MemberSignature& b) { return a.member < b.member; });
  stage_ = Stage::kUnmask;
  asked_ = Answered();
  answered_.clear();
  return signatures_;
}

Status SecAggServer::OnRevealedShares(uint32_t member, const RevealedShares& shares) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kUnmask, member, "revealed shares"));
  const int holder = IndexIn(advertised_, member);
  std::set<uint32_t> owners;
  auto check = [&](const RevealedShare& share, bool of_survivor) -> Status {
    const int owner = IndexIn(advertised_, share.of);
    const bool survived = IndexIn(survivors_, share.of) >= 0;
    const bool shared = IndexIn(sharers_, share.of) >= 0;
    if (owner < 0 || !graph_->AreNeighbours(holder, owner) || !shared || survived != of_survivor ||
        !owners.insert(share.of).second) {
      return InvalidArgumentError(Member(member) + " revealed a share of " + Member(share.of) +
                                  " it cannot hold, of the wrong kind, or twice");
    }
    return Status::Ok();
  };
  for (const RevealedShare& share : shares.self_seed_shares) CARTABLE_RETURN_IF_ERROR(check(share, true));
  for (const RevealedShare& share : shares.mask_key_shares) CARTABLE_RETURN_IF_ERROR(check(share, false));
  for (const RevealedShare& share : shares.self_seed_shares) self_seed_shares_[share.of].push_back(share.share);
  for (const RevealedShare& share : shares.mask_key_shares) mask_key_shares_[share.of].push_back(share.share);
  answered_[member] = true;
  return Status::Ok();
}

StatusOr<UnmaskedSum> SecAggServer::Finish() {
  if (stage_ != Stage::kUnmask) return FailedPreconditionError("unmasking is not the current stage");
  stage_ = Stage::kDone;
  CARTABLE_ASSIGN_OR_RETURN(std::vector<uint64_t> words, Unmask());
  CARTABLE_ASSIGN_OR_RETURN(std::vector<double> sum,
                            quantizer_.DequantizeSum(words, static_cast<int>(survivors_.size())));
  return UnmaskedSum{std::move(sum), survivors_};
}

StatusOr<std::vector<uint64_t>> SecAggServer::Unmask() {
  auto rebuild = [&](uint32_t owner, const std::vector<std::vector<uint8_t>>& serialized,
                     const char* what) -> StatusOr<SecretBytes> {
    if (static_cast<int>(serialized.size()) < threshold_) {
      return FailedPreconditionError("only " + std::to_string(serialized.size()) + " share(s) of the " + what +
                                     " of " + Member(owner) + " came back; " + std::to_string(threshold_) +
                                     " are needed");
    }
    std::vector<Share> shares;
    for (const std::vector<uint8_t>& bytes : serialized) {
      CARTABLE_ASSIGN_OR_RETURN(Share share, ParseShare(bytes));
      shares.push_back(std::move(share));
    }
    return Combine(shares, threshold_, 32);
  };
  std::vector<SelfSeed> self_seeds;
  for (uint32_t survivor : survivors_) {
    CARTABLE_ASSIGN_OR_RETURN(SecretBytes seed, rebuild(survivor, self_seed_shares_[survivor], "self seed"));
    self_seeds.push_back({IndexIn(advertised_, survivor), std::move(seed)});
  }
  std::vector<DroppedPairSeed> pair_seeds;
  for (uint32_t dropped : sharers_) {
    if (IndexIn(survivors_, dropped) >= 0) continue;
    CARTABLE_ASSIGN_OR_RETURN(SecretBytes bytes, rebuild(dropped, mask_key_shares_[dropped], "mask key"));
    CARTABLE_ASSIGN_OR_RETURN(X25519PrivateKey key, X25519PrivateKey::FromBytes(std::move(bytes)));
    if (key.PublicKey() != adverts_.at(dropped).mask_key) {
      return DataLossError("the mask key rebuilt for " + Member(dropped) +
                           " does not match its advert: some revealed shares are corrupt");
    }
    const int d = IndexIn(advertised_, dropped);
    for (int j : graph_->neighbours(d)) {
      const uint32_t neighbour = advertised_[static_cast<size_t>(j)];
      if (IndexIn(survivors_, neighbour) < 0) continue;
      CARTABLE_ASSIGN_OR_RETURN(SecretBytes seed, PairwiseSeed(key, adverts_.at(neighbour).mask_key,
                                                               params_.run_id, params_.round));
      pair_seeds.push_back({d, j, std::move(seed)});
    }
  }
  std::vector<int> participants, survivors;
  for (uint32_t m : sharers_) participants.push_back(IndexIn(advertised_, m));
  for (uint32_t m : survivors_) survivors.push_back(IndexIn(advertised_, m));
  return UnmaskSumAmong(masked_sum_, participants, survivors, self_seeds, pair_seeds, *graph_,
                        params_.modulus_bits);
}

}  // namespace cartable::aggregation::secagg
