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

StatusOr<std::unique_ptr<SecAggServer>> SecAggServer::Create(RoundParameters params,
                                                             size_t dimension,
                                                             const Sha256Digest& model_hash) {
  if (params.cohort.size() < 2)
    return InvalidArgumentError("secure aggregation needs at least 2 members");
  if (dimension == 0) return InvalidArgumentError("secure aggregation of empty vectors");
  if (params.cohort.size() > static_cast<size_t>(kShamirMaxShares)) {
    return InvalidArgumentError("a cohort of " + std::to_string(params.cohort.size()) +
                                " is more than the 65535 members a secure round can have");
  }
  for (size_t i = 1; i < params.cohort.size(); ++i) {
    if (params.cohort[i].name <= params.cohort[i - 1].name) {
      return InvalidArgumentError("the cohort must be sorted by name without repeats");
    }
  }
  CARTABLE_ASSIGN_OR_RETURN(
      Quantizer quantizer,
      Quantizer::Create(params.value_range, internal::MaxContributors(params), params.modulus_bits,
                        params.levels, params.noise_bound));
  // The graph parameters are checked now, on the whole cohort, so a bad k fails the run's first
  // round.
  std::vector<uint32_t> everyone(params.cohort.size());
  for (size_t i = 0; i < everyone.size(); ++i) everyone[i] = static_cast<uint32_t>(i);
  CARTABLE_RETURN_IF_ERROR(internal::GraphOver(params, everyone, params.graph_seed).status());
  auto server = std::unique_ptr<SecAggServer>(
      new SecAggServer(std::move(params), dimension, model_hash, quantizer));
  server->asked_ = std::move(everyone);
  return server;
}

SecAggServer::SecAggServer(RoundParameters params, size_t dimension, const Sha256Digest& model_hash,
                           Quantizer quantizer)
    : params_(std::move(params)),
      dimension_(dimension),
      model_hash_(model_hash),
      quantizer_(quantizer) {}

Status SecAggServer::Expect(Stage stage, uint32_t member, const char* what) const {
  if (stage_ != stage)
    return InvalidArgumentError(std::string(what) + " arrived outside its stage");
  if (IndexIn(asked_, member) < 0) {
    return InvalidArgumentError(std::string(what) + " from " + Member(member) +
                                ", not asked in this stage");
  }
  if (answered_.contains(member))
    return InvalidArgumentError(std::string("a second ") + what + " from " + Member(member));
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
    return InvalidArgumentError("the key advert of " + Member(advert.member) +
                                " carries one key twice");
  }
  for (const auto& [member, other] : adverts_) {
    if (other.mask_key == advert.mask_key || other.share_key == advert.share_key ||
        other.mask_key == advert.share_key || other.share_key == advert.mask_key) {
      return InvalidArgumentError("the key advert of " + Member(advert.member) +
                                  " reuses a public key");
    }
  }
  CARTABLE_RETURN_IF_ERROR(
      VerifySignature(params_.cohort[advert.member].signing_key,
                      internal::AdvertMessage(params_.run_id, params_.round, advert, model_hash_),
                      advert.signature));
  adverts_.emplace(advert.member, advert);
  answered_[advert.member] = true;
  return Status::Ok();
}

StatusOr<std::vector<KeyAdvert>> SecAggServer::CloseAdvertising() {
  if (stage_ != Stage::kAdvertise) return FailedPreconditionError("advertising is already closed");
  advertised_ = Answered();
  if (advertised_.size() < 2) {
    return FailedPreconditionError("only " + std::to_string(advertised_.size()) +
                                   " member(s) advertised keys");
  }
  std::vector<KeyAdvert> list;
  std::vector<const KeyAdvert*> in_order;
  list.reserve(advertised_.size());
  in_order.reserve(advertised_.size());
  for (uint32_t member : advertised_) {
    list.push_back(adverts_.at(member));
    in_order.push_back(&adverts_.at(member));
  }
  CARTABLE_ASSIGN_OR_RETURN(
      NeighbourGraph graph,
      internal::GraphOver(params_, advertised_, internal::GraphSeed(params_, in_order)));
  CARTABLE_ASSIGN_OR_RETURN(threshold_, internal::RoundThreshold(params_, graph));
  graph_.emplace(std::move(graph));
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
                                " shares for its " + std::to_string(graph_->degree()) +
                                " neighbours");
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
  std::vector<HolderCommitments> commitments;
  commitments.reserve(shares.size());
  for (const SealedShare& share : shares) {
    commitments.push_back({share.to, share.self_seed_commitment, share.mask_key_commitment});
  }
  std::sort(
      commitments.begin(), commitments.end(),
      [](const HolderCommitments& a, const HolderCommitments& b) { return a.holder < b.holder; });
  commitments_[member] = std::move(commitments);
  shares_[member] = std::move(shares);
  answered_[member] = true;
  return Status::Ok();
}

