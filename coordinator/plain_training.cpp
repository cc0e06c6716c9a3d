#include "coordinator/plain_training.h"

#include <numeric>

#include "aggregation/strategies/strategy.h"

namespace cartable::coordinator {

StatusOr<std::unique_ptr<PlainTraining>> PlainTraining::Start(const RunConfig& config,
                                                              uint32_t round,
                                                              std::vector<CohortMember> cohort,
                                                              const std::vector<float>& global,
                                                              std::vector<Outgoing>& out) {
  CARTABLE_ASSIGN_OR_RETURN(exchange::ContributionLayout layout,
                            exchange::ContributionLayout::For(global.size(), config.contribution));
  CARTABLE_ASSIGN_OR_RETURN(protocol::TrainRequest request, TrainRequestOf(config, global, {}));
  auto stage =
      std::unique_ptr<PlainTraining>(new PlainTraining(config, round, std::move(cohort), layout));
  std::vector<uint32_t> everyone(stage->members().size());
  std::iota(everyone.begin(), everyone.end(), 0u);
  stage->Ask(everyone);
  stage->SendToAwaited(std::move(request), out);
  stage->Settle(out);
  return stage;
}

PlainTraining::PlainTraining(const RunConfig& config, uint32_t round,
                             std::vector<CohortMember> cohort, exchange::ContributionLayout layout)
    : TrainingStage(config.run_id, round, std::move(cohort)),
      layout_(layout),
      keep_individual_(aggregation::NeedsIndividualUpdates(config.strategy)),
      contributions_(members().size()) {}

Status PlainTraining::Accept(uint32_t member, const protocol::Envelope& envelope) {
  const auto& result = std::get<protocol::TrainResult>(envelope.body);
  CARTABLE_RETURN_IF_ERROR(layout_.CheckPacked(result.contribution));
  contributions_[member] = result.contribution;
  return Status::Ok();
}

void PlainTraining::CloseStep(std::vector<Outgoing>&) {
  std::vector<double> sum(layout_.size(), 0.0);
  std::vector<Eigen::VectorXd> individual;
  int contributors = 0;
  for (std::vector<float>& contribution : contributions_) {
    if (contribution.empty()) continue;
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += contribution[i];
    ++contributors;
    if (keep_individual_) individual.push_back(layout_.UnpackDelta(contribution));
    std::vector<float>().swap(contribution);  // its memory goes now, not after the last member
  }
  contributions_.clear();
  if (contributors == 0) return Fail(FailedPreconditionError("no node sent a usable update"));
  // Each value was rounded to float once by its node, and sums in double add nothing worth
  // counting.
  const double tolerance = contributors * layout_.value_range() * 1e-6;
  auto unpacked = layout_.Unpack(sum, contributors, tolerance);
  if (!unpacked.ok()) return Fail(unpacked.status());
  unpacked->individual = std::move(individual);
  Succeed(std::move(unpacked).value());
}

}  // namespace cartable::coordinator
