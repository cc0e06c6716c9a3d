#include "aggregation/secagg/client.h"

#include <algorithm>
#include <set>

#include "aggregation/secagg/graph_plan.h"
#include "aggregation/secagg/internal/round_crypto.h"
#include "aggregation/secagg/masking.h"
#include "aggregation/secagg/shamir.h"
#include "aggregation/secagg/share_cipher.h"
#include "core/check.h"

namespace cartable::aggregation::secagg {

using internal::IndexIn;

struct SecAggClient::Secrets {
  X25519PrivateKey mask_key;
  X25519PrivateKey share_key;
  SecretBytes self_seed;
  std::map<uint32_t, internal::SharePair> held;  // by the neighbour whose shares they are
  // The AES-GCM key shared with each neighbour, agreed once when sealing our shares for it and used
  // again to open the shares it sends us (the key is symmetric: both ends derive the same one).
  std::map<uint32_t, SecretBytes> sealing_keys;
};

namespace {

std::string Member(uint32_t member) { return "member " + std::to_string(member); }

Status CheckAscending(std::span<const uint32_t> members, size_t cohort, const char* what) {
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i] >= cohort) {
      return PermissionDeniedError(std::string(what) + " names " + Member(members[i]) +
                                   ", outside the cohort of " + std::to_string(cohort));
    }
    if (i > 0 && members[i] <= members[i - 1]) {
      return PermissionDeniedError(std::string(what) +
                                   " is not in ascending order without repeats");
    }
  }
  return Status::Ok();
}

Status CheckCohort(const RoundParameters& params, const ClientPolicy& policy) {
  if (params.cohort.size() > static_cast<size_t>(kShamirMaxShares)) {
    return PermissionDeniedError("a cohort of " + std::to_string(params.cohort.size()) +
                                 " is more than the 65535 members a secure round can have");
  }
  for (size_t i = 1; i < params.cohort.size(); ++i) {
    if (params.cohort[i].name <= params.cohort[i - 1].name) {
      return PermissionDeniedError("the cohort is not sorted by name without repeats");
    }
  }
  if (params.cohort.size() < std::max<size_t>(policy.min_cohort, 2)) {
    return PermissionDeniedError("a cohort of " + std::to_string(params.cohort.size()) +
                                 " is below this node's floor of " +
                                 std::to_string(policy.min_cohort));
  }
  if (policy.roster.empty()) return Status::Ok();
  for (const CohortMember& m : params.cohort) {
    auto it = policy.roster.find(m.name);
    if (it == policy.roster.end()) {
      return PermissionDeniedError("cohort member '" + m.name + "' is not in this node's roster");
    }
    if (it->second != m.signing_key) {
      return PermissionDeniedError("cohort member '" + m.name +
                                   "' comes with another identity key than the roster's");
    }
  }
  return Status::Ok();
}

Status CheckAllowance(const RoundParameters& params, const ClientPolicy& policy) {
  if (policy.tolerate_corrupt <= 0) return Status::Ok();
  SecAggTolerance tolerance;
  tolerance.corrupt_fraction = policy.tolerate_corrupt;
  tolerance.dropout_fraction = 0;
  auto required = PlanGraph(static_cast<int>(params.cohort.size()), tolerance, params.neighbours);
  if (!required.ok()) {
    return PermissionDeniedError(
        "this node assumes up to " + std::to_string(policy.tolerate_corrupt) +
        " of the cohort may collude, and no round of this cohort stands that: " +
        required.status().message());
  }
  if (params.corrupt_allowance < required->corrupt_allowance) {
    return PermissionDeniedError(
        "the round's threshold outlasts " + std::to_string(params.corrupt_allowance) +
        " colluding neighbour(s); this node assumes up to " +
        std::to_string(policy.tolerate_corrupt) + " of the cohort may collude, which needs " +
        std::to_string(required->corrupt_allowance));
  }
  return Status::Ok();
}

