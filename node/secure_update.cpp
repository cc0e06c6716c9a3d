#include "node/secure_update.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "aggregation/secagg/digest.h"

namespace cartable::node {
namespace secagg = aggregation::secagg;

namespace {

secagg::SealedShare FromWire(const protocol::SealedShare& s) {
  return {s.from, s.to, s.self_seed_commitment, s.mask_key_commitment, s.ciphertext};
}
protocol::SealedShare ToWire(secagg::SealedShare s) {
  return {s.from, s.to, s.self_seed_commitment, s.mask_key_commitment, std::move(s.ciphertext)};
}

std::vector<protocol::RevealedShare> ToWire(std::vector<secagg::RevealedShare> shares) {
  std::vector<protocol::RevealedShare> out;
  for (auto& s : shares) out.push_back({s.of, std::move(s.share)});
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<SecureUpdate>> SecureUpdate::Start(
    const protocol::TrainRequest& request, uint64_t run_id, uint32_t round, const std::string& name,
    const secagg::SigningKey& identity, const secagg::ClientPolicy& policy, Trainer trainer,
    protocol::Body* advert) {
  const protocol::SecAggPlan& plan = request.secagg;
  if (!(plan.weight_cap >= 1) || !std::isfinite(plan.weight_cap)) {
    return InvalidArgumentError("the round's weight cap must be at least 1 example");
  }
  secagg::RoundParameters params;
  params.run_id = run_id;
  params.round = round;
  params.neighbours = static_cast<int>(plan.neighbours);
  if (plan.corrupt_allowance > plan.cohort.size()) {
    return InvalidArgumentError("the round tolerates " + std::to_string(plan.corrupt_allowance) +
                                " colluders in a cohort of " + std::to_string(plan.cohort.size()));
  }
  params.corrupt_allowance = static_cast<int>(plan.corrupt_allowance);
  params.graph_seed = plan.graph_seed;
  params.modulus_bits = static_cast<int>(plan.modulus_bits);
  params.clip = plan.clip;
  for (const protocol::CohortMember& m : plan.cohort) params.cohort.push_back({m.name, m.signing_key});
  const auto& model = request.global_parameters;
  const secagg::Sha256Digest hash = secagg::Sha256(
      {reinterpret_cast<const uint8_t*>(model.data()), model.size() * sizeof(float)});
  CARTABLE_ASSIGN_OR_RETURN(auto client,
                            secagg::SecAggClient::Create(std::move(params), name, identity, hash, policy));
  CARTABLE_ASSIGN_OR_RETURN(secagg::KeyAdvert key_advert, client->Advertise());
  *advert = protocol::KeyAdvert{key_advert.member, key_advert.mask_key, key_advert.share_key,
                                key_advert.seed_commitment, key_advert.signature};
  return std::unique_ptr<SecureUpdate>(new SecureUpdate(std::move(client), plan.clip, plan.weight_cap,
                                                        static_cast<int>(plan.modulus_bits),
                                                        std::move(trainer)));
}

StatusOr<protocol::Body> SecureUpdate::OnMessage(const protocol::Body& body) {
  if (const auto* list = std::get_if<protocol::KeyList>(&body)) {
    std::vector<secagg::KeyAdvert> adverts;
    for (const protocol::KeyAdvert& a : list->adverts) {
      adverts.push_back({a.member, a.mask_key, a.share_key, a.seed_commitment, a.signature});
    }
    CARTABLE_ASSIGN_OR_RETURN(std::vector<secagg::SealedShare> sealed, client_->OnKeyList(adverts));
    protocol::ShareKeys out;
    for (secagg::SealedShare& s : sealed) out.shares.push_back(ToWire(std::move(s)));
    return protocol::Body(std::move(out));
  }
  if (const auto* delivery = std::get_if<protocol::ShareDelivery>(&body)) return TrainAndMask(*delivery);
  if (const auto* list = std::get_if<protocol::SurvivorList>(&body)) {
    CARTABLE_ASSIGN_OR_RETURN(secagg::Ed25519Signature signature, client_->OnSurvivors(list->survivors));
    return protocol::Body(protocol::SurvivorSignature{signature});
  }
  if (const auto* request = std::get_if<protocol::UnmaskRequest>(&body)) {
    std::vector<secagg::MemberSignature> signatures;
    for (const protocol::MemberSignature& s : request->signatures) signatures.push_back({s.member, s.signature});
    CARTABLE_ASSIGN_OR_RETURN(secagg::RevealedShares revealed, client_->OnSignatures(signatures));
    done_ = true;
    return protocol::Body(protocol::UnmaskResponse{ToWire(std::move(revealed.self_seed_shares)),
                                                   ToWire(std::move(revealed.mask_key_shares))});
  }
  return InvalidArgumentError("not a secure-aggregation message: " +
                              std::string(protocol::MessageTypeName(protocol::TypeOf(body))));
}

StatusOr<protocol::Body> SecureUpdate::TrainAndMask(const protocol::ShareDelivery& delivery) {
  std::vector<secagg::SealedShare> shares;
  for (const protocol::SealedShare& s : delivery.shares) shares.push_back(FromWire(s));
  CARTABLE_RETURN_IF_ERROR(client_->OnShares(shares));
  for (const auto& unusable : client_->unusable()) {
    spdlog::warn("the shares of secure-aggregation member {} are unusable ({}); reporting it", unusable.from,
                 unusable.why);
  }
  CARTABLE_ASSIGN_OR_RETURN(LocalUpdate update, trainer_());
  const double weight = std::min(update.examples, weight_cap_) / weight_cap_;
  std::vector<float> values;
  values.reserve(update.delta.size() + 2);
  size_t clipped = 0;
  for (float d : update.delta) {
    const double v = weight * d;
    if (std::abs(v) > clip_) ++clipped;
    values.push_back(static_cast<float>(v));
  }
  if (clipped > 0) spdlog::warn("{} weighted update value(s) beyond the clip bound {} were clipped", clipped, clip_);
  values.push_back(static_cast<float>(weight));
  values.push_back(static_cast<float>(weight * std::min(update.loss, clip_)));
  CARTABLE_ASSIGN_OR_RETURN(std::vector<uint64_t> masked, client_->MaskInput(values));
  protocol::MaskedInput out;
  out.unusable_from = client_->unusable_from();
  if (modulus_bits_ <= 32) {
    out.words32.assign(masked.begin(), masked.end());
  } else {
    out.words64 = std::move(masked);
  }
  return protocol::Body(std::move(out));
}

}  // namespace cartable::node