const SecAggServer::HolderCommitments* SecAggServer::CommitmentsOf(uint32_t owner,
                                                                   uint32_t holder) const {
  auto of = commitments_.find(owner);
  if (of == commitments_.end()) return nullptr;
  auto it = std::lower_bound(of->second.begin(), of->second.end(), holder,
                             [](const HolderCommitments& c, uint32_t h) { return c.holder < h; });
  return it != of->second.end() && it->holder == holder ? &*it : nullptr;
}

StatusOr<std::map<uint32_t, std::vector<SealedShare>>> SecAggServer::CloseSharing() {
  if (stage_ != Stage::kShare) return FailedPreconditionError("sharing is not the current stage");
  sharers_ = Answered();
  if (sharers_.size() < 2) {
    return FailedPreconditionError("only " + std::to_string(sharers_.size()) +
                                   " member(s) shared their keys");
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

Status SecAggServer::CheckUnusableReport(uint32_t member,
                                         std::span<const uint32_t> unusable_from) const {
  const int reporter = IndexIn(advertised_, member);
  for (size_t i = 0; i < unusable_from.size(); ++i) {
    const uint32_t owner = unusable_from[i];
    const int at = IndexIn(advertised_, owner);
    if (at < 0 || IndexIn(sharers_, owner) < 0 || !graph_->AreNeighbours(reporter, at) ||
        (i > 0 && owner <= unusable_from[i - 1])) {
      return InvalidArgumentError(Member(member) + " reports unusable shares from " +
                                  Member(owner) + ", which sent it none, or out of order");
    }
  }
  return Status::Ok();
}

Status SecAggServer::OnMaskedInput(uint32_t member, std::span<const uint64_t> masked,
                                   std::span<const uint32_t> unusable_from) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kMask, member, "masked input"));
  CARTABLE_RETURN_IF_ERROR(CheckUnusableReport(member, unusable_from));
  if (masked.size() != dimension_) {
    return InvalidArgumentError("the masked input of " + Member(member) + " has " +
                                std::to_string(masked.size()) + " words, not " +
                                std::to_string(dimension_));
  }
  const uint64_t top = quantizer_.modulus_mask();
  if (std::any_of(masked.begin(), masked.end(), [top](uint64_t w) { return w > top; })) {
    return InvalidArgumentError("the masked input of " + Member(member) +
                                " has words beyond the modulus");
  }
  CARTABLE_RETURN_IF_ERROR(quantizer_.AddModulo(masked_sum_, masked));
  if (!unusable_from.empty())
    unusable_reports_[member].assign(unusable_from.begin(), unusable_from.end());
  answered_[member] = true;
  return Status::Ok();
}

StatusOr<std::vector<uint32_t>> SecAggServer::CloseMasking() {
  if (stage_ != Stage::kMask) return FailedPreconditionError("masking is not the current stage");
  survivors_ = Answered();
  if (survivors_.size() < 2) {
    return FailedPreconditionError(
        std::to_string(survivors_.size()) +
        " masked input(s) arrived: a sum of fewer than 2 would reveal an input");
  }
  stage_ = Stage::kConsistency;
  asked_ = survivors_;
  answered_.clear();
  return survivors_;
}

Status SecAggServer::OnSurvivorSignature(const MemberSignature& signature) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kConsistency, signature.member, "consistency signature"));
  CARTABLE_RETURN_IF_ERROR(VerifySignature(
      params_.cohort[signature.member].signing_key,
      internal::SurvivorsMessage(params_.run_id, params_.round, survivors_), signature.signature));
  signatures_.push_back(signature);
  answered_[signature.member] = true;
  return Status::Ok();
}