// The share pair `sealed` carries for `holder`, opened and checked (internal::CheckShare); an error
// says what is wrong with it.
StatusOr<internal::SharePair> OpenShares(const RoundParameters& params, uint32_t holder,
                                         const SecretBytes& key, const SealedShare& sealed) {
  auto plaintext =
      Open(key, sealed.ciphertext,
           internal::ShareAssociatedData(params.run_id, params.round, sealed.from, holder));
  if (!plaintext.ok()) return plaintext.status().WithContext("the sealed shares do not open");
  CARTABLE_ASSIGN_OR_RETURN(internal::SharePair pair,
                            internal::DecodeSharePair(plaintext->span(), sealed.from, holder));
  CARTABLE_RETURN_IF_ERROR(
      internal::CheckShare(params.run_id, params.round, internal::ShareKind::kSelfSeed, sealed.from,
                           holder, pair.self_seed_share.span(), sealed.self_seed_commitment)
          .status());
  CARTABLE_RETURN_IF_ERROR(
      internal::CheckShare(params.run_id, params.round, internal::ShareKind::kMaskKey, sealed.from,
                           holder, pair.mask_key_share.span(), sealed.mask_key_commitment)
          .status());
  return pair;
}

}  // namespace

std::vector<std::string> MembersAgainstRoster(const std::vector<CohortMember>& cohort,
                                              const ClientPolicy& policy) {
  std::vector<std::string> disowned;
  if (policy.roster.empty()) return disowned;
  for (const CohortMember& m : cohort) {
    auto it = policy.roster.find(m.name);
    if (it == policy.roster.end() || it->second != m.signing_key) disowned.push_back(m.name);
  }
  return disowned;
}

StatusOr<std::unique_ptr<SecAggClient>> SecAggClient::Create(RoundParameters params,
                                                             const std::string& name,
                                                             const SigningKey& signing_key,
                                                             const Sha256Digest& model_hash,
                                                             const ClientPolicy& policy) {
  CARTABLE_RETURN_IF_ERROR(CheckCohort(params, policy));
  CARTABLE_RETURN_IF_ERROR(CheckAllowance(params, policy));
  auto me = std::find_if(params.cohort.begin(), params.cohort.end(),
                         [&](const CohortMember& m) { return m.name == name; });
  if (me == params.cohort.end()) {
    return PermissionDeniedError("this node ('" + name + "') is not in the round's cohort");
  }
  if (me->signing_key != signing_key.PublicKey()) {
    return PermissionDeniedError("the cohort lists another identity key for this node ('" + name +
                                 "')");
  }
  CARTABLE_ASSIGN_OR_RETURN(
      Quantizer quantizer,
      Quantizer::Create(params.value_range, internal::MaxContributors(params), params.modulus_bits,
                        params.levels, params.noise_bound));
  CARTABLE_ASSIGN_OR_RETURN(X25519PrivateKey mask_key, X25519PrivateKey::Generate());
  CARTABLE_ASSIGN_OR_RETURN(X25519PrivateKey share_key, X25519PrivateKey::Generate());
  auto secrets = std::make_unique<Secrets>(
      Secrets{std::move(mask_key), std::move(share_key), SecretBytes::Random(32), {}});
  const auto member = static_cast<uint32_t>(me - params.cohort.begin());
  return std::unique_ptr<SecAggClient>(new SecAggClient(
      std::move(params), member, signing_key, model_hash, policy, quantizer, std::move(secrets)));
}

SecAggClient::SecAggClient(RoundParameters params, uint32_t member, const SigningKey& signing_key,
                           const Sha256Digest& model_hash, ClientPolicy policy, Quantizer quantizer,
                           std::unique_ptr<Secrets> secrets)
    : params_(std::move(params)),
      member_(member),
      signing_key_(signing_key),
      model_hash_(model_hash),
      policy_(std::move(policy)),
      quantizer_(quantizer),
      secrets_(std::move(secrets)) {}

SecAggClient::~SecAggClient() = default;

