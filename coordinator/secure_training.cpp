#include "coordinator/secure_training.h"

#include <spdlog/spdlog.h>

#include <string>

#include "exchange/establishment_dp_wire.h"
#include "exchange/model_wire.h"
#include "exchange/secagg_wire.h"

namespace cartable::coordinator {
namespace secagg = aggregation::secagg;

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
  secagg::RoundParameters params =
      SecureSumParameters(config, round, *plan, cohort, config.contribution.value_range);
  const bool establishment_dp = config.establishment_dp.enabled != 0;
  if (establishment_dp) {
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
  // With establishment-level DP, a sum of fewer inputs would carry less noise than promised.
  const size_t min_survivors =
      establishment_dp ? static_cast<size_t>(config.establishment_dp.min_contributors) : 0;
  auto stage = std::unique_ptr<SecureTraining>(new SecureTraining(
      config, round, std::move(cohort), SecureSum(std::move(server), min_survivors), layout));
  stage->establishment_dp_ = establishment_dp;
  spdlog::info(
      "round {}: secure aggregation among {} nodes, {} neighbours each, threshold {} "
      "(outlasts {} colluding neighbours, survives {} dropped)",
      round, n, plan->degree, plan->threshold, plan->corrupt_allowance, plan->tolerated_dropouts);
  stage->Ask(stage->sum_.asked());
  stage->SendToAwaited(std::move(request), out);
  stage->Settle(out);
  return stage;
}

SecureTraining::SecureTraining(const RunConfig& config, uint32_t round,
                               std::vector<CohortMember> cohort, SecureSum sum,
                               exchange::ContributionLayout layout)
    : TrainingStage(config.run_id, round, std::move(cohort)),
      sum_(std::move(sum)),
      layout_(layout) {}

void SecureTraining::CloseStep(std::vector<Outgoing>& out) {
  auto next = sum_.Close();
  if (!next.ok() || next->sum) TakeBlame();
  if (!next.ok()) return Fail(next.status());
  if (next->sum) return Unpack(*next->sum);
  Ask(sum_.asked());
  if (next->broadcast) return SendToAwaited(std::move(*next->broadcast), out);
  for (auto& [member, body] : next->each) {
    if (!gone(member)) Send(member, std::move(body), out);
  }
}

void SecureTraining::TakeBlame() {
  for (const secagg::Blame& blame : sum_.blamed()) {
    spdlog::warn("round {}: '{}' broke the secure-aggregation protocol: {}", round(),
                 members()[blame.member].name, blame.reason);
    Prove(members()[blame.member].name, blame.reason);
  }
  for (const secagg::Dispute& dispute : sum_.disputes()) Dispute(dispute.reporter, dispute.owner);
}

void SecureTraining::Unpack(const secagg::UnmaskedSum& sum) {
  const int contributors = static_cast<int>(sum.survivors.size());
  // Each contribution was rounded to one of the quantiser's levels: off by less than one level
  // each.
  // With distributed noise, each summed value is also within the noise bound of its true value.
  const secagg::Quantizer& q = sum_.quantizer();
  const double level = 2 * q.range() / static_cast<double>(q.levels());
  const double tolerance = (2 * contributors + static_cast<double>(q.noise_bound())) * level;
  auto unpacked = layout_.Unpack(sum.sum, contributors, tolerance);
  if (!unpacked.ok()) return Fail(unpacked.status());
  // Every establishment weighs 1 under establishment-level DP: the exact total weight is the
  // number of contributors, where the summed weight carries noise.
  if (establishment_dp_) unpacked->update.total_weight = contributors;
  Succeed(std::move(unpacked).value());
}

}  // namespace cartable::coordinator
