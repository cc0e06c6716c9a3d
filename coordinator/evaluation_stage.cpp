#include "coordinator/evaluation_stage.h"

#include <spdlog/spdlog.h>

#include <numeric>
#include <string>

#include "exchange/evaluation_vector.h"
#include "exchange/evaluation_wire.h"
#include "exchange/model_wire.h"
#include "exchange/secagg_wire.h"

namespace cartable::coordinator {
namespace secagg = aggregation::secagg;

std::unique_ptr<EvaluationStage> StartEvaluation(const RunConfig& config, uint32_t round,
                                                 std::vector<CohortMember> cohort,
                                                 const std::vector<float>& parameters,
                                                 std::vector<models::Attribute> subgroups,
                                                 std::vector<Outgoing>& out) {
  if (config.secagg.enabled) {
    return SecureEvaluation::Start(config, round, std::move(cohort), parameters,
                                   std::move(subgroups), out);
  }
  return PlainEvaluation::Start(config, round, std::move(cohort), parameters, std::move(subgroups),
                                out);
}

namespace {

protocol::EvaluateRequest RequestOf(const RunConfig& config, const std::vector<float>& parameters,
                                    const std::vector<models::Attribute>& subgroups,
                                    protocol::SecAggPlan secagg) {
  return {exchange::ToWire(config.model), parameters, std::move(secagg),
          exchange::ToWire(subgroups), subgroups.empty() ? 0 : config.min_group_pupils};
}

}  // namespace

std::unique_ptr<PlainEvaluation> PlainEvaluation::Start(const RunConfig& config, uint32_t round,
                                                        std::vector<CohortMember> cohort,
                                                        const std::vector<float>& parameters,
                                                        std::vector<models::Attribute> subgroups,
                                                        std::vector<Outgoing>& out) {
  auto stage = std::unique_ptr<PlainEvaluation>(
      new PlainEvaluation(config.run_id, round, std::move(cohort)));
  stage->subgroups_ = std::move(subgroups);
  std::vector<uint32_t> everyone(stage->members().size());
  std::iota(everyone.begin(), everyone.end(), 0u);
  stage->Ask(everyone);
  stage->SendToAwaited(RequestOf(config, parameters, stage->subgroups_, {}), out);
  stage->Settle(out);
  return stage;
}

Status PlainEvaluation::Accept(uint32_t member, const protocol::Envelope& envelope) {
  const auto& r = std::get<protocol::EvaluateResult>(envelope.body);
  CARTABLE_ASSIGN_OR_RETURN(models::EvaluationStatistics s, exchange::StatisticsOf(r, subgroups_));
  if (s.all.metrics.positive_histogram.size() != models::kDefaultHistogramBins) {
    return InvalidArgumentError("statistics with " +
                                std::to_string(s.all.metrics.positive_histogram.size()) +
                                " bins, not " + std::to_string(models::kDefaultHistogramBins));
  }
  if (s.all.metrics.count > exchange::kMaxEvaluatedPerSchool) {
    return InvalidArgumentError(std::to_string(s.all.metrics.count) +
                                " held-out answers; one node evaluates at most " +
                                std::to_string(exchange::kMaxEvaluatedPerSchool));
  }
  results_[member] = std::move(s);
  return Status::Ok();
}

void PlainEvaluation::CloseStep(std::vector<Outgoing>&) {
  models::EvaluationStatistics total;
  total.all.metrics = models::SummableMetrics::Empty();
  total.subgroups.assign(models::SubgroupCount(subgroups_), total.all);
  auto add = [](models::GroupStatistics& to, const models::GroupStatistics& g) -> Status {
    CARTABLE_RETURN_IF_ERROR(to.metrics.Add(g.metrics));
    to.pupils += g.pupils;
    return Status::Ok();
  };
  for (const auto& [member, s] : results_) {
    Status added = add(total.all, s.all);
    for (size_t i = 0; added.ok() && i < s.subgroups.size(); ++i)
      added = add(total.subgroups[i], s.subgroups[i]);
    if (!added.ok()) return Conclude(added.WithContext("evaluation of " + members()[member].name));
  }
  Conclude(std::move(total));
}

std::unique_ptr<SecureEvaluation> SecureEvaluation::Start(const RunConfig& config, uint32_t round,
                                                          std::vector<CohortMember> cohort,
                                                          const std::vector<float>& parameters,
                                                          std::vector<models::Attribute> subgroups,
                                                          std::vector<Outgoing>& out) {
  const size_t n = cohort.size();
  const size_t size = exchange::EvaluationVectorSize(models::SubgroupCount(subgroups));
  protocol::EvaluateRequest request;
  auto server = [&]() -> StatusOr<std::unique_ptr<secagg::SecAggServer>> {
    CARTABLE_ASSIGN_OR_RETURN(secagg::GraphPlan plan,
                              PlanSecureRound(config.secagg, static_cast<int>(n)));
    secagg::RoundParameters params =
        SecureSumParameters(config, round, plan, cohort, exchange::kEvaluationRange);
    exchange::UseEvaluationQuantizer(n, params);
    request = RequestOf(config, parameters, subgroups, exchange::PlanOf(params));
    return secagg::SecAggServer::Create(std::move(params), size, exchange::ModelHash(parameters));
  }();
  if (!server.ok()) {
    // Never in the clear instead: the round goes without metrics.
    auto stage = std::unique_ptr<SecureEvaluation>(
        new SecureEvaluation(config.run_id, round, std::move(cohort), std::nullopt, {}));
    stage->Conclude(
        server.status().WithContext("secure evaluation among " + std::to_string(n) + " nodes"));
    return stage;
  }
  auto stage = std::unique_ptr<SecureEvaluation>(
      new SecureEvaluation(config.run_id, round, std::move(cohort),
                           SecureSum(std::move(server).value(), 0), std::move(subgroups)));
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
    return Conclude(exchange::UnpackEvaluationSum(
        next->sum->sum, static_cast<int>(next->sum->survivors.size()), subgroups_));
  }
  Ask(sum_->asked());
  if (next->broadcast) return SendToAwaited(std::move(*next->broadcast), out);
  for (auto& [member, body] : next->each) {
    if (!gone(member)) Send(member, std::move(body), out);
  }
}

}  // namespace cartable::coordinator
