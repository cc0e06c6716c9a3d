#include "coordinator/secure_sum.h"

#include <algorithm>

#include "aggregation/secagg/secret_bytes.h"
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

secagg::RoundParameters SecureSumParameters(const RunConfig& config, uint32_t round,
                                            const secagg::GraphPlan& plan,
                                            const std::vector<CohortMember>& cohort,
                                            double value_range) {
  secagg::RoundParameters params;
  params.run_id = config.run_id;
  params.round = round;
  params.neighbours = plan.neighbours;
  params.corrupt_allowance = plan.corrupt_allowance;
  const secagg::SecretBytes seed = secagg::SecretBytes::Random(params.graph_seed.size());
  std::copy(seed.span().begin(), seed.span().end(), params.graph_seed.begin());
  params.modulus_bits = config.secagg.modulus_bits;
  params.value_range = value_range;
  std::vector<secagg::CohortMember> members;
  members.reserve(cohort.size());
  for (const CohortMember& m : cohort) members.push_back({m.name, m.signing_key});
  params.cohort = std::move(members);
  return params;
}

std::string SecureSum::StepName() const {
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

Status SecureSum::Accept(uint32_t member, const protocol::Body& body) {
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

StatusOr<SecureSum::Next> SecureSum::Close() {
  Next next;
  switch (step_) {
    case protocol::Stage::kAdvertiseKeys: {
      CARTABLE_ASSIGN_OR_RETURN(std::vector<secagg::KeyAdvert> adverts,
                                server_->CloseAdvertising());
      step_ = protocol::Stage::kShareKeys;
      next.broadcast = exchange::KeyListOf(adverts);
      return next;
    }
    case protocol::Stage::kShareKeys: {
      CARTABLE_ASSIGN_OR_RETURN(auto deliveries, server_->CloseSharing());
      step_ = protocol::Stage::kMaskedInput;
      for (auto& [member, shares] : deliveries) {
        next.each.emplace_back(member,
                               protocol::ShareDelivery{exchange::ToWire(std::move(shares))});
      }
      return next;
    }
    case protocol::Stage::kMaskedInput: {
      CARTABLE_ASSIGN_OR_RETURN(std::vector<uint32_t> survivors, server_->CloseMasking());
      if (survivors.size() < min_survivors_) {
        // Their sum would carry less noise than the plan promises: it is never unmasked.
        return FailedPreconditionError(
            "only " + std::to_string(survivors.size()) +
            " establishments sent their input; establishment-level DP needs " +
            std::to_string(min_survivors_) + " shares of noise in the sum");
      }
      step_ = protocol::Stage::kConsistencyCheck;
      next.broadcast = protocol::SurvivorList{std::move(survivors)};
      return next;
    }
    case protocol::Stage::kConsistencyCheck: {
      CARTABLE_ASSIGN_OR_RETURN(std::vector<secagg::MemberSignature> signatures,
                                server_->CloseConsistency());
      step_ = protocol::Stage::kUnmask;
      next.broadcast = exchange::UnmaskRequestOf(signatures);
      return next;
    }
    case protocol::Stage::kUnmask: {
      CARTABLE_ASSIGN_OR_RETURN(next.sum, server_->Finish());
      return next;
    }
    default:
      return InternalError("secure aggregation closed an unknown step");
  }
}

}  // namespace cartable::coordinator