Status SecAggClient::Expect(Stage stage, const char* what) {
  if (stage_ == stage) return Status::Ok();
  if (stage_ == Stage::kFailed)
    return FailedPreconditionError("this round's secure aggregation failed");
  return Refuse(PermissionDeniedError(std::string("unexpected ") + what +
                                      " at this point of the round (each stage happens once)"));
}

Status SecAggClient::Refuse(Status why) {
  stage_ = Stage::kFailed;
  secrets_.reset();  // nothing more will be revealed this round
  return why;
}

StatusOr<KeyAdvert> SecAggClient::Advertise() {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kAdvertise, "advert"));
  KeyAdvert advert;
  advert.member = member_;
  advert.mask_key = secrets_->mask_key.PublicKey();
  advert.share_key = secrets_->share_key.PublicKey();
  advert.seed_commitment =
      internal::SeedCommitment(params_.run_id, params_.round, member_, secrets_->self_seed);
  CARTABLE_ASSIGN_OR_RETURN(advert.signature,
                            signing_key_.Sign(internal::AdvertMessage(params_.run_id, params_.round,
                                                                      advert, model_hash_)));
  stage_ = Stage::kKeyList;
  return advert;
}

StatusOr<std::vector<SealedShare>> SecAggClient::OnKeyList(std::span<const KeyAdvert> adverts) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kKeyList, "key list"));
  // Every advert is read (their signatures seed the neighbour graph) but only the neighbours' are
  // kept: a member of a cohort of n holds O(k) adverts, not O(n), so a process hosting thousands of
  // members stays small.
  std::vector<bool> listed(params_.cohort.size(), false);
  std::vector<const KeyAdvert*> by_member;
  by_member.reserve(adverts.size());
  for (const KeyAdvert& advert : adverts) {
    if (advert.member >= params_.cohort.size() || listed[advert.member]) {
      return Refuse(PermissionDeniedError("the key list names " + Member(advert.member) +
                                          " twice or outside the cohort"));
    }
    listed[advert.member] = true;
    by_member.push_back(&advert);
  }
  std::sort(by_member.begin(), by_member.end(),
            [](const KeyAdvert* a, const KeyAdvert* b) { return a->member < b->member; });
  std::vector<uint32_t> advertised;  // U1, ascending
  advertised.reserve(by_member.size());
  for (const KeyAdvert* advert : by_member) advertised.push_back(advert->member);
  const int me = IndexIn(advertised, member_);
  if (me < 0) {
    return Refuse(
        PermissionDeniedError("the key list does not carry this node's own advert unchanged"));
  }
  const KeyAdvert& mine = *by_member[static_cast<size_t>(me)];
  if (mine.mask_key != secrets_->mask_key.PublicKey() ||
      mine.share_key != secrets_->share_key.PublicKey() ||
      mine.seed_commitment !=
          internal::SeedCommitment(params_.run_id, params_.round, member_, secrets_->self_seed)) {
    return Refuse(
        PermissionDeniedError("the key list does not carry this node's own advert unchanged"));
  }
  if (advertised.size() < std::max<size_t>(policy_.min_cohort, 2)) {
    return Refuse(PermissionDeniedError(std::to_string(advertised.size()) +
                                        " member(s) advertised keys, below this node's floor of " +
                                        std::to_string(policy_.min_cohort)));
  }
  auto graph = internal::GraphOver(params_, advertised, internal::GraphSeed(params_, by_member));
  if (!graph.ok()) return Refuse(graph.status());
  auto threshold = internal::RoundThreshold(params_, *graph);
  if (!threshold.ok()) return Refuse(threshold.status());
  threshold_ = *threshold;
  me_ = me;
  advertised_ = std::move(listed);
  // The adverts this node relies on are its neighbours': it agrees keys only with them (Bell et
  // al.'s clients receive no others). Each is checked against this node's own model hash, so a
  // neighbour served another model is caught; the others are checked by their own neighbours, and
  // so are their keys' uniqueness: a key repeated among this node's neighbours is a replay.
  std::set<X25519PublicKey> keys_seen{mine.mask_key, mine.share_key};
  adverts_.emplace(member_, mine);
  for (int j : graph->neighbours(me)) {
    const KeyAdvert& advert = *by_member[static_cast<size_t>(j)];
    const CohortMember& who = params_.cohort[advert.member];
    if (!keys_seen.insert(advert.mask_key).second || !keys_seen.insert(advert.share_key).second) {
      return Refuse(PermissionDeniedError("two adverts carry the same public key (replayed?)"));
    }
    Status valid =
        VerifySignature(who.signing_key,
                        internal::AdvertMessage(params_.run_id, params_.round, advert, model_hash_),
                        advert.signature);
    if (!valid.ok()) {
      return Refuse(PermissionDeniedError("the advert of '" + who.name +
                                          "' does not verify: forged, or signed over another "
                                          "global model than this node received"));
    }
    adverts_.emplace(advert.member, advert);
    neighbours_.emplace(advert.member, j);
  }
  auto sealed = SealShares();
  if (!sealed.ok()) return Refuse(sealed.status());
  stage_ = Stage::kShares;
  return sealed;
}

