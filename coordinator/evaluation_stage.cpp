#include "coordinator/evaluation_stage.h"

#include <spdlog/spdlog.h>

#include <numeric>
#include <string>

#include "exchange/evaluation_vector.h"
#include "exchange/model_wire.h"
#include "exchange/secagg_wire.h"

namespace cartable::coordinator {
namespace secagg = aggregation::secagg;

std::unique_ptr<EvaluationStage> StartEvaluation(const RunConfig& config, uint32_t round,
                                                 std::vector<CohortMember> cohort,
                                                 const std::vector<float>& parameters,
                                                 std::vector<Outgoing>& out) {
  if (config.secagg.enabled)
    return SecureEvaluation::Start(config, round, std::move(cohort), parameters, out);
  return PlainEvaluation::Start(config, round, std::move(cohort), parameters, out);
}

std::unique_ptr<PlainEvaluation> PlainEvaluation::Start(const RunConfig& config, uint32_t round,
                                                        std::vector<CohortMember> cohort,
                                                        const std::vector<float>& parameters,
                                                        std::vector<Outgoing>& out) {
  auto stage = std::unique_ptr<PlainEvaluation>(
      new PlainEvaluation(config.run_id, round, std::move(cohort)));
  std::vector<uint32_t> everyone(stage->members().size());
  std::iota(everyone.begin(), everyone.end(), 0u);
  stage->Ask(everyone);
  stage->SendToAwaited(protocol::EvaluateRequest{exchange::ToWire(config.model), parameters, {}},
                       out);
  stage->Settle(out);
  return stage;
}

Status PlainEvaluation::Accept(uint32_t member, const protocol::Envelope& envelope) {
  const auto& r = std::get<protocol::EvaluateResult>(envelope.body);
  CARTABLE_RETURN_IF_ERROR(total_.Add({r.positive_histogram, r.negative_histogram, r.log_loss_sum,
                                       r.correct, r.count, r.squared_error_sum}));
  float_sums_[member] = {r.log_loss_sum, r.squared_error_sum};
  return Status::Ok();
}

void PlainEvaluation::CloseStep(std::vector<Outgoing>&) {
  // The integer counts added up exactly as results arrived; the floating sums are added again in
  // member order, so the round's figures do not depend on which node answered first.
  total_.log_loss_sum = 0;
  total_.squared_error_sum = 0;
  for (const auto& [member, sums] : float_sums_) {
    total_.log_loss_sum += sums.first;
    total_.squared_error_sum += sums.second;
  }
  Conclude(std::move(total_));
}

std::unique_ptr<SecureEvaluation> SecureEvaluation::Start(const RunConfig& config, uint32_t round,
                                                          std::vector<CohortMember> cohort,
                                                          const std::vector<float>& parameters,
                                                          std::vector<Outgoing>& out) {
  const size_t n = cohort.size();
  protocol::EvaluateRequest request;
  auto server = [&]() -> StatusOr<std::unique_ptr<secagg::SecAggServer>> {
    CARTABLE_ASSIGN_OR_RETURN(secagg::GraphPlan plan,
                              PlanSecureRound(config.secagg, static_cast<int>(n)));
    secagg::RoundParameters params =
        SecureSumParameters(config, round, plan, cohort, exchange::kEvaluationRange);
    exchange::UseEvaluationQuantizer(n, params);
    request = {exchange::ToWire(config.model), parameters, exchange::PlanOf(params)};
    return secagg::SecAggServer::Create(std::move(params), exchange::EvaluationVectorSize(),
                                        exchange::ModelHash(parameters));
  }();
  if (!server.ok()) {
    // Never in the clear instead: the round goes without metrics.
    auto stage = std::unique_ptr<SecureEvaluation>(
        new SecureEvaluation(config.run_id, round, std::move(cohort), std::nullopt));
    stage->Conclude(
        server.status().WithContext("secure evaluation among " + std::to_string(n) + " nodes"));
    return stage;
  }
  auto stage = std::unique_ptr<SecureEvaluation>(new SecureEvaluation(
      config.run_id, round, std::move(cohort), SecureSum(std::move(server).value(), 0)));
  stage->Ask(stage->sum_->asked());
  stage->SendToAwaited(std::move(request), out);
  stage->Settle(out);
  return stage;
}

void SecureEvaluation::CloseStep(std::vector<Outgoing>& out) {
  auto next = sum_->Close();
  if (!next.ok() || next->sum) {
    for (const secagg::Blame& blame : sum_->blamed()) {
      spdlog::warn("round {}: '{}' broke the secure-aggregation protocol of the evaluation: {}",
                   round(), members()[blame.member].name, blame.reason);
      Prove(members()[blame.member].name, blame.reason);
    }
  }
  if (!next.ok()) return Conclude(next.status().WithContext("secure evaluation"));
  if (next->sum) {
    return Conclude(exchange::UnpackEvaluationSum(next->sum->sum,
                                                  static_cast<int>(next->sum->survivors.size())));
  }
  Ask(sum_->asked());
  if (next->broadcast) return SendToAwaited(std::move(*next->broadcast), out);
  for (auto& [member, body] : next->each) {
    if (!gone(member)) Send(member, std::move(body), out);
  }
}

}  // namespace cartable::coordinator
