#include "node/secure_update.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "aggregation/secagg/secret_bytes.h"
#include "core/printable.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/evaluation_vector.h"
#include "exchange/model_wire.h"
#include "exchange/secagg_wire.h"

namespace cartable::node {
namespace secagg = aggregation::secagg;

void LogPackNotes(const exchange::PackNotes& notes, const exchange::ContributionLayout& layout) {
  if (notes.clamped > 0) {
    spdlog::warn("{} update value(s) beyond the range ±{} were clamped", notes.clamped,
                 layout.value_range());
  }
  if (notes.norm_bounded) {
    spdlog::info("the update's norm {:.4g} was scaled down to the run's bound {:.4g}", notes.norm,
                 layout.max_norm());
  }
}

StatusOr<std::unique_ptr<SecureUpdate>> SecureUpdate::Start(
    secagg::RoundParameters params, const std::string& name, const secagg::SigningKey& identity,
    const secagg::ClientPolicy& policy, const secagg::Sha256Digest& model_hash, Producer producer,
    std::optional<aggregation::privacy::Variance> noise, protocol::Body* advert) {
  const int modulus_bits = params.modulus_bits;
  CARTABLE_ASSIGN_OR_RETURN(
      auto client,
      secagg::SecAggClient::Create(std::move(params), name, identity, model_hash, policy));
  CARTABLE_ASSIGN_OR_RETURN(secagg::KeyAdvert key_advert, client->Advertise());
  *advert = exchange::ToWire(key_advert);
  return std::unique_ptr<SecureUpdate>(
      new SecureUpdate(std::move(client), modulus_bits, noise, std::move(producer)));
}

StatusOr<std::unique_ptr<SecureUpdate>> StartSecureTraining(
    const protocol::TrainRequest& request, uint64_t run_id, uint32_t round, const std::string& name,
    const secagg::SigningKey& identity, const secagg::ClientPolicy& policy, Trainer trainer,
    protocol::Body* advert) {
  CARTABLE_ASSIGN_OR_RETURN(
      exchange::ContributionLayout layout,
      exchange::ContributionLayout::For(request.global_parameters.size(), request.contribution));
  CARTABLE_ASSIGN_OR_RETURN(
      secagg::RoundParameters params,
      exchange::RoundParametersOf(request.secagg, request.contribution.value_range, run_id, round));
  std::optional<aggregation::privacy::Variance> noise;
  secagg::ClientPolicy client_policy = policy;
  if (request.establishment_dp.enabled != 0) {
    auto mechanism = exchange::ApplyEstablishmentDp(request.establishment_dp, layout, params);
    if (!mechanism.ok()) return mechanism.status().WithContext("establishment-level DP");
    noise = mechanism->variance;
    spdlog::info(
        "establishment-level DP: this node adds discrete Gaussian noise of σ = {:.4g} to each "
        "value of its update before masking; the sum of at least {} establishments is unmasked",
        std::sqrt(mechanism->variance.value()) * mechanism->step,
        request.establishment_dp.min_contributors);
    client_policy.min_cohort =
        std::max<size_t>(client_policy.min_cohort, request.establishment_dp.min_contributors);
  }
  auto pack = [layout, trainer = std::move(trainer)]() -> StatusOr<std::vector<float>> {
    CARTABLE_ASSIGN_OR_RETURN(exchange::LocalUpdate update, trainer());
    exchange::PackNotes notes;
    CARTABLE_ASSIGN_OR_RETURN(std::vector<float> packed, layout.Pack(update, &notes));
    LogPackNotes(notes, layout);
    return packed;
  };
  return SecureUpdate::Start(std::move(params), name, identity, client_policy,
                             exchange::ModelHash(request.global_parameters), std::move(pack), noise,
                             advert);
}

StatusOr<std::unique_ptr<SecureUpdate>> StartSecureEvaluation(
    const protocol::EvaluateRequest& request, uint64_t run_id, uint32_t round,
    const std::string& name, const secagg::SigningKey& identity, const secagg::ClientPolicy& policy,
    Evaluator evaluator, protocol::Body* advert) {
  CARTABLE_ASSIGN_OR_RETURN(
      secagg::RoundParameters params,
      exchange::RoundParametersOf(request.secagg, exchange::kEvaluationRange, run_id, round));
  const int modulus_bits = params.modulus_bits;
  exchange::UseEvaluationQuantizer(params.cohort.size(), params);
  // The coordinator chose the modulus; a wider one than needed costs bytes, never privacy, and a
  // narrower one the quantiser refuses.
  params.modulus_bits = std::max(params.modulus_bits, modulus_bits);
  auto pack = [evaluator = std::move(evaluator)]() -> StatusOr<std::vector<float>> {
    CARTABLE_ASSIGN_OR_RETURN(models::EvaluationStatistics statistics, evaluator());
    return exchange::PackEvaluation(statistics);
  };
  return SecureUpdate::Start(std::move(params), name, identity, policy,
                             exchange::ModelHash(request.parameters), std::move(pack), std::nullopt,
                             advert);
}

StatusOr<protocol::Body> SecureUpdate::OnMessage(const protocol::Body& body) {
  if (const auto* list = std::get_if<protocol::KeyList>(&body)) {
    CARTABLE_ASSIGN_OR_RETURN(std::vector<secagg::SealedShare> sealed,
                              client_->OnKeyList(exchange::AdvertsOf(*list)));
    return protocol::Body(protocol::ShareKeys{exchange::ToWire(std::move(sealed))});
  }
  if (const auto* delivery = std::get_if<protocol::ShareDelivery>(&body))
    return ProduceAndMask(*delivery);
  if (const auto* list = std::get_if<protocol::SurvivorList>(&body)) {
    CARTABLE_ASSIGN_OR_RETURN(secagg::Ed25519Signature signature,
                              client_->OnSurvivors(list->survivors));
    return protocol::Body(protocol::SurvivorSignature{signature});
  }
  if (const auto* request = std::get_if<protocol::UnmaskRequest>(&body)) {
    CARTABLE_ASSIGN_OR_RETURN(secagg::RevealedShares revealed,
                              client_->OnSignatures(exchange::SignaturesOf(*request)));
    done_ = true;
    return protocol::Body(exchange::ToWire(std::move(revealed)));
  }
  return InvalidArgumentError("not a secure-aggregation message: " +
                              std::string(protocol::MessageTypeName(protocol::TypeOf(body))));
}

StatusOr<protocol::Body> SecureUpdate::ProduceAndMask(const protocol::ShareDelivery& delivery) {
  CARTABLE_RETURN_IF_ERROR(client_->OnShares(exchange::SharesOf(delivery.shares)));
  for (const auto& unusable : client_->unusable()) {
    spdlog::warn("the shares of secure-aggregation member {} are unusable ({}); reporting it",
                 unusable.from, Printable(unusable.why));
  }
  CARTABLE_ASSIGN_OR_RETURN(std::vector<float> input, producer_());
  std::vector<int64_t> noise;
  if (noise_) {
    const secagg::SecretBytes seed = secagg::SecretBytes::Random(32);
    CARTABLE_ASSIGN_OR_RETURN(
        noise, aggregation::privacy::DiscreteGaussianNoise(input.size(), *noise_, seed.span()));
  }
  CARTABLE_ASSIGN_OR_RETURN(std::vector<uint64_t> masked, client_->MaskInput(input, noise));
  protocol::MaskedInput out = exchange::MaskedInputOf(std::move(masked), modulus_bits_);
  out.unusable_from = client_->unusable_from();
  return protocol::Body(std::move(out));
}

}  // namespace cartable::node