StatusOr<std::vector<SealedShare>> SecAggClient::SealShares() {
  // Each neighbour's shares are evaluated at its own x, so a share names its holder. Neighbours go
  // in ascending order, of their members as of their indices in U1.
  std::vector<uint32_t> points;
  points.reserve(neighbours_.size());
  for (const auto& neighbour : neighbours_) points.push_back(internal::ShareX(neighbour.first));
  CARTABLE_ASSIGN_OR_RETURN(std::vector<Share> self_shares,
                            Split(secrets_->self_seed.span(), threshold_, points));
  const SecretBytes mask_private = secrets_->mask_key.ExportPrivateBytes();
  CARTABLE_ASSIGN_OR_RETURN(std::vector<Share> key_shares,
                            Split(mask_private.span(), threshold_, points));
  std::vector<SealedShare> out;
  out.reserve(neighbours_.size());
  size_t i = 0;
  for (const auto& neighbour : neighbours_) {
    const uint32_t to = neighbour.first;
    CARTABLE_ASSIGN_OR_RETURN(
        SecretBytes agreed,
        internal::ShareSealingKey(secrets_->share_key, adverts_.at(to).share_key, params_.run_id,
                                  params_.round));
    const SecretBytes& key =
        secrets_->sealing_keys.insert_or_assign(to, std::move(agreed)).first->second;
    const SecretBytes self_share = SerializeShare(self_shares[i]);
    const SecretBytes key_share = SerializeShare(key_shares[i]);
    const SecretBytes plaintext = internal::EncodeSharePair(member_, to, self_share, key_share);
    SealedShare sealed{
        member_,
        to,
        internal::ShareCommitment(params_.run_id, params_.round, internal::ShareKind::kSelfSeed,
                                  member_, to, self_share.span()),
        internal::ShareCommitment(params_.run_id, params_.round, internal::ShareKind::kMaskKey,
                                  member_, to, key_share.span()),
        {}};
    CARTABLE_ASSIGN_OR_RETURN(
        sealed.ciphertext,
        Seal(key, plaintext.span(),
             internal::ShareAssociatedData(params_.run_id, params_.round, member_, to)));
    out.push_back(std::move(sealed));
    ++i;
  }
  return out;
}