StatusOr<std::vector<MemberSignature>> SecAggServer::CloseConsistency() {
  if (stage_ != Stage::kConsistency)
    return FailedPreconditionError("consistency is not the current stage");
  if (static_cast<int>(signatures_.size()) < threshold_) {
    return FailedPreconditionError(std::to_string(signatures_.size()) +
                                   " survivor(s) confirmed the survivor set; " +
                                   std::to_string(threshold_) + " are needed");
  }
  std::sort(signatures_.begin(), signatures_.end(),
            [](const MemberSignature& a, const MemberSignature& b) { return a.member < b.member; });
  stage_ = Stage::kUnmask;
  asked_ = Answered();
  answered_.clear();
  return signatures_;
}

Status SecAggServer::CheckRevealed(uint32_t holder, const RevealedShares& shares,
                                   std::vector<std::pair<uint32_t, Share>>& self_seed,
                                   std::vector<std::pair<uint32_t, Share>>& mask_key) const {
  const int at = IndexIn(advertised_, holder);
  const auto report = unusable_reports_.find(holder);
  std::set<uint32_t> owners;
  auto check = [&](const RevealedShare& revealed, internal::ShareKind kind,
                   std::vector<std::pair<uint32_t, Share>>& out) -> Status {
    const bool of_survivor = kind == internal::ShareKind::kSelfSeed;
    const std::string what = std::string(of_survivor ? "a self-seed share" : "a mask-key share") +
                             " of " + Member(revealed.of);
    // Honest holders reveal, once, the kind the signed survivor set decides, of neighbours that
    // shared.
    const int owner = IndexIn(advertised_, revealed.of);
    const HolderCommitments* commitments = owner < 0 ? nullptr : CommitmentsOf(revealed.of, holder);
    if (owner < 0 || !graph_->AreNeighbours(at, owner) || IndexIn(sharers_, revealed.of) < 0 ||
        commitments == nullptr || (IndexIn(survivors_, revealed.of) >= 0) != of_survivor ||
        !owners.insert(revealed.of).second) {
      return PermissionDeniedError("revealed " + what +
                                   ", which it cannot hold, is of the wrong kind, or twice");
    }
    if (report != unusable_reports_.end() && IndexIn(report->second, revealed.of) >= 0) {
      return PermissionDeniedError("revealed " + what + ", whose shares it had reported unusable");
    }
    auto share = internal::CheckShare(params_.run_id, params_.round, kind, revealed.of, holder,
                                      revealed.share,
                                      of_survivor ? commitments->self_seed : commitments->mask_key);
    if (!share.ok())
      return PermissionDeniedError("revealed " + what +
                                   " that it should have refused: " + share.status().message());
    out.emplace_back(revealed.of, std::move(share).value());
    return Status::Ok();
  };
  for (const RevealedShare& s : shares.self_seed_shares) {
    CARTABLE_RETURN_IF_ERROR(check(s, internal::ShareKind::kSelfSeed, self_seed));
  }
  for (const RevealedShare& s : shares.mask_key_shares) {
    CARTABLE_RETURN_IF_ERROR(check(s, internal::ShareKind::kMaskKey, mask_key));
  }
  return Status::Ok();
}

void SecAggServer::BlameMember(uint32_t member, std::string reason) {
  for (const Blame& b : blamed_) {
    if (b.member == member) return;
  }
  blamed_.push_back({member, std::move(reason)});
}

Status SecAggServer::OnRevealedShares(uint32_t member, const RevealedShares& shares) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kUnmask, member, "revealed shares"));
  std::vector<std::pair<uint32_t, Share>> self_seed, mask_key;
  if (Status valid = CheckRevealed(member, shares, self_seed, mask_key); !valid.ok()) {
    // An honest holder checks each share before holding it, so this is the holder's doing: none of
    // what it revealed is used, and the round goes on with the other holders' shares.
    BlameMember(member, valid.message());
    return PermissionDeniedError(Member(member) + " " + valid.message());
  }
  for (auto& [owner, share] : self_seed) self_seed_shares_[owner].push_back(std::move(share));
  for (auto& [owner, share] : mask_key) mask_key_shares_[owner].push_back(std::move(share));
  answered_[member] = true;
  return Status::Ok();
}

