#include "coordinator/secure_training.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "aggregation/secagg/secret_bytes.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/model_wire.h"
#include "exchange/secagg_wire.h"

namespace cartable::coordinator {
namespace secagg = aggregation::secagg;

StatusOr<secagg::GraphPlan> PlanSecureRound(const SecAggConfig& config, int cohort) {
  secagg::SecAggTolerance tolerance;
  tolerance.corrupt_fraction = config.tolerate_corrupt;
  tolerance.dropout_fraction = config.tolerate_dropout;
  std::optional<int> forced;
  if (config.neighbours >= 0) forced = config.neighbours;
  return secagg::PlanGraph(cohort, tolerance, forced);
}

namespace {

secagg::RoundParameters ParametersOf(const RunConfig& config, uint32_t round,
                                     const secagg::GraphPlan& plan,
                                     const std::vector<CohortMember>& cohort) {
  secagg::RoundParameters params;
  params.run_id = config.run_id;
  params.round = round;
  params.neighbours = plan.neighbours;
  params.corrupt_allowance = plan.corrupt_allowance;
  const secagg::SecretBytes seed = secagg::SecretBytes::Random(params.graph_seed.size());
  std::copy(seed.span().begin(), seed.span().end(), params.graph_seed.begin());
  params.modulus_bits = config.secagg.modulus_bits;
  params.value_range = config.contribution.value_range;
  for (const CohortMember& m : cohort) params.cohort.push_back({m.name, m.signing_key});
  return params;
}

}  // namespace

StatusOr<std::unique_ptr<SecureTraining>> SecureTraining::Start(const RunConfig& config,
                                                                uint32_t round,
                                                                std::vector<CohortMember> cohort,
                                                                const std::vector<float>& global,
                                                                std::vector<Outgoing>& out) {
  const int n = static_cast<int>(cohort.size());
  auto plan = PlanSecureRound(config.secagg, n);
  if (!plan.ok())
    return plan.status().WithContext("planning secure aggregation for round " +
                                     std::to_string(round));
  CARTABLE_ASSIGN_OR_RETURN(exchange::ContributionLayout layout,
                            exchange::ContributionLayout::For(global.size(), config.contribution));
  secagg::RoundParameters params = ParametersOf(config, round, *plan, cohort);
  if (config.establishment_dp.enabled != 0) {
    // The noise needs room in the modulus, more as the cohort grows: the modulus grows with it.
    auto bits = exchange::EstablishmentModulusBits(config.establishment_dp, layout, cohort.size(),
                                                   params.modulus_bits);
    if (!bits.ok()) return bits.status().WithContext("establishment-level DP");
    params.modulus_bits = *bits;
    auto applied = exchange::ApplyEstablishmentDp(config.establishment_dp, layout, params);
    if (!applied.ok()) return applied.status().WithContext("establishment-level DP");
  }
  CARTABLE_ASSIGN_OR_RETURN(protocol::TrainRequest request,
                            TrainRequestOf(config, global, exchange::PlanOf(params)));
  CARTABLE_ASSIGN_OR_RETURN(
      std::unique_ptr<secagg::SecAggServer> server,
      secagg::SecAggServer::Create(std::move(params), layout.size(), exchange::ModelHash(global)));
  auto stage = std::unique_ptr<SecureTraining>(
      new SecureTraining(config, round, std::move(cohort), std::move(server), layout));
  stage->min_survivors_ = config.establishment_dp.enabled != 0
                              ? static_cast<size_t>(config.establishment_dp.min_contributors)
                              : 0;
  spdlog::info(
      "round {}: secure aggregation among {} nodes, {} neighbours each, threshold {} "
      "(outlasts {} colluding neighbours, survives {} dropped)",
      round, n, plan->degree, plan->threshold, plan->corrupt_allowance, plan->tolerated_dropouts);
  stage->AskServer();
  stage->SendToAwaited(std::move(request), out);
  stage->Settle(out);
  return stage;
}

SecureTraining::SecureTraining(const RunConfig& config, uint32_t round,
                               std::vector<CohortMember> cohort,
                               std::unique_ptr<secagg::SecAggServer> server,
                               exchange::ContributionLayout layout)
    : TrainingStage(config.run_id, round, std::move(cohort)),
      server_(std::move(server)),
      layout_(layout) {}

void SecureTraining::AskServer() { Ask(server_->asked()); }

bool SecureTraining::AnswersStep(protocol::MessageType type) const {
  return protocol::StageOf(type) == step_;
}

std::string SecureTraining::StepName() const {
  switch (step_) {
    case protocol::Stage::kAdvertiseKeys:
      return "AdvertiseKeys";
    case protocol::Stage::kShareKeys:
      return "ShareKeys";
    case protocol::Stage::kMaskedInput:
      return "MaskedInput";
    case protocol::Stage::kConsistencyCheck:
      return "ConsistencyCheck";
    case protocol::Stage::kUnmask:
      return "Unmask";
    default:
      return "secure aggregation";
  }
}

Status SecureTraining::Accept(uint32_t member, const protocol::Envelope& envelope) {
  const protocol::Body& body = envelope.body;
  if (const auto* a = std::get_if<protocol::KeyAdvert>(&body)) {
    if (a->member != member) return PermissionDeniedError("its key advert names another member");
    return server_->OnAdvert(exchange::FromWire(*a));
  }
  if (const auto* shares = std::get_if<protocol::ShareKeys>(&body)) {
    return server_->OnShares(member, exchange::SharesOf(shares->shares));
  }
  if (const auto* input = std::get_if<protocol::MaskedInput>(&body)) {
    CARTABLE_ASSIGN_OR_RETURN(std::vector<uint64_t> words,
                              exchange::WordsOf(*input, server_->params().modulus_bits));
    return server_->OnMaskedInput(member, words, input->unusable_from);
  }
  if (const auto* s = std::get_if<protocol::SurvivorSignature>(&body)) {
    return server_->OnSurvivorSignature({member, s->signature});
  }
  if (const auto* r = std::get_if<protocol::UnmaskResponse>(&body)) {
    return server_->OnRevealedShares(member, exchange::RevealedOf(*r));
  }
  return InvalidArgumentError("unexpected message");
}

void SecureTraining::CloseStep(std::vector<Outgoing>& out) {
  switch (step_) {
    case protocol::Stage::kAdvertiseKeys: {
      auto adverts = server_->CloseAdvertising();
      if (!adverts.ok()) return Fail(adverts.status());
      step_ = protocol::Stage::kShareKeys;
      AskServer();
      return SendToAwaited(exchange::KeyListOf(*adverts), out);
    }
    case protocol::Stage::kShareKeys: {
      auto deliveries = server_->CloseSharing();
      if (!deliveries.ok()) return Fail(deliveries.status());
      step_ = protocol::Stage::kMaskedInput;
      AskServer();
      for (auto& [member, shares] : *deliveries) {
        if (!gone(member))
          Send(member, protocol::ShareDelivery{exchange::ToWire(std::move(shares))}, out);
      }
      return;
    }
    case protocol::Stage::kMaskedInput: {
      auto survivors = server_->CloseMasking();
      if (!survivors.ok()) return Fail(survivors.status());
      if (survivors->size() < min_survivors_) {
        // Their sum would carry less noise than the plan promises: it is never unmasked.
        return Fail(FailedPreconditionError(
            "only " + std::to_string(survivors->size()) +
            " establishments sent their input; establishment-level DP needs " +
            std::to_string(min_survivors_) + " shares of noise in the sum"));
      }
      step_ = protocol::Stage::kConsistencyCheck;
      AskServer();
      return SendToAwaited(protocol::SurvivorList{*survivors}, out);
    }
    case protocol::Stage::kConsistencyCheck: {
      auto signatures = server_->CloseConsistency();
      if (!signatures.ok()) return Fail(signatures.status());
      step_ = protocol::Stage::kUnmask;
      AskServer();
      return SendToAwaited(exchange::UnmaskRequestOf(*signatures), out);
    }
    case protocol::Stage::kUnmask: {
      auto sum = server_->Finish();
      TakeBlame();
      if (!sum.ok()) return Fail(sum.status());
      return Unpack(*sum);
    }
    default:
      return Fail(InternalError("secure aggregation closed an unknown step"));
  }
}

void SecureTraining::TakeBlame() {
  for (const secagg::Blame& blame : server_->blamed()) {
    spdlog::warn("round {}: '{}' broke the secure-aggregation protocol: {}", round(),
                 members()[blame.member].name, blame.reason);
    Prove(members()[blame.member].name, blame.reason);
  }
  for (const secagg::Dispute& dispute : server_->disputes())
    Dispute(dispute.reporter, dispute.owner);
}

void SecureTraining::Unpack(const secagg::UnmaskedSum& sum) {
  const int contributors = static_cast<int>(sum.survivors.size());
  // Each contribution was rounded to one of the quantiser's levels: off by less than one level
  // each.
  // With distributed noise, each summed value is also within the noise bound of its true value.
  const secagg::Quantizer& q = server_->quantizer();
  const double level = 2 * q.range() / static_cast<double>(q.levels());
  const double tolerance = (2 * contributors + static_cast<double>(q.noise_bound())) * level;
  auto unpacked = layout_.Unpack(sum.sum, contributors, tolerance);
  if (!unpacked.ok()) return Fail(unpacked.status());
  // Every establishment weighs 1 under establishment-level DP: the exact total weight is the
  // number of contributors, where the summed weight carries noise.
  if (min_survivors_ > 0) unpacked->update.total_weight = contributors;
  Succeed(std::move(unpacked).value());
}

}  // namespace cartable::coordinator