Status SecAggClient::OnShares(std::span<const SealedShare> shares) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kShares, "share delivery"));
  std::set<uint32_t> delivered;
  for (const SealedShare& sealed : shares) {
    // What the coordinator alone decides (where a share goes, how often) is refused outright.
    if (sealed.to != member_ || !neighbours_.contains(sealed.from) ||
        !delivered.insert(sealed.from).second) {
      return Refuse(PermissionDeniedError("a relayed share from " + Member(sealed.from) +
                                          " is misaddressed, repeated or not from a neighbour"));
    }
    // Every neighbour got a sealed share from us, so its key is already agreed.
    const auto key = secrets_->sealing_keys.find(sealed.from);
    CARTABLE_CHECK(key != secrets_->sealing_keys.end()) << "no sealing key for a neighbour";
    // What the owner dealt (or the relay altered) is not: this member does not hold that owner's
    // shares, still masks with it (pairwise masks depend on the signed adverts alone), and reports
    // it.
    auto pair = OpenShares(params_, member_, key->second, sealed);
    if (!pair.ok()) {
      unusable_.push_back({sealed.from, pair.status().message()});
      continue;
    }
    secrets_->held.emplace(sealed.from, std::move(pair).value());
  }
  partners_.assign(delivered.begin(), delivered.end());  // std::set: ascending
  if (static_cast<int>(partners_.size()) < threshold_) {
    return Refuse(FailedPreconditionError(
        "only " + std::to_string(partners_.size()) + " neighbour(s) completed ShareKeys; " +
        std::to_string(threshold_) + " are needed to rebuild this node's secrets"));
  }
  std::sort(unusable_.begin(), unusable_.end(),
            [](const UnusableShares& a, const UnusableShares& b) { return a.from < b.from; });
  stage_ = Stage::kMask;
  return Status::Ok();
}

std::vector<uint32_t> SecAggClient::unusable_from() const {
  std::vector<uint32_t> out;
  out.reserve(unusable_.size());
  for (const UnusableShares& u : unusable_) out.push_back(u.from);
  return out;
}

// The seed of the quantiser's rounding coins: SHA-256 of this member's signature over a message
// that names the purpose, the round and the model. Unpredictable to anyone without the identity
// key (the signature is never sent), and the same whenever the same member quantises for the same
// round of the same model, so a run resumed after its coordinator stopped is bit for bit the run
// that never stopped, and a plan run again under another run id gives the same model. (Coins
// that repeat across runs leak nothing: they only decide how each value is rounded, and the
// coordinator sees sums alone.)
StatusOr<SecretBytes> SecAggClient::RoundingCoins() const {
  static constexpr std::string_view kPurpose = "cartable/secagg/rounding-coins/v1";
  std::vector<uint8_t> message(kPurpose.begin(), kPurpose.end());
  for (int i = 0; i < 4; ++i) message.push_back(static_cast<uint8_t>(params_.round >> (8 * i)));
  message.insert(message.end(), model_hash_.begin(), model_hash_.end());
  CARTABLE_ASSIGN_OR_RETURN(Ed25519Signature signature, signing_key_.Sign(message));
  Sha256Digest seed = Sha256(signature);
  SecretBytes coins = SecretBytes::CopyFrom(seed);
  WipeBytes(signature.data(), signature.size());
  WipeBytes(seed.data(), seed.size());
  return coins;
}

StatusOr<std::vector<uint64_t>> SecAggClient::MaskInput(std::span<const float> values,
                                                        std::span<const int64_t> noise) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kMask, "masking"));
  if ((params_.noise_bound > 0) != !noise.empty()) {
    return Refuse(InvalidArgumentError(
        params_.noise_bound > 0 ? "the round adds distributed noise, and this input has none"
                                : "the round adds no noise, and this input brings some"));
  }
  CARTABLE_ASSIGN_OR_RETURN(SecretBytes coins, RoundingCoins());
  auto quantised = quantizer_.Quantize(values, coins.span());
  if (!quantised.ok()) return Refuse(quantised.status());
  if (!noise.empty()) {
    if (Status added = quantizer_.AddNoise(*quantised, noise); !added.ok()) return Refuse(added);
  }
  std::vector<NeighbourSeed> seeds;
  seeds.reserve(partners_.size());
  for (uint32_t partner : partners_) {
    auto seed = PairwiseSeed(secrets_->mask_key, adverts_.at(partner).mask_key, params_.run_id,
                             params_.round);
    if (!seed.ok()) return Refuse(seed.status());
    seeds.push_back({neighbours_.at(partner), std::move(seed).value()});
  }
  auto masked =
      secagg::MaskInput(*quantised, secrets_->self_seed, seeds, me_, params_.modulus_bits);
  if (!masked.ok()) return Refuse(masked.status());
  stage_ = Stage::kSurvivors;
  return masked;
}