StatusOr<UnmaskedSum> SecAggServer::Finish() {
  if (stage_ != Stage::kUnmask)
    return FailedPreconditionError("unmasking is not the current stage");
  stage_ = Stage::kDone;
  CARTABLE_ASSIGN_OR_RETURN(std::vector<uint64_t> words, Unmask());
  CARTABLE_ASSIGN_OR_RETURN(std::vector<double> sum,
                            quantizer_.DequantizeSum(words, static_cast<int>(survivors_.size())));
  return UnmaskedSum{std::move(sum), survivors_};
}

StatusOr<SecretBytes> SecAggServer::CombineShares(uint32_t owner, bool self_seed) {
  const char* what = self_seed ? "self seed" : "mask key";
  const std::vector<Share>& shares = (self_seed ? self_seed_shares_ : mask_key_shares_)[owner];
  if (static_cast<int>(shares.size()) < threshold_) {
    std::string message = "only " + std::to_string(shares.size()) + " valid share(s) of the " +
                          what + " of " + Member(owner) + " came back; " +
                          std::to_string(threshold_) + " are needed";
    std::string reporters;
    for (const auto& [reporter, owners] : unusable_reports_) {
      if (IndexIn(owners, owner) < 0) continue;
      disputes_.push_back({reporter, owner});
      reporters += (reporters.empty() ? "" : ", ") + std::to_string(reporter);
    }
    if (!reporters.empty()) message += "; member(s) " + reporters + " reported its shares unusable";
    std::string blamed;
    for (const Blame& b : blamed_)
      blamed += (blamed.empty() ? "" : ", ") + std::to_string(b.member);
    if (!blamed.empty())
      message += "; the shares revealed by member(s) " + blamed + " were discarded";
    return FailedPreconditionError(message);
  }
  auto secret = Combine(std::span(shares).first(static_cast<size_t>(threshold_)), threshold_,
                        internal::kSharedSecretBytes);
  if (!secret.ok()) return Inconsistent(owner, what);
  return secret;
}

// Every share used matched the owner's own commitment and carries its holder's x, so a secret that
// does not rebuild, or rebuilds to another than the advert commits to, is the owner's doing.
Status SecAggServer::Inconsistent(uint32_t owner, const std::string& what) {
  const std::string reason =
      "dealt shares of its " + what + " that do not rebuild the " + what + " its advert commits to";
  BlameMember(owner, reason);
  return FailedPreconditionError(Member(owner) + " " + reason);
}

StatusOr<std::vector<uint64_t>> SecAggServer::Unmask() {
  // Every secret is tried before failing, so one failed round names every owner and dispute at
  // once.
  std::vector<Status> failures;
  std::vector<SelfSeed> self_seeds;
  for (uint32_t survivor : survivors_) {
    auto seed = CombineShares(survivor, /*self_seed=*/true);
    if (seed.ok() && internal::SeedCommitment(params_.run_id, params_.round, survivor, *seed) !=
                         adverts_.at(survivor).seed_commitment) {
      seed = Inconsistent(survivor, "self seed");
    }
    if (!seed.ok()) {
      failures.push_back(seed.status());
      continue;
    }
    self_seeds.push_back({IndexIn(advertised_, survivor), std::move(seed).value()});
  }
  std::vector<std::pair<uint32_t, X25519PrivateKey>> dropped_keys;
  for (uint32_t dropped : sharers_) {
    if (IndexIn(survivors_, dropped) >= 0) continue;
    auto bytes = CombineShares(dropped, /*self_seed=*/false);
    if (!bytes.ok()) {
      failures.push_back(bytes.status());
      continue;
    }
    auto key = X25519PrivateKey::FromBytes(std::move(bytes).value());
    if (!key.ok() || key->PublicKey() != adverts_.at(dropped).mask_key) {
      failures.push_back(Inconsistent(dropped, "mask key"));
      continue;
    }
    dropped_keys.emplace_back(dropped, std::move(key).value());
  }
  if (!failures.empty()) {
    std::sort(disputes_.begin(), disputes_.end(), [](const Dispute& a, const Dispute& b) {
      return std::pair(a.owner, a.reporter) < std::pair(b.owner, b.reporter);
    });
    std::string message = failures.front().message();
    if (failures.size() > 1) {
      message +=
          " (and " + std::to_string(failures.size() - 1) + " more secret(s) could not be rebuilt)";
    }
    return FailedPreconditionError(message);
  }
  std::vector<DroppedPairSeed> pair_seeds;
  for (const auto& [dropped, key] : dropped_keys) {
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