StatusOr<Ed25519Signature> SecAggClient::OnSurvivors(std::span<const uint32_t> survivors) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kSurvivors, "survivor set"));
  if (Status s = CheckAscending(survivors, params_.cohort.size(), "the survivor set"); !s.ok()) {
    return Refuse(s);
  }
  for (uint32_t member : survivors) {
    if (!advertised_[member]) {
      return Refuse(PermissionDeniedError("the survivor set names " + Member(member) +
                                          ", which never advertised keys"));
    }
  }
  if (IndexIn(survivors, member_) < 0) {
    return Refuse(
        PermissionDeniedError("the survivor set leaves out this node, which sent its input"));
  }
  if (survivors.size() < std::max<size_t>(policy_.min_cohort, 2)) {
    return Refuse(PermissionDeniedError("only " + std::to_string(survivors.size()) +
                                        " input(s) would be summed, below this node's floor of " +
                                        std::to_string(policy_.min_cohort)));
  }
  survived_.assign(params_.cohort.size(), false);
  for (uint32_t member : survivors) survived_[member] = true;
  auto signature =
      signing_key_.Sign(internal::SurvivorsMessage(params_.run_id, params_.round, survivors));
  if (!signature.ok()) return Refuse(signature.status());
  stage_ = Stage::kSignatures;
  return signature;
}

StatusOr<RevealedShares> SecAggClient::OnSignatures(std::span<const MemberSignature> signatures) {
  CARTABLE_RETURN_IF_ERROR(Expect(Stage::kSignatures, "unmask request"));
  std::vector<uint32_t> survivors;  // the set this member signed, ascending
  for (uint32_t m = 0; m < survived_.size(); ++m) {
    if (survived_[m]) survivors.push_back(m);
  }
  const std::vector<uint8_t> message =
      internal::SurvivorsMessage(params_.run_id, params_.round, survivors);
  // t valid signatures over the set this node signed are what the never-both argument needs;
  // checking more costs time and proves nothing further, so the check stops there.
  std::set<uint32_t> signers;
  for (const MemberSignature& s : signatures) {
    if (static_cast<int>(signers.size()) >= threshold_) break;
    if (s.member >= survived_.size() || !survived_[s.member] || !signers.insert(s.member).second) {
      return Refuse(PermissionDeniedError("a consistency signature of " + Member(s.member) +
                                          " is repeated or from outside the survivor set"));
    }
    if (!VerifySignature(params_.cohort[s.member].signing_key, message, s.signature).ok()) {
      return Refuse(PermissionDeniedError(
          "the consistency signature of '" + params_.cohort[s.member].name +
          "' does not verify: the coordinator showed members different survivor sets"));
    }
  }
  if (static_cast<int>(signers.size()) < threshold_) {
    return Refuse(PermissionDeniedError(std::to_string(signers.size()) +
                                        " survivor(s) confirmed the survivor set; " +
                                        std::to_string(threshold_) + " are needed"));
  }
  RevealedShares out;
  for (auto& [of, pair] : secrets_->held) {
    // Never both: a survivor's self seed, or a dropped member's mask key, decided by the signed
    // set.
    if (survived_[of]) {
      out.self_seed_shares.push_back({of, std::vector<uint8_t>(pair.self_seed_share.span().begin(),
                                                               pair.self_seed_share.span().end())});
    } else {
      out.mask_key_shares.push_back({of, std::vector<uint8_t>(pair.mask_key_share.span().begin(),
                                                              pair.mask_key_share.span().end())});
    }
  }
  stage_ = Stage::kDone;
  secrets_.reset();
  return out;
}

}  // namespace cartable::aggregation::secagg
